// Intel TDX collateral: TCB Info, TD QE identity, PCK / Root CA CRLs (src/workload/attestation/tdx/collateral.ts).
//
// Real collateral from test/fixtures/sev_snp_tdx (go-tdx-guest PCS samples of 2023 and 2026, trustee's of
// 2025), checked against Intel's TCB Signing certificates, and three real quotes whose FMSPC matches a real TCB
// Info, each status computed by hand below. Then a whole generated "Intel" (root, Platform CA, TCB Signing,
// PCK with SGX extensions) so every refusal can be provoked: a tampered body, expired collateral, an FMSPC
// mismatch, a revoked PCK / CA, each TCB status and its acceptance by the reference, requireCollateral.
//
// The real *_response files are the bodies of Intel PCS responses only (JSON, no HTTP headers), so the issuer
// chain Intel sends in the TCB-Info-Issuer-Chain header is not among them. Intel's "Intel SGX TCB Signing"
// certificate is public; the two issues below (2018-05-21..2025-05-21 and its 2025-05-06..2032-05-06 renewal,
// same key and serial) are as published in PCS headers (copied from go-tdx-guest testing/test_cases.go and
// from PCS responses quoted in public DCAP verifiers). Neither is trusted for what it is: the tests check that
// each chains to the pinned Intel SGX Root CA and that its key verifies every real body.
//
// Hand computation for the real quotes (PCK SGX extensions read from each quote's PCK certificate, asserted
// in the "SGX extensions" test):
//
// A. trustee tdx_quote_4 — FMSPC 50806f000000, PCK TCB components 05 05 0d 02 03 01 00 03 00…, PCESVN 11,
//    TEE_TCB_SVN 03 00 05 00…, QE ISVSVN 4. go-tdx-guest sample_tcbInfo_response (FMSPC 50806f000000,
//    2023-06-18T08:42:58Z..2023-07-18T08:42:58Z), level 0 = UpToDate: sgx 5 5 2 2 3 1 0 3 0… ≤ 5 5 13 2 3 1 0 3
//    ✓, pcesvn 11 ≤ 11 ✓, TEE_TCB_SVN[1] = 0 so the tdx components compare from byte 0: 3 0 5 ≤ 3 0 5 ✓ →
//    UpToDate. Module version 0: the TCB Info's tdxModule (mrsigner 0…, attributes 0 under mask FF…) matches
//    MRSIGNERSEAM 0… and SEAM_ATTRIBUTES 0. QE identity (2023-06-08T07:24:59Z..2023-07-08T07:24:59Z): level
//    isvsvn 4 ≤ 4, UpToDate. PCK CRL (Platform CA, 2023-06-08T07:27:52Z..2023-07-08T07:27:52Z, 44 serials)
//    does not list 99c17120…; the Root CA CRL (2023-04-03..2024-04-02) is empty. → UpToDate, no advisory.
//    Every piece is valid in [2023-06-18T08:42:58Z, 2023-07-08T07:24:59Z]: NOW_2023 = 2023-06-25.
// B. go-tdx-guest tdx_prod_quote_SPR_E4 — same FMSPC, PCK components 03 03 02 02 02 01 00 02…: both levels
//    need component 01 ≥ 5 → no level → "TCB not supported", refused.
// C. trustee tdx_quote_6 — FMSPC 00a06d080000, components 02 02 07 07 04 01 00 02…, PCESVN 11, TEE_TCB_SVN
//    05 03 02 00…, QE ISVSVN 7. trustee tcbInfo.json (2025-10-27T13:07:17Z..2025-11-26T13:07:17Z): level 0
//    (UpToDate) needs pcesvn 13 > 11 ✗; level 1 (OutOfDate, tcbDate 2018-01-04): sgx 2 2 2 2 4 1 0 2 ✓, pcesvn
//    5 ✓, TEE_TCB_SVN[1] = 3 > 0 so compare from byte 2: 2 ≥ 2 ✓ → OutOfDate. Module TDX_03: isvsvn 3 ≤ 5 →
//    UpToDate (no convergence). trustee enclaveIdentity.json: isvsvn 4 ≤ 7 → UpToDate. → OutOfDate. No CRL of
//    2025 is in the set, so this one is evaluated component by component (the full evaluation would refuse
//    for want of a CRL); NOW_2025 = 2025-11-10 (the 2018 signing certificate expired on 2025-05-21 and is
//    refused then; its renewal verifies).
// D. go-tdx-guest quote_v5_sample — FMSPC 90c06f000000, components 04 04 02 02 04 01 00 05…, PCESVN 13,
//    TEE_TCB_SVN 0b 01 04 00…. sample_tcbinfo_response_v5 (2026-02-01T14:49:26Z..2026-03-03T14:49:26Z) level
//    0: sgx 3 3 2 2 4 1 0 5 ✓, pcesvn 13 ✓, TEE_TCB_SVN[1] = 1 → from byte 2: 4 ≥ 3 ✓ → UpToDate; module
//    TDX_01: first level isvsvn 6 ≤ 11 → UpToDate → UpToDate. The set has no QE identity valid in 2026
//    (trustee's expired 2025-11-27): refused as expired.
// E. trustee tdx_quote_5 — FMSPC 90c06f000000, components 01 01 02 02 03 01 00 03…: every v5 level needs
//    component 01 ≥ 2 → not supported.
// go-tdx-guest ccel/cos-113-tdx-quote (FMSPC 00806f050000) has no TCB Info in the set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import 'reflect-metadata';
import { X509Certificate, PemConverter } from '@peculiar/x509';
import { testdata } from '../../helpers/testdata.js';
import { verifyTdxEvidence, verifyTdxQuoteAuthenticity } from '../../../src/workload/attestation/tdx/verify.js';
import { parseTdxQuote } from '../../../src/workload/attestation/tdx/quote.js';
import { INTEL_SGX_ROOT_CA_PEM } from '../../../src/workload/attestation/tdx/intel-root.js';
import { parsePckSgxExtensions } from '../../../src/workload/attestation/tdx/pck-extensions.js';
import {
  AttestationCollateralInvalid,
  evaluateQeIdentity,
  evaluateTdxTcb,
  isListed,
  parseCrl,
  parseTdQeIdentity,
  parseTdxTcbInfo,
  splitSignedCollateral,
  tcbSigners,
  tdxCollateralDirectory,
  verifyCollateralSignature,
  verifyCrl,
} from '../../../src/workload/attestation/tdx/collateral.js';
import {
  AttestationChainInvalid,
  AttestationConfigurationInvalid,
  AttestationPolicyViolation,
} from '../../../src/workload/attestation/errors.js';
import { assertReferenceUsable } from '../../../src/workload/attestation/reference.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { TdxCollateralFiles, TdxCollateralSource, TdxReference, TrustAnchors } from '../../../src/workload/attestation/types.js';
import { referenceFromRequirement } from '../../../src/workload/attestation/requirement.js';
import { parseConfig } from '../../../src/config/config.js';
import {
  createTdxPki,
  DEFAULT_SGX,
  encodeSgxExtensions,
  forgeCrl,
  forgeTdxQuote,
  issueTcbSigning,
  padNonce,
  qeIdentityBody,
  signCollateral,
  tcbInfoBody,
  type ForgedTcbLevel,
  type TdxPki,
} from './tdx-forge.js';

