// The nonce / key binding that SEV-SNP reports and TDX quotes share: their 64-byte report_data field.
// With a claimed public key: report_data = SHA-512(nonce ‖ SPKI DER), which binds both. Without:
// report_data = nonce, zero-padded to 64 bytes. A claimed key that is not bound is refused.
import { createHash, type KeyObject } from 'node:crypto';
import { bytesEqual } from './bytes.js';
import { AttestationKeyBindingInvalid, AttestationNonceMismatch } from './errors.js';
import { parseBoundPublicKey } from './public-key.js';

/** `who`: the evidence type and what it calls its document, for the refusal messages ('sev-snp', 'report'). */
export function assertReportDataBinding(who: { type: string; doc: string }, reportData: Uint8Array, nonce: Uint8Array, publicKey: Uint8Array | undefined): KeyObject | null {
  if (publicKey !== undefined) {
    const key = parseBoundPublicKey(publicKey);
    if (!key) throw new AttestationKeyBindingInvalid(`${who.type}: the claimed public key is not a DER SubjectPublicKeyInfo`);
    const expected = createHash('sha512').update(nonce).update(publicKey).digest();
    if (!bytesEqual(expected, reportData)) throw new AttestationNonceMismatch(`${who.type}: report_data is not SHA-512(nonce ‖ public key): replayed ${who.doc} or unbound key`);
    return key;
  }
  if (nonce.length > 64) throw new AttestationNonceMismatch(`${who.type}: a nonce longer than 64 bytes cannot be carried in report_data`);
  const padded = Buffer.alloc(64);
  Buffer.from(nonce).copy(padded);
  if (!bytesEqual(padded, reportData)) throw new AttestationNonceMismatch(`${who.type}: report_data is not this challenge (replayed or foreign ${who.doc})`);
  return null;
}
