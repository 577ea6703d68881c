// Intel TDX DCAP quote layout, versions 4 and 5 (Intel TDX DCAP Quoting Library API, "Quote Format"
// appendix; the same layout google/go-tdx-guest and Intel's QVL parse):
//
//   header (48)        version u16 | att_key_type u16 | tee_type u32 | reserved 4 (QE/PCE SVN in v3) | qe_vendor_id 16 | user_data 20
//   v4: body (584)     TD report body, TDX 1.0
//   v5: type u16 | size u32 | body (584 for type 2 = TDX 1.0, 648 for type 3 = TDX 1.5)
//   sig_data_len u32
//   sig_data           quote signature 64 (ECDSA P-256 r ‖ s) | attestation key 64 (P-256 x ‖ y)
//                      | cert_data_type u16 = 6 | cert_data_size u32 | cert data:
//                          QE report 384 (SGX REPORT body) | QE report signature 64 | qe_auth_len u16 | qe_auth_data
//                          | inner type u16 = 5 | inner size u32 | PCK certificate chain, PEM (leaf first)
//
// All integers are little-endian. The quote signature covers everything before sig_data_len (header,
// the v5 body descriptor, body). Every length is bounds-checked and must add up exactly; only bytes
// after sig_data are tolerated (a padded quote buffer from the guest driver, or go-tdx-guest's sample
// with appended text), counted in `trailingBytes` and never read: no signature covers them.
import { AttestationMalformed } from '../errors.js';

export const HEADER_BYTES = 48;
export const TD10_BODY_BYTES = 584;
export const TD15_BODY_BYTES = 648;
export const QE_REPORT_BYTES = 384;
export const SIGNATURE_BYTES = 64;
export const ATTESTATION_KEY_BYTES = 64;

export const TEE_TYPE_TDX = 0x81;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
/** Certification data types (DCAP Quote Library API, "Certification Data"). */
export const CERT_DATA_PCK_CHAIN = 5;
export const CERT_DATA_QE_REPORT = 6;
/** v5 body descriptor types: 1 is an SGX enclave report (not a TD), 2 TDX 1.0, 3 TDX 1.5. */
export const BODY_TYPE_TD10 = 2;
export const BODY_TYPE_TD15 = 3;

/** TD_ATTRIBUTES bit 0: the TD is debuggable, the host (VMM) can read and write its memory and state. */
export const TD_ATTRIBUTES_DEBUG = 0x01;

export interface TdReportBody {
  /** TEE_TCB_SVN: 16 bytes, the TDX module's SVNs. */
  teeTcbSvn: Buffer;
  mrSeam: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: Buffer;
  /** 8 bytes, little-endian bit field; byte 0 bit 0 = DEBUG. */
  tdAttributes: Buffer;
  xfam: Buffer;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtmrs: [Buffer, Buffer, Buffer, Buffer];
  reportData: Buffer;
  /** TDX 1.5 (v5 body type 3) only. */
  teeTcbSvn2: Buffer | null;
  mrServiceTd: Buffer | null;
}

/** The Quoting Enclave's SGX REPORT body (Intel SDM Vol. 3D, "REPORT"), as certified by the PCK key. */
export interface QeReport {
  raw: Buffer;
  cpuSvn: Buffer;
  miscSelect: number;
  attributes: Buffer;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  isvSvn: number;
  reportData: Buffer;
}

export interface TdxQuote {
  version: 4 | 5;
  attestationKeyType: number;
  teeType: number;
  qeVendorId: Buffer;
  userData: Buffer;
  /** 2 = TDX 1.0 (584-byte body), 3 = TDX 1.5 (648-byte body). Always 2 for v4. */
  bodyType: number;
  body: TdReportBody;
  /** The bytes the quote signature covers: header ‖ (v5 descriptor) ‖ body. */
  signedBytes: Buffer;
  /** ECDSA P-256 signature, IEEE P1363 r ‖ s. */
  signature: Buffer;
  /** Raw P-256 public key x ‖ y (no 0x04 prefix). */
  attestationKey: Buffer;
  qeReport: QeReport;
  /** ECDSA P-256 signature by the PCK key over the 384-byte QE report, r ‖ s. */
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  /** The PCK certificate chain as carried (PEM, leaf first), trailing NULs removed. */
  pckChainPem: string;
  /** Unsigned bytes after the signature data, ignored. */
  trailingBytes: number;
}