// ---------------------------------------------------------------------------------------------------------
// Real collateral.

/** Intel SGX TCB Signing, 2018-05-21T10:50:10Z..2025-05-21T10:50:10Z, serial 7e3882d5…, issued by the Intel SGX Root CA. */
const INTEL_TCB_SIGNING_2018 = `-----BEGIN CERTIFICATE-----
MIICizCCAjKgAwIBAgIUfjiC1ftVKUpASY5FhAPpFJG99FUwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNTAxMFoXDTI1MDUyMTEwNTAxMFowbDEeMBwG
A1UEAwwVSW50ZWwgU0dYIFRDQiBTaWduaW5nMRowGAYDVQQKDBFJbnRlbCBDb3Jw
b3JhdGlvbjEUMBIGA1UEBwwLU2FudGEgQ2xhcmExCzAJBgNVBAgMAkNBMQswCQYD
VQQGEwJVUzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABENFG8xzydWRfK92bmGv
P+mAh91PEyV7Jh6FGJd5ndE9aBH7R3E4A7ubrlh/zN3C4xvpoouGlirMba+W2lju
ypajgbUwgbIwHwYDVR0jBBgwFoAUImUM1lqdNInzg7SVUr9QGzknBqwwUgYDVR0f
BEswSTBHoEWgQ4ZBaHR0cHM6Ly9jZXJ0aWZpY2F0ZXMudHJ1c3RlZHNlcnZpY2Vz
LmludGVsLmNvbS9JbnRlbFNHWFJvb3RDQS5kZXIwHQYDVR0OBBYEFH44gtX7VSlK
QEmORYQD6RSRvfRVMA4GA1UdDwEB/wQEAwIGwDAMBgNVHRMBAf8EAjAAMAoGCCqG
SM49BAMCA0cAMEQCIB9C8wOAN/ImxDtGACV246KcqjagZOR0kyctyBrsGGJVAiAj
ftbrNGsGU8YH211dRiYNoPPu19Zp/ze8JmhujB0oBw==
-----END CERTIFICATE-----
`;

/** Its renewal: the same key and serial, 2025-05-06T09:25:00Z..2032-05-06T09:25:00Z. */
const INTEL_TCB_SIGNING_2025 = `-----BEGIN CERTIFICATE-----
MIICjTCCAjKgAwIBAgIUfjiC1ftVKUpASY5FhAPpFJG99FUwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTI1MDUwNjA5MjUwMFoXDTMyMDUwNjA5MjUwMFowbDEeMBwG
A1UEAwwVSW50ZWwgU0dYIFRDQiBTaWduaW5nMRowGAYDVQQKDBFJbnRlbCBDb3Jw
b3JhdGlvbjEUMBIGA1UEBwwLU2FudGEgQ2xhcmExCzAJBgNVBAgMAkNBMQswCQYD
VQQGEwJVUzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABENFG8xzydWRfK92bmGv
P+mAh91PEyV7Jh6FGJd5ndE9aBH7R3E4A7ubrlh/zN3C4xvpoouGlirMba+W2lju
ypajgbUwgbIwHwYDVR0jBBgwFoAUImUM1lqdNInzg7SVUr9QGzknBqwwUgYDVR0f
BEswSTBHoEWgQ4ZBaHR0cHM6Ly9jZXJ0aWZpY2F0ZXMudHJ1c3RlZHNlcnZpY2Vz
LmludGVsLmNvbS9JbnRlbFNHWFJvb3RDQS5kZXIwHQYDVR0OBBYEFH44gtX7VSlK
QEmORYQD6RSRvfRVMA4GA1UdDwEB/wQEAwIGwDAMBgNVHRMBAf8EAjAAMAoGCCqG
SM49BAMCA0kAMEYCIQDdmmRuAo3qCO8TC1IoJMITAoOEw4dlgEBHzSz1TuMSTAIh
AKVTqOkt59+co0O3m3hC+v5Fb00FjYWcgeu3EijOULo5
-----END CERTIFICATE-----
`;

const GO = 'go-tdx-guest/testing/testdata';
const TRUSTEE = 'trustee/deps/verifier/test_data';
const real = (p: string): Buffer => readFileSync(testdata('sev_snp_tdx', p));
const realTcbInfo2023 = real(`${GO}/sample_tcbInfo_response`);
const realTcbInfo2026 = real(`${GO}/sample_tcbinfo_response_v5`);
const realTcbInfo2025 = real(`${TRUSTEE}/tcbInfo.json`);
const realQeIdentity2023 = real(`${GO}/sample_qeIdentity_response`);
const realQeIdentity2025 = real(`${TRUSTEE}/enclaveIdentity.json`);
const realPckCrl = real(`${GO}/pckcrl`);
const realRootCrl = real(`${GO}/rootcrl.der`);

const intelTrust = createTrustAnchors({ intelRootsPem: [INTEL_SGX_ROOT_CA_PEM] });
const NOW_2023 = Date.UTC(2023, 5, 25);
const NOW_2025 = Date.UTC(2025, 10, 10);
const NOW_2026 = Date.UTC(2026, 1, 15);

interface Expectation {
  quote: string;
  td: Record<string, string>;
}
const expectations: Expectation[] = JSON.parse(readFileSync(testdata('sev_snp_tdx', 'EXPECTED_TDX_VERIFICATION.json'), 'utf8'));
const byName = (suffix: string): Expectation => expectations.find((e) => e.quote.endsWith(suffix))!;
const quoteBytes = (e: Expectation): Buffer => readFileSync(testdata('sev_snp_tdx', e.quote));
const nonceOf = (e: Expectation): Buffer => Buffer.from(e.td['report_data']!.replace(/(00)+$/, ''), 'hex');
const referenceFor = (e: Expectation, extra: Partial<TdxReference> = {}): TdxReference => ({ type: 'tdx', mrtd: e.td['mrtd']!, rtmrs: { '0': e.td['rtmr0']! }, ...extra });

const q4 = byName('tdx_quote_4.dat');
const q5 = byName('tdx_quote_5.dat');
const q6 = byName('tdx_quote_6.dat');
const spr = byName('tdx_prod_quote_SPR_E4.dat');
const v5sample = byName('quote_v5_sample.dat');

/** The TCB-Info-Issuer-Chain header as Intel sends it: URL-encoded PEM, signing certificate then root. */
const headerChain = (pem: string) => encodeURIComponent(pem + INTEL_SGX_ROOT_CA_PEM);

async function realBody(raw: Buffer, member: 'tcbInfo' | 'enclaveIdentity', now: number, chain = INTEL_TCB_SIGNING_2018 + INTEL_TCB_SIGNING_2025) {
  const signed = splitSignedCollateral(raw, member, member);
  verifyCollateralSignature(signed, await tcbSigners(chain, intelTrust, now, 'chain'), member);
  return signed.body;
}

