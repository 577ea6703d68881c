// AMD SEV-SNP: the report's ECDSA P-384 signature by the endorsement key (VCEK or VLEK), that key's
// certificate chained VCEK/VLEK → ASK/ASVK → pinned ARK, the certificate's TCB and chip id equal to the
// report's, guest policy, report_data binding to the challenge, then the launch measurement.
// SNP reports carry no timestamp: freshness rests entirely on the nonce in report_data.
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import {
  AttestationChainInvalid,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
} from '../errors.js';
import { bytesEqual, isAllZero, toHex } from '../bytes.js';
import { assertUsableNonce } from '../nonce.js';
import { assertReportDataBinding } from '../report-data.js';
import { assertMeasurementsMatch, assertReferenceUsable } from '../reference.js';
import { parseCertificates } from '../trust.js';
import { sealVerifiedEvidence } from '../verified.js';
import { verifyCertificatePath } from '../x509-path.js';
import type { SevSnpEvidence, SevSnpReference, SnpTcb, TrustAnchors, VerifiedEvidence, VerifyOptions } from '../types.js';
import { readEndorsement, type Endorsement } from './endorsement.js';
import { parseSnpReport, POLICY_DEBUG, POLICY_MIGRATE_MA, type SnpReport } from './report.js';

const SIGNING_KEY_NAMES: Record<number, 'vcek' | 'vlek'> = { 0: 'vcek', 1: 'vlek' };

