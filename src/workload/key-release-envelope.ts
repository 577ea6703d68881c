// Model data keys at rest: AES-256-GCM under a local key-encryption key (KEK). The record's labels
// (key id, model id, KEK id) are the AAD, so a wrapped key moved to another model no longer opens.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { KeyUnwrapFailed } from './key-release-errors.js';

export interface LocalKek {
  id: string;
  /** AES-256 secret key. */
  key: KeyObject;
}

export interface WrappedModelKey {
  keyId: string;
  modelId: string;
  kekId: string;
  alg: 'A256GCM';
  /** base64url */
  iv: string;
  ciphertext: string;
  tag: string;
}

function aad(w: Pick<WrappedModelKey, 'keyId' | 'modelId' | 'kekId' | 'alg'>): Buffer {
  return Buffer.from(canonicalJson({ alg: w.alg, kekId: w.kekId, keyId: w.keyId, modelId: w.modelId }));
}

function assertKek(kek: LocalKek): void {
  if (kek.key.type !== 'secret' || kek.key.symmetricKeySize !== 32) throw new KeyUnwrapFailed(`KEK ${kek.id} is not a 256-bit secret key`);
}

export function wrapModelKey(kek: LocalKek, labels: { keyId: string; modelId: string }, dataKey: Uint8Array): WrappedModelKey {
  assertKek(kek);
  const meta = { keyId: labels.keyId, modelId: labels.modelId, kekId: kek.id, alg: 'A256GCM' as const };
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek.key, iv);
  c.setAAD(aad(meta));
  const ciphertext = Buffer.concat([c.update(dataKey), c.final()]);
  return { ...meta, iv: iv.toString('base64url'), ciphertext: ciphertext.toString('base64url'), tag: c.getAuthTag().toString('base64url') };
}

/** Returns the clear data key. Callers must zero it (`fill(0)`) as soon as it has been re-wrapped. */
export function unwrapModelKey(kek: LocalKek, w: WrappedModelKey): Buffer {
  assertKek(kek);
  if (w.kekId !== kek.id) throw new KeyUnwrapFailed(`model key ${w.keyId} is wrapped under KEK ${w.kekId}, not ${kek.id}`);
  if (w.alg !== 'A256GCM') throw new KeyUnwrapFailed(`model key ${w.keyId} uses unsupported wrapping ${String(w.alg)}`);
  try {
    const iv = Buffer.from(w.iv, 'base64url');
    const tag = Buffer.from(w.tag, 'base64url');
    if (iv.length !== 12 || tag.length !== 16) throw new Error('bad iv or tag length');
    const d = createDecipheriv('aes-256-gcm', kek.key, iv);
    d.setAAD(aad(w));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(Buffer.from(w.ciphertext, 'base64url')), d.final()]);
  } catch (e) {
    throw new KeyUnwrapFailed(`model key ${w.keyId} does not open with KEK ${kek.id} (${(e as Error).message})`);
  }
}
