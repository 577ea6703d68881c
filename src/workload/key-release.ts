// Attestation-gated key release: a model's data key leaves the store only re-wrapped (JWE, RFC 7516)
// to the public key bound in verified evidence whose measurements match the deployment's reference
// values — so only code inside the attested enclave can ever hold it in the clear.
import { CompactEncrypt } from 'jose';
import type { KeyObject } from 'node:crypto';
import { isSealedVerifiedEvidence, referenceDigest } from './attestation/verified.js';
import { assertMeasurementsMatch, imageMeasurementProblem } from './attestation/reference.js';
import type { ReferenceValues, VerifiedEvidence } from './attestation/types.js';
import type { Keyring } from '../data/crypto/index.js';
import { unwrapModelKey, type StoredModelKey } from './key-release-envelope.js';
import {
  KeyReleaseEvidenceNotVerified,
  KeyReleaseEvidenceStale,
  KeyReleaseModelMismatch,
  KeyReleaseNoBoundKey,
  KeyReleaseReferenceMismatch,
  KeyReleaseReferenceUnmeasured,
  KeyReleaseUnsupportedKey,
} from './key-release-errors.js';

export interface ReleaseOptions {
  keyring: Keyring;
  /** The model the attested deployment serves; the wrapped key must be this model's. */
  modelId: string;
  now: number;
  /** Verified evidence older than this (since verification) is not enough to release a key. */
  maxEvidenceAgeMs: number;
}

export interface ReleasedModelKey {
  /** Compact JWE whose plaintext is the raw data key, decryptable only with the enclave's private key. */
  jwe: string;
  keyId: string;
  modelId: string;
  alg: 'RSA-OAEP-256' | 'ECDH-ES+A256KW';
  enc: 'A256GCM';
  /** Hex nonce of the attestation the release was based on (also in the JWE protected header). */
  evidenceNonce: string;
}

const MIN_RSA_BITS = 2048;

function wrapAlgorithmFor(key: KeyObject): ReleasedModelKey['alg'] {
  if (key.type !== 'public') throw new KeyReleaseUnsupportedKey('bound key is not a public key');
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new KeyReleaseUnsupportedKey(`bound RSA key has ${bits} bits, at least ${MIN_RSA_BITS} are required`);
      return 'RSA-OAEP-256';
    }
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve !== 'prime256v1' && curve !== 'secp384r1' && curve !== 'secp521r1') throw new KeyReleaseUnsupportedKey(`bound EC key on curve ${curve} is not supported`);
      return 'ECDH-ES+A256KW';
    }
    case 'x25519':
      return 'ECDH-ES+A256KW';
    default:
      throw new KeyReleaseUnsupportedKey(`bound ${key.asymmetricKeyType} key cannot receive an encrypted key`);
  }
}

export async function releaseModelKey(
  wrappedKey: StoredModelKey,
  verifiedEvidence: VerifiedEvidence,
  reference: ReferenceValues,
  opts: ReleaseOptions,
): Promise<ReleasedModelKey> {
  if (!isSealedVerifiedEvidence(verifiedEvidence)) throw new KeyReleaseEvidenceNotVerified();
  const unmeasured = imageMeasurementProblem(reference);
  if (unmeasured) throw new KeyReleaseReferenceUnmeasured(`${unmeasured}: no model key is released against it`);
  if (verifiedEvidence.type !== reference.type || verifiedEvidence.referenceDigest !== referenceDigest(reference))
    throw new KeyReleaseReferenceMismatch("the evidence was verified against other reference values than this deployment's");
  try {
    // Defence in depth: the measurements themselves, not only the digest of what they were checked against.
    assertMeasurementsMatch(reference, verifiedEvidence.measurements);
  } catch (e) {
    throw new KeyReleaseReferenceMismatch((e as Error).message);
  }
  const age = opts.now - verifiedEvidence.verifiedAt;
  if (!(opts.maxEvidenceAgeMs > 0) || age > opts.maxEvidenceAgeMs || age < 0)
    throw new KeyReleaseEvidenceStale(`evidence verified ${age} ms ago; key release requires at most ${opts.maxEvidenceAgeMs} ms`);
  if (wrappedKey.modelId !== opts.modelId)
    throw new KeyReleaseModelMismatch(`key ${wrappedKey.keyId} belongs to model ${wrappedKey.modelId}, the deployment serves ${opts.modelId}`);
  const recipient = verifiedEvidence.publicKey;
  if (!recipient) throw new KeyReleaseNoBoundKey();
  const alg = wrapAlgorithmFor(recipient);

  const dataKey = await unwrapModelKey(opts.keyring, wrappedKey);
  try {
    const jwe = await new CompactEncrypt(dataKey)
      .setProtectedHeader({
        alg,
        enc: 'A256GCM',
        kid: wrappedKey.keyId,
        cty: 'application/octet-stream',
        'warden.model': wrappedKey.modelId,
        'warden.attestation_nonce': verifiedEvidence.nonce,
      })
      .encrypt(recipient);
    return { jwe, keyId: wrappedKey.keyId, modelId: wrappedKey.modelId, alg, enc: 'A256GCM', evidenceNonce: verifiedEvidence.nonce };
  } finally {
    dataKey.fill(0);
  }
}
