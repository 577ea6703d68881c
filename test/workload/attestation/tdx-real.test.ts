// The real Intel TDX DCAP quotes in test/fixtures/sev_snp_tdx (v4, v5 with TDX 1.5 bodies), checked
// against EXPECTED_TDX_VERIFICATION.json: every listed field parses as expected and every quote is authentic
// (PCK chain → pinned Intel SGX Root CA, QE report by the PCK key, QE certifies the attestation key, quote
// signed by it). Then tampering, truncation, a foreign root and an expired PCK certificate, each refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import 'reflect-metadata';
import { Name, PemConverter, X509Certificate } from '@peculiar/x509';
import { testdata } from '../../helpers/testdata.js';
import { verifyTdxEvidence, verifyTdxQuoteAuthenticity } from '../../../src/workload/attestation/tdx/verify.js';
import { parseTdxQuote, type TdxQuote } from '../../../src/workload/attestation/tdx/quote.js';
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from '../../../src/workload/attestation/tdx/intel-root.js';
import {
  AttestationChainInvalid,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { TdxReference } from '../../../src/workload/attestation/types.js';
import { createTdxPki } from './tdx-forge.js';

interface TdxExpectation {
  quote: string;
  len: number;
  version: number;
  att_key_type: number;
  tee_type: string;
  qe_vendor_id: string;
  body_type?: number;
  td: Record<
    | 'tee_tcb_svn' | 'mrseam' | 'mrsignerseam' | 'seam_attributes' | 'td_attributes' | 'xfam' | 'mrtd' | 'mrconfigid'
    | 'mrowner' | 'mrownerconfig' | 'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3' | 'report_data',
    string
  >;
  outer_cert_data_type: number;
  inner_cert_data_type: number;
  quote_signature_valid: boolean;
  qe_report_signature_valid: boolean;
  qe_report_data_binds_attestation_key: boolean;
  embedded_root_matches_trusted_root: boolean;
  pck_chain_subjects: string[];
  pck_leaf_not_after: string;
  chain: Record<string, boolean>;
}

const expectations: TdxExpectation[] = JSON.parse(readFileSync(testdata('sev_snp_tdx', 'EXPECTED_TDX_VERIFICATION.json'), 'utf8'));
const trustedRootPem = readFileSync(testdata('sev_snp_tdx', 'go-tdx-guest/verify/trusted_root.pem'), 'utf8');
const trust = createTrustAnchors({ intelRootsPem: [INTEL_SGX_ROOT_CA_PEM] });
// After the latest PCK leaf's notBefore (quote_v5_sample: 2026-01-27), before the earliest notAfter (2029-09-20).
const NOW = Date.UTC(2026, 5, 1);

const quoteBytes = (e: TdxExpectation): Buffer => readFileSync(testdata('sev_snp_tdx', e.quote));
const byName = (suffix: string): TdxExpectation => expectations.find((e) => e.quote.endsWith(suffix))!;

/** Where a parsed field sits in the quote it was parsed from (the parser returns views, not copies). */
function offsetOf(part: Buffer, whole: Buffer): number {
  const at = part.byteOffset - whole.byteOffset;
  assert.ok(at >= 0 && at + part.length <= whole.length);
  return at;
}

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at] = c[at]! ^ 0x01;
  return c;
}

/** Distinguished name as EXPECTED_TDX_VERIFICATION.json writes it (RFC 4514 order reversed, no spaces). */
function dn(c: X509Certificate): string {
  return c.subjectName.toString().split(/,\s*/).reverse().join(',');
}

function referenceFor(e: TdxExpectation, extra: Partial<TdxReference> = {}): TdxReference {
  return {
    type: 'tdx',
    mrtd: e.td.mrtd,
    rtmrs: { '0': e.td.rtmr0, '1': e.td.rtmr1, '2': e.td.rtmr2, '3': e.td.rtmr3 },
    mrseam: e.td.mrseam,
    mrconfigid: e.td.mrconfigid,
    mrowner: e.td.mrowner,
    mrownerconfig: e.td.mrownerconfig,
    minTeeTcbSvn: e.td.tee_tcb_svn,
    ...extra,
  };
}

/** report_data = nonce ‖ zero padding: the real quotes whose report_data fits that reading answer a nonce. */
function nonceOf(e: TdxExpectation): Buffer {
  return Buffer.from(e.td.report_data.replace(/(00)+$/, ''), 'hex');
}

