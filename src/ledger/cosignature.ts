// C2SP tlog-cosignature (c2sp.org/tlog-cosignature), Ed25519 "cosignature/v1": a witness's timestamped
// statement that the checkpoint is the largest consistent tree it has seen for the log's origin.
import { createHash, verify as edVerify } from 'node:crypto';
import { CosignatureInvalid, NoteMalformed, VerifierKeyMalformed } from './errors.js';
import { checkKeyName, ed25519PublicKeyFromRaw, parseNote, rawEd25519PublicKey, type NoteVerifier } from './note.js';
import type { KeyObject } from 'node:crypto';

/** tlog-cosignature "Format": the vkey signature type and key-ID algorithm byte of Ed25519 cosignatures. */
export const COSIGNATURE_V1_TYPE = 0x04;
const EM_DASH = '\u2014';
/** timestamped_signature: u64 timestamp || 64-byte Ed25519 signature. */
const TIMESTAMPED_SIGNATURE_BYTES = 8 + 64;

export interface CosignatureSigner {
  name: string;
  keyId: Buffer;
  sign(message: Buffer): Buffer;
}

/** A witness public key; `keyId` is computed with the 0x04 algorithm byte, so it never matches a log key. */
export type CosignatureVerifier = NoteVerifier;

/** key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]. */
export function cosignatureKeyId(name: string, rawPublicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, COSIGNATURE_V1_TYPE])).update(rawPublicKey).digest().subarray(0, 4);
}

/** vkey `<name>+<hex key id>+base64(0x04 || public key)` (tlog-cosignature: "MAY be encoded as vkeys with signature type 0x04"). */
export function formatCosignatureVerifierKey(name: string, publicKey: KeyObject): string {
  if (!checkKeyName(name)) throw new VerifierKeyMalformed('bad_key_name', `invalid witness name ${JSON.stringify(name)}`);
  const raw = rawEd25519PublicKey(publicKey);
  return `${name}+${cosignatureKeyId(name, raw).toString('hex')}+${Buffer.concat([Buffer.from([COSIGNATURE_V1_TYPE]), raw]).toString('base64')}`;
}

export function parseCosignatureVerifierKey(vkey: string): CosignatureVerifier {
  const m = /^([^+]+)\+([^+]+)\+(.+)$/s.exec(vkey.trim());
  if (!m) throw new VerifierKeyMalformed('bad_vkey', 'witness key must be <name>+<hex id>+<base64 key>');
  const [, name, idHex, keyB64] = m as unknown as [string, string, string, string];
  if (!checkKeyName(name)) throw new VerifierKeyMalformed('bad_key_name', `invalid witness name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new VerifierKeyMalformed('bad_key_id', 'key id must be 8 lowercase hex digits');
  const material = Buffer.from(keyB64, 'base64');
  if (material.toString('base64') !== keyB64) throw new VerifierKeyMalformed('bad_base64', 'witness key material is not canonical base64');
  if (material[0] !== COSIGNATURE_V1_TYPE) {
    throw new VerifierKeyMalformed('not_a_cosignature_key', `signature type 0x${(material[0] ?? 0).toString(16).padStart(2, '0')} is not an Ed25519 cosignature/v1 key (0x04): a log key cannot stand for a witness`);
  }
  const raw = material.subarray(1);
  if (raw.length !== 32) throw new VerifierKeyMalformed('bad_key_length', `Ed25519 public key is ${raw.length} bytes, expected 32`);
  const keyId = cosignatureKeyId(name, raw);
  if (keyId.toString('hex') !== idHex) throw new VerifierKeyMalformed('key_id_mismatch', `key id ${idHex} does not match the key (computed ${keyId.toString('hex')})`);
  return { name, keyId, publicKey: ed25519PublicKeyFromRaw(raw), rawPublicKey: Buffer.from(raw) };
}

/** "Ed25519 signed message": `cosignature/v1\ntime <t>\n` followed by the whole checkpoint body. */
export function cosignedMessage(checkpointBody: string, timestamp: number): Buffer {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CosignatureInvalid('bad_timestamp', `cosignature timestamp ${timestamp} is not a non-negative integer`);
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${checkpointBody}`, 'utf8');
}

