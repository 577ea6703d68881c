// The model registry: models, versions and deployments with the lifecycle
//   registered → verified → promoted → (quarantined | retired)
// Only a verified artifact can be promoted; promotion is authorized by the PDP (injected
// `authorize`) and optionally needs a second approver; quarantine takes a deployment out of
// routing at once; rollback re-promotes the last known-good deployment. Every transition, and every
// refusal of one, is handed to the injected `audit` (the ledger) BEFORE the state changes: if the
// ledger cannot take it, nothing changes (fail closed).
import type { KeyObject } from 'node:crypto';
import { FailClosed, BadRequest, WardenError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { AuditEvent, Principal, Resource } from '../../core/types.js';
import type { AttestationRequirement, DeploymentRecord, DeploymentState, RegistryStore } from '../../store/registry-store.js';
import { verifySbom } from '../provenance/cyclonedx.js';
import { verifyProvenance, type DatasetRef, type ProvenancePolicy } from '../provenance/slsa.js';
import type { ScanReport } from '../scan/types.js';
import { parseBundle, serializeBundle, type SignatureBundle } from '../signing/bundle.js';
import { verifyEnvelope } from '../signing/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from '../signing/statement.js';
import { signerIdentityOf, type VerifiedModel } from '../signing/verify-model.js';
import { registryEvent } from './audit.js';
import {
  ArtifactVerificationFailed, DeploymentNotFound, DeploymentNotRoutable, InvalidTransition, NoKnownGoodVersion,
  PromotionDenied, SecondApproverRequired, ServedDigestMismatch, VersionDigestConflict,
} from './errors.js';

export type AuditSink = (event: AuditEvent) => void | Promise<void>;
export type Authorize = (principal: Principal, action: 'promoteModel', resource: Resource) => boolean | Promise<boolean>;

/**
 * The training-data gate (the data plane's, injected): given a deployment and the datasets its verified SLSA
 * provenance names by digest, the reason promotion must be refused (an unregistered, unverified or not
 * trainOn-approved dataset), or null.
 */
export type TrainingDataGate = (deployment: DeploymentRecord, datasets: readonly DatasetRef[]) => string | null | Promise<string | null>;

export interface RegistryPolicy {
  /** Keys whose signatures make an artifact acceptable. Empty: nothing can be verified. */
  trustedSigners: KeyObject[];
  requireProvenance?: boolean;
  /** How to judge provenance when present (required when `requireProvenance`). */
  provenance?: ProvenancePolicy;
  requireSbom?: boolean;
  /** Two-person rule for promotion. */
  requireSecondApprover?: boolean;
  trainingData?: TrainingDataGate;
}

export interface RegistryDeps {
  store: RegistryStore;
  audit: AuditSink;
  authorize: Authorize;
  policy: RegistryPolicy;
  clock?: Clock;
}

export interface RegisterInput {
  model: string;
  version: string;
  /** `sha256:<hex>` model digest (from signing). */
  artifactDigest: string;
  signatureBundle: string | SignatureBundle;
  upstream: string;
  tier: string;
  region: string;
  tenant: string;
  attestation?: AttestationRequirement;
  provenance?: unknown;
  sbom?: unknown;
}

export interface VerifyEvidence {
  /** Result of verifyModel over the files (digests recomputed). */
  verifiedModel: VerifiedModel;
  /** Result of scanModel over the same files. */
  scanReport: ScanReport;
}

export interface PromoteResult {
  deployment: DeploymentRecord;
  /** True when this call recorded the first approval and a second approver is still needed. */
  pendingApproval: boolean;
}

export interface Slot {
  tenant: string;
  region: string;
  tier: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

export class ModelRegistry {
  private readonly store: RegistryStore;
  private readonly auditSink: AuditSink;
  private readonly authorizeFn: Authorize;
  private readonly policy: RegistryPolicy;
  private readonly clock: Clock;
  /**
   * model → promoted deployments, the routing snapshot the request path reads without waiting on the store:
   * reloaded after every transition made through this instance and by `refresh()` (another replica's change,
   * the plane's periodic sync).
   */
  private routes = new Map<string, DeploymentRecord[]>();

  constructor(deps: RegistryDeps) {
    this.store = deps.store;
    this.auditSink = deps.audit;
    this.authorizeFn = deps.authorize;
    this.policy = deps.policy;
    this.clock = deps.clock ?? systemClock;
  }

  async get(id: string): Promise<DeploymentRecord> {
    const d = await this.store.getDeployment(id);
    if (!d) throw new DeploymentNotFound(id);
    return d;
  }

  list(filter: { model?: string; state?: DeploymentState; tenant?: string } = {}): Promise<DeploymentRecord[]> {
    return this.store.listDeployments(filter);
  }

  /** Reloads the routing snapshot from the store (after another process or replica changed it). */
  async refresh(): Promise<void> {
    const routes = new Map<string, DeploymentRecord[]>();
    for (const d of await this.store.listDeployments({ state: 'promoted' })) {
      const list = routes.get(d.model);
      if (list) list.push(d);
      else routes.set(d.model, [d]);
    }
    this.routes = routes;
  }

  // --- audit helpers ---------------------------------------------------------------------------

  private async record(ev: AuditEvent): Promise<void> {
    try {
      await this.auditSink(ev);
    } catch (e) {
      throw new FailClosed('audit_unavailable', `the ledger did not accept the ${ev.action} entry: ${(e as Error).message}`);
    }
  }

  private async refuse(principal: Principal | null, action: string, d: DeploymentRecord | null, err: WardenError, details: Record<string, string> = {}): Promise<never> {
    await this.record(registryEvent({ at: this.clock.now(), principal, action, deployment: d, decision: 'deny', status: err.status, errorCode: err.code, details: { reason: err.message, ...details } }));
    throw err;
  }

  private async allowEntry(principal: Principal | null, action: string, d: DeploymentRecord, to: DeploymentState, details: Record<string, string | number | boolean | null> = {}): Promise<void> {
    await this.record(registryEvent({ at: this.clock.now(), principal, action, deployment: d, decision: 'allow', status: 200, details: { to, ...details } }));
  }

  /** CAS transition after the ledger took the entry; a lost race is audited as an error. */
  private async move(principal: Principal | null, action: string, d: DeploymentRecord, to: DeploymentState, patch: Parameters<RegistryStore['transition']>[3] = {}): Promise<DeploymentRecord> {
    if (!(await this.store.transition(d.id, d.state, to, patch, this.clock.now()))) {
      const now = await this.get(d.id);
      await this.refuse(principal, action, d, new InvalidTransition(d.id, now.state, action), { race: 'true' });
    }
    await this.refresh();
    return this.get(d.id);
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  async register(principal: Principal, input: RegisterInput): Promise<DeploymentRecord> {
    for (const [field, v] of [['model', input.model], ['version', input.version], ['tier', input.tier], ['region', input.region], ['tenant', input.tenant]] as const) {
      if (typeof v !== 'string' || !NAME.test(v)) throw new BadRequest('invalid_field', `${field} must be 1-128 of [A-Za-z0-9._:/@-]`, field);
    }
    if (!DIGEST.test(input.artifactDigest)) throw new BadRequest('invalid_digest', 'artifactDigest must be sha256:<64 hex>', 'artifactDigest');
    let url: URL;
    try {
      url = new URL(input.upstream);
    } catch {
      throw new BadRequest('invalid_upstream', 'upstream must be an absolute URL', 'upstream');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BadRequest('invalid_upstream', 'upstream must be http(s)', 'upstream');
    if (url.username || url.password) throw new BadRequest('invalid_upstream', 'upstream must not carry credentials', 'upstream');
    const bundleText = typeof input.signatureBundle === 'string' ? input.signatureBundle : serializeBundle(input.signatureBundle);
    parseBundle(bundleText);
    const now = this.clock.now();
    const version = await this.store.findVersion(input.model, input.version);
    if (version && version.artifactDigest !== input.artifactDigest) throw new VersionDigestConflict(input.model, input.version);
    const id = newId('dep');
    const draft: DeploymentRecord = {
      id, versionId: version?.id ?? newId('mv'), model: input.model, version: input.version, artifactDigest: input.artifactDigest,
      upstream: url.toString().replace(/\/$/, ''), tier: input.tier, region: input.region, tenant: input.tenant,
      attestation: input.attestation ?? null, state: 'registered', approvals: [], knownGood: false, supersededBy: null,
      createdAt: now, updatedAt: now, promotedAt: null,
    };
    await this.record(registryEvent({ at: now, principal, action: 'model.register', deployment: { ...draft, state: 'registered' }, decision: 'allow', status: 201, details: { upstream: draft.upstream, tier: draft.tier, region: draft.region, tenant: draft.tenant, confidential: draft.attestation !== null } }));
    const { model: _m, version: _v, artifactDigest: _a, ...row } = draft;
    await this.store.insertDeployment(
      row,
      version
        ? undefined
        : { id: draft.versionId, model: input.model, version: input.version, artifactDigest: input.artifactDigest, signatureBundle: bundleText, signerIdentity: null, provenance: input.provenance ?? null, sbom: input.sbom ?? null, scanReport: null, verification: null, createdAt: now, verifiedAt: null },
    );
    return this.get(id);
  }

  /** Checks the artifact's evidence against the policy; registered → verified. */
  async verify(principal: Principal, id: string, evidence: VerifyEvidence): Promise<DeploymentRecord> {
    const d = await this.get(id);
    const action = 'model.verify';
    if (d.state !== 'registered') return this.refuse(principal, action, d, new InvalidTransition(id, d.state, 'verify'));
    const version = (await this.store.getVersion(d.versionId))!;
    const fail = (code: string, message: string) => this.refuse(principal, action, d, new ArtifactVerificationFailed(code, message));

    // 1. The stored bundle must verify under a trusted signer and bind exactly this artifact digest.
    if (!version.signatureBundle) return fail('signature_missing', 'no signature bundle');
    const bundle = parseBundle(version.signatureBundle);
    let signer: KeyObject | undefined;
    let payload: Buffer | undefined;
    for (const key of this.policy.trustedSigners) {
      try {
        payload = verifyEnvelope(bundle.dsseEnvelope, key, IN_TOTO_PAYLOAD_TYPE);
        signer = key;
        break;
      } catch (e) {
        if (!(e instanceof WardenError)) throw e;
      }
    }
    if (!signer || !payload) return fail('untrusted_signer', 'the signature does not verify under any trusted signer');
    let manifestDigest: string;
    try {
      manifestDigest = parseStatement(payload).modelDigest;
    } catch (e) {
      return fail('manifest_invalid', (e as Error).message);
    }
    if (manifestDigest !== d.artifactDigest) return fail('digest_mismatch', `the signed manifest is for ${manifestDigest}, not ${d.artifactDigest}`);
    const signerIdentity = signerIdentityOf(signer);

    // 2. The files were hashed and matched that manifest, under the same signer.
    if (evidence.verifiedModel.modelDigest !== d.artifactDigest) return fail('files_mismatch', `the files hash to ${evidence.verifiedModel.modelDigest}, not ${d.artifactDigest}`);
    if (evidence.verifiedModel.signerIdentity !== signerIdentity) return fail('files_mismatch', 'the files were verified under a different key');

    // 3. The scan found nothing.
    if (!evidence.scanReport.ok) {
      const first = evidence.scanReport.issues[0];
      return fail('scan_failed', `scan found ${evidence.scanReport.issues.length} issue(s)${first ? `, first: ${first.file}: ${first.reason}` : ''}`);
    }

    // 4. Provenance and SBOM, when attached or required.
    const summary: Record<string, unknown> = { signerIdentity, files: evidence.verifiedModel.files, bytes: evidence.verifiedModel.bytes };
    if (version.provenance !== null) {
      if (!this.policy.provenance) return fail('provenance_rejected', 'provenance is attached but the registry has no provenance policy to judge it');
      try {
        summary.provenance = verifyProvenance(version.provenance, d.artifactDigest, this.policy.provenance);
      } catch (e) {
        return fail('provenance_rejected', (e as Error).message);
      }
    } else if (this.policy.requireProvenance) return fail('provenance_missing', 'policy requires SLSA provenance');
    if (version.sbom !== null) {
      try {
        summary.sbom = verifySbom(version.sbom, d.artifactDigest);
      } catch (e) {
        return fail('sbom_rejected', (e as Error).message);
      }
    } else if (this.policy.requireSbom) return fail('sbom_missing', 'policy requires a CycloneDX SBOM');

    await this.allowEntry(principal, action, d, 'verified', { signer: signerIdentity });
    await this.store.setVersionVerification(version.id, { signerIdentity, scanReport: evidence.scanReport, verification: summary, verifiedAt: this.clock.now() });
    return this.move(principal, action, d, 'verified');
  }

  /** The datasets the verified provenance names, as verification recorded them. */
  async trainingDatasets(d: DeploymentRecord): Promise<DatasetRef[]> {
    const v = (await this.store.getVersion(d.versionId))?.verification as { provenance?: { datasets?: DatasetRef[] } } | null | undefined;
    return v?.provenance?.datasets ?? [];
  }

  private async trainingDataRefusal(d: DeploymentRecord): Promise<string | null> {
    return this.policy.trainingData ? await this.policy.trainingData(d, await this.trainingDatasets(d)) : null;
  }

  private async authorizePromotion(principal: Principal, action: string, d: DeploymentRecord): Promise<void> {
    let allowed: boolean;
    try {
      allowed = (await this.authorizeFn(principal, 'promoteModel', { type: 'Deployment', id: d.id })) === true;
    } catch (e) {
      const err = new FailClosed('pdp_unavailable', `cannot authorize promoteModel: ${(e as Error).message}`);
      await this.record(registryEvent({ at: this.clock.now(), principal, action, deployment: d, decision: 'error', status: err.status, errorCode: err.code, details: { reason: err.message } }));
      throw err;
    }
    if (!allowed) await this.refuse(principal, action, d, new PromotionDenied(`${principal.id} may not promote ${d.model}@${d.version}`));
  }

  /** verified → promoted (authorized; two approvals when the policy says so). Supersedes the slot's previous promotion. */
  async promote(principal: Principal, id: string): Promise<PromoteResult> {
    const action = 'model.promote';
    const d = await this.get(id);
    if (d.state !== 'verified') return this.refuse(principal, action, d, new InvalidTransition(id, d.state, 'promote (only verified artifacts can be promoted)'));
    const dataRefusal = await this.trainingDataRefusal(d);
    if (dataRefusal) return this.refuse(principal, action, d, new ArtifactVerificationFailed('training_data_not_approved', dataRefusal));
    await this.authorizePromotion(principal, action, d);
    if (this.policy.requireSecondApprover) {
      if (d.approvals.includes(principal.id)) {
        return this.refuse(principal, action, d, new SecondApproverRequired(`${principal.id} already approved; a different approver must promote`));
      }
      if (d.approvals.length === 0) {
        await this.record(registryEvent({ at: this.clock.now(), principal, action: 'model.approve', deployment: d, decision: 'allow', status: 202, details: { approvals: 1 } }));
        if (!(await this.store.setApprovals(id, 'verified', [principal.id], this.clock.now()))) {
          return this.refuse(principal, action, d, new InvalidTransition(id, (await this.get(id)).state, 'approve'));
        }
        return { deployment: await this.get(id), pendingApproval: true };
      }
    }
    return { deployment: await this.promoteNow(principal, action, d, [...d.approvals, principal.id]), pendingApproval: false };
  }

  private async slotPeers(d: DeploymentRecord): Promise<DeploymentRecord[]> {
    return (await this.store.listDeployments({ model: d.model, state: 'promoted' })).filter((x) => x.id !== d.id && x.tenant === d.tenant && x.region === d.region && x.tier === d.tier);
  }

  private async promoteNow(principal: Principal, action: string, d: DeploymentRecord, approvals: string[]): Promise<DeploymentRecord> {
    const superseded = await this.slotPeers(d);
    for (const s of superseded) await this.allowEntry(principal, 'model.retire', s, 'retired', { reason: 'superseded', by: d.id });
    await this.allowEntry(principal, action, d, 'promoted', { approvals: approvals.join(','), superseded: superseded.map((s) => s.id).join(',') });
    const now = this.clock.now();
    const ok = await this.store.transitionAll(
      [
        ...superseded.map((s) => ({ id: s.id, from: 'promoted' as const, to: 'retired' as const, patch: { supersededBy: d.id } })),
        { id: d.id, from: d.state, to: 'promoted', patch: { approvals, knownGood: true, promotedAt: now, supersededBy: null } },
      ],
      now,
    );
    await this.refresh();
    if (!ok) await this.refuse(principal, action, d, new InvalidTransition(d.id, (await this.get(d.id)).state, 'promote'), { race: 'true' });
    return this.get(d.id);
  }

  /** Any live state → quarantined: out of routing at once, never a rollback target again. */
  async quarantine(principal: Principal | null, id: string, reason: string): Promise<DeploymentRecord> {
    const d = await this.get(id);
    if (d.state === 'quarantined') return d;
    await this.allowEntry(principal, 'model.quarantine', d, 'quarantined', { reason });
    return this.move(principal, 'model.quarantine', d, 'quarantined', { knownGood: false, approvals: [] });
  }

  async retire(principal: Principal, id: string): Promise<DeploymentRecord> {
    const d = await this.get(id);
    if (d.state === 'retired' || d.state === 'quarantined') return this.refuse(principal, 'model.retire', d, new InvalidTransition(id, d.state, 'retire'));
    await this.allowEntry(principal, 'model.retire', d, 'retired');
    return this.move(principal, 'model.retire', d, 'retired', { supersededBy: null });
  }

  /**
   * Re-promotes the most recently promoted known-good deployment of `model` in the slot, retiring
   * the current one. Authorized like a promotion (it is one); no second approver, because rollback
   * is the emergency path back to something already approved.
   */
  async rollback(principal: Principal, model: string, slot?: Slot): Promise<DeploymentRecord> {
    const all = await this.store.listDeployments({ model });
    const inSlot = (x: DeploymentRecord) => !slot || (x.tenant === slot.tenant && x.region === slot.region && x.tier === slot.tier);
    const current = all.filter((x) => x.state === 'promoted' && inSlot(x));
    if (!slot && new Set(all.map((x) => `${x.tenant}|${x.region}|${x.tier}`)).size > 1) {
      throw new BadRequest('slot_required', `${model} is deployed in several tenant/region/tier slots; name one`);
    }
    const candidates = all.filter((x) => x.state === 'retired' && x.knownGood && x.promotedAt !== null && inSlot(x));
    const verified = await Promise.all(candidates.map(async (x) => (await this.store.getVersion(x.versionId))?.verifiedAt !== null));
    const target = candidates.filter((_, i) => verified[i]).sort((a, b) => b.promotedAt! - a.promotedAt!)[0];
    if (!target) {
      await this.record(registryEvent({ at: this.clock.now(), principal, action: 'model.rollback', deployment: current[0] ?? null, decision: 'deny', status: 409, errorCode: 'no_known_good_version', details: { model } }));
      throw new NoKnownGoodVersion(model);
    }
    await this.authorizePromotion(principal, 'model.rollback', target);
    for (const c of current) {
      await this.allowEntry(principal, 'model.retire', c, 'retired', { reason: 'rollback', to: target.id });
      await this.move(principal, 'model.retire', c, 'retired', { supersededBy: null });
    }
    await this.allowEntry(principal, 'model.rollback', target, 'promoted', { from_deployment: current.map((c) => c.id).join(',') });
    return this.move(principal, 'model.rollback', target, 'promoted', { promotedAt: this.clock.now(), supersededBy: null });
  }

  // --- routing support for the gateway ------------------------------------------------------------

  /** The promoted deployment `id` in the routing snapshot, or null. */
  routableDeployment(id: string): DeploymentRecord | null {
    for (const list of this.routes.values()) for (const d of list) if (d.id === id) return d;
    return null;
  }

  /** Promoted deployments of `model` (only these may receive traffic), from the routing snapshot. */
  routableDeployments(model: string): DeploymentRecord[] {
    return this.routes.get(model) ?? [];
  }

  /**
   * The upstream reported which artifact it serves. Anything but the pinned digest quarantines the
   * deployment (audited) and throws ServedDigestMismatch; a non-promoted deployment throws
   * DeploymentNotRoutable. Accepts `sha256:<hex>` or bare hex.
   */
  async checkServedDigest(deploymentId: string, reportedDigest: string | null | undefined): Promise<void> {
    const d = await this.get(deploymentId);
    if (d.state !== 'promoted') throw new DeploymentNotRoutable(d.id, d.state);
    const reported = (reportedDigest ?? '').trim().toLowerCase();
    const normalized = reported.startsWith('sha256:') ? reported : reported ? `sha256:${reported}` : '';
    if (normalized === d.artifactDigest) return;
    await this.quarantine(null, d.id, `upstream served ${normalized || '(no digest)'} instead of ${d.artifactDigest}`);
    throw new ServedDigestMismatch(d.id, d.artifactDigest, normalized);
  }
}