test('Intel\'s TCB Signing certificates (2018 and its 2025 renewal) chain to the pinned root and share one key', async () => {
  const [c18, c25] = [INTEL_TCB_SIGNING_2018, INTEL_TCB_SIGNING_2025].map((p) => new X509Certificate(PemConverter.decode(p)[0]!));
  assert.equal(c18!.subject, 'CN=Intel SGX TCB Signing, O=Intel Corporation, L=Santa Clara, ST=CA, C=US');
  assert.equal(c18!.serialNumber, c25!.serialNumber);
  assert.ok(Buffer.from(c18!.publicKey.rawData).equals(Buffer.from(c25!.publicKey.rawData)));
  assert.equal((await tcbSigners(INTEL_TCB_SIGNING_2018, intelTrust, NOW_2023, 'x')).length, 1);
  // The 2018 issue expired on 2025-05-21: in November 2025 only the renewal is a usable signer.
  await assert.rejects(tcbSigners(INTEL_TCB_SIGNING_2018, intelTrust, NOW_2025, 'x'), (e: Error) => e instanceof AttestationCollateralInvalid && /expired/.test(e.message));
  const both = await tcbSigners(INTEL_TCB_SIGNING_2018 + INTEL_TCB_SIGNING_2025, intelTrust, NOW_2025, 'x');
  assert.deepEqual(both.map((s) => s.cert.notAfter.getUTCFullYear()), [2032]);
  // As sent in the header (URL-encoded, with the root, which is not a signer).
  assert.equal((await tcbSigners(headerChain(INTEL_TCB_SIGNING_2018), intelTrust, NOW_2023, 'x')).length, 1);
  // Against a foreign root: nothing chains.
  const fake = await createTdxPki(NOW_2023);
  await assert.rejects(tcbSigners(INTEL_TCB_SIGNING_2018, createTrustAnchors({ intelRootsPem: [fake.root.cert.toString('pem')] }), NOW_2023, 'x'), AttestationCollateralInvalid);
});

test('all five real collateral bodies verify with Intel\'s TCB signing key and parse (TCB Info v3 "TDX", QE identity v2 "TD_QE")', async () => {
  const t23 = parseTdxTcbInfo(await realBody(realTcbInfo2023, 'tcbInfo', NOW_2023));
  assert.deepEqual([t23.fmspc, t23.tcbLevels.length, t23.tdxModuleIdentities, t23.tcbEvaluationDataNumber], ['50806f000000', 2, null, 15]);
  const t25 = parseTdxTcbInfo(await realBody(realTcbInfo2025, 'tcbInfo', NOW_2025));
  assert.deepEqual([t25.fmspc, t25.tcbLevels.length, t25.tdxModuleIdentities!.map((m) => m.id)], ['00a06d080000', 2, ['TDX_03', 'TDX_01']]);
  const t26 = parseTdxTcbInfo(await realBody(realTcbInfo2026, 'tcbInfo', NOW_2026));
  assert.deepEqual([t26.fmspc, t26.tcbLevels.map((l) => l.status)], ['90c06f000000', ['UpToDate', 'OutOfDate', 'OutOfDate']]);
  assert.deepEqual(t26.tcbLevels[1]!.advisoryIds, ['INTEL-SA-01036', 'INTEL-SA-01079', 'INTEL-SA-01099', 'INTEL-SA-01103', 'INTEL-SA-01111']);
  const qe23 = parseTdQeIdentity(await realBody(realQeIdentity2023, 'enclaveIdentity', NOW_2023));
  const qe25 = parseTdQeIdentity(await realBody(realQeIdentity2025, 'enclaveIdentity', NOW_2025));
  for (const qe of [qe23, qe25]) {
    assert.equal(qe.mrSigner.toString('hex'), 'dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5');
    assert.equal(qe.isvProdId, 2);
    assert.deepEqual(qe.tcbLevels.map((l) => [l.isvSvn, l.status]), [[4, 'UpToDate']]);
  }
  // The CRLs: PCK Platform CA CRL signed by the Platform CA that every real quote carries; Root CA CRL by the root.
  const platformCa = new X509Certificate(PemConverter.decode(parseTdxQuote(quoteBytes(q4)).pckChainPem)[1]!);
  const pckCrl = parseCrl(realPckCrl, 'pckcrl');
  await verifyCrl(pckCrl, platformCa, NOW_2023, 'pckcrl');
  assert.equal(pckCrl.entries.length, 44);
  const rootCrl = parseCrl(realRootCrl, 'rootcrl');
  await verifyCrl(rootCrl, intelTrust.intelRoots[0]!, NOW_2023, 'rootcrl');
  assert.equal(rootCrl.entries.length, 0);
  // The same CRL as PEM and as hex text (the other encodings PCS answers in).
  await verifyCrl(parseCrl(Buffer.from(PemConverter.encode(new Uint8Array(realPckCrl).buffer, 'X509 CRL')), 'pem'), platformCa, NOW_2023, 'pem');
  await verifyCrl(parseCrl(Buffer.from(realPckCrl.toString('hex')), 'hex'), platformCa, NOW_2023, 'hex');
  // A listed serial is found whatever its leading zero byte (00efae6e… is entry 2).
  assert.ok(pckCrl.entries.some((e) => e.serialNumber === '00efae6e9715fca13b87e333e8261ed6d990a926ad'));
  await assert.rejects(verifyCrl(pckCrl, platformCa, Date.UTC(2023, 6, 9), 'pckcrl'), (e: Error) => e instanceof AttestationCollateralInvalid && /expired/.test(e.message));
  await assert.rejects(verifyCrl(pckCrl, intelTrust.intelRoots[0]!, NOW_2023, 'pckcrl'), (e: Error) => e instanceof AttestationCollateralInvalid && /issued by/.test(e.message));
});

test('SGX extensions of the six real PCK certificates: FMSPC, PCE-ID, TCB components, PCESVN', async () => {
  const want: Record<string, [string, string, number]> = {
    'tdx_prod_quote_SPR_E4.dat': ['50806f000000', '03030202020100020000000000000000', 11],
    'quote_v5_sample.dat': ['90c06f000000', '04040202040100050000000000000000', 13],
    'cos-113-tdx-quote.dat': ['00806f050000', '07070202030100030000000000000000', 11],
    'tdx_quote_4.dat': ['50806f000000', '05050d02030100030000000000000000', 11],
    'tdx_quote_5.dat': ['90c06f000000', '01010202030100030000000000000000', 13],
    'tdx_quote_6.dat': ['00a06d080000', '02020707040100020000000000000000', 11],
  };
  for (const e of expectations) {
    const leaf = new X509Certificate(PemConverter.decode(parseTdxQuote(quoteBytes(e)).pckChainPem)[0]!);
    const x = parsePckSgxExtensions(leaf);
    const [fmspc, comps, pceSvn] = want[e.quote.split('/').pop()!]!;
    assert.equal(x.fmspc, fmspc, e.quote);
    assert.equal(Buffer.from(x.cpuSvnComponents).toString('hex'), comps, e.quote);
    assert.equal(x.cpuSvn, comps, e.quote); // Intel's CPUSVN octets are these components, in order
    assert.equal(x.pceSvn, pceSvn, e.quote);
    assert.equal(x.pceId, '0000', e.quote);
  }
});

