// Intel TDX (DCAP quote v4 / v5): the chain of signatures a quote carries, checked link by link —
//   pinned Intel SGX Root CA → PCK Platform/Processor CA → PCK leaf (X.509, valid at `now`)
//   PCK leaf key → ECDSA P-256 signature over the Quoting Enclave's REPORT
//   QE REPORT is Intel's TD QE (static identity), and its report_data = SHA-256(attestation key ‖ QE auth data) ‖ 0³²
//   attestation key → ECDSA P-256 signature over header ‖ (v5 body descriptor) ‖ TD report body
// then the TD's policy (debug refused unless allowed, minimum TEE_TCB_SVN), report_data binding to the
// challenge (and the workload key), and the measurements against the reference.
//
// The platform's TCB status (UpToDate, OutOfDate, Revoked…) is judged by collateral.ts against Intel PCS
// collateral (TCB Info for the PCK's FMSPC, the TD QE identity, the PCK and Root CA CRLs) when the trust
// anchors carry an operator-maintained collateral source (workload.attestation.tdxCollateralDir; nothing
// is ever downloaded). Without one the status is reported 'not-evaluated': a genuine but out-of-date or
// revoked platform then verifies as long as its chain is intact and valid at `now` — unless the reference
// sets requireCollateral, which refuses it. The reference's `minTeeTcbSvn` is an operator-chosen floor on
// the TDX module SVNs, not a TCB status.
// Quotes carry no timestamp: freshness rests entirely on the nonce in report_data (as for SEV-SNP).
import 'reflect-metadata';
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { KeyUsageFlags, type X509Certificate } from '@peculiar/x509';
import {
  AttestationChainInvalid,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
} from '../errors.js';
import { bytesEqual, isAllZero, toHex } from '../bytes.js';
import { assertUsableNonce } from '../nonce.js';
import { assertReportDataBinding } from '../report-data.js';
import { assertMeasurementsMatch, assertReferenceUsable } from '../reference.js';
import { isSelfIssued, parseCertificates } from '../trust.js';
import { sealVerifiedEvidence } from '../verified.js';
import { verifyCertificatePath } from '../x509-path.js';
import type { TdxEvidence, TdxReference, TrustAnchors, VerifiedEvidence, VerifyOptions } from '../types.js';
import { assertTdxPlatformTcb } from './collateral.js';
import { BODY_TYPE_TD15, isDebugTd, parseTdxQuote, type QeReport, type TdxQuote } from './quote.js';

/**
 * The static part of Intel's TD Quoting Enclave identity (Intel PCS enclave identity "TD_QE", version 2:
 * mrsigner, isvprodid, miscselect and attributes under their masks; identical in the 2023-06 and 2025-10
 * published identities). The masked attributes require INIT and PROVISIONKEY and refuse a debug QE.
 * The identity's TCB levels (which QE ISVSVN is up to date) are collateral: collateral.ts evaluates them
 * (and the identity itself, as signed by Intel) when collateral is configured.
 */
const TD_QE_IDENTITY = {
  mrSigner: 'dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5',
  isvProdId: 2,
  miscSelect: 0x00000000,
  miscSelectMask: 0xffffffff,
  attributes: Buffer.from('11000000000000000000000000000000', 'hex'),
  attributesMask: Buffer.from('fbffffffffffffff0000000000000000', 'hex'),
} as const;