test('sample set: six quotes (four v4, two v5 with TDX 1.5 bodies), all expected authentic', () => {
  assert.equal(expectations.length, 6);
  assert.deepEqual(expectations.map((e) => e.version).sort(), [4, 4, 4, 4, 5, 5]);
  for (const e of expectations) {
    assert.ok(e.quote_signature_valid && e.qe_report_signature_valid && e.qe_report_data_binds_attestation_key && e.embedded_root_matches_trusted_root, e.quote);
    assert.ok(Object.values(e.chain).every((ok) => ok), e.quote);
  }
});

test('the pinned Intel SGX Root CA is byte-identical to go-tdx-guest trusted_root.pem and has the published fingerprint', () => {
  const pinned = Buffer.from(PemConverter.decode(INTEL_SGX_ROOT_CA_PEM)[0]!);
  const reference = Buffer.from(PemConverter.decode(trustedRootPem)[0]!);
  assert.ok(pinned.equals(reference));
  assert.equal(createHash('sha256').update(pinned).digest('hex'), INTEL_SGX_ROOT_CA_SHA256);
  const root = trust.intelRoots[0]!;
  assert.equal(dn(root), 'C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA');
  assert.equal(root.notAfter.toISOString(), '2049-12-31T23:59:59.000Z');
});

for (const e of expectations) {
  test(`real quote parses as expected: ${e.quote}`, () => {
    const bytes = quoteBytes(e);
    assert.equal(bytes.length, e.len);
    const q = parseTdxQuote(bytes);
    assert.equal(q.version, e.version);
    assert.equal(q.attestationKeyType, e.att_key_type);
    assert.equal(q.teeType.toString(16).padStart(8, '0'), e.tee_type);
    assert.equal(q.qeVendorId.toString('hex'), e.qe_vendor_id);
    assert.equal(q.bodyType, e.body_type ?? 2);
    const b = q.body;
    const actual = {
      tee_tcb_svn: b.teeTcbSvn, mrseam: b.mrSeam, mrsignerseam: b.mrSignerSeam, seam_attributes: b.seamAttributes,
      td_attributes: b.tdAttributes, xfam: b.xfam, mrtd: b.mrTd, mrconfigid: b.mrConfigId, mrowner: b.mrOwner,
      mrownerconfig: b.mrOwnerConfig, rtmr0: b.rtmrs[0], rtmr1: b.rtmrs[1], rtmr2: b.rtmrs[2], rtmr3: b.rtmrs[3], report_data: b.reportData,
    };
    assert.deepEqual(Object.fromEntries(Object.entries(actual).map(([k, v]) => [k, v.toString('hex')])), e.td);
    assert.equal(b.teeTcbSvn2 !== null, e.body_type === 3);
    assert.equal(e.outer_cert_data_type, 6);
    assert.equal(e.inner_cert_data_type, 5);
    // The chain as carried: leaf, Platform CA, and a copy of the Intel root (which the verifier ignores).
    const chain = PemConverter.decode(q.pckChainPem).map((d) => new X509Certificate(d));
    assert.deepEqual(chain.map(dn), e.pck_chain_subjects);
    assert.ok(Buffer.from(chain[2]!.rawData).equals(Buffer.from(trust.intelRoots[0]!.rawData)));
  });

  test(`real quote is authentic at ${new Date(NOW).toISOString().slice(0, 10)}: ${e.quote}`, async () => {
    const { quote, pck } = await verifyTdxQuoteAuthenticity(quoteBytes(e), trust, NOW);
    assert.equal(quote.body.mrTd.toString('hex'), e.td.mrtd);
    assert.equal(dn(pck), e.pck_chain_subjects[0]);
    assert.equal(pck.notAfter.getTime(), Date.parse(e.pck_leaf_not_after));
  });

  test(`real quote after its PCK certificate's notAfter (${e.pck_leaf_not_after}) is refused: ${e.quote}`, async () => {
    await assert.rejects(verifyTdxQuoteAuthenticity(quoteBytes(e), trust, Date.parse(e.pck_leaf_not_after) + 1000), AttestationChainInvalid);
  });
}

