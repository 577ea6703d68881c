// C2SP signed-note (c2sp.org/signed-note) with Ed25519 signatures (signature type 0x01).
import { createHash, createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { NoteMalformed, NoteSignatureInvalid, VerifierKeyMalformed } from './errors.js';

const ED25519_TYPE = 0x01;
const EM_DASH = '\u2014';
/** "Verifiers SHOULD apply a maximum limit to the number of signatures ... MUST accept at least up to 16." */
const MAX_SIGNATURES = 64;

export interface NoteSigner {
  name: string;
  keyId: Buffer;
  /** Ed25519 (RFC 8032) signature over the message: an in-memory key or a PKCS#11 token. */
  sign(message: Buffer): Buffer;
  /** The private key when it is in memory (not in a token): the ledger may then sign on its writer thread. */
  privateKey?: KeyObject;
}

export interface NoteVerifier {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
  /** The 32-byte RFC 8032 public key. */
  rawPublicKey: Buffer;
}

/** Key names MUST be non-empty and MUST NOT contain Unicode spaces or '+'. */
export function checkKeyName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- the spec forbids exactly the C0 controls here
  return name.length > 0 && !/[\s+\u2014]/u.test(name) && !/[\u0000-\u001f]/.test(name);
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]. */
export function ed25519KeyId(name: string, rawPublicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, ED25519_TYPE])).update(rawPublicKey).digest().subarray(0, 4);
}

export function rawEd25519PublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new VerifierKeyMalformed('not_ed25519', `expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new VerifierKeyMalformed('bad_key_length', `Ed25519 public key is ${raw.length} bytes, expected 32`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** `<name>+<hex key id>+base64(0x01 || public key)`. */
export function formatVerifierKey(name: string, rawPublicKey: Uint8Array): string {
  if (!checkKeyName(name)) throw new VerifierKeyMalformed('bad_key_name', `invalid key name ${JSON.stringify(name)}`);
  const id = ed25519KeyId(name, rawPublicKey).toString('hex');
  return `${name}+${id}+${Buffer.concat([Buffer.from([ED25519_TYPE]), rawPublicKey]).toString('base64')}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  // The base64 key material may itself contain '+', so only the first two '+' separate fields.
  const m = /^([^+]+)\+([^+]+)\+(.+)$/s.exec(vkey.trim());
  if (!m) throw new VerifierKeyMalformed('bad_vkey', 'verifier key must be <name>+<hex id>+<base64 key>');
  const [, name, idHex, keyB64] = m as unknown as [string, string, string, string];
  if (!checkKeyName(name)) throw new VerifierKeyMalformed('bad_key_name', `invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new VerifierKeyMalformed('bad_key_id', 'key id must be 8 lowercase hex digits');
  const material = Buffer.from(keyB64, 'base64');
  if (material.toString('base64') !== keyB64) throw new VerifierKeyMalformed('bad_base64', 'verifier key material is not canonical base64');
  if (material[0] !== ED25519_TYPE) throw new VerifierKeyMalformed('unsupported_algorithm', `signature type 0x${(material[0] ?? 0).toString(16)} is not Ed25519 (0x01)`);
  const raw = material.subarray(1);
  if (raw.length !== 32) throw new VerifierKeyMalformed('bad_key_length', `Ed25519 public key is ${raw.length} bytes, expected 32`);
  const keyId = ed25519KeyId(name, raw);
  if (keyId.toString('hex') !== idHex) throw new VerifierKeyMalformed('key_id_mismatch', `key id ${idHex} does not match the key (computed ${keyId.toString('hex')})`);
  return { name, keyId, publicKey: ed25519PublicKeyFromRaw(raw), rawPublicKey: Buffer.from(raw) };
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/** Splits a note into text and signature lines without trusting anything (signed-note "Format"). */
export function parseNote(note: string): ParsedNote {
  // eslint-disable-next-line no-control-regex -- signed-note allows no C0 control but the newline
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new NoteMalformed('control_character', 'note contains an ASCII control character other than newline');
  if (!note.endsWith('\n')) throw new NoteMalformed('no_final_newline', 'note does not end in a newline');
  // The text is separated from the signatures by the last empty line.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteMalformed('no_signature_block', 'note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteMalformed('too_many_signatures', `note has ${lines.length} signatures, limit ${MAX_SIGNATURES}`);
  const signatures = lines.map((line) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) throw new NoteMalformed('bad_signature_line', `malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const [, name, sigB64] = m as unknown as [string, string, string];
    if (!checkKeyName(name)) throw new NoteMalformed('bad_key_name', `invalid key name ${JSON.stringify(name)}`);
    const raw = Buffer.from(sigB64, 'base64');
    if (raw.length < 5 || raw.toString('base64') !== sigB64) throw new NoteMalformed('bad_signature_encoding', `signature by ${name} is not base64 of key id || signature`);
    return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/** Signs `text` (which must end in a newline) with each signer. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new NoteMalformed('no_final_newline', 'note text must end in a newline');
  // eslint-disable-next-line no-control-regex -- signed-note allows no C0 control but the newline
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteMalformed('control_character', 'note text contains a control character');
  if (signers.length === 0) throw new NoteMalformed('no_signer', 'a note needs at least one signature');
  const msg = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const sig = s.sign(msg);
    return `${EM_DASH} ${s.name} ${Buffer.concat([s.keyId, sig]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export interface OpenedNote {
  text: string;
  /** Names of the trusted keys whose signatures verified. */
  verifiedBy: string[];
}

/**
 * Verifies a note against trusted keys, following the signed-note rules: signatures from unknown
 * (name, key ID) pairs are ignored; a known key whose signature fails rejects the whole note; at
 * least one known key must have signed.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  const msg = Buffer.from(parsed.text, 'utf8');
  const verifiedBy: string[] = [];
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId.equals(sig.keyId));
    if (!v) continue;
    if (sig.signature.length !== 64 || !edVerify(null, msg, v.publicKey, sig.signature)) {
      throw new NoteSignatureInvalid('bad_signature', `signature by trusted key ${v.name}+${v.keyId.toString('hex')} does not verify`);
    }
    verifiedBy.push(v.name);
  }
  if (verifiedBy.length === 0) {
    const names = parsed.signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`).join(', ');
    throw new NoteSignatureInvalid('no_trusted_signature', `note carries no signature from a trusted key (signed by: ${names})`);
  }
  return { text: parsed.text, verifiedBy };
}
