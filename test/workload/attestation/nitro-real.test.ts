// Every real Nitro sample in test/fixtures, judged at its own timestamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import { X509CertificateGenerator } from '@peculiar/x509';
import { testdata } from '../../helpers/testdata.js';
import { verifyNitroDocument, verifyNitroEvidence } from '../../../src/workload/attestation/nitro/verify.js';
import { parseCoseSign1 } from '../../../src/workload/attestation/nitro/cose-sign1.js';
import {
  AttestationChainInvalid,
  AttestationConfigurationInvalid,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
  AttestationStale,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import { loadNitroDocument, nitroExpectations, realTrust } from './samples.js';

const trust = realTrust();
const HOUR = 3_600_000;
const valid = nitroExpectations.filter((e) => e.fully_valid_at_doc_time === true);

test('the sample set is the one described in SOURCES.md', () => {
  assert.equal(valid.length, 11);
  assert.equal(nitroExpectations.filter((e) => e.fully_valid_at_doc_time === false).length, 1);
});

for (const e of valid) {
  test(`real sample verifies at its own timestamp: ${e.file}`, async () => {
    const doc = await verifyNitroDocument(loadNitroDocument(e), trust.nitroRoots, e.timestamp_ms!);
    assert.equal(doc.timestamp, e.timestamp_ms);
    assert.equal(doc.moduleId, e.module_id);
    for (const [i, hex] of Object.entries(e.pcrs!)) assert.equal(doc.pcrs.get(Number(i))!.toString('hex'), hex, `PCR${i}`);
    assert.equal(doc.nonce === null ? null : doc.nonce.toString('hex'), e.nonce);
  });

  test(`real sample is refused once its 3-hour leaf certificate has expired: ${e.file}`, async () => {
    const afterLeaf = Date.parse(e.leaf_not_after!) + 1000;
    await assert.rejects(verifyNitroDocument(loadNitroDocument(e), trust.nitroRoots, afterLeaf), AttestationChainInvalid);
  });
}

// Debug-mode enclaves report PCR0-2 as zeros; AWS signs their documents all the same.
const isDebug = (e: (typeof valid)[number]) => ['0', '1', '2'].every((i) => /^0+$/.test(e.pcrs![i]!));

for (const e of valid.filter((x) => x.nonce && x.nonce.length >= 32)) {
  test(`full verification (nonce, freshness, all PCRs) of ${e.file}`, async () => {
    const pcrs = Object.fromEntries(Object.entries(e.pcrs!).filter(([i]) => ['0', '1', '2', '3', '4', '8'].includes(i)));
    // A debug document verifies only where the deployment allows debug mode explicitly (see the tests below).
    const v = await verifyNitroEvidence(
      { type: 'nitro', document: loadNitroDocument(e) },
      { type: 'nitro', pcrs, ...(isDebug(e) ? { allowDebug: true } : {}) },
      { nonce: Buffer.from(e.nonce!, 'hex'), now: e.timestamp_ms! + 1000, maxAgeMs: 60_000, trust },
    );
    assert.equal(v.platform['debugMode'], isDebug(e));
    assert.equal(v.type, 'nitro');
    assert.equal(v.issuedAt, e.timestamp_ms);
    assert.equal(v.nonce, e.nonce);
    for (const [i, hex] of Object.entries(e.pcrs!)) assert.equal(v.measurements[`pcr${i}`], hex);
  });
}

test('a 4-byte sample nonce cannot stand for a Warden challenge (automata attestation_1)', async () => {
  const e = nitroExpectations.find((x) => x.file === 'automata_sparsity/attestation_1.report')!;
  await assert.rejects(
    verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, { type: 'nitro', pcrs: { '4': e.pcrs!['4']! } }, {
      nonce: Buffer.from(e.nonce!, 'hex'), now: e.timestamp_ms!, maxAgeMs: 60_000, trust,
    }),
    AttestationConfigurationInvalid,
  );
});

test('documents without a nonce cannot answer a challenge', async () => {
  for (const e of valid.filter((x) => x.nonce === null)) {
    await assert.rejects(
      verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, { type: 'nitro', pcrs: { '0': e.pcrs!['0']! } }, {
        nonce: Buffer.alloc(32, 7), now: e.timestamp_ms!, maxAgeMs: 60_000, trust,
      }),
      AttestationNonceMismatch,
      e.file,
    );
  }
});

test('the real tampered document (eternisai invalid_attestation) fails on its COSE signature, chain intact', async () => {
  const e = nitroExpectations.find((x) => x.file === 'eternisai/invalid_attestation')!;
  await assert.rejects(verifyNitroDocument(loadNitroDocument(e), trust.nitroRoots, e.timestamp_ms!), AttestationSignatureInvalid);
});