/** One note signature line (with its newline) cosigning `checkpointBody` at `timestamp` (POSIX seconds). */
export function cosign(checkpointBody: string, signer: CosignatureSigner, timestamp: number): string {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const sig = signer.sign(cosignedMessage(checkpointBody, timestamp));
  return `${EM_DASH} ${signer.name} ${Buffer.concat([signer.keyId, ts, sig]).toString('base64')}\n`;
}

export interface VerifiedCosignature {
  /** Witness name as configured by the verifier. */
  name: string;
  /** POSIX seconds at which the witness cosigned. */
  timestamp: number;
}

/** Splits a cosignature's note signature bytes: timestamped_signature = u64 timestamp || Ed25519 signature. */
export function parseTimestampedSignature(signature: Buffer, by: string): { timestamp: number; signature: Buffer } {
  if (signature.length !== TIMESTAMPED_SIGNATURE_BYTES) throw new CosignatureInvalid('bad_signature_length', `cosignature by ${by} is ${signature.length} bytes, expected ${TIMESTAMPED_SIGNATURE_BYTES}`);
  const t = signature.readBigUInt64BE(0);
  // "It MUST NOT exceed 2^63 - 1"; we also keep it within what a JS number holds exactly.
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw new CosignatureInvalid('bad_timestamp', `cosignature by ${by} has timestamp ${t}, out of range`);
  return { timestamp: Number(t), signature: signature.subarray(8) };
}

export interface CosignatureCheck {
  /** POSIX seconds now; a cosignature from more than `maxFutureSec` ahead is refused. */
  now: number;
  maxFutureSec?: number;
}

/**
 * Verifies the cosignatures of the trusted witnesses on a checkpoint note. As signed-note says, lines from
 * unknown (name, key ID) pairs are ignored and a known key whose signature fails rejects the note. Returns
 * one result per distinct trusted witness that cosigned (the newest, if it appears twice).
 */
export function verifyCosignatures(note: string, witnesses: readonly CosignatureVerifier[], check: CosignatureCheck): VerifiedCosignature[] {
  const parsed = parseNote(note);
  const byName = new Map<string, VerifiedCosignature>();
  for (const sig of parsed.signatures) {
    const w = witnesses.find((k) => k.name === sig.name && k.keyId.equals(sig.keyId));
    if (!w) continue;
    const { timestamp, signature } = parseTimestampedSignature(sig.signature, w.name);
    if (!edVerify(null, cosignedMessage(parsed.text, timestamp), w.publicKey, signature)) {
      throw new CosignatureInvalid('bad_cosignature', `cosignature by trusted witness ${w.name}+${w.keyId.toString('hex')} does not verify`);
    }
    // "verifiers MAY reject cosignatures with timestamps in the future": a witness clock far ahead could
    // otherwise make a stale cosignature look fresh for as long as it likes.
    if (timestamp > check.now + (check.maxFutureSec ?? 300)) throw new CosignatureInvalid('timestamp_in_future', `cosignature by ${w.name} is dated ${timestamp}, ${timestamp - check.now} s in the future`);
    const prev = byName.get(w.name);
    if (!prev || prev.timestamp < timestamp) byName.set(w.name, { name: w.name, timestamp });
  }
  return [...byName.values()];
}

/** Parses a witness's add-checkpoint answer: one or more note signature lines, each ending in a newline. */
export function parseCosignatureLines(body: string): string[] {
  if (!body.endsWith('\n')) throw new NoteMalformed('no_final_newline', 'cosignature response does not end in a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length === 0 || lines.some((l) => !l.startsWith(`${EM_DASH} `))) throw new NoteMalformed('bad_signature_line', 'cosignature response is not a sequence of note signature lines');
  return lines.map((l) => l + '\n');
}
