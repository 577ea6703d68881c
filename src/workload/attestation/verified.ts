// VerifiedEvidence objects are sealed by the verifiers; key release accepts only sealed ones, so an
// object literal with the right shape (a deserialized cache entry, a test double, an attacker-controlled
// JSON body) can never stand in for a verification that did not happen.
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import { sha256Digest } from '../../core/digest.js';
import type { EvidenceType, ReferenceValues, VerifiedEvidence } from './types.js';

const sealed = new WeakSet<object>();

export function referenceDigest(reference: ReferenceValues): string {
  return sha256Digest(canonicalJson(reference));
}

export function sealVerifiedEvidence(fields: {
  type: EvidenceType;
  measurements: Record<string, string>;
  publicKey: KeyObject | null;
  nonce: string;
  issuedAt: number;
  verifiedAt: number;
  reference: ReferenceValues;
  platform: Record<string, string | number | boolean>;
}): VerifiedEvidence {
  const ev: VerifiedEvidence = Object.freeze({
    type: fields.type,
    measurements: Object.freeze({ ...fields.measurements }),
    publicKey: fields.publicKey,
    nonce: fields.nonce,
    issuedAt: fields.issuedAt,
    verifiedAt: fields.verifiedAt,
    referenceDigest: referenceDigest(fields.reference),
    platform: Object.freeze({ ...fields.platform }),
  });
  sealed.add(ev);
  return ev;
}

export function isSealedVerifiedEvidence(ev: unknown): ev is VerifiedEvidence {
  return typeof ev === 'object' && ev !== null && sealed.has(ev);
}