function sameName(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function ecP256Key(spkiDer: ArrayBuffer, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    throw new AttestationSignatureInvalid(`tdx: ${what} cannot be used (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new AttestationSignatureInvalid(`tdx: ${what} is not ECDSA P-256`);
  return key;
}

/** The raw x ‖ y attestation key as a KeyObject (an invalid point does not import). */
function attestationKeyObject(raw: Buffer): KeyObject {
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: raw.subarray(0, 32).toString('base64url'), y: raw.subarray(32, 64).toString('base64url') },
      format: 'jwk',
    });
  } catch (e) {
    throw new AttestationSignatureInvalid(`tdx: attestation key is not a P-256 point (${(e as Error).message})`);
  }
}

export interface VerifiedPckChain {
  leaf: X509Certificate;
  ca: X509Certificate;
  /** The pinned root the chain leads to. */
  root: X509Certificate;
}

/**
 * [PCK leaf, PCK CA, pinned root]: the leaf comes first in the quote's chain, exactly one non-self-issued
 * CA follows; a root the quote carries is ignored and replaced by the pinned root of that name.
 */
async function verifyPckChain(pem: string, trust: TrustAnchors, now: number): Promise<VerifiedPckChain> {
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(pem, 'tdx PCK certificate chain');
  } catch (e) {
    throw new AttestationChainInvalid((e as Error).message);
  }
  const [leaf, ...rest] = certs;
  if (!leaf) throw new AttestationChainInvalid('tdx: the quote carries no PCK certificate');
  if (isSelfIssued(leaf)) throw new AttestationChainInvalid(`tdx: the first certificate of the PCK chain (${leaf.subject}) is self-issued, not a PCK leaf`);
  const cas = rest.filter((c) => !isSelfIssued(c));
  if (cas.length !== 1) throw new AttestationChainInvalid(`tdx: the PCK chain must hold one PCK Platform/Processor CA, it holds ${cas.length}`);
  const ca = cas[0]!;
  if (trust.intelRoots.length === 0) throw new AttestationChainInvalid('tdx: no Intel root is pinned');
  const roots = trust.intelRoots.filter((r) => sameName(r.subjectName.toArrayBuffer(), ca.issuerName.toArrayBuffer()));
  if (roots.length === 0) throw new AttestationChainInvalid(`tdx: no pinned Intel root named ${ca.issuer}`);
  let lastError: Error | null = null;
  for (const root of roots) {
    try {
      await verifyCertificatePath([leaf, ca, root], trust.intelRoots, { now, what: 'tdx', leafUsage: KeyUsageFlags.digitalSignature });
      return { leaf, ca, root };
    } catch (e) {
      lastError = e as Error;
    }
  }
  throw lastError ?? new AttestationChainInvalid('tdx: PCK chain does not verify');
}

function assertTdQeIdentity(qe: QeReport): void {
  if (toHex(qe.mrSigner) !== TD_QE_IDENTITY.mrSigner) throw new AttestationChainInvalid('tdx: the QE report is not from an enclave signed by Intel (MRSIGNER)');
  if (qe.isvProdId !== TD_QE_IDENTITY.isvProdId) throw new AttestationChainInvalid(`tdx: the QE report is from product ${qe.isvProdId}, not the TD Quoting Enclave (2)`);
  if (((qe.miscSelect & TD_QE_IDENTITY.miscSelectMask) >>> 0) !== TD_QE_IDENTITY.miscSelect)
    throw new AttestationChainInvalid('tdx: the QE report MISCSELECT differs from the TD QE identity');
  for (let i = 0; i < 16; i++) {
    if ((qe.attributes[i]! & TD_QE_IDENTITY.attributesMask[i]!) !== TD_QE_IDENTITY.attributes[i])
      throw new AttestationChainInvalid('tdx: the QE report ATTRIBUTES differ from the TD QE identity (a debug or non-provisioning enclave)');
  }
}

/**
 * Authenticity only: the quote parses, its PCK chain leads to a pinned Intel root at `now`, the PCK key
 * signed the QE report, the QE is Intel's TD QE and certifies the attestation key, and the attestation key
 * signed the quote. No policy, nonce or measurement check.
 */
export async function verifyTdxQuoteAuthenticity(
  quoteBytes: Uint8Array,
  trust: TrustAnchors,
  now: number,
): Promise<{ quote: TdxQuote; pck: X509Certificate; chain: VerifiedPckChain }> {
  const quote = parseTdxQuote(quoteBytes);
  const chain = await verifyPckChain(quote.pckChainPem, trust, now);
  const pck = chain.leaf;

  const pckKey = ecP256Key(pck.publicKey.rawData, 'PCK certificate key');
  if (!cryptoVerify('sha256', quote.qeReport.raw, { key: pckKey, dsaEncoding: 'ieee-p1363' }, quote.qeReportSignature))
    throw new AttestationSignatureInvalid('tdx: QE report signature does not verify with the PCK certificate key');
  assertTdQeIdentity(quote.qeReport);

  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  const rd = quote.qeReport.reportData;
  if (!bytesEqual(binding, rd.subarray(0, 32)) || !isAllZero(rd.subarray(32)))
    throw new AttestationSignatureInvalid('tdx: the QE report does not certify this attestation key (report_data ≠ SHA-256(key ‖ QE auth data) ‖ 0)');

  const ak = attestationKeyObject(quote.attestationKey);
  if (!cryptoVerify('sha256', quote.signedBytes, { key: ak, dsaEncoding: 'ieee-p1363' }, quote.signature))
    throw new AttestationSignatureInvalid('tdx: quote signature does not verify with the attestation key');
  return { quote, pck, chain };
}

function assertPolicy(quote: TdxQuote, reference: TdxReference): void {
  if (isDebugTd(quote.body) && reference.allowDebug !== true)
    throw new AttestationPolicyViolation('tdx: the TD is debuggable (TD_ATTRIBUTES.DEBUG): the host can read and change its memory');
  if (reference.minTeeTcbSvn !== undefined) {
    const min = Buffer.from(reference.minTeeTcbSvn, 'hex');
    const svn = quote.body.teeTcbSvn;
    for (let i = 0; i < 16; i++) {
      if (svn[i]! < min[i]!)
        throw new AttestationPolicyViolation(`tdx: TEE_TCB_SVN byte ${i} is ${svn[i]}, below the minimum ${min[i]} (${toHex(svn)} < ${reference.minTeeTcbSvn.toLowerCase()})`);
    }
  }
}

/** Every measurement register and attribute of the TD report, hex, in VerifiedEvidence naming. */
export function tdxMeasurements(quote: TdxQuote): Record<string, string> {
  const b = quote.body;
  const m: Record<string, string> = {
    mrtd: toHex(b.mrTd),
    rtmr0: toHex(b.rtmrs[0]),
    rtmr1: toHex(b.rtmrs[1]),
    rtmr2: toHex(b.rtmrs[2]),
    rtmr3: toHex(b.rtmrs[3]),
    mrseam: toHex(b.mrSeam),
    mrsignerseam: toHex(b.mrSignerSeam),
    mrconfigid: toHex(b.mrConfigId),
    mrowner: toHex(b.mrOwner),
    mrownerconfig: toHex(b.mrOwnerConfig),
    td_attributes: toHex(b.tdAttributes),
    seam_attributes: toHex(b.seamAttributes),
    xfam: toHex(b.xfam),
    tee_tcb_svn: toHex(b.teeTcbSvn),
  };
  if (quote.bodyType === BODY_TYPE_TD15) {
    m['tee_tcb_svn2'] = toHex(b.teeTcbSvn2!);
    m['mrservicetd'] = toHex(b.mrServiceTd!);
  }
  return m;
}

export async function verifyTdxEvidence(evidence: TdxEvidence, reference: TdxReference, opts: VerifyOptions): Promise<VerifiedEvidence> {
  assertReferenceUsable(reference);
  assertUsableNonce(opts.nonce, 'tdx');
  const { quote, pck, chain } = await verifyTdxQuoteAuthenticity(evidence.quote, opts.trust, opts.now);
  assertPolicy(quote, reference);
  const publicKey = assertReportDataBinding({ type: 'tdx', doc: 'quote' }, quote.body.reportData, opts.nonce, evidence.publicKey);

  const measurements = tdxMeasurements(quote);
  assertMeasurementsMatch(reference, measurements);

  // Intel collateral (when configured): a revoked or out-of-date platform is refused here.
  const tcb = await assertTdxPlatformTcb({ quote, pck, pckCa: chain.ca, root: chain.root, trust: opts.trust, now: opts.now }, reference);

  return sealVerifiedEvidence({
    type: 'tdx',
    measurements,
    publicKey,
    nonce: toHex(opts.nonce),
    // A quote has no timestamp; like SEV-SNP, it is as fresh as the nonce it answers.
    issuedAt: opts.now,
    verifiedAt: opts.now,
    reference,
    platform: {
      quoteVersion: quote.version,
      tdxModule: quote.bodyType === BODY_TYPE_TD15 ? '1.5' : '1.0',
      qeVendorId: toHex(quote.qeVendorId),
      qeSvn: quote.qeReport.isvSvn,
      teeTcbSvn: toHex(quote.body.teeTcbSvn),
      debug: isDebugTd(quote.body),
      pckSubject: pck.subject,
      pckSerial: pck.serialNumber,
      pckNotAfter: pck.notAfter.toISOString(),
      // tcbStatus: Intel's status from the collateral, or 'not-evaluated' without collateral (header comment).
      ...tcb,
    },
  });
}