/** A bounds-checked little-endian reader; every shortfall is AttestationMalformed naming the field. */
class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly end: number = buf.length,
  ) {}

  take(n: number, field: string): Buffer {
    if (n < 0 || this.pos + n > this.end)
      throw new AttestationMalformed(`tdx: ${field} needs ${n} bytes at offset ${this.pos}, only ${Math.max(0, this.end - this.pos)} remain`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u16(field: string): number {
    return this.take(2, field).readUInt16LE(0);
  }

  u32(field: string): number {
    return this.take(4, field).readUInt32LE(0);
  }

  get remaining(): number {
    return this.end - this.pos;
  }
}

function parseBody(b: Buffer, bodyType: number): TdReportBody {
  const r = new Reader(b);
  const body: TdReportBody = {
    teeTcbSvn: r.take(16, 'tee_tcb_svn'),
    mrSeam: r.take(48, 'mrseam'),
    mrSignerSeam: r.take(48, 'mrsignerseam'),
    seamAttributes: r.take(8, 'seam_attributes'),
    tdAttributes: r.take(8, 'td_attributes'),
    xfam: r.take(8, 'xfam'),
    mrTd: r.take(48, 'mrtd'),
    mrConfigId: r.take(48, 'mrconfigid'),
    mrOwner: r.take(48, 'mrowner'),
    mrOwnerConfig: r.take(48, 'mrownerconfig'),
    rtmrs: [r.take(48, 'rtmr0'), r.take(48, 'rtmr1'), r.take(48, 'rtmr2'), r.take(48, 'rtmr3')],
    reportData: r.take(64, 'report_data'),
    teeTcbSvn2: null,
    mrServiceTd: null,
  };
  if (bodyType === BODY_TYPE_TD15) {
    body.teeTcbSvn2 = r.take(16, 'tee_tcb_svn2');
    body.mrServiceTd = r.take(48, 'mrservicetd');
  }
  if (r.remaining !== 0) throw new AttestationMalformed(`tdx: TD report body has ${r.remaining} unexpected bytes`);
  return body;
}

export function parseQeReport(raw: Buffer): QeReport {
  if (raw.length !== QE_REPORT_BYTES) throw new AttestationMalformed(`tdx: QE report must be ${QE_REPORT_BYTES} bytes, got ${raw.length}`);
  return {
    raw,
    cpuSvn: raw.subarray(0, 16),
    miscSelect: raw.readUInt32LE(16),
    attributes: raw.subarray(48, 64),
    mrEnclave: raw.subarray(64, 96),
    mrSigner: raw.subarray(128, 160),
    isvProdId: raw.readUInt16LE(256),
    isvSvn: raw.readUInt16LE(258),
    reportData: raw.subarray(320, 384),
  };
}

function pemText(b: Buffer): string {
  // Quote generators NUL-terminate the chain (trustee and v5 samples); anything else non-ASCII is refused.
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  const body = b.subarray(0, end);
  if (body.length === 0) throw new AttestationMalformed('tdx: PCK certificate chain is empty');
  for (const x of body) {
    if (x > 0x7e || (x < 0x20 && x !== 0x0a && x !== 0x0d && x !== 0x09))
      throw new AttestationMalformed('tdx: PCK certificate chain is not PEM text');
  }
  return body.toString('latin1');
}

export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  if (!(bytes instanceof Uint8Array)) throw new AttestationMalformed('tdx: quote must be bytes');
  const q = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(q);

  const header = r.take(HEADER_BYTES, 'header');
  const version = header.readUInt16LE(0);
  if (version !== 4 && version !== 5) throw new AttestationMalformed(`tdx: quote version ${version} is not supported (4 and 5 are)`);
  const attestationKeyType = header.readUInt16LE(2);
  if (attestationKeyType !== ATT_KEY_TYPE_ECDSA_P256)
    throw new AttestationMalformed(`tdx: attestation key type ${attestationKeyType} is not ECDSA P-256 (2)`);
  const teeType = header.readUInt32LE(4);
  if (teeType !== TEE_TYPE_TDX) throw new AttestationMalformed(`tdx: tee_type 0x${teeType.toString(16)} is not TDX (0x81)`);

  let bodyType = BODY_TYPE_TD10;
  let bodySize = TD10_BODY_BYTES;
  if (version === 5) {
    bodyType = r.u16('body type');
    bodySize = r.u32('body size');
    if (bodyType !== BODY_TYPE_TD10 && bodyType !== BODY_TYPE_TD15)
      throw new AttestationMalformed(`tdx: v5 body type ${bodyType} is not a TD report (2 = TDX 1.0, 3 = TDX 1.5)`);
    const expected = bodyType === BODY_TYPE_TD15 ? TD15_BODY_BYTES : TD10_BODY_BYTES;
    if (bodySize !== expected) throw new AttestationMalformed(`tdx: v5 body type ${bodyType} must be ${expected} bytes, the descriptor says ${bodySize}`);
  }
  const body = parseBody(r.take(bodySize, 'TD report body'), bodyType);
  const signedBytes = q.subarray(0, r.pos);

  const sigDataLen = r.u32('signature data length');
  if (sigDataLen > r.remaining)
    throw new AttestationMalformed(`tdx: signature data length ${sigDataLen} exceeds the ${r.remaining} bytes left in the quote`);
  const trailingBytes = r.remaining - sigDataLen;
  const s = new Reader(q.subarray(r.pos, r.pos + sigDataLen));
  const signature = s.take(SIGNATURE_BYTES, 'quote signature');
  const attestationKey = s.take(ATTESTATION_KEY_BYTES, 'attestation key');
  const certType = s.u16('certification data type');
  if (certType !== CERT_DATA_QE_REPORT)
    throw new AttestationMalformed(`tdx: certification data type ${certType} is not QE report certification data (6)`);
  const certSize = s.u32('certification data size');
  if (certSize !== s.remaining)
    throw new AttestationMalformed(`tdx: certification data size ${certSize} differs from the ${s.remaining} bytes the signature data holds`);

  const c = new Reader(s.take(certSize, 'certification data'));
  const qeReport = parseQeReport(c.take(QE_REPORT_BYTES, 'QE report'));
  const qeReportSignature = c.take(SIGNATURE_BYTES, 'QE report signature');
  const qeAuthLen = c.u16('QE auth data length');
  const qeAuthData = c.take(qeAuthLen, 'QE auth data');
  const innerType = c.u16('PCK certification data type');
  if (innerType !== CERT_DATA_PCK_CHAIN)
    throw new AttestationMalformed(`tdx: inner certification data type ${innerType} is not a PEM PCK certificate chain (5)`);
  const innerSize = c.u32('PCK certification data size');
  if (innerSize !== c.remaining)
    throw new AttestationMalformed(`tdx: PCK certification data size ${innerSize} differs from the ${c.remaining} bytes left in the certification data`);
  const pckChainPem = pemText(c.take(innerSize, 'PCK certificate chain'));

  return {
    version,
    attestationKeyType,
    teeType,
    qeVendorId: header.subarray(12, 28),
    userData: header.subarray(28, 48),
    bodyType,
    body,
    signedBytes,
    signature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    pckChainPem,
    trailingBytes,
  };
}

export function isDebugTd(body: TdReportBody): boolean {
  return (body.tdAttributes[0]! & TD_ATTRIBUTES_DEBUG) !== 0;
}
