// The public keys a receipt or log verifier trusts, in any of the forms auditors are given. A log whose key was
// rotated is trusted through several keys: the current one and the ones it replaced (their checkpoints and
// receipts stay verifiable with them).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CheckpointMalformed } from './errors.js';
import { openCheckpointWith, parseCheckpointBody, type SignedCheckpoint } from './checkpoint.js';
import { formatVerifierKey, parseNote, parseVerifierKey, rawEd25519PublicKey, type NoteVerifier } from './note.js';

/** A C2SP vkey, a PEM SPKI, or an Ed25519 KeyObject. */
export type TrustedLedgerKey = string | KeyObject;
/** One trusted key, or several (a rotated log's current and earlier keys). */
export type TrustedLedgerKeys = TrustedLedgerKey | readonly TrustedLedgerKey[];

/** Resolves the trusted key to a note verifier; a PEM key takes its name from the origin it must sign for. */
export function noteVerifierFor(key: TrustedLedgerKey, origin: string): NoteVerifier {
  if (typeof key === 'string' && !key.includes('-----BEGIN')) return parseVerifierKey(key);
  const pub = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return parseVerifierKey(formatVerifierKey(origin, rawEd25519PublicKey(pub)));
}

export function noteVerifiersFor(keys: TrustedLedgerKeys, origin: string): NoteVerifier[] {
  const list = Array.isArray(keys) ? (keys as readonly TrustedLedgerKey[]) : [keys as TrustedLedgerKey];
  if (list.length === 0) throw new RangeError('at least one trusted ledger key is required');
  return list.map((k) => noteVerifierFor(k, origin));
}

/**
 * Opens a checkpoint signed by any of the trusted keys. Its origin must be a trusted key's name (tlog-checkpoint:
 * the key name SHOULD match the origin); the origin read before verifying only names PEM keys.
 */
export function openTrustedCheckpoint(note: string, keys: TrustedLedgerKeys): SignedCheckpoint {
  const unverifiedOrigin = parseCheckpointBody(parseNote(note).text).origin;
  const verifiers = noteVerifiersFor(keys, unverifiedOrigin);
  const names = [...new Set(verifiers.map((v) => v.name))];
  if (!names.includes(unverifiedOrigin)) throw new CheckpointMalformed('origin_mismatch', `checkpoint origin ${JSON.stringify(unverifiedOrigin)} is not the expected ${names.map((n) => JSON.stringify(n)).join(' or ')}`);
  return openCheckpointWith(note, verifiers, unverifiedOrigin);
}
