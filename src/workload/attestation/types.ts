// The shapes that cross the attestation boundary: what a deployment presents (Evidence), what the
// operator pinned for it (ReferenceValues), and what a successful verification yields (VerifiedEvidence).
import type { KeyObject } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import type { X509Certificate } from '@peculiar/x509';

export type EvidenceType = 'nitro' | 'sev-snp' | 'jwt';

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

/** A JWT attestation token issued by a verifier service (GCP Confidential Space, Azure MAA, Intel Trust Authority…). */
export interface JwtEvidence {
  type: 'jwt';
  token: string;
}

export type Evidence = NitroEvidence | SevSnpEvidence | JwtEvidence;

/** Hex strings are compared case-insensitively; everything named here must match exactly. */
export interface NitroReference {
  type: 'nitro';
  /** PCR index ('0', '1', '2', '8', …) → hex value. At least one PCR must be pinned. */
  pcrs: Record<string, string>;
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
}

export type ReferenceValues = NitroReference | SevSnpReference | JwtReference;

/** Pinned roots and issuer keys. Certificates are parsed once, by `createTrustAnchors`. */
export interface TrustAnchors {
  nitroRoots: X509Certificate[];
  amdRoots: X509Certificate[];
  /** ASK / ASVK certificates known in advance, used when the evidence carries none. */
  amdIntermediates: X509Certificate[];
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
  /** Measurement name → value: `pcr0`…, `measurement`, `host_data`…, or JWT claim paths. */
  readonly measurements: Readonly<Record<string, string>>;
  /** The key the evidence binds (Nitro public_key, SNP report_data hash, JWT cnf.jwk), or null. */
  readonly publicKey: KeyObject | null;
  /** Hex of the challenge nonce the evidence answered. */
  readonly nonce: string;
  /** Epoch ms the evidence was produced (Nitro timestamp, JWT iat; for SNP, the verification time). */
  readonly issuedAt: number;
  /** Epoch ms of the verification. */
  readonly verifiedAt: number;
  /** sha256 digest of the canonical JSON of the reference values it was matched against. */
  readonly referenceDigest: string;
  /** Non-secret platform facts for audit: module id, chip id, TCB, signing key kind, … */
  readonly platform: Readonly<Record<string, string | number | boolean>>;
}
