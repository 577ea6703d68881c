// The real SEV-SNP reports in test/fixtures (VCEK v2, VLEK v3) and the bad-VCEK negatives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { testdata } from '../../helpers/testdata.js';
import { verifySevSnpEvidence, verifySnpReportAuthenticity, verifySnpReportSignature } from '../../../src/workload/attestation/sev-snp/verify.js';
import { parseSnpReport } from '../../../src/workload/attestation/sev-snp/report.js';
import {
  AttestationChainInvalid,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { SevSnpEvidence, SevSnpReference } from '../../../src/workload/attestation/types.js';
import { realTrust, snpFile } from './samples.js';

interface SnpExpectation {
  report: string;
  endorsement_cert: string;
  ask_ark_chain: string;
  expected_valid: boolean;
  version: number;
  vmpl: number;
  policy: string;
  signing_key: number;
  report_data: string;
  measurement: string;
  reported_tcb: { bl: number; tee: number; snp: number; microcode: number };
  chip_id: string;
  endorsement_cert_not_after: string;
}

const expectations: SnpExpectation[] = JSON.parse(readFileSync(testdata('sev_snp_tdx', 'EXPECTED_SNP_VERIFICATION.json'), 'utf8'));
const trust = realTrust();
const NOW = Date.UTC(2025, 5, 1);

function reportBytes(path: string): Buffer {
  const raw = snpFile(path);
  return path.endsWith('.hex') ? Buffer.from(raw.toString('latin1').replace(/\s+/g, ''), 'hex') : raw;
}

function evidenceFor(e: SnpExpectation): SevSnpEvidence {
  return { type: 'sev-snp', report: reportBytes(e.report), endorsementCert: snpFile(e.endorsement_cert) };
}

/** The real reports carry the challenge as report_data = nonce ‖ zero padding. */
function nonceOf(e: SnpExpectation): Buffer {
  return Buffer.from(e.report_data.replace(/(00)+$/, ''), 'hex');
}

function referenceFor(e: SnpExpectation, extra: Partial<SevSnpReference> = {}): SevSnpReference {
  return { type: 'sev-snp', measurement: e.measurement, ...extra };
}

const good = expectations.filter((e) => e.expected_valid);
const bad = expectations.filter((e) => !e.expected_valid);

test('sample set: four endorsed reports, two bad VCEKs', () => {
  assert.equal(good.length, 4);
  assert.equal(bad.length, 2);
});

for (const e of good) {
  test(`real report parses as expected and is authentic: ${e.report} + ${e.endorsement_cert}`, async () => {
    const report = parseSnpReport(reportBytes(e.report));
    assert.equal(report.version, e.version);
    assert.equal(report.vmpl, e.vmpl);
    assert.equal(report.policy.toString(16).padStart(16, '0'), e.policy);
    assert.equal(report.signingKey, e.signing_key);
    assert.equal(report.measurement.toString('hex'), e.measurement);
    assert.deepEqual(report.reportedTcb, { bootloader: e.reported_tcb.bl, tee: e.reported_tcb.tee, snp: e.reported_tcb.snp, microcode: e.reported_tcb.microcode });
    assert.equal(report.chipId.toString('hex'), e.chip_id);
    const { endorsement } = await verifySnpReportAuthenticity(evidenceFor(e), trust, NOW);
    assert.equal(endorsement.kind, e.signing_key === 1 ? 'vlek' : 'vcek');
  });
}

for (const e of good.filter((x) => nonceOf(x).length >= 16)) {
  test(`full verification of ${e.report}`, async () => {
    const v = await verifySevSnpEvidence(evidenceFor(e), referenceFor(e), { nonce: nonceOf(e), now: NOW, maxAgeMs: 60_000, trust });
    assert.equal(v.measurements['measurement'], e.measurement);
    assert.equal(v.platform['signingKey'], e.signing_key === 1 ? 'vlek' : 'vcek');
    assert.equal(v.publicKey, null);
  });
}

test('the ASK/ARK chain supplied with the evidence (virtee cert_chain_milan) is used when the trust store lacks the ASK', async () => {
  const e = good.find((x) => x.report.startsWith('virtee'))!;
  const arkOnly = createTrustAnchors({ amdPem: [readFileSync(testdata('sev_snp_tdx', 'go-sev-guest/verify/trust/ask_ark_milan.pem'), 'utf8')] });
  const withoutAsk = { ...arkOnly, amdIntermediates: [] };
  const ev = { ...evidenceFor(e), intermediates: [snpFile(e.ask_ark_chain)] };
  await assert.rejects(verifySevSnpEvidence(evidenceFor(e), referenceFor(e), { nonce: nonceOf(e), now: NOW, maxAgeMs: 60_000, trust: withoutAsk }), AttestationChainInvalid);
  // cert_chain_milan holds ASK then ARK; the ARK offered by the host is ignored, only the pinned one counts.
  const asks = ev.intermediates.flatMap((b) => b.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!);
  const v = await verifySevSnpEvidence({ ...ev, intermediates: asks }, referenceFor(e), { nonce: nonceOf(e), now: NOW, maxAgeMs: 60_000, trust: withoutAsk });
  assert.equal(v.measurements['measurement'], e.measurement);
});

test('go-sev-guest report: authentic, but its policy allows debugging, so it is refused by default', async () => {
  const e = good.find((x) => x.report.startsWith('go-sev-guest'))!;
  assert.equal(e.policy, '00000000000b0000');
  await assert.rejects(
    verifySevSnpEvidence(evidenceFor(e), referenceFor(e), { nonce: Buffer.alloc(32, 1), now: NOW, maxAgeMs: 60_000, trust }),
    AttestationPolicyViolation,
  );
});

for (const e of bad) {
  test(`bad VCEK is refused: ${e.endorsement_cert}`, async () => {
    await assert.rejects(verifySevSnpEvidence(evidenceFor(e), referenceFor(e), { nonce: nonceOf(e), now: NOW, maxAgeMs: 60_000, trust }), AttestationChainInvalid);
    // And its key did not sign the report either.
    const report = parseSnpReport(reportBytes(e.report));
    assert.throws(() => verifySnpReportSignature(report, new X509Certificate(snpFile(e.endorsement_cert))), AttestationSignatureInvalid);
  });
}

const trusteeVcek = good.find((x) => x.report.endsWith('test-report.bin'))!;
const vlek = good.find((x) => x.signing_key === 1)!;

test('a changed byte in the signed part of a real report breaks its signature', async () => {
  for (const offset of [0x04, 0x08, 0x50, 0x90, 0xc0, 0x180, 0x1a0, 0x29f]) {
    const ev = evidenceFor(trusteeVcek);
    const bytes = Buffer.from(ev.report);
    bytes[offset] = bytes[offset]! ^ 0x01;
    await assert.rejects(
      verifySevSnpEvidence({ ...ev, report: bytes }, referenceFor(trusteeVcek, { allowDebug: true, allowMigrationAgent: true }), {
        nonce: nonceOf(trusteeVcek), now: NOW, maxAgeMs: 60_000, trust,
      }),
      (err: Error) => err instanceof AttestationSignatureInvalid || err instanceof AttestationChainInvalid || err instanceof AttestationMalformed,
      `offset 0x${offset.toString(16)}`,
    );
  }
});

test('wrong measurement, wrong nonce', async () => {
  const opts = { nonce: nonceOf(trusteeVcek), now: NOW, maxAgeMs: 60_000, trust };
  await assert.rejects(verifySevSnpEvidence(evidenceFor(trusteeVcek), { type: 'sev-snp', measurement: 'ab'.repeat(48) }, opts), AttestationMeasurementMismatch);
  await assert.rejects(verifySevSnpEvidence(evidenceFor(trusteeVcek), referenceFor(trusteeVcek), { ...opts, nonce: Buffer.alloc(32, 9) }), AttestationNonceMismatch);
});

test('policy pins: VMPL, minimum TCB, minimum guest SVN, accepted signing keys', async () => {
  const opts = { nonce: nonceOf(vlek), now: NOW, maxAgeMs: 60_000, trust };
  await assert.rejects(verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek, { vmpl: 0 }), opts), AttestationPolicyViolation);
  await assert.rejects(verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek, { minTcb: { bootloader: 4, tee: 0, snp: 25, microcode: 0 } }), opts), AttestationPolicyViolation);
  await assert.rejects(verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek, { minGuestSvn: 1 }), opts), AttestationPolicyViolation);
  await assert.rejects(verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek, { signingKeys: ['vcek'] }), opts), AttestationPolicyViolation);
  const v = await verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek, { vmpl: 1, minTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 217 }, signingKeys: ['vlek'] }), opts);
  assert.equal(v.platform['vmpl'], 1);
});