function sameDer(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function one(input: Uint8Array | string, what: string): X509Certificate {
  const certs = (() => {
    try {
      return parseCertificates(input, what);
    } catch (e) {
      throw new AttestationChainInvalid((e as Error).message);
    }
  })();
  if (certs.length !== 1) throw new AttestationChainInvalid(`${what}: expected exactly one certificate, got ${certs.length}`);
  return certs[0]!;
}

/** Builds [endorsement, ASK, ARK] by name from the evidence's and the trust store's intermediates. */
async function verifyEndorsementChain(ek: X509Certificate, evidence: SevSnpEvidence, trust: TrustAnchors, now: number): Promise<void> {
  const offered = (evidence.intermediates ?? []).flatMap((c, i) => {
    try {
      return parseCertificates(c, `sev-snp intermediate #${i}`);
    } catch (e) {
      throw new AttestationChainInvalid((e as Error).message);
    }
  });
  const asks = [...offered, ...trust.amdIntermediates].filter((a) => sameDer(a.subjectName.toArrayBuffer(), ek.issuerName.toArrayBuffer()));
  if (asks.length === 0) throw new AttestationChainInvalid(`sev-snp: no ASK/ASVK named ${ek.issuer} is known`);
  let lastError: Error | null = null;
  for (const ask of asks) {
    const arks = trust.amdRoots.filter((r) => sameDer(r.subjectName.toArrayBuffer(), ask.issuerName.toArrayBuffer()));
    if (arks.length === 0) {
      lastError = new AttestationChainInvalid(`sev-snp: no pinned ARK named ${ask.issuer}`);
      continue;
    }
    for (const ark of arks) {
      try {
        await verifyCertificatePath([ek, ask, ark], trust.amdRoots, { now, what: 'sev-snp' });
        return;
      } catch (e) {
        lastError = e as Error;
      }
    }
  }
  throw lastError ?? new AttestationChainInvalid('sev-snp: endorsement chain does not verify');
}

/** The report signature alone, by the given endorsement certificate's key. */
export function verifySnpReportSignature(report: SnpReport, ek: X509Certificate): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(ek.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (e) {
    throw new AttestationSignatureInvalid(`sev-snp: endorsement key cannot be used (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1')
    throw new AttestationSignatureInvalid('sev-snp: endorsement key is not ECDSA P-384');
  if (!cryptoVerify('sha384', report.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, report.signatureP1363))
    throw new AttestationSignatureInvalid('sev-snp: report signature does not verify with the endorsement key');
}

function tcbEqual(a: SnpTcb, b: SnpTcb): boolean {
  return a.bootloader === b.bootloader && a.tee === b.tee && a.snp === b.snp && a.microcode === b.microcode;
}

function assertEndorsementMatchesReport(report: SnpReport, en: Endorsement): void {
  const expectedKind = SIGNING_KEY_NAMES[report.signingKey];
  if (!expectedKind) throw new AttestationSignatureInvalid(`sev-snp: report is not signed by a VCEK or VLEK (SIGNING_KEY=${report.signingKey})`);
  if (en.kind !== expectedKind) throw new AttestationChainInvalid(`sev-snp: report says it is signed by a ${expectedKind}, the certificate is a ${en.kind}`);
  // A VCEK is derived for one TCB; a report claiming another TCB was not made under this key's firmware.
  if (!tcbEqual(en.tcb, report.reportedTcb)) throw new AttestationChainInvalid('sev-snp: endorsement certificate TCB differs from the report reported_tcb');
  if (en.kind === 'vcek' && !report.maskChipKey && !bytesEqual(en.hwId!, report.chipId))
    throw new AttestationChainInvalid('sev-snp: VCEK hwID differs from the report chip_id');
}

function assertPolicy(report: SnpReport, reference: SevSnpReference): void {
  if ((report.policy & POLICY_DEBUG) !== 0n && reference.allowDebug !== true)
    throw new AttestationPolicyViolation('sev-snp: guest policy allows debugging (host can read guest memory)');
  if ((report.policy & POLICY_MIGRATE_MA) !== 0n && reference.allowMigrationAgent !== true)
    throw new AttestationPolicyViolation('sev-snp: guest policy allows a migration agent');
  if (reference.vmpl !== undefined && report.vmpl !== reference.vmpl)
    throw new AttestationPolicyViolation(`sev-snp: report comes from VMPL ${report.vmpl}, reference requires ${reference.vmpl}`);
  if (reference.minGuestSvn !== undefined && report.guestSvn < reference.minGuestSvn)
    throw new AttestationPolicyViolation(`sev-snp: guest SVN ${report.guestSvn} is below ${reference.minGuestSvn}`);
  if (reference.minTcb) {
    const t = report.reportedTcb;
    const m = reference.minTcb;
    for (const k of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
      if (t[k] < m[k]) throw new AttestationPolicyViolation(`sev-snp: reported TCB ${k} ${t[k]} is below the minimum ${m[k]}`);
    }
  }
  const kind = SIGNING_KEY_NAMES[report.signingKey]!;
  if (reference.signingKeys && !reference.signingKeys.includes(kind))
    throw new AttestationPolicyViolation(`sev-snp: reports signed by a ${kind} are not accepted for this deployment`);
}

/**
 * Authenticity only: the report parses, its endorsement certificate chains to a pinned ARK at `now`,
 * matches the report's TCB and chip, and signed the report. No policy, nonce or measurement check.
 */
export async function verifySnpReportAuthenticity(
  evidence: SevSnpEvidence,
  trust: TrustAnchors,
  now: number,
): Promise<{ report: SnpReport; endorsement: Endorsement }> {
  const report = parseSnpReport(evidence.report);
  const ek = one(evidence.endorsementCert, 'sev-snp endorsement certificate');
  await verifyEndorsementChain(ek, evidence, trust, now);
  let endorsement: Endorsement;
  try {
    endorsement = readEndorsement(ek);
  } catch (e) {
    if (e instanceof AttestationChainInvalid) throw e;
    throw new AttestationChainInvalid(`sev-snp: endorsement extensions cannot be read (${(e as Error).message})`);
  }
  verifySnpReportSignature(report, ek);
  assertEndorsementMatchesReport(report, endorsement);
  return { report, endorsement };
}

export async function verifySevSnpEvidence(evidence: SevSnpEvidence, reference: SevSnpReference, opts: VerifyOptions): Promise<VerifiedEvidence> {
  assertReferenceUsable(reference);
  assertUsableNonce(opts.nonce, 'sev-snp');
  const { report, endorsement } = await verifySnpReportAuthenticity(evidence, opts.trust, opts.now);
  assertPolicy(report, reference);
  const publicKey = assertReportDataBinding({ type: 'sev-snp', doc: 'report' }, report.reportData, opts.nonce, evidence.publicKey);

  const measurements: Record<string, string> = {
    measurement: toHex(report.measurement),
    host_data: toHex(report.hostData),
    id_key_digest: toHex(report.idKeyDigest),
    author_key_digest: toHex(report.authorKeyDigest),
    family_id: toHex(report.familyId),
    image_id: toHex(report.imageId),
  };
  assertMeasurementsMatch(reference, measurements);

  const t = report.reportedTcb;
  return sealVerifiedEvidence({
    type: 'sev-snp',
    measurements,
    publicKey,
    nonce: toHex(opts.nonce),
    issuedAt: opts.now,
    verifiedAt: opts.now,
    reference,
    platform: {
      version: report.version,
      guestSvn: report.guestSvn,
      policy: report.policy.toString(16).padStart(16, '0'),
      vmpl: report.vmpl,
      signingKey: endorsement.kind,
      reportedTcb: `bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}`,
      chipId: report.maskChipKey || isAllZero(report.chipId) ? 'masked' : toHex(report.chipId),
      reportId: toHex(report.reportId),
    },
  });
}
