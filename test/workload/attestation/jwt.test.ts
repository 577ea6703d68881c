// JWT attestation tokens signed by a verifier key generated here, checked through verifyEvidence.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
type CryptoKey = webcrypto.CryptoKey;
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { verifyEvidence } from '../../../src/workload/attestation/verify-evidence.js';
import {
  AttestationChainInvalid,
  AttestationConfigurationInvalid,
  AttestationKeyBindingInvalid,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationNonceMismatch,
  AttestationSignatureInvalid,
  AttestationStale,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { JwtReference, TrustAnchors } from '../../../src/workload/attestation/types.js';

const ISS = 'https://confidentialcomputing.googleapis.com';
const AUD = 'https://warden.example/attest';
const NOW = Date.UTC(2025, 5, 1, 12);
const IMAGE = 'sha256:' + 'ab'.repeat(32);
let signer: CryptoKey;
let otherSigner: CryptoKey;
let trust: TrustAnchors;

const reference: JwtReference = {
  type: 'jwt',
  issuer: ISS,
  audience: AUD,
  claims: { 'submods.container.image_digest': IMAGE, hwmodel: 'GCP_AMD_SEV', secboot: true },
};

before(async () => {
  const kp = await generateKeyPair('ES256', { extractable: true });
  signer = kp.privateKey as CryptoKey;
  otherSigner = (await generateKeyPair('ES256')).privateKey as CryptoKey;
  const jwk: JWK = { ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'ES256' };
  trust = createTrustAnchors({ jwtIssuers: { [ISS]: createLocalJWKSet({ keys: [jwk] }) } });
});

async function token(nonce: Buffer, o: { iat?: number; exp?: number; claims?: Record<string, unknown>; key?: CryptoKey; iss?: string; aud?: string } = {}) {
  const iat = Math.floor((o.iat ?? NOW) / 1000);
  return new SignJWT({
    eat_nonce: nonce.toString('base64url'),
    hwmodel: 'GCP_AMD_SEV',
    secboot: true,
    dbgstat: 'disabled-since-boot',
    submods: { container: { image_digest: IMAGE } },
    ...(o.claims ?? {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(iat)
    .setExpirationTime(Math.floor((o.exp ?? NOW + 3_600_000) / 1000))
    .sign(o.key ?? signer);
}

const opts = (nonce: Buffer, now = NOW + 1000) => ({ nonce, now, maxAgeMs: 5 * 60_000, trust });

test('a fresh token with the pinned claims verifies and binds cnf.jwk', async () => {
  const nonce = randomBytes(32);
  const enclave = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const t = await token(nonce, { claims: { cnf: { jwk: enclave.publicKey.export({ format: 'jwk' }) } } });
  const v = await verifyEvidence({ type: 'jwt', token: t }, reference, opts(nonce));
  assert.equal(v.measurements['submods.container.image_digest'], JSON.stringify(IMAGE));
  assert.equal(v.measurements['secboot'], 'true');
  assert.equal(v.platform['hwmodel'], 'GCP_AMD_SEV');
  assert.ok(v.publicKey?.equals(enclave.publicKey));
  assert.equal(v.issuedAt, NOW);
});

test('wrong image digest, wrong hardware model, string "true" for boolean true: measurement mismatches', async () => {
  const nonce = randomBytes(32);
  for (const claims of [{ submods: { container: { image_digest: 'sha256:' + 'cd'.repeat(32) } } }, { hwmodel: 'GCP_INTEL_TDX' }, { secboot: 'true' }, { submods: {} }]) {
    await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { claims }) }, reference, opts(nonce)), AttestationMeasurementMismatch);
  }
});

test('wrong or missing nonce, and replay of an earlier token, are nonce mismatches', async () => {
  const nonce = randomBytes(32);
  const t = await token(nonce);
  await verifyEvidence({ type: 'jwt', token: t }, reference, opts(nonce));
  await assert.rejects(verifyEvidence({ type: 'jwt', token: t }, reference, opts(randomBytes(32))), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { claims: { eat_nonce: undefined } }) }, reference, opts(nonce)), AttestationNonceMismatch);
});

