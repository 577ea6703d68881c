// The one public key a receipt or log verifier trusts, in any of the forms auditors are given.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { formatVerifierKey, parseVerifierKey, rawEd25519PublicKey, type NoteVerifier } from './note.js';

/** A C2SP vkey, a PEM SPKI, or an Ed25519 KeyObject. */
export type TrustedLedgerKey = string | KeyObject;

/** Resolves the trusted key to a note verifier; a PEM key takes its name from the origin it must sign for. */
export function noteVerifierFor(key: TrustedLedgerKey, origin: string): NoteVerifier {
  if (typeof key === 'string' && !key.includes('-----BEGIN')) return parseVerifierKey(key);
  const pub = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return parseVerifierKey(formatVerifierKey(origin, rawEd25519PublicKey(pub)));
}
