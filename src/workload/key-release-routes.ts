// Model-key release to attested workloads (issue 6). A confidential deployment's data key is stored wrapped
// under a local KEK; the workload asks for a fresh challenge, proves itself with attestation evidence that
// binds the nonce and its own public key, and receives the key as a JWE only that key can open. The key
// never exists in the clear outside the enclave (and Warden's memory for the moment of re-wrapping).
//   POST /v1/attestation/challenge  {deployment}                       → {nonce, expires_in}
//   POST /v1/attestation/key        {deployment, nonce, evidence}      → {jwe, key_id, alg, enc}
//   POST /admin/v1/models/{id}/key  {key: base64url of 32 bytes}       (admin; stores the wrapped key)
// Both /v1/attestation routes answer before any credential is checked (the evidence is the credential), so
// they are rate-limited per source address, and challenges are stateless (see issueNonce in
// attestation-challenges.ts): issuing them cannot fill memory or crowd out a legitimate enclave's challenge.
// With store.redis a challenge issued by any replica is accepted once by any replica, and the per-source limit
// is one bucket across replicas.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, FailClosed, Forbidden, NotFound, WardenError } from '../core/errors.js';
import { auditEvent, auditPrincipal } from '../core/audit-event.js';
import type { AdminRequest } from '../admin/admin.js';
import type { AuditSink } from '../core/audit-sink.js';
import { readBody } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import { SourceRateLimiter, type SourceLimiter, type SourceRate } from '../network/source-limit.js';
import { SqliteModelKeyStore } from '../store/model-keys-sqlite.js';
import type { ModelKeyStore } from '../store/sealed-store.js';
import type { SqliteDb } from '../store/sqlite.js';
import { verifyEvidence, type TrustAnchors } from './attestation/index.js';
import { releaseModelKey } from './key-release.js';
import { KeyReleaseReferenceUnmeasured } from './key-release-errors.js';
import { imageMeasurementProblem } from './attestation/reference.js';
import { wrapModelKey } from './key-release-envelope.js';
import type { Keyring } from '../data/crypto/index.js';
import type { ModelRegistry } from './registry/registry.js';
import { DeploymentNotFound } from './registry/errors.js';
import type { AttestationRequirement } from '../store/registry-store.js';
import { parseEvidenceJson } from './attestation/evidence-fetch.js';
import { referenceFromRequirement } from './attestation/requirement.js';
import { clientAddress } from '../network/source.js';
import { LocalChallengeStore, type ChallengeStore } from './attestation-challenges.js';

const NONCE_TTL_MS = 60_000;

export interface KeyReleaseDeps {
  db: SqliteDb;
  /** Wraps model keys under the deployment tenant's KEK (src/data/crypto). */
  keyring: Keyring;
  registry: ModelRegistry;
  trust: TrustAnchors;
  audit: AuditSink;
  clock: Clock;
  log: Logger;
  maxEvidenceAgeMs: number;
  /** Per source address, on /v1/attestation/challenge and /v1/attestation/key together. */
  perSource: SourceRate;
  /** Where the per-source buckets live; default this process (with store.redis, shared by every replica). */
  sourceLimiter?: SourceLimiter;
  /** Used nonces remembered at most (limits.attestationUsedNonces); beyond it key requests get 503. */
  maxConsumedNonces?: number;
  /** Wrapped model keys; default the data dir's SQLite (with store.postgres, the replicas' one table). */
  modelKeys?: ModelKeyStore;
  /** Where challenges are issued and spent; default one process (src/workload/attestation-challenges.ts). */
  challenges?: ChallengeStore;
}

