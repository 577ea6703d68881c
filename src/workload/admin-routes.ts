// /admin/v1/models: the registry verbs of `warden model` on the admin listener. The caller is the admin
// principal; promotion and rollback are also `promoteModel` decisions of the PDP (made by the registry).
// Verification hashes a model directory ON THE GATEWAY HOST (an absolute path) against the bundle stored at
// registration, under the configured trusted signers, then scans it; every refusal is a ledger entry.
import { isAbsolute, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { BadRequest, Forbidden, NotFound, WardenError } from '../core/errors.js';
import type { AuditEvent, Principal } from '../core/types.js';
import type { AdminRequest } from '../admin/admin.js';
import { sendJson } from '../http/respond.js';
import type { DeploymentRecord, DeploymentState, RegistryStore } from '../store/registry-store.js';
import type { AttestationStatus } from './attestation/index.js';
import { registryEvent } from './registry/audit.js';
import { ArtifactVerificationFailed } from './registry/errors.js';
import type { ModelRegistry, RegisterInput } from './registry/registry.js';
import { scanModel, type ScanOptions } from './scan/scan-model.js';
import { parseBundle } from './signing/bundle.js';
import { ModelSignatureInvalid } from './signing/errors.js';
import { DEFAULT_SIGNATURE_NAME, pathInside } from './signing/sign-model.js';
import { parseStatement } from './signing/statement.js';
import { verifyModel, type VerifiedModel } from './signing/verify-model.js';
import { referenceFromRequirement } from './attestation/requirement.js';
import { clientAddress } from '../network/source.js';

export interface ModelAdminDeps {
  /** The routing registry (reads). */
  registry: ModelRegistry;
  store: RegistryStore;
  /** A registry whose promoteModel decisions carry this caller's source address. */
  registryFor(sourceIp: string): ModelRegistry;
  trustedSigners: KeyObject[];
  /** workload.scan: the limits of the scan run on verify. */
  scanLimits: Omit<ScanOptions, 'ignorePaths'>;
  audit: (e: AuditEvent) => Promise<void>;
  clock: Clock;
  /** Makes a change visible to routing before the response (quarantine is effective on the next request). */
  sync(): Promise<void>;
  attestation(id: string): AttestationStatus | null;
  challenge(id: string): Promise<AttestationStatus | null>;
  /** Verifies a step-up bearer token (OIDC with amr mfa + auth_time) and returns whom it authenticates. */
  stepUp(token: string): Promise<Principal>;
  /** The training datasets the deployment's provenance names and whether each may be used (the data plane's gate). */
  trainingData?(dep: DeploymentRecord): Promise<unknown>;
}

const STATES: DeploymentState[] = ['registered', 'verified', 'promoted', 'quarantined', 'retired'];

function optionalString(b: Record<string, unknown>, name: string): string | undefined {
  const v = b[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new BadRequest('invalid_field', `${name} must be a non-empty string`, name);
  return v;
}

function requiredString(b: Record<string, unknown>, name: string): string {
  const v = optionalString(b, name);
  if (v === undefined) throw new BadRequest('missing_field', `${name} is required`, name);
  return v;
}

function stringList(b: Record<string, unknown>, name: string): string[] {
  const v = b[name];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new BadRequest('invalid_field', `${name} must be a list of strings`, name);
  return v as string[];
}

function parseRegisterBody(b: Record<string, unknown>): RegisterInput {
  const bundle = b.signatureBundle;
  if (bundle === undefined) throw new BadRequest('missing_field', 'signatureBundle (the model.sig JSON) is required', 'signatureBundle');
  const parsed = parseBundle(bundle);
  // Read from the not yet authenticated manifest; verification authenticates it under a trusted signer.
  const signedDigest = parseStatement(Buffer.from(parsed.dsseEnvelope.payload, 'base64')).modelDigest;
  const artifactDigest = optionalString(b, 'artifactDigest') ?? signedDigest;
  if (artifactDigest !== signedDigest) throw new BadRequest('digest_mismatch', `artifactDigest ${artifactDigest} is not the digest the signature bundle names (${signedDigest})`, 'artifactDigest');
  const input: RegisterInput = {
    model: requiredString(b, 'model'),
    version: requiredString(b, 'version'),
    upstream: requiredString(b, 'upstream'),
    tier: requiredString(b, 'tier'),
    region: requiredString(b, 'region'),
    tenant: requiredString(b, 'tenant'),
    artifactDigest,
    signatureBundle: parsed,
    ...(b.provenance !== undefined ? { provenance: b.provenance } : {}),
    ...(b.sbom !== undefined ? { sbom: b.sbom } : {}),
  };
  if (b.attestation !== undefined && b.attestation !== null) {
    const a = b.attestation as { type?: unknown; referenceValues?: unknown };
    if (typeof a !== 'object' || typeof a.type !== 'string' || typeof a.referenceValues !== 'object' || a.referenceValues === null) {
      throw new BadRequest('invalid_field', 'attestation must be {type, referenceValues: {name: value}}', 'attestation');
    }
    input.attestation = { type: a.type, referenceValues: a.referenceValues as Record<string, string> };
    try {
      referenceFromRequirement(input.attestation);
    } catch (e) {
      throw new BadRequest('invalid_attestation_reference', (e as Error).message, 'attestation');
    }
  }
  return input;
}

export function createModelAdminRoute(o: ModelAdminDeps) {
  const view = async (dep: DeploymentRecord) => ({ ...dep, attestationStatus: o.attestation(dep.id), ...(o.trainingData ? { trainingData: await o.trainingData(dep) } : {}) });

  /** Hash against the stored bundle under each trusted signer; a refusal here is audited like the registry's own. */
  async function verifyFiles(principal: Principal, dep: DeploymentRecord, dir: string, ignorePaths: string[], signaturePath: string): Promise<VerifiedModel> {
    const refuse = async (err: WardenError, details: Record<string, string> = {}): Promise<never> => {
      await o.audit(registryEvent({ at: o.clock.now(), principal, action: 'model.verify', deployment: dep, decision: 'deny', status: err.status, errorCode: err.code, details: { reason: err.message, path: dir, ...details } }));
      throw err;
    };
    const version = await o.store.getVersion(dep.versionId);
    if (!version?.signatureBundle) return refuse(new ArtifactVerificationFailed('signature_missing', 'no signature bundle was registered'));
    const bundle = parseBundle(version.signatureBundle);
    for (const key of o.trustedSigners) {
      try {
        return await verifyModel(dir, bundle, key, { ignorePaths, signaturePath });
      } catch (e) {
        if (e instanceof ModelSignatureInvalid) continue; // not this signer: try the next trusted key
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return refuse(new BadRequest('model_path_not_found', `no such file or directory on the gateway host: ${dir}`, 'path'));
        if (e instanceof WardenError) return refuse(e);
        throw e;
      }
    }
    return refuse(new ArtifactVerificationFailed('untrusted_signer', `the signature does not verify under any of the ${o.trustedSigners.length} trusted signer(s) (workload.trustedSigners)`));
  }

  /**
   * Promotion is an admin action the PDP decides, and the starter policy wants MFA within 15 minutes (RFC 9470
   * step-up): the admin credential says who; a fresh token of the same person (`Warden-MFA-Token` header or
   * `mfa_token`) proves the MFA. The PDP then judges that person as the step-up credential authenticated them
   * (its MFA time, its credential id), with the groups of the admin record. Without a token: the admin credential.
   */
  async function promoter(req: IncomingMessage, ar: AdminRequest, dep: DeploymentRecord | null): Promise<Principal> {
    const body = await ar.body();
    const token = body.mfa_token ?? req.headers['warden-mfa-token'];
    if (token === undefined) return ar.principal;
    const p = ar.principal;
    try {
      if (typeof token !== 'string' || token.length === 0) throw new BadRequest('invalid_field', 'mfa_token must be a bearer token', 'mfa_token');
      const s = await o.stepUp(token);
      if (s.id !== p.id || s.tenant !== p.tenant || s.kind !== p.kind) throw new Forbidden('step_up_mismatch', 'the step-up token belongs to someone other than the admin credential');
      if (s.actor?.length) throw new Forbidden('step_up_delegated', 'the step-up token must not be delegated');
      return { ...p, authn: s.authn };
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'step-up verification failed');
      await o.audit(registryEvent({ at: o.clock.now(), principal: p, action: 'model.promote', deployment: dep, decision: 'deny', status: err.status, errorCode: err.code, details: { reason: err.message } }));
      throw err;
    }
  }

  return async function modelAdminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    if (ar.path !== '/admin/v1/models' && !ar.path.startsWith('/admin/v1/models/')) return false;
    const hdr = { 'x-request-id': ar.requestId };
    const sourceIp = clientAddress(req);
    const p = ar.principal;
    const done = async (status: number, body: unknown) => {
      await o.sync();
      sendJson(res, status, body, hdr);
      return true;
    };

    if (ar.path === '/admin/v1/models') {
      if (req.method === 'GET') {
        const state = url.searchParams.get('state');
        if (state !== null && !STATES.includes(state as DeploymentState)) throw new BadRequest('invalid_field', `state must be one of ${STATES.join(', ')}`, 'state');
        const filter = {
          ...(url.searchParams.get('model') ? { model: url.searchParams.get('model')! } : {}),
          ...(url.searchParams.get('tenant') ? { tenant: url.searchParams.get('tenant')! } : {}),
          ...(state ? { state: state as DeploymentState } : {}),
        };
        sendJson(res, 200, { data: await Promise.all((await o.registry.list(filter)).map(view)) }, hdr);
        return true;
      }
      if (req.method === 'POST') {
        const dep = await o.registryFor(sourceIp).register(p, parseRegisterBody(await ar.body()));
        return done(201, await view(dep));
      }
    }
    if (ar.path === '/admin/v1/models/rollback' && req.method === 'POST') {
      const b = await ar.body();
      const model = requiredString(b, 'model');
      const [tenant, region, tier] = [optionalString(b, 'tenant'), optionalString(b, 'region'), optionalString(b, 'tier')];
      const slot = tenant && region && tier ? { tenant, region, tier } : undefined;
      if (!slot && (tenant || region || tier)) throw new BadRequest('invalid_field', 'a slot is tenant, region and tier together', 'tenant');
      return done(200, await view(await o.registryFor(sourceIp).rollback(await promoter(req, ar, null), model, slot)));
    }
    const m = /^\/admin\/v1\/models\/([^/]+)(?:\/(verify|promote|quarantine|retire|attest))?$/.exec(ar.path);
    if (!m) throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${ar.path}`);
    const id = decodeURIComponent(m[1]!);
    const verb = m[2];
    if (!verb && req.method === 'GET') {
      sendJson(res, 200, await view(await o.registry.get(id)), hdr);
      return true;
    }
    if (req.method !== 'POST' || !verb) throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${ar.path}`);
    const reg = o.registryFor(sourceIp);
    switch (verb) {
      case 'verify': {
        const b = await ar.body();
        const path = requiredString(b, 'path');
        if (!isAbsolute(path)) throw new BadRequest('invalid_field', 'path must be an absolute path on the gateway host', 'path');
        const dir = resolve(path);
        const ignorePaths = stringList(b, 'ignorePaths');
        const signaturePath = resolve(dir, optionalString(b, 'signaturePath') ?? DEFAULT_SIGNATURE_NAME);
        const dep = await reg.get(id);
        const verified = await verifyFiles(p, dep, dir, ignorePaths, signaturePath);
        const sigRel = pathInside(dir, signaturePath);
        const scanReport = await scanModel(dir, { ...o.scanLimits, ignorePaths: [...ignorePaths, ...verified.manifest.ignorePaths, ...(sigRel ? [sigRel] : [])] });
        const after = await reg.verify(p, id, { verifiedModel: verified, scanReport });
        return done(200, { ...(await view(after)), files: verified.files, bytes: verified.bytes, signer: verified.signerIdentity, scanReport });
      }
      case 'promote': {
        const r = await reg.promote(await promoter(req, ar, await reg.get(id)), id);
        return done(200, { ...(await view(r.deployment)), pendingApproval: r.pendingApproval });
      }
      case 'quarantine': {
        const reason = requiredString(await ar.body(), 'reason');
        return done(200, await view(await reg.quarantine(p, id, reason)));
      }
      case 'retire':
        return done(200, await view(await reg.retire(p, id)));
      case 'attest': {
        await reg.get(id); // 404 for an unknown deployment
        const status = await o.challenge(id);
        if (!status) throw new BadRequest('not_confidential', `deployment ${id} is not a promoted confidential deployment; nothing to attest`);
        sendJson(res, 200, { id, ...status }, hdr);
        return true;
      }
    }
    return false;
  };
}
