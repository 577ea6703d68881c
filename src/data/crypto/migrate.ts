// Moving stored data keys between KEKs, the data they protect untouched:
//  - migrate: records sealed by the two pre-envelope formats (payload data keys under <dataDir>/payload-kek.bin,
//    model keys under <dataDir>/model-kek.bin) are opened with those files once and rewrapped by the keyring;
//  - rewrap: data keys under a previous KEK (rotation), or under the platform KEK for a tenant that now brings
//    its own (BYOK), are rewrapped under the tenant's current KEK.
import { createDecipheriv } from 'node:crypto';
import { payloadKeyContext } from '../../ledger/retention.js';
import { toolCredentialKeyContext } from '../../tools/credential-keys.js';
import type { ModelKeyStore, PayloadStore } from '../../store/sealed-store.js';
import { isLegacyModelKey, modelKeyContext, unwrapLegacyModelKey, type WrappedModelKey } from '../../workload/key-release-envelope.js';
import { EnvelopeTampered, KekUnavailable } from './errors.js';
import { parseWrappedKey, type Keyring } from './keyring.js';
import { subjectKeyContext } from './subject-keys.js';
import type { SubjectKeyStore } from '../../store/subject-keys-store.js';

export const LEGACY_PAYLOAD_KEK_FILE = 'payload-kek.bin';
export const LEGACY_MODEL_KEK_FILE = 'model-kek.bin';

// The old payload vault wrapped a principal's data key for the same context (nonce ‖ ciphertext ‖ tag under the file key).
const payloadContext = payloadKeyContext;

function openLegacyPayloadKey(kek: Buffer, principal: string, wrapped: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12));
  d.setAAD(Buffer.from(payloadContext(principal)));
  d.setAuthTag(wrapped.subarray(wrapped.length - 16));
  try {
    return Buffer.concat([d.update(wrapped.subarray(12, wrapped.length - 16)), d.final()]);
  } catch {
    throw new EnvelopeTampered(`the legacy data key of principal ${principal} does not open with ${LEGACY_PAYLOAD_KEK_FILE}`);
  }
}

export interface MoveReport {
  payloadKeys: number;
  modelKeys: number;
  /** Shared tool-credential signing keys (store.postgres only; absent otherwise). */
  toolCredentialKeys?: number;
  /** Per-subject keys (absent when no subject-key store was given). */
  subjectKeys?: number;
  /** Records left as they were because the needed old key is absent (named, never silently skipped). */
  skipped: string[];
}

export interface Stores {
  payloads?: PayloadStore;
  models?: ModelKeyStore;
  /** The tool-credential keys replicas share, each seed wrapped under the platform KEK. */
  toolCredentialKeys?: { listWrapped(): Promise<{ kid: string; wrapped: Buffer }[]>; replaceWrapped(kid: string, from: Buffer, to: Buffer): Promise<boolean> };
  /** Per-subject keys (src/data/crypto/subject-keys.ts), each wrapped under its tenant's KEK. */
  subjectKeys?: Pick<SubjectKeyStore, 'listLive' | 'replaceWrapped'>;
}

export async function migrateLegacy(
  keyring: Keyring,
  stores: Stores,
  o: { payloadKek?: Buffer; modelKek?: Buffer; tenantOfPrincipal(id: string): Promise<string>; tenantOfDeployment(id: string): Promise<string>; now: number },
): Promise<MoveReport> {
  const r: MoveReport = { payloadKeys: 0, modelKeys: 0, skipped: [] };
  for (const { principal, wrapped } of (await stores.payloads?.listKeys()) ?? []) {
    if (parseWrappedKey(wrapped)) continue;
    if (!o.payloadKek) {
      r.skipped.push(`payload data key of ${principal} (no ${LEGACY_PAYLOAD_KEK_FILE})`);
      continue;
    }
    const key = openLegacyPayloadKey(o.payloadKek, principal, wrapped);
    try {
      const next = await keyring.wrapDataKey(key, await o.tenantOfPrincipal(principal), payloadContext(principal));
      if (await stores.payloads!.replaceKey(principal, wrapped, next)) r.payloadKeys++;
    } finally {
      key.fill(0);
    }
  }
  for (const { deploymentId, wrapped } of (await stores.models?.list()) ?? []) {
    if (!isLegacyModelKey(wrapped)) continue;
    if (!o.modelKek) {
      r.skipped.push(`model key of ${deploymentId} (no ${LEGACY_MODEL_KEK_FILE})`);
      continue;
    }
    const key = unwrapLegacyModelKey(o.modelKek, wrapped);
    try {
      const tenant = await o.tenantOfDeployment(deploymentId);
      const next: WrappedModelKey = { v: 2, keyId: wrapped.keyId, modelId: wrapped.modelId, tenant, wrapped: (await keyring.wrapDataKey(key, tenant, modelKeyContext(wrapped))).toString('base64url') };
      await stores.models!.put(deploymentId, next, o.now);
      r.modelKeys++;
    } finally {
      key.fill(0);
    }
  }
  return r;
}

