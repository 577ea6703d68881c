// Nitro documents from a test PKI: each refusal the issue lists (changed byte, wrong PCR, wrong nonce,
// expired, replayed, wrong root, truncated chain) provoked on purpose.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { verifyNitroEvidence } from '../../../src/workload/attestation/nitro/verify.js';
import {
  AttestationChainInvalid,
  AttestationError,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationConfigurationInvalid,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
  AttestationStale,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { TrustAnchors } from '../../../src/workload/attestation/types.js';
import { createNitroPki, forgeNitroDocument, HOUR, pcrValues, referenceFor, type NitroPki } from './nitro-forge.js';
import { awsNitroRootPem } from './samples.js';
import { der, issue, p384 } from './test-pki.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
let pki: NitroPki;
let trust: TrustAnchors;
const pcrs = pcrValues(0x11);
const reference = referenceFor(pcrs);

before(async () => {
  pki = await createNitroPki(T0);
  trust = createTrustAnchors({ nitroRootsPem: [pki.rootPem] });
});

function opts(nonce: Buffer, now = T0 + 1000) {
  return { nonce, now, maxAgeMs: 5 * 60_000, trust };
}

test('a fresh document answering the challenge verifies and binds its public key', async () => {
  const nonce = randomBytes(32);
  const enclaveKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = enclaveKey.publicKey.export({ format: 'der', type: 'spki' });
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, publicKey: spki });
  const v = await verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce));
  assert.equal(v.measurements['pcr0'], pcrs[0]!.toString('hex'));
  assert.equal(v.nonce, nonce.toString('hex'));
  assert.ok(v.publicKey);
  assert.ok(v.publicKey.equals(enclaveKey.publicKey));
  assert.equal(v.platform['debugMode'], false);
  assert.ok(Object.isFrozen(v));
});

test('tagged COSE_Sign1 (CBOR tag 18) is accepted', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, tagged: true });
  await verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce));
});

test('wrong PCR value is a measurement mismatch', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs: { ...pcrs, 2: Buffer.alloc(48, 0xee) }, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), /PCR|pcr2/i);
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), AttestationMeasurementMismatch);
});

test('a pinned PCR absent from the document is a measurement mismatch', async () => {
  const nonce = randomBytes(32);
  const { 8: _dropped, ...without8 } = pcrs;
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs: without8, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), AttestationMeasurementMismatch);
});

test('wrong nonce, and a replayed document for a new challenge, are nonce mismatches', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce });
  await verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce));
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(randomBytes(32), T0 + 2000)), AttestationNonceMismatch);
});

test('stale (older than maxAge) and future-dated documents are refused', async () => {
  const nonce = randomBytes(32);
  const old = await forgeNitroDocument(pki, { timestamp: T0 - 10 * 60_000, pcrs, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: old }, reference, opts(nonce)), AttestationStale);
  const future = await forgeNitroDocument(pki, { timestamp: T0 + 10 * 60_000, pcrs, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: future }, reference, opts(nonce)), AttestationStale);
});

test('an expired leaf certificate fails the chain', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0 + 4 * HOUR, pcrs, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce, T0 + 4 * HOUR)), AttestationChainInvalid);
});

test('a document from the test PKI is refused when only the AWS root is trusted', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce });
  const aws = createTrustAnchors({ nitroRootsPem: [awsNitroRootPem] });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, { ...opts(nonce), trust: aws }), AttestationChainInvalid);
});

test('a truncated chain (intermediate missing from cabundle) fails', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, cabundle: [der(pki.root.cert)] });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), AttestationChainInvalid);
});

test('an intermediate that is not a CA cannot issue the leaf', async () => {
  const nonce = randomBytes(32);
  const notCa = await issue(pki.root, 'CN=test-nitro-zonal', { ca: false, notBefore: new Date(T0 - HOUR), notAfter: new Date(T0 + HOUR), keys: pki.intermediate.keys });
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, cabundle: [der(pki.root.cert), der(notCa.cert)] });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), AttestationChainInvalid);
});

test('a signature by a key other than the document certificate fails', async () => {
  const nonce = randomBytes(32);
  const other = await p384();
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, signingKey: other.privateKey });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce)), AttestationSignatureInvalid);
});

test('a protected header with another algorithm, or an unknown field, is malformed', async () => {
  const nonce = randomBytes(32);
  const es256 = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, protectedHeader: new Map([[1, -7]]) });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: es256 }, reference, opts(nonce)), AttestationMalformed);
  const extra = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, extraField: ['debug', true] });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: extra }, reference, opts(nonce)), AttestationMalformed);
});

test('changing any single byte of the document makes verification fail', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce });
  await verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(nonce));
  let checked = 0;
  // A stride keeps this fast while touching the headers, the payload (PCRs, certs, nonce) and the signature.
  for (let i = 0; i < doc.length; i += 7) {
    const bad = Buffer.from(doc);
    bad[i] = bad[i]! ^ 0x01;
    await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: bad }, reference, opts(nonce)), AttestationError, `byte ${i} changed yet accepted`);
    checked++;
  }
  assert.ok(checked > 200);
});

test('a nonce shorter than 16 bytes is refused before anything else', async () => {
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce: Buffer.from('abc') });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, reference, opts(Buffer.from('abc'))), /at least 16/);
});

// Issue 21: debug mode is refused unless the reference allows it, whatever the reference pins.
test('a debug-mode document (PCR0-2 zero) is refused against a reference pinning only PCR3; allowDebug admits it', async () => {
  const nonce = randomBytes(32);
  const zero = Buffer.alloc(48);
  const debugPcrs = { 0: zero, 1: zero, 2: zero, 3: Buffer.alloc(48, 0x33), 8: pcrs[8]! };
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs: debugPcrs, nonce });
  const pcr3 = { '3': debugPcrs[3].toString('hex') };
  const isDebugRefusal = (e: unknown) => e instanceof AttestationPolicyViolation && /debug mode/.test((e as Error).message);
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, { type: 'nitro', pcrs: pcr3 }, opts(nonce)), isDebugRefusal);
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, referenceFor(debugPcrs), opts(nonce)), isDebugRefusal);
  const v = await verifyNitroEvidence({ type: 'nitro', document: doc }, { type: 'nitro', pcrs: pcr3, allowDebug: true }, opts(nonce));
  assert.equal(v.platform['debugMode'], true);
});

test('a document that leaves PCR0 out, or zeroes just one of PCR0-2, does not establish a production image', async () => {
  const nonce = randomBytes(32);
  const { 0: _pcr0, ...noPcr0 } = pcrs;
  const pcr8 = { type: 'nitro' as const, pcrs: { '8': pcrs[8]!.toString('hex') } };
  const missing = await forgeNitroDocument(pki, { timestamp: T0, pcrs: noPcr0, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: missing }, pcr8, opts(nonce)), AttestationPolicyViolation);
  const oneZero = await forgeNitroDocument(pki, { timestamp: T0, pcrs: { ...pcrs, 1: Buffer.alloc(48) }, nonce });
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: oneZero }, pcr8, opts(nonce)), AttestationPolicyViolation);
});

test('allowDebug must be a boolean', async () => {
  const nonce = randomBytes(32);
  const doc = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce });
  const bad = { ...reference, allowDebug: 'yes' as unknown as boolean };
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: doc }, bad, opts(nonce)), AttestationConfigurationInvalid);
});

void webcrypto;
