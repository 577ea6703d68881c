// Model data keys at rest, through the one envelope module (src/data/crypto): the model's 32-byte key is a data
// key wrapped by its tenant's KEK (the platform KEK, a key file or a PKCS#11 token, or the tenant's own). The
// record's labels (key id, model id) are the wrap context, so a wrapped key moved to another model does not open.
// Records of the old format (AES-GCM under <dataDir>/model-kek.bin) are refused until `warden data migrate`.
import { createDecipheriv } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { EnvelopeTampered, LegacyEnvelope, type Keyring } from '../data/crypto/index.js';
import { KeyUnwrapFailed } from './key-release-errors.js';

export interface WrappedModelKey {
  v: 2;
  keyId: string;
  modelId: string;
  /** The owning tenant: its own KEK (BYOK) wraps the key when it brought one. */
  tenant: string;
  /** base64url of the wrapped data key (src/data/crypto/keyring.ts format). */
  wrapped: string;
}

/** The pre-envelope record: AES-256-GCM under the local model KEK file. Read only by the migration. */
export interface LegacyWrappedModelKey {
  keyId: string;
  modelId: string;
  kekId: string;
  alg: 'A256GCM';
  iv: string;
  ciphertext: string;
  tag: string;
}

export type StoredModelKey = WrappedModelKey | LegacyWrappedModelKey;

export const isLegacyModelKey = (w: StoredModelKey): w is LegacyWrappedModelKey => (w as { v?: unknown }).v !== 2;

export const modelKeyContext = (labels: { keyId: string; modelId: string }) => `model-key:${canonicalJson({ keyId: labels.keyId, modelId: labels.modelId })}`;

export async function wrapModelKey(keyring: Keyring, labels: { keyId: string; modelId: string; tenant: string }, dataKey: Uint8Array): Promise<WrappedModelKey> {
  const wrapped = await keyring.wrapDataKey(Buffer.from(dataKey), labels.tenant, modelKeyContext(labels));
  return { v: 2, keyId: labels.keyId, modelId: labels.modelId, tenant: labels.tenant, wrapped: wrapped.toString('base64url') };
}

/** Returns the clear data key. Callers must zero it (`fill(0)`) as soon as it has been re-wrapped. */
export async function unwrapModelKey(keyring: Keyring, w: StoredModelKey): Promise<Buffer> {
  if (isLegacyModelKey(w)) throw new LegacyEnvelope(`model key ${w.keyId}`);
  try {
    return (await keyring.unwrapDataKey(Buffer.from(w.wrapped, 'base64url'), modelKeyContext(w))).key;
  } catch (e) {
    if (e instanceof EnvelopeTampered) throw new KeyUnwrapFailed(`model key ${w.keyId} does not open: ${e.message}`);
    throw e;
  }
}

/** Opens a legacy record with the old model KEK (32 raw bytes); for `warden data migrate` only. */
export function unwrapLegacyModelKey(kek: Buffer, w: LegacyWrappedModelKey): Buffer {
  const aad = Buffer.from(canonicalJson({ alg: w.alg, kekId: w.kekId, keyId: w.keyId, modelId: w.modelId }));
  try {
    const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(w.iv, 'base64url'));
    d.setAAD(aad);
    d.setAuthTag(Buffer.from(w.tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(w.ciphertext, 'base64url')), d.final()]);
  } catch (e) {
    throw new KeyUnwrapFailed(`legacy model key ${w.keyId} does not open with the old model KEK (${(e as Error).message})`);
  }
}