test('the malformed published base64 (3 bytes missing) does not parse', () => {
  const b64 = readFileSync(testdata('nitro_attestation', 'base_nitro_validator/real_attestation_2026-01-03.as_published_malformed.b64'), 'utf8');
  assert.throws(() => parseCoseSign1(Buffer.from(b64.trim(), 'base64')), AttestationMalformed);
});

test('evervault spec with incorrect PCRs is a measurement mismatch; the correct spec matches', async () => {
  const dir = 'nitro_attestation/evervault/test-specs/beta/';
  const e = nitroExpectations.find((x) => x.file === 'evervault/test-data/beta/non-debug-cert-containing-attestation-document-18-1-23.pem')!;
  const opts = { nonce: Buffer.from(e.nonce!, 'hex'), now: e.timestamp_ms!, maxAgeMs: 60_000, trust };
  const toRef = (spec: { pcrs: Record<string, string> }) => ({
    type: 'nitro' as const,
    pcrs: Object.fromEntries(Object.entries(spec.pcrs).map(([k, v]) => [k.replace('pcr', ''), v])),
  });
  const good = JSON.parse(readFileSync(testdata(dir + 'valid_attestation_doc_in_non_debug_mode_with_correct_pcrs_time_sensitive.json'), 'utf8'));
  const v = await verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, toRef(good), opts);
  assert.equal(v.measurements['pcr8'], good.pcrs.pcr8);
  // The upstream "incorrect" spec carries non-hex PCRs; replace just PCR0 with a wrong but well-formed value.
  const wrong = { type: 'nitro' as const, pcrs: { ...toRef(good).pcrs, '0': 'ab'.repeat(48) } };
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, wrong, opts), AttestationMeasurementMismatch);
  const bad = JSON.parse(readFileSync(testdata(dir + 'valid_attestation_doc_in_cert_incorrect_pcrs_time_sensitive.json'), 'utf8'));
  await assert.rejects(verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, toRef(bad), opts), AttestationConfigurationInvalid);
});

test('a real document older than maxAge is stale even while its certificates are valid', async () => {
  const e = nitroExpectations.find((x) => x.file === 'automata_sparsity/attestation_2.report')!;
  await assert.rejects(
    verifyNitroEvidence({ type: 'nitro', document: loadNitroDocument(e) }, { type: 'nitro', pcrs: { '0': e.pcrs!['0']! } }, {
      nonce: Buffer.from(e.nonce!, 'hex'), now: e.timestamp_ms! + HOUR, maxAgeMs: 5 * 60_000, trust,
    }),
    AttestationStale,
  );
});

test('a real document is refused against a root that is not AWS', async () => {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
  const otherRoot = await X509CertificateGenerator.createSelfSigned({ name: 'CN=not-aws', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } });
  const other = createTrustAnchors({ nitroRootsPem: [otherRoot.toString('pem')] });
  const e = valid[0]!;
  await assert.rejects(verifyNitroDocument(loadNitroDocument(e), other.nitroRoots, e.timestamp_ms!), AttestationChainInvalid);
});

// Issue 21: a genuine, AWS-signed debug-mode document (PCR0-2 zero) was accepted against a reference
// that pins only PCR3 (the IAM role), so a debug enclave — console attached, no image measured — could
// be routed to and get the model key.
const debugDocs = valid.filter((x) => isDebug(x) && x.nonce && x.nonce.length >= 32);

test('the real sample set holds AWS-signed debug-mode documents with usable nonces', () => {
  assert.ok(debugDocs.length >= 2, debugDocs.map((d) => d.file).join(', '));
});

for (const e of debugDocs) {
  test(`a real debug-mode document is refused whatever PCRs are pinned, unless allowDebug: ${e.file}`, async () => {
    const evidence = { type: 'nitro' as const, document: loadNitroDocument(e) };
    const opts = { nonce: Buffer.from(e.nonce!, 'hex'), now: e.timestamp_ms! + 1000, maxAgeMs: 60_000, trust };
    const debugRefused = (err: unknown) => err instanceof AttestationPolicyViolation && /debug/.test((err as Error).message);
    await assert.rejects(verifyNitroEvidence(evidence, { type: 'nitro', pcrs: { '3': e.pcrs!['3']! } }, opts), debugRefused);
    await assert.rejects(verifyNitroEvidence(evidence, { type: 'nitro', pcrs: { '0': e.pcrs!['0']!, '1': e.pcrs!['1']!, '2': e.pcrs!['2']! } }, opts), debugRefused);
    await assert.rejects(verifyNitroEvidence(evidence, { type: 'nitro', pcrs: { '3': e.pcrs!['3']! }, allowDebug: false }, opts), debugRefused);
    const v = await verifyNitroEvidence(evidence, { type: 'nitro', pcrs: { '3': e.pcrs!['3']! }, allowDebug: true }, opts);
    assert.equal(v.platform['debugMode'], true);
  });
}