/** A collateral directory in the documented layout; returns its path. */
function collateralDir(files: { fmspc: string; tcbInfo: Buffer; qeIdentity?: Buffer; chain?: string; pckCrl?: Buffer | null; rootCrl?: Buffer | null }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-tdx-collateral-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'tcb-info'));
  writeFileSync(join(dir, 'tcb-info', `${files.fmspc}.json`), files.tcbInfo);
  if (files.qeIdentity) writeFileSync(join(dir, 'qe-identity.json'), files.qeIdentity);
  writeFileSync(join(dir, 'tcb-signing-chain.pem'), files.chain ?? headerChain(INTEL_TCB_SIGNING_2018));
  if (files.pckCrl !== null) writeFileSync(join(dir, 'pck-platform.crl'), files.pckCrl ?? realPckCrl);
  if (files.rootCrl !== null) writeFileSync(join(dir, 'root-ca.crl'), files.rootCrl ?? realRootCrl);
  return dir;
}
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const real2023Dir = () => collateralDir({ fmspc: '50806f000000', tcbInfo: realTcbInfo2023, qeIdentity: realQeIdentity2023 });
const trustWith = (dir: string): TrustAnchors => createTrustAnchors({ intelRootsPem: [INTEL_SGX_ROOT_CA_PEM], tdxCollateral: tdxCollateralDirectory(dir) });
const optsAt = (e: Expectation, now: number, trust: TrustAnchors) => ({ nonce: nonceOf(e), now, maxAgeMs: 60_000, trust });

test('A: real tdx_quote_4 with real 2023 collateral (directory layout) is UpToDate and verifies in full', async () => {
  const trust = trustWith(real2023Dir());
  const v = await verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true }), optsAt(q4, NOW_2023, trust));
  assert.equal(v.platform['tcbStatus'], 'UpToDate');
  assert.equal(v.platform['fmspc'], '50806f000000');
  assert.equal(v.platform['tcbDate'], '2023-02-15T00:00:00Z');
  assert.equal(v.platform['tcbAdvisoryIds'], '');
  assert.equal(v.platform['tcbEvaluationDataNumber'], 15);
  assert.equal(v.platform['qeTcbStatus'], 'UpToDate');
  assert.equal(v.platform['tdxModuleTcbStatus'], 'not-applicable');
  // The QE identity is the first piece to expire.
  assert.equal(v.platform['collateralNextUpdate'], '2023-07-08T07:24:59.000Z');
  // requireCollateral is satisfied, and listing more statuses changes nothing for an UpToDate platform.
  await verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true, requireCollateral: true, acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] }), optsAt(q4, NOW_2023, trust));
});

test('B/E: real quotes whose PCK TCB no level of their TCB Info covers are refused as not supported', async () => {
  const trust = trustWith(real2023Dir());
  await assert.rejects(
    verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(spr) }, referenceFor(spr), optsAt(spr, NOW_2023, trust)),
    (e: Error) => e instanceof AttestationPolicyViolation && /not supported/.test(e.message) && /components 3\.3\.2\.2\.2/.test(e.message),
  );
  const info = parseTdxTcbInfo(await realBody(realTcbInfo2026, 'tcbInfo', NOW_2026));
  const quote = parseTdxQuote(quoteBytes(q5));
  const leaf = new X509Certificate(PemConverter.decode(quote.pckChainPem)[0]!);
  assert.throws(() => evaluateTdxTcb(info, parsePckSgxExtensions(leaf), quote), (e: Error) => e instanceof AttestationPolicyViolation && /not supported/.test(e.message));
});

test('C: real tdx_quote_6 against trustee\'s 2025 TCB Info and QE identity is OutOfDate (PCESVN 11 < 13)', async () => {
  const info = parseTdxTcbInfo(await realBody(realTcbInfo2025, 'tcbInfo', NOW_2025));
  const qeId = parseTdQeIdentity(await realBody(realQeIdentity2025, 'enclaveIdentity', NOW_2025));
  const { quote, pck } = await verifyTdxQuoteAuthenticity(quoteBytes(q6), intelTrust, NOW_2025);
  const tdx = evaluateTdxTcb(info, parsePckSgxExtensions(pck), quote);
  assert.equal(tdx.status, 'OutOfDate');
  assert.equal(tdx.level.tcbDate, '2018-01-04T00:00:00Z');
  assert.deepEqual([tdx.module?.id, tdx.module?.level.status], ['TDX_03', 'UpToDate']);
  assert.equal(evaluateQeIdentity(qeId, quote.qeReport).status, 'UpToDate');
  // The same quote against the 2023 TCB Info (another FMSPC) is a mismatch, not a verdict.
  const other = parseTdxTcbInfo(await realBody(realTcbInfo2023, 'tcbInfo', NOW_2023));
  assert.throws(() => evaluateTdxTcb(other, parsePckSgxExtensions(pck), quote), (e: Error) => e instanceof AttestationCollateralInvalid && /FMSPC 50806f000000/.test(e.message));
});

test('D: real quote_v5_sample: its TCB level (TDX 1.5, module TDX_01) is UpToDate, but no QE identity valid in 2026 exists: refused as expired', async () => {
  const info = parseTdxTcbInfo(await realBody(realTcbInfo2026, 'tcbInfo', NOW_2026));
  const { quote, pck } = await verifyTdxQuoteAuthenticity(quoteBytes(v5sample), intelTrust, NOW_2026);
  const tdx = evaluateTdxTcb(info, parsePckSgxExtensions(pck), quote);
  assert.deepEqual([tdx.status, tdx.module?.id, tdx.module?.level.isvSvn], ['UpToDate', 'TDX_01', 6]);
  const dir = collateralDir({ fmspc: '90c06f000000', tcbInfo: realTcbInfo2026, qeIdentity: realQeIdentity2025, chain: INTEL_TCB_SIGNING_2025 });
  await assert.rejects(
    verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(v5sample) }, referenceFor(v5sample), optsAt(v5sample, NOW_2026, trustWith(dir))),
    (e: Error) => e instanceof AttestationCollateralInvalid && /QE identity expired/.test(e.message),
  );
});

