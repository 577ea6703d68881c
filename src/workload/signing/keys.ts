// Signing keys and verification keys for model signatures. We sign with Ed25519 or ECDSA P-256
// (P-384 too, since the OpenSSF model-signing test bundles use it) and nothing else: an RSA or
// unknown key is refused rather than guessed at.
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { UnsupportedKeyType } from './errors.js';

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384';

/** Anything that can produce a signature: a PEM key in memory or a PKCS#11 token. */
export interface Signer {
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: KeyObject;
  /** Where the key lives, for logs and the registry (never key material). */
  readonly description: string;
  /** Signs `data`; ECDSA signatures are ASN.1 DER, as Sigstore bundles carry them. */
  sign(data: Uint8Array): Promise<Buffer>;
}

const CURVES: Record<string, KeyAlgorithm> = { prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384' };
const HASH: Record<KeyAlgorithm, string | null> = { ed25519: null, 'ecdsa-p256': 'sha256', 'ecdsa-p384': 'sha384' };
/** Byte length of one ECDSA coordinate, for telling raw r||s (IEEE P1363) from DER. */
const COORD_BYTES: Record<KeyAlgorithm, number> = { ed25519: 0, 'ecdsa-p256': 32, 'ecdsa-p384': 48 };

export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const alg = CURVES[curve];
    if (alg) return alg;
    throw new UnsupportedKeyType(`ECDSA curve ${curve || '(unknown)'} is not accepted; use P-256 or P-384`);
  }
  throw new UnsupportedKeyType(`key type ${key.asymmetricKeyType ?? '(unknown)'} is not accepted; use Ed25519 or ECDSA P-256`);
}

export function hashAlgorithmFor(alg: KeyAlgorithm): string | null {
  return HASH[alg];
}

/** Loads a public key from a PEM `PUBLIC KEY` or a PEM `CERTIFICATE` (the certificate's key is used, the certificate itself is not trusted here). */
export function loadPublicKey(pem: string | Buffer): KeyObject {
  const text = pem.toString();
  let key: KeyObject;
  try {
    key = text.includes('BEGIN CERTIFICATE') ? new X509Certificate(text).publicKey : createPublicKey(text);
  } catch (e) {
    throw new UnsupportedKeyType(`cannot read public key: ${(e as Error).message}`);
  }
  if (key.type !== 'public') throw new UnsupportedKeyType('expected a public key');
  keyAlgorithmOf(key);
  return key;
}

/** Hex SHA-256 of the SubjectPublicKeyInfo DER: the `publicKey.hint` we put in bundles. */
export function publicKeyHint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** A signer for a PEM (PKCS#8 / SEC1) private key held in memory. */
export function pemSigner(pem: string | Buffer, passphrase?: string): Signer {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  } catch (e) {
    throw new UnsupportedKeyType(`cannot read private key: ${(e as Error).message}`);
  }
  const algorithm = keyAlgorithmOf(privateKey);
  const publicKey = createPublicKey(privateKey);
  return {
    algorithm,
    publicKey,
    description: `pem:${algorithm}:${publicKeyHint(publicKey).slice(0, 16)}`,
    sign: async (data) => nodeSign(HASH[algorithm], data, { key: privateKey, dsaEncoding: 'der' }),
  };
}

/**
 * Verifies one signature. ECDSA signatures are accepted as DER (Sigstore, model_signing) or as raw
 * r||s (the DSSE spec test vector). Raw is tried only at exactly 2×coordinate bytes, DER otherwise,
 * never both: a DER signature of that exact length is astronomically rare and would only be
 * rejected (a false refusal), never wrongly accepted.
 */
export function verifySignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const alg = keyAlgorithmOf(key);
  if (alg === 'ed25519') return nodeVerify(null, data, key, signature);
  const raw = signature.length === 2 * COORD_BYTES[alg];
  try {
    return nodeVerify(HASH[alg], data, { key, dsaEncoding: raw ? 'ieee-p1363' : 'der' }, signature);
  } catch {
    // A malformed DER signature throws inside OpenSSL; that is a failed verification, not an error.
    return false;
  }
}

/** Converts a raw r||s ECDSA signature (what PKCS#11 CKM_ECDSA returns) to ASN.1 DER. */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length % 2 !== 0 || raw.length === 0) throw new UnsupportedKeyType(`raw ECDSA signature has odd length ${raw.length}`);
  const half = raw.length / 2;
  const int = (b: Uint8Array): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const trimmed = Buffer.from(b.subarray(i));
    // DER INTEGER is signed: a leading high bit needs a 0x00 pad.
    const body = trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const seq = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  const len = seq.length < 0x80 ? Buffer.from([seq.length]) : Buffer.from([0x81, seq.length]);
  return Buffer.concat([Buffer.from([0x30]), len, seq]);
}
