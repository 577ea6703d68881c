// RFC 9421 §3.3 signature algorithms Warden accepts. Registered client keys are bound to exactly
// one algorithm (§3.3.7: the verifier determines the algorithm from the key, never trusting `alg`
// alone). HMAC is left out: a shared secret is not a client identity the gateway can publish.
import { KeyObject, constants, createPublicKey, sign, verify, type JsonWebKey } from 'node:crypto';
import { IdentityConfigError } from '../errors.js';

export const SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-p256-sha256', 'rsa-pss-sha512'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export type PublicKeyInput = KeyObject | string | JsonWebKey;

export function toPublicKey(key: PublicKeyInput): KeyObject {
  if (typeof key === 'string') return createPublicKey(key);
  if (key instanceof KeyObject) return key.type === 'public' ? key : createPublicKey(key);
  return createPublicKey({ key, format: 'jwk' });
}

/** The one algorithm a key may be used with; RSA keys must say rsa-pss-sha512 explicitly. */
export function algorithmForKey(key: KeyObject, declared: SignatureAlgorithm | undefined, keyId: string): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  const inferred: SignatureAlgorithm | undefined =
    type === 'ed25519' ? 'ed25519'
    : type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ecdsa-p256-sha256'
    : (type === 'rsa' || type === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? 'rsa-pss-sha512'
    : undefined;
  if (!inferred) throw new IdentityConfigError(`http signature client ${keyId}: unsupported key (${type}); use Ed25519, ECDSA P-256 or RSA >= 2048`);
  if (declared !== undefined && declared !== inferred) {
    throw new IdentityConfigError(`http signature client ${keyId}: key type does not match alg ${declared}`);
  }
  return inferred;
}

export function verifySignature(alg: SignatureAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  switch (alg) {
    case 'ed25519':
      return signature.length === 64 && verify(null, data, key, signature);
    case 'ecdsa-p256-sha256':
      // §3.3.4: r‖s, 32 bytes each — not DER.
      return signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'rsa-pss-sha512':
      // §3.3.1: MGF1 with SHA-512, salt length 64.
      return verify('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, signature);
  }
}

export function createSignature(alg: SignatureAlgorithm, key: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    case 'ed25519':
      return sign(null, data, key);
    case 'ecdsa-p256-sha256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss-sha512':
      return sign('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
  }
}