export function createKeyRelease(d: KeyReleaseDeps) {
  const keys = d.modelKeys ?? new SqliteModelKeyStore(d.db);
  const challenges = d.challenges ?? new LocalChallengeStore(d.maxConsumedNonces);
  const limiter = d.sourceLimiter ?? new SourceRateLimiter(d.clock, d.perSource);

  const record = async (requestId: string, action: string, deployment: string | null, status: number, err?: WardenError) => {
    // Fail closed with the same code as every other route: nothing is released that the ledger did not record.
    const unavailable = (e: unknown): never => {
      d.log.error({ err: e, requestId }, 'audit append failed; withholding the answer');
      throw new FailClosed('audit_unavailable', 'the audit ledger could not record this request; the answer is withheld');
    };
    await d.audit.append(
      auditEvent({
        time: new Date(d.clock.now()).toISOString(),
        requestId,
        kind: 'system',
        action,
        resource: deployment ? { type: 'Deployment', id: deployment } : null,
        decision: err ? (err.status >= 500 ? 'error' : 'deny') : 'allow',
        status,
        ...(err ? { errorCode: err.code } : {}),
      }),
    ).catch(unavailable);
  };

  const confidential = async (id: string) => {
    let dep;
    try {
      dep = await d.registry.get(id);
    } catch (e) {
      if (!(e instanceof DeploymentNotFound)) throw e; // the store is unreachable: not a 404
      throw new NotFound('deployment_not_found', `no deployment ${JSON.stringify(id)}`);
    }
    if (!dep.attestation) throw new Forbidden('not_confidential', `deployment ${id} declares no attestation; its key is never released`);
    if (dep.state !== 'verified' && dep.state !== 'promoted') throw new Forbidden('deployment_not_verified', `deployment ${id} is ${dep.state}; keys go only to verified or promoted deployments`);
    return dep;
  };

  const parse = (raw: Buffer): Record<string, unknown> => {
    try {
      const v = JSON.parse(raw.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw new BadRequest('invalid_body', 'the request body must be a JSON object');
  };

  async function inferenceRoute(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/attestation/challenge' && path !== '/v1/attestation/key') return false;
    let deployment: string | null = null;
    const action = path.endsWith('challenge') ? 'attest.challenge' : 'attest.key_release';
    try {
      await limiter.take(clientAddress(req));
      if (req.method !== 'POST') throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts POST only`);
      const body = parse(await readBody(req, 2 * 1024 * 1024));
      if (typeof body.deployment !== 'string') throw new BadRequest('invalid_field', 'deployment is required', 'deployment');
      deployment = body.deployment;
      const dep = await confidential(deployment);
      const now = d.clock.now();
      if (action === 'attest.challenge') {
        const nonce = await challenges.issue(deployment, now + NONCE_TTL_MS);
        await record(requestId, action, deployment, 200);
        sendJson(res, 200, { nonce, expires_in: NONCE_TTL_MS / 1000 }, { 'x-request-id': requestId, 'cache-control': 'no-store' });
        return true;
      }
      // The nonce is single use and bound to this deployment: a replayed or foreign document is refused.
      const nonce = typeof body.nonce === 'string' ? body.nonce : '';
      // Spent from here on (single use), whatever the evidence says.
      if (!(await challenges.consume(nonce, deployment, now))) throw new Forbidden('invalid_challenge', 'the nonce is unknown, used, expired or for another deployment');
      const wrapped = await keys.get(deployment);
      if (!wrapped) throw new NotFound('no_model_key', `no key is stored for deployment ${deployment}`);
      const reference = referenceFromRequirement(dep.attestation!);
      const evidence = parseEvidenceJson(Buffer.from(JSON.stringify(body.evidence ?? null)));
      const verified = await verifyEvidence(evidence, reference, { nonce: Buffer.from(nonce, 'hex'), now, maxAgeMs: d.maxEvidenceAgeMs, trust: d.trust });
      const released = await releaseModelKey(wrapped, verified, reference, { keyring: d.keyring, modelId: dep.model, now, maxEvidenceAgeMs: d.maxEvidenceAgeMs });
      await record(requestId, action, deployment, 200);
      sendJson(res, 200, { jwe: released.jwe, key_id: released.keyId, alg: released.alg, enc: released.enc }, { 'x-request-id': requestId, 'cache-control': 'no-store' });
      return true;
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) d.log.error({ err: e, requestId }, 'key release failed');
      try {
        await record(requestId, action, deployment, err.status, err);
      } catch (auditErr) {
        d.log.error({ err: auditErr, requestId }, 'could not record a refused key release');
      }
      sendError(res, err, requestId);
      return true;
    }
  }

  async function adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const m = /^\/admin\/v1\/models\/([^/]+)\/key$/.exec(ar.path);
    if (!m) return false;
    if (req.method !== 'POST') throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', 'POST the key');
    const id = decodeURIComponent(m[1]!);
    try {
      let dep;
      try {
        dep = await d.registry.get(id);
      } catch (e) {
        if (!(e instanceof DeploymentNotFound)) throw e;
        throw new NotFound('deployment_not_found', `no deployment ${JSON.stringify(id)}`);
      }
      if (!dep.attestation) throw new Forbidden('not_confidential', `deployment ${id} declares no attestation; a key for it could never be released`);
      assertReleasable(id, dep.attestation);
      const b = await ar.body();
      const key = typeof b.key === 'string' ? Buffer.from(b.key, 'base64url') : Buffer.alloc(0);
      if (key.length !== 32) throw new BadRequest('invalid_field', 'key must be 32 bytes, base64url', 'key');
      const keyId = `mk_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      await ar.record('model.key.set', { type: 'Deployment', id }, { keyId });
      try {
        await keys.put(id, await wrapModelKey(d.keyring, { keyId, modelId: dep.model, tenant: dep.tenant }, key), d.clock.now());
      } finally {
        key.fill(0);
      }
      sendJson(res, 201, { deployment: id, key_id: keyId }, { 'x-request-id': ar.requestId });
      return true;
    } catch (e) {
      // A refused key is a ledger entry like a stored one (the admin listener records only its own gate's refusals).
      if (e instanceof WardenError && e.status < 500) await recordRefusedKey(ar, id, e);
      throw e;
    }
  }

  /**
   * Key release needs a reference that pins an image measurement (docs/attestation.md "Key release"): storing a
   * key for a deployment without one is refused now, not at the first release, so the operator learns it here.
   */
  const assertReleasable = (id: string, requirement: AttestationRequirement) => {
    let reference;
    try {
      reference = referenceFromRequirement(requirement);
    } catch (e) {
      throw new BadRequest('invalid_attestation_reference', `deployment ${id}: ${(e as Error).message}`, 'attestation');
    }
    const unmeasured = imageMeasurementProblem(reference);
    if (unmeasured) throw new KeyReleaseReferenceUnmeasured(`deployment ${id}: ${unmeasured}, so a key stored for it could never be released; register the model with one`);
  };

  const recordRefusedKey = async (ar: AdminRequest, id: string, err: WardenError) => {
    await d.audit.append(
      auditEvent({
        time: new Date(d.clock.now()).toISOString(),
        requestId: ar.requestId,
        kind: 'control',
        principal: auditPrincipal(ar.principal),
        action: 'model.key.set',
        resource: { type: 'Deployment', id },
        decision: 'deny',
        status: err.status,
        errorCode: err.code,
        details: { reason: err.message },
      }),
    ).catch((auditErr: unknown) => d.log.error({ err: auditErr, requestId: ar.requestId }, 'could not record a refused model key'));
  };

  return { inferenceRoute, adminRoute };
}
