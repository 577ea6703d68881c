// JWT attestation tokens from a verifier service (GCP Confidential Space, Azure MAA, Intel Trust
// Authority…): JWS by a key from the issuer's JWKS (RFC 7517), iss/aud/exp/iat (RFC 7519 §4.1),
// age bounded by maxAgeMs, the challenge in eat_nonce (RFC 9711 §4.1), pinned claims, and the key the
// workload proved possession of in cnf.jwk (RFC 7800 §3.2).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import {
  AttestationChainInvalid,
  AttestationConfigurationInvalid,
  AttestationKeyBindingInvalid,
  AttestationMalformed,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
  AttestationStale,
  AttestationUnavailable,
} from '../errors.js';
import { toHex } from '../bytes.js';
import { DEFAULT_CLOCK_SKEW_MS } from '../freshness.js';
import { assertUsableNonce } from '../nonce.js';
import { assertMeasurementsMatch, assertReferenceUsable, claimString } from '../reference.js';
import { sealVerifiedEvidence } from '../verified.js';
import type { JwtEvidence, JwtReference, VerifiedEvidence, VerifyOptions } from '../types.js';

const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256'];

function claimAt(payload: JWTPayload, path: string): unknown {
  let cur: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function mapJoseError(e: unknown): never {
  if (e instanceof joseErrors.JWTExpired) throw new AttestationStale(`jwt: token expired (${e.message})`);
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'iat' || e.claim === 'nbf') throw new AttestationStale(`jwt: ${e.claim} check failed (${e.message})`);
    if (e.claim === 'iss' || e.claim === 'aud') throw new AttestationChainInvalid(`jwt: ${e.claim} is not the trusted verifier's (${e.message})`);
    throw new AttestationMalformed(`jwt: claim ${e.claim} invalid (${e.message})`);
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw new AttestationSignatureInvalid('jwt: signature does not verify');
  if (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys)
    throw new AttestationSignatureInvalid(`jwt: no single key of the issuer's JWKS matches the token (${e.message})`);
  if (e instanceof joseErrors.JOSEAlgNotAllowed) throw new AttestationSignatureInvalid(`jwt: algorithm not allowed (${e.message})`);
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid) throw new AttestationUnavailable(`jwt: issuer keys unavailable (${e.message})`);
  if (e instanceof joseErrors.JOSEError) throw new AttestationMalformed(`jwt: ${e.message}`);
  throw new AttestationUnavailable(`jwt: verification could not complete (${(e as Error).message})`);
}

function boundKey(payload: JWTPayload): KeyObject | null {
  const cnf = payload['cnf'];
  if (cnf === undefined) return null;
  if (typeof cnf !== 'object' || cnf === null || typeof (cnf as { jwk?: unknown }).jwk !== 'object')
    throw new AttestationKeyBindingInvalid('jwt: cnf is present but carries no jwk');
  const jwk = (cnf as { jwk: Record<string, unknown> }).jwk;
  if ('d' in jwk) throw new AttestationKeyBindingInvalid('jwt: cnf.jwk contains private key material');
  try {
    return createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new AttestationKeyBindingInvalid(`jwt: cnf.jwk is not a usable public key (${(e as Error).message})`);
  }
}

// EAT dbgstat (RFC 9711 §4.2.9): 0 enabled, 1 disabled, 2 disabled-since-boot, 3 disabled-permanently,
// 4 disabled-fully-and-permanently; Confidential Space writes the names. Azure Attestation says
// x-ms-sevsnpvm-is-debuggable (top level or under x-ms-isolation-tee). A value we cannot read is not "off".
const DBGSTAT_OFF = new Set<unknown>([1, 2, 3, 4, 'disabled', 'disabled-since-boot', 'disabled-permanently', 'disabled-fully-and-permanently']);

function debugState(payload: JWTPayload): 'off' | string {
  const dbgstat = payload.dbgstat;
  if (dbgstat !== undefined && !DBGSTAT_OFF.has(dbgstat)) return `dbgstat is ${JSON.stringify(dbgstat)}`;
  const tee = payload['x-ms-isolation-tee'];
  for (const source of [payload, typeof tee === 'object' && tee !== null ? (tee as Record<string, unknown>) : {}]) {
    const v = source['x-ms-sevsnpvm-is-debuggable'];
    if (v !== undefined && v !== false) return `x-ms-sevsnpvm-is-debuggable is ${JSON.stringify(v)}`;
  }
  return 'off';
}

export async function verifyJwtEvidence(evidence: JwtEvidence, reference: JwtReference, opts: VerifyOptions): Promise<VerifiedEvidence> {
  assertReferenceUsable(reference);
  assertUsableNonce(opts.nonce, 'jwt');
  if (!Number.isFinite(opts.maxAgeMs) || opts.maxAgeMs <= 0) throw new AttestationConfigurationInvalid('jwt: maxAgeMs must be a positive number');
  const getKey = opts.trust.jwtIssuers[reference.issuer];
  if (!getKey) throw new AttestationConfigurationInvalid(`jwt: issuer ${reference.issuer} has no configured key source`);
  if (typeof evidence.token !== 'string' || evidence.token.length === 0) throw new AttestationMalformed('jwt: no token');

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(evidence.token, getKey, {
      issuer: reference.issuer,
      audience: reference.audience,
      algorithms: reference.algorithms ?? DEFAULT_ALGORITHMS,
      currentDate: new Date(opts.now),
      // jose counts seconds; the age bound must be at least one second to mean anything.
      maxTokenAge: `${Math.max(1, Math.floor(opts.maxAgeMs / 1000))}s`,
      clockTolerance: `${Math.floor((opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS) / 1000)}s`,
      requiredClaims: ['iat', 'exp'],
    }));
  } catch (e) {
    mapJoseError(e);
  }

  const nonceClaim = reference.nonceClaim ?? 'eat_nonce';
  const carried = claimAt(payload, nonceClaim);
  const expected = Buffer.from(opts.nonce).toString('base64url');
  const values = Array.isArray(carried) ? carried : [carried];
  if (carried === undefined) throw new AttestationNonceMismatch(`jwt: token has no ${nonceClaim} claim`);
  if (!values.some((v) => v === expected)) throw new AttestationNonceMismatch(`jwt: ${nonceClaim} is not this challenge (replayed or foreign token)`);

  const debug = debugState(payload);
  if (debug !== 'off' && reference.allowDebug !== true) {
    throw new AttestationPolicyViolation(`jwt: ${debug}; a debuggable workload is refused unless the reference sets allowDebug`);
  }

  const measurements: Record<string, string> = {};
  for (const path of Object.keys(reference.claims)) {
    const v = claimAt(payload, path);
    if (v !== undefined) measurements[path] = claimString(v);
  }
  assertMeasurementsMatch(reference, measurements);

  const publicKey = boundKey(payload);
  const platform: Record<string, string | number | boolean> = { issuer: reference.issuer };
  for (const k of ['hwmodel', 'swname', 'dbgstat', 'jti']) {
    const v = payload[k];
    if (typeof v === 'string') platform[k] = v;
  }
  return sealVerifiedEvidence({
    type: 'jwt',
    measurements,
    publicKey,
    nonce: toHex(opts.nonce),
    issuedAt: payload.iat! * 1000,
    verifiedAt: opts.now,
    reference,
    platform,
  });
}
