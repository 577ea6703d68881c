// The shapes that cross the attestation boundary: what a deployment presents (Evidence), what the
// operator pinned for it (ReferenceValues), and what a successful verification yields (VerifiedEvidence).
import type { KeyObject } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import type { X509Certificate } from '@peculiar/x509';

export type EvidenceType = 'nitro' | 'sev-snp' | 'tdx' | 'jwt';

/** AWS Nitro Enclaves attestation document: COSE_Sign1 bytes as returned by the NSM. */
export interface NitroEvidence {
  type: 'nitro';
  document: Uint8Array;
}

/** AMD SEV-SNP attestation report plus the endorsement certificate (VCEK or VLEK) that signed it. */
export interface SevSnpEvidence {
  type: 'sev-snp';
  /** The raw ATTESTATION_REPORT (1184 bytes, versions 2 and 3). */
  report: Uint8Array;
  /** VCEK or VLEK certificate, DER or PEM. */
  endorsementCert: Uint8Array | string;
  /** ASK / ASVK certificates the host supplied (DER or PEM). Optional when the trust anchors hold them. */
  intermediates?: (Uint8Array | string)[];
  /** DER SubjectPublicKeyInfo the guest claims to own; bound when report_data = SHA-512(nonce ‖ spki). */
  publicKey?: Uint8Array;
}

/** Intel TDX DCAP quote (version 4, or 5 with a TDX 1.0 / 1.5 body) carrying its PCK certificate chain (certification data type 6 → 5). */
export interface TdxEvidence {
  type: 'tdx';
  /** The raw quote as produced by the Quoting Enclave (configfs-tsm outblob / TDX guest quote ioctl). */
  quote: Uint8Array;
  /** DER SubjectPublicKeyInfo the TD claims to own; bound when report_data = SHA-512(nonce ‖ spki). */
  publicKey?: Uint8Array;
}

/** A JWT attestation token issued by a verifier service (GCP Confidential Space, Azure MAA, Intel Trust Authority…). */
export interface JwtEvidence {
  type: 'jwt';
  token: string;
}

export type Evidence = NitroEvidence | SevSnpEvidence | TdxEvidence | JwtEvidence;

/** Hex strings are compared case-insensitively; everything named here must match exactly. */
export interface NitroReference {
  type: 'nitro';
  /** PCR index ('0', '1', '2', '8', …) → hex value. At least one PCR must be pinned; key release also needs PCR0. */
  pcrs: Record<string, string>;
  /**
   * Default false: a debug-mode enclave (PCR0–2 all zero: console attached, and the document measures no
   * image, so any code can produce it) is refused whatever PCRs are pinned. true admits it to routing;
   * it still never receives a model key (key release needs a non-zero PCR0).
   */
  allowDebug?: boolean;
}

export interface SnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SevSnpReference {
  type: 'sev-snp';
  /** Launch measurement, 48 bytes hex. */
  measurement: string;
  hostData?: string;
  idKeyDigest?: string;
  /** Default false: a guest whose policy allows debugging can be read by the host (SEV-SNP ABI §4.3). */
  allowDebug?: boolean;
  /** Default false: a migration agent can export guest memory. */
  allowMigrationAgent?: boolean;
  /** Exact VMPL the report must come from, when pinned. */
  vmpl?: number;
  minGuestSvn?: number;
  /** Minimum reported_tcb component by component. */
  minTcb?: SnpTcb;
  /** Which endorsement keys are acceptable; default both. */
  signingKeys?: ('vcek' | 'vlek')[];
}

export interface TdxReference {
  type: 'tdx';
  /** MRTD (initial TD contents: TDVF / firmware), 48 bytes hex. Required. */
  mrtd: string;
  /** RTMR index ('0'…'3') → expected 48-byte hex value (RTMR0 firmware config, 1 OS loader/kernel, 2 OS, 3 application). */
  rtmrs?: Partial<Record<'0' | '1' | '2' | '3', string>>;
  /** TDX module measurement, 48 bytes hex. */
  mrseam?: string;
  /** Software-defined TD configuration / owner ids, 48 bytes hex each. */
  mrconfigid?: string;
  mrowner?: string;
  mrownerconfig?: string;
  /** Minimum TEE_TCB_SVN, 16 bytes hex, compared byte by byte (every byte of the quote's must be ≥). */
  minTeeTcbSvn?: string;
  /** Default false: a debuggable TD (TD_ATTRIBUTES.DEBUG) can be read and changed by the host. */
  allowDebug?: boolean;
  /**
   * With Intel collateral configured (TrustAnchors.tdxCollateral): the platform TCB statuses accepted.
   * Default ['UpToDate']. 'Revoked' can never be listed.
   */
  acceptedTcbStatuses?: TdxTcbStatus[];
  /**
   * Default false: without collateral configured the TCB status is reported 'not-evaluated' and the quote
   * can still verify. true refuses such a quote (fail closed) — the TCB status must have been evaluated.
   */
  requireCollateral?: boolean;
}

/** Intel's TCB statuses for a TDX platform (Intel PCS TCB Info v3 `tcbStatus`, converged with the QE and TDX module). */
export type TdxTcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