test('real collateral: a changed byte, a reformatted body, a bad signature, a duplicated member: each refused', async () => {
  const signers = await tcbSigners(INTEL_TCB_SIGNING_2018, intelTrust, NOW_2023, 'x');
  const text = realTcbInfo2023.toString('latin1');
  const cases: [string, string][] = [
    ['pcesvn 11 → 12 in the UpToDate level', text.replace('"pcesvn":11', '"pcesvn":12')],
    ['UpToDate → OutOfDate wording', text.replace('"tcbStatus":"OutOfDate"', '"tcbStatus":"UpToDate"')],
    ['nextUpdate pushed a year', text.replace('"nextUpdate":"2023-07-18', '"nextUpdate":"2024-07-18')],
    ['whitespace added inside tcbInfo (same JSON, other bytes)', text.replace('{"id":"TDX"', '{ "id":"TDX"')],
    ['signature s flipped', text.replace(/"signature":"([0-9a-f])/, (_m, c: string) => `"signature":"${c === '0' ? '1' : '0'}`)],
  ];
  for (const [what, body] of cases) {
    assert.notEqual(body, text, what);
    const signed = splitSignedCollateral(Buffer.from(body, 'latin1'), 'tcbInfo', 'TCB Info');
    assert.throws(() => verifyCollateralSignature(signed, signers, 'TCB Info'), (e: Error) => e instanceof AttestationCollateralInvalid && /signature/.test(e.message), what);
  }
  // Whitespace outside the signed member is allowed (the trustee files end with a newline).
  verifyCollateralSignature(splitSignedCollateral(Buffer.from(` ${text}\n`, 'latin1'), 'tcbInfo', 'x'), signers, 'x');
  const malformed: [string, string][] = [
    ['duplicated tcbInfo member', text.replace('{"tcbInfo":', '{"tcbInfo":{"id":"TDX"},"tcbInfo":')],
    ['an extra member', text.replace('{"tcbInfo":', '{"note":1,"tcbInfo":')],
    ['truncated', text.slice(0, -3)],
    ['non-ASCII', text.replace('"TDX"', '"TDX\u00e9"')],
    ['signature of 63 bytes', text.replace(/"signature":"[0-9a-f]{2}/, '"signature":"')],
  ];
  for (const [what, body] of malformed) {
    assert.throws(() => splitSignedCollateral(Buffer.from(body, 'latin1'), 'tcbInfo', 'TCB Info'), AttestationCollateralInvalid, what);
  }
  // Through the verifier: a tampered TCB Info in the directory refuses a quote that verified a moment ago.
  const dir = collateralDir({ fmspc: '50806f000000', tcbInfo: Buffer.from(cases[0]![1], 'latin1'), qeIdentity: realQeIdentity2023 });
  await assert.rejects(
    verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true }), optsAt(q4, NOW_2023, trustWith(dir))),
    (e: Error) => e instanceof AttestationCollateralInvalid && /TCB Info: signature/.test(e.message),
  );
});

test('real collateral out of its validity window: expired TCB Info, QE identity, PCK CRL, or not yet issued — refused', async () => {
  const trust = trustWith(real2023Dir());
  const run = (now: number) => verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true }), optsAt(q4, now, trust));
  await run(Date.parse('2023-07-08T07:24:58Z'));
  await assert.rejects(run(Date.parse('2023-07-08T07:25:00Z')), (e: Error) => e instanceof AttestationCollateralInvalid && /QE identity expired/.test(e.message));
  await assert.rejects(run(Date.parse('2023-07-18T08:43:00Z')), (e: Error) => e instanceof AttestationCollateralInvalid && /TCB Info for FMSPC 50806f000000 expired/.test(e.message));
  await assert.rejects(run(Date.parse('2023-06-18T08:42:57Z')), (e: Error) => e instanceof AttestationCollateralInvalid && /not valid before/.test(e.message));
  // With a QE identity that outlives the PCK CRL (trustee's later one is not valid in 2023, so shift only
  // the CRL): the real PCK CRL is refused once its nextUpdate (2023-07-08T07:27:52Z) has passed.
  const platformCa = new X509Certificate(PemConverter.decode(parseTdxQuote(quoteBytes(q4)).pckChainPem)[1]!);
  await assert.rejects(verifyCrl(parseCrl(realPckCrl, 'pck'), platformCa, Date.parse('2023-07-08T07:27:53Z'), 'PCK CRL'), (e: Error) => /expired/.test(e.message));
});

test('the directory: no TCB Info for the platform\'s FMSPC, a missing CRL or QE identity — refused; a missing directory fails the start', async () => {
  const ref = referenceFor(q4, { allowDebug: true });
  const run = (dir: string) => verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, ref, optsAt(q4, NOW_2023, trustWith(dir)));
  await assert.rejects(run(collateralDir({ fmspc: '90c06f000000', tcbInfo: realTcbInfo2026, qeIdentity: realQeIdentity2023 })), (e: Error) => e instanceof AttestationCollateralInvalid && /no TCB Info for FMSPC 50806f000000/.test(e.message));
  await assert.rejects(run(collateralDir({ fmspc: '50806f000000', tcbInfo: realTcbInfo2023 })), (e: Error) => e instanceof AttestationCollateralInvalid && /qe-identity\.json is missing/.test(e.message));
  await assert.rejects(run(collateralDir({ fmspc: '50806f000000', tcbInfo: realTcbInfo2023, qeIdentity: realQeIdentity2023, pckCrl: null })), (e: Error) => e instanceof AttestationCollateralInvalid && /pck-platform\.crl/.test(e.message));
  await assert.rejects(run(collateralDir({ fmspc: '50806f000000', tcbInfo: realTcbInfo2023, qeIdentity: realQeIdentity2023, rootCrl: null })), (e: Error) => e instanceof AttestationCollateralInvalid && /root-ca\.crl is missing/.test(e.message));
  // The root CRL where the PCK CRL belongs: no CRL from the Platform CA.
  await assert.rejects(run(collateralDir({ fmspc: '50806f000000', tcbInfo: realTcbInfo2023, qeIdentity: realQeIdentity2023, pckCrl: realRootCrl })), (e: Error) => e instanceof AttestationCollateralInvalid && /no PCK CRL issued by/.test(e.message));
  // A TCB Info body filed under another FMSPC's name is caught by its signed fmspc (the QE identity of 2025
  // is used only to get that far: the FMSPC check comes after both signatures).
  assert.throws(() => tdxCollateralDirectory(join(tmpdir(), `warden-missing-${randomBytes(6).toString('hex')}`)), AttestationConfigurationInvalid);
});

// ---------------------------------------------------------------------------------------------------------
// Generated "Intel": every branch.

const T0 = Date.UTC(2025, 5, 1, 12);
const DAY = 86_400_000;
const mrtd = Buffer.alloc(48, 0x6d);
const reference: TdxReference = { type: 'tdx', mrtd: mrtd.toString('hex') };
let pki: TdxPki;

before(async () => {
  pki = await createTdxPki(T0);
});

// Levels for the default forged quote: PCK components 4 4 2 2 4 1 0 5, PCESVN 13; TEE_TCB_SVN 05 01 02 00…
// (module TDX_01, SVN 5; bytes from 2 on compared with the levels).
const UP: ForgedTcbLevel = { sgx: [4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13, tdx: [5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: 'UpToDate' };
const SWH: ForgedTcbLevel = { ...UP, tdx: [5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: 'SWHardeningNeeded', advisoryIDs: ['INTEL-SA-00837'] };
const OLD: ForgedTcbLevel = { sgx: [2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 5, tdx: [5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: 'OutOfDate', advisoryIDs: ['INTEL-SA-00615'] };

interface Gen {
  levels?: ForgedTcbLevel[];
  modules?: Parameters<typeof tcbInfoBody>[0]['modules'];
  fmspc?: string;
  tcbInfoWindow?: [number, number];
  qe?: Parameters<typeof qeIdentityBody>[0];
  signer?: TdxPki['tcbSigning'];
  chainPem?: string;
  pckCrl?: Buffer | null;
  rootCrl?: Buffer;
  serialsRevoked?: string[];
  rootSerialsRevoked?: string[];
}

/** An in-memory collateral source, as the directory would give it. */
async function generated(g: Gen = {}): Promise<TrustAnchors> {
  const signer = g.signer ?? pki.tcbSigning;
  const [from, to] = g.tcbInfoWindow ?? [T0 - DAY, T0 + 30 * DAY];
  const files: TdxCollateralFiles = {
    tcbInfo: await signCollateral('tcbInfo', tcbInfoBody({ fmspc: g.fmspc ?? pki.sgx.fmspc, issueDate: from, nextUpdate: to, levels: g.levels ?? [UP, SWH, OLD], ...(g.modules !== undefined ? { modules: g.modules } : {}) }), signer),
    qeIdentity: await signCollateral('enclaveIdentity', qeIdentityBody(g.qe ?? { issueDate: T0 - DAY, nextUpdate: T0 + 30 * DAY }), signer),
    tcbSigningChain: g.chainPem ?? signer.cert.toString('pem'),
    pckCrls: g.pckCrl === null ? [] : [g.pckCrl ?? Buffer.from((await forgeCrl(pki.ca, { serials: g.serialsRevoked ?? ['0a0b0c'], thisUpdate: T0 - DAY, nextUpdate: T0 + 30 * DAY })).rawData)],
    rootCaCrl: g.rootCrl ?? Buffer.from((await forgeCrl(pki.root, { serials: g.rootSerialsRevoked ?? [], thisUpdate: T0 - DAY, nextUpdate: T0 + 365 * DAY })).rawData),
    source: 'generated',
  };
  const source: TdxCollateralSource = { description: 'generated collateral', load: async (fmspc) => (fmspc === pki.sgx.fmspc ? files : null) };
  return createTrustAnchors({ intelRootsPem: [pki.root.cert.toString('pem')], tdxCollateral: source });
}

async function genQuote(teeTcbSvn = '05010200000000000000000000000000', o: { qeIsvSvn?: number; version?: 4 | 5; bodyType?: 2 | 3; p?: TdxPki } = {}) {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(o.p ?? pki, { mrtd, reportData: padNonce(nonce), teeTcbSvn: Buffer.from(teeTcbSvn, 'hex') }, { ...(o.qeIsvSvn !== undefined ? { qeIsvSvn: o.qeIsvSvn } : {}), ...(o.version ? { version: o.version } : {}), ...(o.bodyType ? { bodyType: o.bodyType } : {}) });
  return { ev: { type: 'tdx' as const, quote }, nonce };
}

const verifyAt = async (trust: TrustAnchors, q: { ev: { type: 'tdx'; quote: Buffer }; nonce: Buffer }, ref: TdxReference = reference, now = T0) =>
  verifyTdxEvidence(q.ev, ref, { nonce: q.nonce, now, maxAgeMs: 60_000, trust });

test('generated: each TCB level is selected by the TEE_TCB_SVN bytes from 2 on; only accepted statuses pass', async () => {
  const trust = await generated();
  const up = await verifyAt(trust, await genQuote('05010300000000000000000000000000'));
  assert.deepEqual([up.platform['tcbStatus'], up.platform['tcbAdvisoryIds'], up.platform['tdxModuleTcbStatus'], up.platform['fmspc']], ['UpToDate', '', 'UpToDate', pki.sgx.fmspc]);

  // 05 01 02: level UP needs byte 2 ≥ 3, SWH needs ≥ 2 → SWHardeningNeeded. Refused by default, accepted when listed.
  const swh = await genQuote();
  await assert.rejects(verifyAt(trust, swh), (e: Error) => e instanceof AttestationPolicyViolation && /SWHardeningNeeded \(advisories INTEL-SA-00837\); the reference accepts UpToDate$/.test(e.message));
  const v = await verifyAt(trust, swh, { ...reference, acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] });
  assert.deepEqual([v.platform['tcbStatus'], v.platform['tcbAdvisoryIds']], ['SWHardeningNeeded', 'INTEL-SA-00837']);

  // 05 01 01: below SWH's byte 2; OLD (components 2 2 2 2 3 1 0 5, PCESVN 5) → OutOfDate.
  const old = await genQuote('05010100000000000000000000000000');
  await assert.rejects(verifyAt(trust, old, { ...reference, acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] }), (e: Error) => e instanceof AttestationPolicyViolation && /OutOfDate/.test(e.message));
  assert.equal((await verifyAt(trust, old, { ...reference, acceptedTcbStatuses: ['OutOfDate'] })).platform['tcbStatus'], 'OutOfDate');
  // Byte 0 (module SVN) and byte 1 (module version) are judged by the module identity, not the levels: a
  // module SVN of 4 is below UP's tdx component 0 (5) and still UpToDate, as TDX_01's level isvsvn 4 is met.
  assert.equal((await verifyAt(trust, await genQuote('04010300000000000000000000000000'))).platform['tcbStatus'], 'UpToDate');
  // Byte 3 above every level changes nothing; a level whose byte 3 is not met is skipped.
  assert.equal((await verifyAt(trust, await genQuote('0501030900000000000000000000000f'))).platform['tcbStatus'], 'UpToDate');

  // A v5 quote with a TDX 1.5 body: same evaluation; relaunch advice is reported as not evaluated.
  const td15 = await verifyAt(trust, await genQuote('05010300000000000000000000000000', { version: 5, bodyType: 3 }));
  assert.deepEqual([td15.platform['tcbStatus'], td15.platform['tdRelaunchAdvice']], ['UpToDate', 'not-evaluated']);
});

test('generated: a Revoked level, a level none matches, and every configuration status', async () => {
  const q = await genQuote('05010300000000000000000000000000');
  const revoked = await generated({ levels: [{ ...UP, status: 'Revoked' }] });
  await assert.rejects(verifyAt(revoked, q, { ...reference, acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] }), (e: Error) => e instanceof AttestationPolicyViolation && /Revoked/.test(e.message));
  const none = await generated({ levels: [{ ...UP, pceSvn: 14 }] });
  await assert.rejects(verifyAt(none, q), (e: Error) => e instanceof AttestationPolicyViolation && /not supported.*PCESVN 13/.test(e.message));
  const sgxHigher = await generated({ levels: [{ ...UP, sgx: [...UP.sgx.slice(0, 15), 1] }] });
  await assert.rejects(verifyAt(sgxHigher, q), (e: Error) => e instanceof AttestationPolicyViolation && /not supported/.test(e.message));
  for (const status of ['ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDateConfigurationNeeded'] as const) {
    const t = await generated({ levels: [{ ...UP, status }] });
    await assert.rejects(verifyAt(t, q), AttestationPolicyViolation, status);
    assert.equal((await verifyAt(t, q, { ...reference, acceptedTcbStatuses: [status] })).platform['tcbStatus'], status);
  }
  // An unknown status in signed collateral is refused, not mapped.
  await assert.rejects(verifyAt(await generated({ levels: [{ ...UP, status: 'Fine' }] }), q), AttestationCollateralInvalid);
});

test('generated: the TDX module identity — missing, another signer, OutOfDate and Revoked levels converge', async () => {
  const q = await genQuote('05010300000000000000000000000000');
  await assert.rejects(verifyAt(await generated({ modules: null }), q), (e: Error) => e instanceof AttestationPolicyViolation && /no identity TDX_01/.test(e.message));
  await assert.rejects(verifyAt(await generated({ modules: [{ id: 'TDX_03', levels: [{ isvsvn: 0, status: 'UpToDate' }] }] }), q), (e: Error) => /TDX_01/.test(e.message));
  await assert.rejects(verifyAt(await generated({ modules: [{ id: 'TDX_01', mrsigner: 'ab'.repeat(48), levels: [{ isvsvn: 0, status: 'UpToDate' }] }] }), q), (e: Error) => e instanceof AttestationPolicyViolation && /MRSIGNERSEAM/.test(e.message));
  await assert.rejects(verifyAt(await generated({ modules: [{ id: 'TDX_01', attributes: '0100000000000000', levels: [{ isvsvn: 0, status: 'UpToDate' }] }] }), q), (e: Error) => /SEAM_ATTRIBUTES/.test(e.message));
  // Module SVN 5: the first level with isvsvn ≤ 5 decides.
  const mod = (levels: { isvsvn: number; status: string; advisoryIDs?: string[] }[]) => generated({ modules: [{ id: 'TDX_01', levels }] });
  const ood = await verifyAt(await mod([{ isvsvn: 7, status: 'UpToDate' }, { isvsvn: 3, status: 'OutOfDate', advisoryIDs: ['INTEL-SA-01036'] }]), q, { ...reference, acceptedTcbStatuses: ['OutOfDate'] });
  assert.deepEqual([ood.platform['tcbStatus'], ood.platform['tdxModuleTcbStatus'], ood.platform['tcbAdvisoryIds']], ['OutOfDate', 'OutOfDate', 'INTEL-SA-01036']);
  // OutOfDate module + ConfigurationNeeded level → OutOfDateConfigurationNeeded.
  const cfg = await generated({ levels: [{ ...UP, status: 'ConfigurationNeeded' }], modules: [{ id: 'TDX_01', levels: [{ isvsvn: 2, status: 'OutOfDate' }] }] });
  assert.equal((await verifyAt(cfg, q, { ...reference, acceptedTcbStatuses: ['OutOfDateConfigurationNeeded'] })).platform['tcbStatus'], 'OutOfDateConfigurationNeeded');
  await assert.rejects(verifyAt(await mod([{ isvsvn: 5, status: 'Revoked' }]), q, { ...reference, acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] }), (e: Error) => /Revoked/.test(e.message));
  await assert.rejects(verifyAt(await mod([{ isvsvn: 6, status: 'UpToDate' }]), q), (e: Error) => e instanceof AttestationPolicyViolation && /module SVN TEE_TCB_SVN\[0\] = 5/.test(e.message));
  // Module version 0 (TDX 1.0 module without identities): the tdxModule signer judges, bytes 0–1 compare with the levels.
  const v0 = await verifyAt(await generated({ levels: [{ ...UP, tdx: [5, 0, 3, ...Array(13).fill(0)] }], modules: null }), await genQuote('05000300000000000000000000000000'));
  assert.deepEqual([v0.platform['tcbStatus'], v0.platform['tdxModuleTcbStatus']], ['UpToDate', 'not-applicable']);
  await assert.rejects(verifyAt(await generated({ levels: [{ ...UP, tdx: [6, 0, 3, ...Array(13).fill(0)] }], modules: null }), await genQuote('05000300000000000000000000000000')), (e: Error) => /not supported/.test(e.message));
});

test('generated: the QE identity — its TCB level converges, an unknown ISVSVN or another enclave is refused', async () => {
  const window = { issueDate: T0 - DAY, nextUpdate: T0 + 30 * DAY };
  const q = await genQuote('05010300000000000000000000000000');
  const ood = await generated({ qe: { ...window, levels: [{ isvsvn: 6, status: 'UpToDate' }, { isvsvn: 4, status: 'OutOfDate', advisoryIDs: ['INTEL-SA-00999'] }] } });
  await assert.rejects(verifyAt(ood, q), (e: Error) => e instanceof AttestationPolicyViolation && /OutOfDate \(advisories INTEL-SA-00999\)/.test(e.message));
  const v = await verifyAt(ood, q, { ...reference, acceptedTcbStatuses: ['OutOfDate'] });
  assert.deepEqual([v.platform['tcbStatus'], v.platform['qeTcbStatus']], ['OutOfDate', 'OutOfDate']);
  await assert.rejects(verifyAt(await generated({ qe: { ...window, levels: [{ isvsvn: 4, status: 'Revoked' }] } }), q, { ...reference, acceptedTcbStatuses: ['OutOfDate'] }), (e: Error) => /Revoked/.test(e.message));
  await assert.rejects(verifyAt(await generated(), await genQuote('05010300000000000000000000000000', { qeIsvSvn: 3 })), (e: Error) => e instanceof AttestationPolicyViolation && /QE's ISVSVN 3/.test(e.message));
  await assert.rejects(verifyAt(await generated({ qe: { ...window, mrsigner: 'AB'.repeat(32) } }), q), (e: Error) => e instanceof AttestationChainInvalid && /QE identity mismatch: MRSIGNER/.test(e.message));
  await assert.rejects(verifyAt(await generated({ qe: { ...window, isvprodid: 1 } }), q), (e: Error) => e instanceof AttestationChainInvalid && /ISVPRODID/.test(e.message));
  await assert.rejects(verifyAt(await generated({ qe: { issueDate: T0 - 40 * DAY, nextUpdate: T0 - DAY } }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /QE identity expired/.test(e.message));
});

test('generated: revocation — the PCK on its CA\'s CRL, the CA or the TCB signer on the root CRL, a forged or stale CRL', async () => {
  const q = await genQuote('05010300000000000000000000000000');
  await verifyAt(await generated(), q);
  // The PCK serial, written as the CRL writes it (the generator may add a leading zero byte).
  await assert.rejects(verifyAt(await generated({ serialsRevoked: ['0a0b0c', pki.pck.cert.serialNumber] }), q), (e: Error) => e instanceof AttestationChainInvalid && /PCK certificate .* is revoked/.test(e.message));
  await assert.rejects(verifyAt(await generated({ rootSerialsRevoked: [pki.ca.cert.serialNumber] }), q), (e: Error) => e instanceof AttestationChainInvalid && /PCK CA .* is revoked by the Intel root/.test(e.message));
  await assert.rejects(verifyAt(await generated({ rootSerialsRevoked: [pki.tcbSigning.cert.serialNumber] }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /TCB signing certificate .* is revoked/.test(e.message));
  // A CRL in the Platform CA's name but signed by another key (an impostor CA of the same name).
  const impostor = await createTdxPki(T0);
  const forged = await forgeCrl({ cert: pki.ca.cert, keys: impostor.ca.keys }, { serials: [], thisUpdate: T0 - DAY, nextUpdate: T0 + DAY });
  await assert.rejects(verifyAt(await generated({ pckCrl: Buffer.from(forged.rawData) }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /PCK CRL.*signature does not verify/.test(e.message));
  const stale = await forgeCrl(pki.ca, { serials: [], thisUpdate: T0 - 10 * DAY, nextUpdate: T0 - DAY });
  await assert.rejects(verifyAt(await generated({ pckCrl: Buffer.from(stale.rawData) }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /PCK CRL.*expired/.test(e.message));
  await assert.rejects(verifyAt(await generated({ pckCrl: null }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /no PCK CRL/.test(e.message));
  const staleRoot = await forgeCrl(pki.root, { serials: [], thisUpdate: T0 - 10 * DAY, nextUpdate: T0 - DAY });
  await assert.rejects(verifyAt(await generated({ rootCrl: Buffer.from(staleRoot.rawData) }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /Root CA CRL expired/.test(e.message));
  assert.ok(isListed(await forgeCrl(pki.ca, { serials: [`00${pki.pck.cert.serialNumber.replace(/^00/, '')}`], thisUpdate: T0, nextUpdate: T0 + DAY }), pki.pck.cert));
});

test('generated: collateral signed by anyone but a TCB signer under the pinned root, or for another platform, is refused', async () => {
  const q = await genQuote('05010300000000000000000000000000');
  const foreign = await createTdxPki(T0);
  await assert.rejects(verifyAt(await generated({ signer: foreign.tcbSigning }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /no TCB signing certificate chains/.test(e.message));
  // A genuine signing certificate in the chain file, but the bodies signed by another key.
  await assert.rejects(verifyAt(await generated({ signer: foreign.tcbSigning, chainPem: pki.tcbSigning.cert.toString('pem') }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /TCB Info: signature/.test(e.message));
  // The Platform CA's key is Intel's too, but it is a CA, not a collateral signer.
  await assert.rejects(verifyAt(await generated({ signer: pki.ca }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /is a CA/.test(e.message));
  const expiredSigner = await issueTcbSigning(pki.root, new Date(T0 - 10 * DAY), new Date(T0 - DAY));
  await assert.rejects(verifyAt(await generated({ signer: expiredSigner }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /expired/.test(e.message));
  await assert.rejects(verifyAt(await generated({ fmspc: 'ffffff000000' }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /FMSPC ffffff000000.*platform is a0b0c0000000/.test(e.message));
  await assert.rejects(verifyAt(await generated({ tcbInfoWindow: [T0 - 40 * DAY, T0 - 1] }), q), (e: Error) => e instanceof AttestationCollateralInvalid && /TCB Info for FMSPC a0b0c0000000 expired/.test(e.message));
  await assert.rejects(verifyAt(await generated({ tcbInfoWindow: [T0 + 1000, T0 + DAY] }), q), (e: Error) => /not valid before/.test(e.message));
  // A platform the source has no TCB Info for.
  const otherPlatform = await createTdxPki(T0, { sgx: { fmspc: '00112233aabb' } });
  const trustOther = await generated();
  const q2 = await genQuote('05010300000000000000000000000000', { p: otherPlatform });
  await assert.rejects(
    verifyTdxEvidence(q2.ev, reference, { nonce: q2.nonce, now: T0, maxAgeMs: 60_000, trust: { ...trustOther, intelRoots: [otherPlatform.root.cert] } }),
    (e: Error) => e instanceof AttestationCollateralInvalid && /no TCB Info for FMSPC 00112233aabb/.test(e.message),
  );
});

test('requireCollateral: without collateral configured the quote is refused; without it the status is not-evaluated', async () => {
  const q = await genQuote();
  const bare = createTrustAnchors({ intelRootsPem: [pki.root.cert.toString('pem')] });
  await assert.rejects(verifyAt(bare, q, { ...reference, requireCollateral: true }), (e: Error) => e instanceof AttestationPolicyViolation && /requireCollateral/.test(e.message));
  const v = await verifyAt(bare, q, { ...reference, acceptedTcbStatuses: ['UpToDate'] });
  assert.deepEqual([v.platform['tcbStatus'], v.platform['fmspc']], ['not-evaluated', pki.sgx.fmspc]);
  // The real quotes too (today's behaviour: authentic, TCB status not evaluated).
  const real4 = await verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true }), optsAt(q4, NOW_2023, intelTrust));
  assert.deepEqual([real4.platform['tcbStatus'], real4.platform['fmspc']], ['not-evaluated', '50806f000000']);
  await assert.rejects(verifyTdxEvidence({ type: 'tdx', quote: quoteBytes(q4) }, referenceFor(q4, { allowDebug: true, requireCollateral: true }), optsAt(q4, NOW_2023, intelTrust)), AttestationPolicyViolation);
});

test('PCK SGX extensions: absent, without FMSPC, with FMSPC twice — refused when collateral is evaluated, tolerated when not', async () => {
  for (const der of [null, encodeSgxExtensions(DEFAULT_SGX, { dropFmspc: true }), encodeSgxExtensions(DEFAULT_SGX, { duplicateFmspc: true })]) {
    const p = await createTdxPki(T0, { sgxExtensionDer: der });
    const q = await genQuote('05010300000000000000000000000000', { p });
    const bare = createTrustAnchors({ intelRootsPem: [p.root.cert.toString('pem')] });
    const v = await verifyAt(bare, q);
    assert.equal(v.platform['tcbStatus'], 'not-evaluated');
    assert.equal(v.platform['fmspc'], undefined);
    await assert.rejects(verifyAt(bare, q, { ...reference, requireCollateral: true }), (e: Error) => e instanceof AttestationChainInvalid && /SGX extension/.test(e.message));
    const withCollateral = await generated();
    await assert.rejects(
      verifyTdxEvidence(q.ev, reference, { nonce: q.nonce, now: T0, maxAgeMs: 60_000, trust: { ...withCollateral, intelRoots: [p.root.cert] } }),
      (e: Error) => e instanceof AttestationChainInvalid && /SGX extension: (absent|FMSPC .* missing|present more than once|SGXExtensions holds .* twice)/.test(e.message),
    );
  }
});

test('reference keys: acceptedTcbStatuses (; separated) and requireCollateral parse and validate; Revoked can never be accepted', () => {
  const mr = mrtd.toString('hex');
  assert.deepEqual(referenceFromRequirement({ type: 'intel-tdx', referenceValues: { mrtd: mr, acceptedTcbStatuses: 'UpToDate;SWHardeningNeeded', requireCollateral: 'true' } }), {
    type: 'tdx',
    mrtd: mr,
    acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'],
    requireCollateral: true,
  });
  for (const [values, msg] of [
    [{ mrtd: mr, acceptedTcbStatuses: 'UpToDate;Fine' }, /"Fine" is not an Intel TCB status/],
    [{ mrtd: mr, acceptedTcbStatuses: 'UpToDate;Revoked' }, /cannot accept Revoked/],
    [{ mrtd: mr, acceptedTcbStatuses: ';' }, /at least one/],
    [{ mrtd: mr, requireCollateral: 'yes' }, /true or false/],
  ] as [Record<string, string>, RegExp][]) {
    assert.throws(() => referenceFromRequirement({ type: 'tdx', referenceValues: values }), (e: Error) => e instanceof AttestationConfigurationInvalid && msg.test(e.message), JSON.stringify(values));
  }
  assert.throws(() => assertReferenceUsable({ type: 'tdx', mrtd: mr, acceptedTcbStatuses: 'UpToDate' as never }), AttestationConfigurationInvalid);
  assert.throws(() => assertReferenceUsable({ type: 'tdx', mrtd: mr, requireCollateral: 1 as never }), AttestationConfigurationInvalid);
});

test('config: workload.attestation.tdxCollateralDir is resolved against the config file; absent by default', () => {
  const cfg = parseConfig('workload:\n  attestation:\n    tdxCollateralDir: intel-collateral\n', '/etc/warden/warden.yaml');
  assert.equal(cfg.workload.attestation.tdxCollateralDir, '/etc/warden/intel-collateral');
  assert.equal(parseConfig('{}\n', '/etc/warden/warden.yaml').workload.attestation.tdxCollateralDir, undefined);
  assert.throws(() => parseConfig('workload:\n  attestation:\n    tdxCollateralDir: ""\n', '/etc/warden/warden.yaml'));
});