test('the VLEK expired on 2025-12-10: after that its reports are refused', async () => {
  await assert.rejects(
    verifySevSnpEvidence(evidenceFor(vlek), referenceFor(vlek), { nonce: nonceOf(vlek), now: Date.parse(vlek.endorsement_cert_not_after) + 1000, maxAgeMs: 60_000, trust }),
    AttestationChainInvalid,
  );
});

test('a VCEK from another chip does not verify the report', async () => {
  const other = good.find((x) => x.report.startsWith('virtee'))!;
  const ev = { ...evidenceFor(trusteeVcek), endorsementCert: snpFile(other.endorsement_cert) };
  await assert.rejects(
    verifySevSnpEvidence(ev, referenceFor(trusteeVcek), { nonce: nonceOf(trusteeVcek), now: NOW, maxAgeMs: 60_000, trust }),
    (err: Error) => err instanceof AttestationSignatureInvalid || err instanceof AttestationChainInvalid,
  );
});

test('without the Milan ARK pinned nothing verifies', async () => {
  const genoaOnly = createTrustAnchors({ amdPem: [readFileSync(testdata('sev_snp_tdx', 'go-sev-guest/verify/trust/ask_ark_genoa.pem'), 'utf8')] });
  await assert.rejects(
    verifySevSnpEvidence(evidenceFor(trusteeVcek), referenceFor(trusteeVcek), { nonce: nonceOf(trusteeVcek), now: NOW, maxAgeMs: 60_000, trust: genoaOnly }),
    AttestationChainInvalid,
  );
});

test('a truncated report is malformed', async () => {
  const ev = evidenceFor(trusteeVcek);
  await assert.rejects(
    verifySevSnpEvidence({ ...ev, report: ev.report.subarray(0, 1000) }, referenceFor(trusteeVcek), { nonce: nonceOf(trusteeVcek), now: NOW, maxAgeMs: 60_000, trust }),
    AttestationMalformed,
  );
});
