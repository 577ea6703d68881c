// ATTESTATION_REPORT layout, AMD SEV-SNP Firmware ABI Specification (pub. 56860) Table 22 "ATTESTATION_REPORT
// Structure". Versions 2 and 3 (Milan/Genoa) only: version 5 (Turin) changes the TCB_VERSION layout and
// no real sample exists to test it against, so it is refused rather than misread.
import { AttestationMalformed } from '../errors.js';
import type { SnpTcb } from '../types.js';

export const REPORT_BYTES = 0x4a0;
/** The signature covers bytes 0x000–0x29F (ABI Table 22, SIGNATURE at 0x2A0). */
export const SIGNED_BYTES = 0x2a0;
const SUPPORTED_VERSIONS = new Set([2, 3]);
const SIG_ALGO_ECDSA_P384_SHA384 = 1;

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: SnpTcb;
  platformInfo: bigint;
  /** ABI Table 22 offset 0x48: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY. */
  authorKeyEn: boolean;
  maskChipKey: boolean;
  /** 0 = VCEK, 1 = VLEK, 7 = none. */
  signingKey: number;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportedTcb: SnpTcb;
  reportedTcbRaw: bigint;
  chipId: Buffer;
  committedTcb: SnpTcb;
  launchTcb: SnpTcb;
  /** Signature as IEEE P1363 r ‖ s, big-endian, 48 bytes each. */
  signatureP1363: Buffer;
  signedBytes: Buffer;
}

/** TCB_VERSION for Milan/Genoa: byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode (ABI §2.2 Table 3). */
export function parseTcb(raw: bigint): SnpTcb {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(raw);
  return { bootloader: b[0]!, tee: b[1]!, snp: b[6]!, microcode: b[7]! };
}

/** r and s are stored little-endian in 72-byte fields (ABI Table 137 "ECDSA P-384 with SHA-384 Signature"). */
function leComponentToBe48(field: Buffer, what: string): Buffer {
  const be = Buffer.from(field).reverse();
  if (!be.subarray(0, be.length - 48).every((x) => x === 0)) throw new AttestationMalformed(`sev-snp: signature ${what} exceeds 48 bytes`);
  return be.subarray(be.length - 48);
}

export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length !== REPORT_BYTES) throw new AttestationMalformed(`sev-snp: report must be ${REPORT_BYTES} bytes, got ${bytes.length}`);
  const r = Buffer.from(bytes);
  const version = r.readUInt32LE(0x00);
  if (!SUPPORTED_VERSIONS.has(version)) throw new AttestationMalformed(`sev-snp: report version ${version} is not supported (2 and 3 are)`);
  const signatureAlgo = r.readUInt32LE(0x34);
  if (signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384) throw new AttestationMalformed(`sev-snp: signature algorithm ${signatureAlgo} is not ECDSA P-384/SHA-384`);
  const flags = r.readUInt32LE(0x48);
  const reportedTcbRaw = r.readBigUInt64LE(0x180);
  return {
    version,
    guestSvn: r.readUInt32LE(0x04),
    policy: r.readBigUInt64LE(0x08),
    familyId: r.subarray(0x10, 0x20),
    imageId: r.subarray(0x20, 0x30),
    vmpl: r.readUInt32LE(0x30),
    signatureAlgo,
    currentTcb: parseTcb(r.readBigUInt64LE(0x38)),
    platformInfo: r.readBigUInt64LE(0x40),
    authorKeyEn: (flags & 1) !== 0,
    maskChipKey: (flags & 2) !== 0,
    signingKey: (flags >> 2) & 7,
    reportData: r.subarray(0x50, 0x90),
    measurement: r.subarray(0x90, 0xc0),
    hostData: r.subarray(0xc0, 0xe0),
    idKeyDigest: r.subarray(0xe0, 0x110),
    authorKeyDigest: r.subarray(0x110, 0x140),
    reportId: r.subarray(0x140, 0x160),
    reportedTcb: parseTcb(reportedTcbRaw),
    reportedTcbRaw,
    chipId: r.subarray(0x1a0, 0x1e0),
    committedTcb: parseTcb(r.readBigUInt64LE(0x1e0)),
    launchTcb: parseTcb(r.readBigUInt64LE(0x1f0)),
    signatureP1363: Buffer.concat([leComponentToBe48(r.subarray(0x2a0, 0x2e8), 'r'), leComponentToBe48(r.subarray(0x2e8, 0x330), 's')]),
    signedBytes: r.subarray(0, SIGNED_BYTES),
  };
}

/** Guest policy bits (ABI §4.3 Table 9). */
export const POLICY_MIGRATE_MA = 1n << 18n;
export const POLICY_DEBUG = 1n << 19n;