export const TDX_TCB_STATUSES: readonly TdxTcbStatus[] = Object.freeze([
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
]);

/**
 * Intel PCS collateral for one TDX platform, exactly as an operator stored it (Warden never downloads it).
 * Bodies are kept byte for byte: the signatures cover their exact bytes.
 */
export interface TdxCollateralFiles {
  /** Body of PCS `GET /tdx/certification/v4/tcb?fmspc=<fmspc>`: {"tcbInfo":{…},"signature":"<hex>"}. */
  tcbInfo: Uint8Array;
  /** Body of PCS `GET /tdx/certification/v4/qe/identity`: {"enclaveIdentity":{…},"signature":"<hex>"}. */
  qeIdentity: Uint8Array;
  /**
   * The Intel SGX TCB Signing certificate(s) that sign both (the TCB-Info-Issuer-Chain /
   * SGX-Enclave-Identity-Issuer-Chain response header): PEM, or the header value still URL-encoded.
   */
  tcbSigningChain: string;
  /** PCK CRLs (Platform CA and/or Processor CA; DER, PEM or hex). The one issued by the PCK's CA is used. */
  pckCrls: Uint8Array[];
  /** The Intel SGX Root CA CRL (DER, PEM or hex). */
  rootCaCrl: Uint8Array;
  /** Where the files came from, for messages. */
  source: string;
}

/** Where TDX collateral comes from: an operator-maintained directory (tdx/collateral.ts), never the network. */
export interface TdxCollateralSource {
  /** For messages and start-up logs. */
  readonly description: string;
  /**
   * The collateral for a platform of this FMSPC (12 lowercase hex digits), or null when the source holds
   * no TCB Info for it. Throws an AttestationError when the files exist but cannot be read.
   */
  load(fmspc: string): Promise<TdxCollateralFiles | null>;
}

export interface JwtReference {
  type: 'jwt';
  issuer: string;
  audience: string;
  /** Claim path (dot-separated) → exact expected value, e.g. `submods.container.image_digest`, `hwmodel`. */
  claims: Record<string, string | number | boolean>;
  /** Claim that carries the challenge nonce, base64url-encoded (RFC 9711 §4.1 eat_nonce). Default `eat_nonce`. */
  nonceClaim?: string;
  /** Accepted JWS algorithms. Default ES256, ES384, RS256, PS256. */
  algorithms?: string[];
  /** Accept a token that says the workload is debuggable (dbgstat enabled, is-debuggable true). Off by default. */
  allowDebug?: boolean;
}

export type ReferenceValues = NitroReference | SevSnpReference | TdxReference | JwtReference;

/** Pinned roots and issuer keys. Certificates are parsed once, by `createTrustAnchors`. */
export interface TrustAnchors {
  nitroRoots: X509Certificate[];
  amdRoots: X509Certificate[];
  /** ASK / ASVK certificates known in advance, used when the evidence carries none. */
  amdIntermediates: X509Certificate[];
  /** Intel SGX Root CA(s): roots of the PCK certificate chains in TDX quotes. */
  intelRoots: X509Certificate[];
  /**
   * Intel PCS collateral (TCB Info, QE identity, CRLs) for evaluating a TDX platform's TCB status. Absent:
   * the status is 'not-evaluated' (and a reference with requireCollateral refuses the quote).
   */
  tdxCollateral?: TdxCollateralSource;
  /** Issuer (`iss`) → key source (jose createLocalJWKSet / createRemoteJWKSet). */
  jwtIssuers: Record<string, JWTVerifyGetKey>;
}

export interface VerifyOptions {
  /** The challenge this evidence must answer. */
  nonce: Uint8Array;
  /** Epoch ms: the instant at which certificates, timestamps and tokens are judged. */
  now: number;
  /** Evidence older than this (by its own timestamp) is stale. */
  maxAgeMs: number;
  /** How far in the future a timestamp may be before it is refused. Default 60 s. */
  clockSkewMs?: number;
  trust: TrustAnchors;
}

/** What a verification proved. Only the verifiers construct these (see verified.ts). */
export interface VerifiedEvidence {
  readonly type: EvidenceType;
  /** Measurement name → value: `pcr0`…, `measurement`, `host_data`…, `mrtd`, `rtmr0`…, or JWT claim paths. */
  readonly measurements: Readonly<Record<string, string>>;
  /** The key the evidence binds (Nitro public_key, SNP / TDX report_data hash, JWT cnf.jwk), or null. */
  readonly publicKey: KeyObject | null;
  /** Hex of the challenge nonce the evidence answered. */
  readonly nonce: string;
  /** Epoch ms the evidence was produced (Nitro timestamp, JWT iat; for SNP and TDX, the verification time). */
  readonly issuedAt: number;
  /** Epoch ms of the verification. */
  readonly verifiedAt: number;
  /** sha256 digest of the canonical JSON of the reference values it was matched against. */
  readonly referenceDigest: string;
  /** Non-secret platform facts for audit: module id, chip id, TCB, signing key kind, … */
  readonly platform: Readonly<Record<string, string | number | boolean>>;
}