test('expired, too old, and future-issued tokens are stale', async () => {
  const nonce = randomBytes(32);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { iat: NOW - 7_200_000, exp: NOW - 3_600_000 }) }, reference, opts(nonce)), AttestationStale);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { iat: NOW - 600_000 }) }, reference, opts(nonce)), AttestationStale);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { iat: NOW + 600_000, exp: NOW + 7_200_000 }) }, reference, opts(nonce)), AttestationStale);
});

test('a token signed by another key, or by the right key for another issuer or audience, is refused', async () => {
  const nonce = randomBytes(32);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { key: otherSigner }) }, reference, opts(nonce)), AttestationSignatureInvalid);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { iss: 'https://evil.example' }) }, reference, opts(nonce)), AttestationChainInvalid);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { aud: 'https://other.example' }) }, reference, opts(nonce)), AttestationChainInvalid);
});

test('a changed character in the token breaks it', async () => {
  const nonce = randomBytes(32);
  const t = await token(nonce);
  const payloadStart = t.indexOf('.') + 5;
  const flipped = t.slice(0, payloadStart) + (t[payloadStart] === 'A' ? 'B' : 'A') + t.slice(payloadStart + 1);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: flipped }, reference, opts(nonce)), (e: Error) => e instanceof AttestationSignatureInvalid || e instanceof AttestationMalformed);
});

test('alg none and an unconfigured issuer are refused', async () => {
  const nonce = randomBytes(32);
  const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, iat: NOW / 1000, exp: NOW / 1000 + 60, eat_nonce: nonce.toString('base64url') })).toString('base64url');
  await assert.rejects(verifyEvidence({ type: 'jwt', token: `${header}.${body}.` }, reference, opts(nonce)), (e: Error) => e instanceof AttestationSignatureInvalid || e instanceof AttestationMalformed);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce) }, { ...reference, issuer: 'https://unknown.example' }, opts(nonce)), AttestationConfigurationInvalid);
});

test('cnf with a private key or garbage is a key-binding failure', async () => {
  const nonce = randomBytes(32);
  const enclave = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = enclave.privateKey.export({ format: 'jwk' });
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { claims: { cnf: { jwk: priv } } }) }, reference, opts(nonce)), AttestationKeyBindingInvalid);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce, { claims: { cnf: { jwk: { kty: 'EC', crv: 'P-256', x: 'AA' } } } }) }, reference, opts(nonce)), AttestationKeyBindingInvalid);
});

test('a reference that pins no claim is a configuration error; evidence of another type is refused', async () => {
  const nonce = randomBytes(32);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce) }, { ...reference, claims: {} }, opts(nonce)), AttestationConfigurationInvalid);
  await assert.rejects(verifyEvidence({ type: 'jwt', token: await token(nonce) }, { type: 'nitro', pcrs: { '0': 'aa'.repeat(48) } }, opts(nonce)), AttestationMalformed);
});

test('a token that says the workload is debuggable is refused unless the reference sets allowDebug', async () => {
  const debuggable: Record<string, unknown>[] = [
    { dbgstat: 'enabled' },
    { dbgstat: 0 },
    { dbgstat: 'maybe' },
    { 'x-ms-sevsnpvm-is-debuggable': true },
    { 'x-ms-isolation-tee': { 'x-ms-sevsnpvm-is-debuggable': true } },
  ];
  for (const claims of debuggable) {
    const nonce = randomBytes(32);
    const t = await token(nonce, { claims });
    await assert.rejects(verifyEvidence({ type: 'jwt', token: t }, reference, opts(nonce)), { name: 'AttestationPolicyViolation', message: /debuggable workload is refused/ }, JSON.stringify(claims));
    const ok = await verifyEvidence({ type: 'jwt', token: await token(nonce, { claims }) }, { ...reference, allowDebug: true }, opts(nonce));
    assert.equal(ok.type, 'jwt');
  }
  for (const dbgstat of ['disabled-since-boot', 'disabled', 2, 4]) {
    const nonce = randomBytes(32);
    const v = await verifyEvidence({ type: 'jwt', token: await token(nonce, { claims: { dbgstat } }) }, reference, opts(nonce));
    assert.equal(v.type, 'jwt');
  }
  await assert.rejects(verifyEvidence({ type: 'jwt', token: 'x' }, { ...reference, allowDebug: 'yes' as unknown as boolean }, opts(randomBytes(32))), { name: 'AttestationConfigurationInvalid' });
});