test('every real quote whose report_data reads as nonce ‖ zero padding passes the full verification', async () => {
  let full = 0;
  for (const e of expectations) {
    const nonce = nonceOf(e);
    if (nonce.length < 16) continue; // cos-113 answered an all-zero report_data
    const debug = (Buffer.from(e.td.td_attributes, 'hex')[0]! & 1) === 1;
    const opts = { nonce, now: NOW, maxAgeMs: 60_000, trust };
    if (debug) {
      await assert.rejects(verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(e) }, referenceFor(e), opts), AttestationPolicyViolation, e.quote);
    }
    const v = await verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(e) }, referenceFor(e, debug ? { allowDebug: true } : {}), opts);
    for (const k of ['mrtd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3', 'mrseam', 'mrconfigid', 'td_attributes', 'xfam', 'tee_tcb_svn'] as const) {
      assert.equal(v.measurements[k], e.td[k], `${e.quote} ${k}`);
    }
    assert.equal(v.type, 'tdx');
    assert.equal(v.publicKey, null);
    assert.equal(v.platform['quoteVersion'], e.version);
    assert.equal(v.platform['qeVendorId'], e.qe_vendor_id);
    assert.equal(v.platform['tcbStatus'], 'not-evaluated');
    assert.equal(v.platform['debug'], debug);
    assert.equal(v.issuedAt, NOW);
    full++;
  }
  assert.equal(full, 5);
});

test('trustee tdx_quote_4 is a debug TD (TD_ATTRIBUTES bit 0): refused unless the reference allows debugging', async () => {
  const e = byName('tdx_quote_4.dat');
  assert.equal(e.td.td_attributes.slice(0, 2), '01');
  await assert.rejects(
    verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(e) }, referenceFor(e), { nonce: nonceOf(e), now: NOW, maxAgeMs: 60_000, trust }),
    (err: Error) => err instanceof AttestationPolicyViolation && /debug/i.test(err.message),
  );
});

const v4 = byName('tdx_quote_6.dat');
const v5 = byName('tdx_quote_5.dat');

test('wrong mrtd, wrong rtmr, a higher TEE_TCB_SVN floor, another nonce: each refused on a real quote', async () => {
  const opts = { nonce: nonceOf(v4), now: NOW, maxAgeMs: 60_000, trust };
  const ev = { type: 'tdx' as const, quote: quoteBytes(v4) };
  await assert.rejects(verifyTdxEvidence(ev, referenceFor(v4, { mrtd: 'ab'.repeat(48) }), opts), AttestationMeasurementMismatch);
  await assert.rejects(verifyTdxEvidence(ev, referenceFor(v4, { rtmrs: { '2': 'ab'.repeat(48) } }), opts), AttestationMeasurementMismatch);
  await assert.rejects(verifyTdxEvidence(ev, referenceFor(v4, { mrconfigid: '00'.repeat(48) }), opts), AttestationMeasurementMismatch);
  // 05030200…: byte 1 is 3; a floor of 4 there is not met even though byte 0 exceeds nothing.
  await assert.rejects(verifyTdxEvidence(ev, referenceFor(v4, { minTeeTcbSvn: '05040000000000000000000000000000' }), opts), AttestationPolicyViolation);
  await verifyTdxEvidence(ev, referenceFor(v4, { minTeeTcbSvn: '05030100000000000000000000000000' }), opts);
  await assert.rejects(verifyTdxEvidence(ev, referenceFor(v4), { ...opts, nonce: Buffer.alloc(32, 7) }), AttestationNonceMismatch);
});

/** Offsets of the parts of a parsed real quote. */
function layout(bytes: Buffer, q: TdxQuote): Record<string, number> {
  return {
    headerVendor: offsetOf(q.qeVendorId, bytes),
    mrtd: offsetOf(q.body.mrTd, bytes),
    rtmr1: offsetOf(q.body.rtmrs[1], bytes),
    reportData: offsetOf(q.body.reportData, bytes),
    signature: offsetOf(q.signature, bytes),
    attestationKey: offsetOf(q.attestationKey, bytes),
    qeReport: offsetOf(q.qeReport.raw, bytes),
    qeReportData: offsetOf(q.qeReport.reportData, bytes),
    qeReportSignature: offsetOf(q.qeReportSignature, bytes),
    qeAuthData: offsetOf(q.qeAuthData, bytes),
  };
}

