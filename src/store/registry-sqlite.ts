import type { SqliteDb } from './sqlite.js';
import type { DeploymentPatch, DeploymentRecord, DeploymentState, ModelVersionRecord, RegistryStore, TransitionStep, VersionVerification } from './registry-store.js';
import { json, toDeployment, toVersion, type Row } from './registry-rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS model_versions (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL, artifact_digest TEXT NOT NULL,
  signature_bundle TEXT, signer_identity TEXT, provenance TEXT, sbom TEXT, scan_report TEXT, verification TEXT,
  created_at INTEGER NOT NULL, verified_at INTEGER, UNIQUE (model, version)
);
CREATE TABLE IF NOT EXISTS model_deployments (
  id TEXT PRIMARY KEY, version_id TEXT NOT NULL REFERENCES model_versions(id), upstream TEXT NOT NULL,
  tier TEXT NOT NULL, region TEXT NOT NULL, tenant TEXT NOT NULL, attestation TEXT,
  state TEXT NOT NULL CHECK (state IN ('registered','verified','promoted','quarantined','retired')),
  approvals TEXT NOT NULL, known_good INTEGER NOT NULL, superseded_by TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, promoted_at INTEGER
);
CREATE INDEX IF NOT EXISTS model_deployments_state ON model_deployments(state);
`;

const DEPLOYMENT_SELECT = `SELECT d.*, v.model, v.version, v.artifact_digest FROM model_deployments d JOIN model_versions v ON v.id = d.version_id`;

export class SqliteRegistryStore implements RegistryStore {
  private readonly q;

  constructor(private readonly db: SqliteDb) {
    db.exec(SCHEMA);
    this.q = {
      insertVersion: db.prepare(
        `INSERT INTO model_versions (id, model, version, artifact_digest, signature_bundle, signer_identity, provenance, sbom, scan_report, verification, created_at, verified_at)
         VALUES (@id, @model, @version, @artifact_digest, @signature_bundle, @signer_identity, @provenance, @sbom, @scan_report, @verification, @created_at, @verified_at)`,
      ),
      getVersion: db.prepare('SELECT * FROM model_versions WHERE id = ?'),
      findVersion: db.prepare('SELECT * FROM model_versions WHERE model = ? AND version = ?'),
      verifyVersion: db.prepare('UPDATE model_versions SET signer_identity = ?, scan_report = ?, verification = ?, verified_at = ? WHERE id = ?'),
      insertDeployment: db.prepare(
        `INSERT INTO model_deployments (id, version_id, upstream, tier, region, tenant, attestation, state, approvals, known_good, superseded_by, created_at, updated_at, promoted_at)
         VALUES (@id, @version_id, @upstream, @tier, @region, @tenant, @attestation, @state, @approvals, @known_good, @superseded_by, @created_at, @updated_at, @promoted_at)`,
      ),
      getDeployment: db.prepare(`${DEPLOYMENT_SELECT} WHERE d.id = ?`),
      listDeployments: db.prepare(
        `${DEPLOYMENT_SELECT} WHERE (@model IS NULL OR v.model = @model) AND (@state IS NULL OR d.state = @state) AND (@tenant IS NULL OR d.tenant = @tenant) ORDER BY d.created_at, d.id`,
      ),
      transition: db.prepare(
        `UPDATE model_deployments SET state = @to, updated_at = @at,
           approvals = COALESCE(@approvals, approvals), known_good = COALESCE(@known_good, known_good),
           superseded_by = CASE WHEN @set_superseded THEN @superseded_by ELSE superseded_by END,
           promoted_at = COALESCE(@promoted_at, promoted_at)
         WHERE id = @id AND state = @from`,
      ),
      setApprovals: db.prepare('UPDATE model_deployments SET approvals = ?, updated_at = ? WHERE id = ? AND state = ?'),
    };
  }

  // Async to match the contract (PostgreSQL is async); SQLite answers in the same tick.

  private insertVersion(v: ModelVersionRecord): void {
    this.q.insertVersion.run({
      id: v.id, model: v.model, version: v.version, artifact_digest: v.artifactDigest, signature_bundle: v.signatureBundle,
      signer_identity: v.signerIdentity, provenance: json(v.provenance), sbom: json(v.sbom), scan_report: json(v.scanReport),
      verification: json(v.verification), created_at: v.createdAt, verified_at: v.verifiedAt,
    });
  }

  async getVersion(id: string): Promise<ModelVersionRecord | undefined> {
    const r = this.q.getVersion.get(id) as Row | undefined;
    return r && toVersion(r);
  }

  async findVersion(model: string, version: string): Promise<ModelVersionRecord | undefined> {
    const r = this.q.findVersion.get(model, version) as Row | undefined;
    return r && toVersion(r);
  }

  async setVersionVerification(id: string, v: VersionVerification): Promise<void> {
    this.q.verifyVersion.run(v.signerIdentity, json(v.scanReport), json(v.verification), v.verifiedAt, id);
  }

  async insertDeployment(d: Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'>, newVersion?: ModelVersionRecord): Promise<void> {
    this.db.transaction(() => {
      if (newVersion) this.insertVersion(newVersion);
      this.q.insertDeployment.run({
        id: d.id, version_id: d.versionId, upstream: d.upstream, tier: d.tier, region: d.region, tenant: d.tenant,
        attestation: json(d.attestation), state: d.state, approvals: JSON.stringify(d.approvals), known_good: d.knownGood ? 1 : 0,
        superseded_by: d.supersededBy, created_at: d.createdAt, updated_at: d.updatedAt, promoted_at: d.promotedAt,
      });
    })();
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    const r = this.q.getDeployment.get(id) as Row | undefined;
    return r && toDeployment(r);
  }

  async listDeployments(filter: { model?: string; state?: DeploymentState; tenant?: string } = {}): Promise<DeploymentRecord[]> {
    return (this.q.listDeployments.all({ model: filter.model ?? null, state: filter.state ?? null, tenant: filter.tenant ?? null }) as Row[]).map(toDeployment);
  }

  private step(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): boolean {
    const r = this.q.transition.run({
      id, from, to, at,
      approvals: patch.approvals === undefined ? null : JSON.stringify(patch.approvals),
      known_good: patch.knownGood === undefined ? null : patch.knownGood ? 1 : 0,
      set_superseded: patch.supersededBy === undefined ? 0 : 1,
      superseded_by: patch.supersededBy ?? null,
      promoted_at: patch.promotedAt ?? null,
    });
    return r.changes === 1;
  }

  async transition(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): Promise<boolean> {
    return this.step(id, from, to, patch, at);
  }

  async transitionAll(steps: readonly TransitionStep[], at: number): Promise<boolean> {
    const lost = new Error('lost');
    try {
      this.db.transaction(() => {
        for (const s of steps) if (!this.step(s.id, s.from, s.to, s.patch, at)) throw lost; // rolls the earlier steps back
      })();
      return true;
    } catch (e) {
      if (e === lost) return false;
      throw e;
    }
  }

  async setApprovals(id: string, state: DeploymentState, approvals: string[], at: number): Promise<boolean> {
    return this.q.setApprovals.run(JSON.stringify(approvals), at, id, state).changes === 1;
  }
}