/**
 * A data key of a tenant whose KEK is withdrawn (or cannot be confirmed) is not moved: the keyring refuses it,
 * naming the tenant, and the record is reported as not moved (the command then exits 1) while the rest move.
 */
async function unlessWithdrawn(r: MoveReport, what: string, rewrap: () => Promise<Buffer | null>): Promise<Buffer | null> {
  try {
    return await rewrap();
  } catch (e) {
    if (!(e instanceof KekUnavailable)) throw e;
    r.skipped.push(`${what} (${e.message})`);
    return null;
  }
}

/**
 * Rewraps every data key not under its tenant's current KEK. Legacy records are left to `migrateLegacy`; a
 * withdrawn tenant's keys stay as they are (apply the recorded withdrawals to `keyring` first: applyTenantKekRecords).
 */
export async function rewrapAll(keyring: Keyring, stores: Stores, now: number): Promise<MoveReport> {
  const r: MoveReport = { payloadKeys: 0, modelKeys: 0, skipped: [] };
  for (const { principal, wrapped } of (await stores.payloads?.listKeys()) ?? []) {
    if (!parseWrappedKey(wrapped)) {
      r.skipped.push(`payload data key of ${principal} (old format: run warden data migrate)`);
      continue;
    }
    const next = await unlessWithdrawn(r, `payload data key of ${principal}`, () => keyring.rewrap(wrapped, payloadContext(principal)));
    if (next && (await stores.payloads!.replaceKey(principal, wrapped, next))) r.payloadKeys++;
  }
  for (const { deploymentId, wrapped } of (await stores.models?.list()) ?? []) {
    if (isLegacyModelKey(wrapped)) {
      r.skipped.push(`model key of ${deploymentId} (old format: run warden data migrate)`);
      continue;
    }
    const next = await unlessWithdrawn(r, `model key of ${deploymentId}`, () => keyring.rewrap(Buffer.from(wrapped.wrapped, 'base64url'), modelKeyContext(wrapped)));
    if (next) {
      await stores.models!.put(deploymentId, { ...wrapped, wrapped: next.toString('base64url') }, now);
      r.modelKeys++;
    }
  }
  if (stores.toolCredentialKeys) {
    r.toolCredentialKeys = 0;
    for (const { kid, wrapped } of await stores.toolCredentialKeys.listWrapped()) {
      const next = await unlessWithdrawn(r, `tool credential key ${kid}`, () => keyring.rewrap(wrapped, toolCredentialKeyContext(kid)));
      if (next && (await stores.toolCredentialKeys.replaceWrapped(kid, wrapped, next))) r.toolCredentialKeys++;
    }
  }
  if (stores.subjectKeys) {
    r.subjectKeys = 0;
    for (const { tenant, subject, wrapped } of await stores.subjectKeys.listLive()) {
      const next = await unlessWithdrawn(r, `subject key of ${subject} (tenant ${tenant})`, () => keyring.rewrap(wrapped, subjectKeyContext(subject)));
      if (next && (await stores.subjectKeys.replaceWrapped(tenant, subject, wrapped, next))) r.subjectKeys++;
    }
  }
  return r;
}