for (const e of [v4, v5]) {
  test(`a flipped byte anywhere in the signed parts of ${e.quote} is refused with the failing link named`, async () => {
    const bytes = quoteBytes(e);
    const at = layout(bytes, parseTdxQuote(bytes));
    const cases: [string, number, (err: Error) => boolean][] = [
      ['header (qe_vendor_id)', at.headerVendor!, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['body (mrtd)', at.mrtd!, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['body (rtmr1)', at.rtmr1! + 47, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['body (report_data)', at.reportData!, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['quote signature r', at.signature!, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['quote signature s', at.signature! + 63, (x) => x instanceof AttestationSignatureInvalid && /quote signature/.test(x.message)],
      ['attestation key', at.attestationKey! + 10, (x) => x instanceof AttestationSignatureInvalid && /(certify|P-256 point)/.test(x.message)],
      ['QE report (cpu_svn)', at.qeReport!, (x) => x instanceof AttestationSignatureInvalid && /QE report signature/.test(x.message)],
      ['QE report (report_data)', at.qeReportData!, (x) => x instanceof AttestationSignatureInvalid && /QE report signature/.test(x.message)],
      ['QE report signature', at.qeReportSignature! + 5, (x) => x instanceof AttestationSignatureInvalid && /QE report signature/.test(x.message)],
      ['QE auth data', at.qeAuthData! + 3, (x) => x instanceof AttestationSignatureInvalid && /does not certify this attestation key/.test(x.message)],
    ];
    for (const [what, offset, check] of cases) {
      await assert.rejects(verifyTdxQuoteAuthenticity(flip(bytes, offset), trust, NOW), check, what);
    }
  });
}

test('a changed PCK certificate in the quote breaks the chain', async () => {
  const bytes = quoteBytes(v4);
  const q = parseTdxQuote(bytes);
  const pemAt = bytes.indexOf('-----BEGIN CERTIFICATE-----', offsetOf(q.qeAuthData, bytes), 'latin1');
  // A base64 character inside the leaf's signature value: still PEM, no longer the signed certificate.
  const leafEnd = bytes.indexOf('-----END CERTIFICATE-----', pemAt, 'latin1');
  const c = Buffer.from(bytes);
  c[leafEnd - 10] = c[leafEnd - 10] === 0x41 ? 0x42 : 0x41;
  await assert.rejects(verifyTdxQuoteAuthenticity(c, trust, NOW), AttestationChainInvalid);
});

test('trailing bytes after the signature data are tolerated and ignored (go-tdx-guest appends text; quote buffers are padded)', async () => {
  const spr = quoteBytes(byName('tdx_prod_quote_SPR_E4.dat'));
  assert.equal(parseTdxQuote(spr).trailingBytes, 39);
  const changed = Buffer.from(spr);
  changed.write('anything, since unsigned', spr.length - 39, 'latin1');
  await verifyTdxQuoteAuthenticity(changed, trust, NOW);
  assert.equal(parseTdxQuote(quoteBytes(byName('cos-113-tdx-quote.dat'))).trailingBytes, 8000 - 4935);
});

test('truncated real quotes are malformed at every boundary', async () => {
  const bytes = quoteBytes(v5);
  const q = parseTdxQuote(bytes);
  const sigEnd = bytes.length - q.trailingBytes;
  for (const n of [0, 1, 47, 48, 53, 54, 400, 54 + 648, 54 + 648 + 3, 54 + 648 + 4 + 63, 54 + 648 + 4 + 200, 1500, sigEnd - 1]) {
    await assert.rejects(verifyTdxQuoteAuthenticity(bytes.subarray(0, n), trust, NOW), AttestationMalformed, `${n} bytes`);
  }
});

test('a self-made CA instead of the Intel root: the real chain does not verify', async () => {
  const fake = await createTdxPki(NOW);
  const fakeTrust = createTrustAnchors({ intelRootsPem: [fake.root.cert.toString('pem')] });
  await assert.rejects(verifyTdxQuoteAuthenticity(quoteBytes(v4), fakeTrust, NOW), AttestationChainInvalid);
  // The same name as Intel's root, but another key: the Platform CA's signature does not verify with it.
  const impostor = await createTdxPki(NOW, { rootName: new Name(trust.intelRoots[0]!.subjectName.toArrayBuffer()) });
  assert.equal(impostor.root.cert.subject, trust.intelRoots[0]!.subject);
  const impostorTrust = createTrustAnchors({ intelRootsPem: [impostor.root.cert.toString('pem')] });
  await assert.rejects(verifyTdxQuoteAuthenticity(quoteBytes(v4), impostorTrust, NOW), (err: Error) => err instanceof AttestationChainInvalid && /signature/.test(err.message));
  await assert.rejects(verifyTdxQuoteAuthenticity(quoteBytes(v4), createTrustAnchors({}), NOW), (err: Error) => err instanceof AttestationChainInvalid && /no Intel root/.test(err.message));
});

test('before the PCK certificate was issued, the quote is refused too', async () => {
  const e = byName('quote_v5_sample.dat');
  await assert.rejects(verifyTdxQuoteAuthenticity(quoteBytes(e), trust, Date.UTC(2026, 0, 1)), (err: Error) => err instanceof AttestationChainInvalid && /not valid before/.test(err.message));
});
