// The model registry (versions, deployments and their states, verification results) in PostgreSQL, for
// replicas that share one control plane (the contract is src/store/registry-store.ts;
// test/store/registry-contract.test.ts runs one suite on SQLite and PostgreSQL). Every state change is a
// conditional UPDATE (compare-and-set on the state), so two replicas moving one deployment cannot both win;
// a promotion that retires the slot's previous deployment is one transaction. JSON evidence is kept as the
// text it was written as (like SQLite), not re-ordered by jsonb.
import type pg from 'pg';
import { connectMigrated, inTransaction, type Migration, type MigrationResult } from './pg-migrate.js';
import type { DeploymentPatch, DeploymentRecord, DeploymentState, ModelVersionRecord, RegistryStore, TransitionStep, VersionVerification } from './registry-store.js';
import { json, toDeployment, toVersion, type Row } from './registry-rows.js';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'model_versions, model_deployments',
    sql: `
      CREATE TABLE $PREFIXmodel_versions (
        id text PRIMARY KEY, model text NOT NULL, version text NOT NULL, artifact_digest text NOT NULL,
        signature_bundle text, signer_identity text, provenance text, sbom text, scan_report text, verification text,
        created_at bigint NOT NULL, verified_at bigint, UNIQUE (model, version));
      CREATE TABLE $PREFIXmodel_deployments (
        id text PRIMARY KEY, version_id text NOT NULL REFERENCES $PREFIXmodel_versions(id), upstream text NOT NULL,
        tier text NOT NULL, region text NOT NULL, tenant text NOT NULL, attestation text,
        state text NOT NULL CHECK (state IN ('registered','verified','promoted','quarantined','retired')),
        approvals text NOT NULL, known_good boolean NOT NULL, superseded_by text,
        created_at bigint NOT NULL, updated_at bigint NOT NULL, promoted_at bigint);
      CREATE INDEX $PREFIXmodel_deployments_state ON $PREFIXmodel_deployments(state);`,
  },
  {
    version: 2,
    description: 'attestation_verdicts (shared by the replicas, src/store/attestation-verdicts-postgres.ts)',
    sql: `
      CREATE TABLE $PREFIXattestation_verdicts (
        deployment_id text PRIMARY KEY, reference_digest text NOT NULL, trusted boolean NOT NULL,
        evidence_digest text, measurements text, code text, reason text,
        verified_at bigint, expires_at bigint, checked_at bigint NOT NULL, replica text NOT NULL, revision bigint NOT NULL,
        CHECK (NOT trusted OR (evidence_digest IS NOT NULL AND verified_at IS NOT NULL AND expires_at IS NOT NULL)));`,
  },
];

export class PostgresRegistryStore implements RegistryStore {
  private readonly select: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { versions: string; deployments: string },
    readonly migration: MigrationResult,
  ) {
    this.select = `SELECT d.*, v.model, v.version, v.artifact_digest FROM ${t.deployments} d JOIN ${t.versions} v ON v.id = d.version_id`;
  }

  /** Connects and brings the schema up to date (see pg-migrate.ts). */
  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresRegistryStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 2, ...opts }, 'registry', REGISTRY_MIGRATIONS);
    return new PostgresRegistryStore(pool, { versions: `${prefix}model_versions`, deployments: `${prefix}model_deployments` }, migration);
  }

  async getVersion(id: string): Promise<ModelVersionRecord | undefined> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t.versions} WHERE id = $1`, [id])).rows[0] as Row | undefined;
    return r && toVersion(r);
  }

  async findVersion(model: string, version: string): Promise<ModelVersionRecord | undefined> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t.versions} WHERE model = $1 AND version = $2`, [model, version])).rows[0] as Row | undefined;
    return r && toVersion(r);
  }

  async setVersionVerification(id: string, v: VersionVerification): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.versions} SET signer_identity = $1, scan_report = $2, verification = $3, verified_at = $4 WHERE id = $5`, [
      v.signerIdentity, json(v.scanReport), json(v.verification), v.verifiedAt, id,
    ]);
  }

  async insertDeployment(d: Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'>, v?: ModelVersionRecord): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      if (v) {
        await c.query(
          `INSERT INTO ${this.t.versions} (id, model, version, artifact_digest, signature_bundle, signer_identity, provenance, sbom, scan_report, verification, created_at, verified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [v.id, v.model, v.version, v.artifactDigest, v.signatureBundle, v.signerIdentity, json(v.provenance), json(v.sbom), json(v.scanReport), json(v.verification), v.createdAt, v.verifiedAt],
        );
      }
      await c.query(
        `INSERT INTO ${this.t.deployments} (id, version_id, upstream, tier, region, tenant, attestation, state, approvals, known_good, superseded_by, created_at, updated_at, promoted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [d.id, d.versionId, d.upstream, d.tier, d.region, d.tenant, json(d.attestation), d.state, JSON.stringify(d.approvals), d.knownGood, d.supersededBy, d.createdAt, d.updatedAt, d.promotedAt],
      );
    });
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    const r = (await this.pool.query(`${this.select} WHERE d.id = $1`, [id])).rows[0] as Row | undefined;
    return r && toDeployment(r);
  }

  async listDeployments(filter: { model?: string; state?: DeploymentState; tenant?: string } = {}): Promise<DeploymentRecord[]> {
    const rows = (
      await this.pool.query(
        `${this.select} WHERE ($1::text IS NULL OR v.model = $1) AND ($2::text IS NULL OR d.state = $2) AND ($3::text IS NULL OR d.tenant = $3)
         ORDER BY d.created_at, d.id COLLATE "C"`,
        [filter.model ?? null, filter.state ?? null, filter.tenant ?? null],
      )
    ).rows as Row[];
    return rows.map(toDeployment);
  }

  private async step(c: pg.ClientBase | pg.Pool, s: TransitionStep, at: number): Promise<boolean> {
    const p: DeploymentPatch = s.patch;
    const r = await c.query(
      `UPDATE ${this.t.deployments} SET state = $3, updated_at = $4,
         approvals = COALESCE($5, approvals), known_good = COALESCE($6, known_good),
         superseded_by = CASE WHEN $7 THEN $8 ELSE superseded_by END,
         promoted_at = COALESCE($9, promoted_at)
       WHERE id = $1 AND state = $2`,
      [
        s.id, s.from, s.to, at,
        p.approvals === undefined ? null : JSON.stringify(p.approvals),
        p.knownGood ?? null,
        p.supersededBy !== undefined,
        p.supersededBy ?? null,
        p.promotedAt ?? null,
      ],
    );
    return r.rowCount === 1;
  }

  async transition(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): Promise<boolean> {
    return this.step(this.pool, { id, from, to, patch }, at);
  }

  async transitionAll(steps: readonly TransitionStep[], at: number): Promise<boolean> {
    const lost = new Error('a deployment left its state');
    try {
      await inTransaction(this.pool, async (c) => {
        for (const s of steps) if (!(await this.step(c, s, at))) throw lost; // rolls the earlier steps back
      });
      return true;
    } catch (e) {
      if (e === lost) return false;
      throw e;
    }
  }

  async setApprovals(id: string, state: DeploymentState, approvals: string[], at: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.t.deployments} SET approvals = $1, updated_at = $2 WHERE id = $3 AND state = $4`, [JSON.stringify(approvals), at, id, state]);
    return r.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
