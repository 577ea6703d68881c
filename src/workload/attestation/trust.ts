// Trust anchors are parsed once at start-up from PEM, so a bad anchor file fails the start, not a request.
import 'reflect-metadata';
import { X509Certificate, PemConverter } from '@peculiar/x509';
import type { JWTVerifyGetKey } from 'jose';
import { AttestationConfigurationInvalid } from './errors.js';
import type { TdxCollateralSource, TrustAnchors } from './types.js';

export function parseCertificates(input: string | Uint8Array, what: string): X509Certificate[] {
  try {
    if (typeof input === 'string' || looksLikePem(input)) {
      const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
      const ders = PemConverter.decode(text);
      if (ders.length === 0) throw new Error('no PEM CERTIFICATE block');
      return ders.map((d) => new X509Certificate(d));
    }
    return [new X509Certificate(input)];
  } catch (e) {
    throw new AttestationConfigurationInvalid(`${what}: cannot parse certificate (${(e as Error).message})`);
  }
}

function looksLikePem(b: Uint8Array): boolean {
  return Buffer.from(b.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
}

export interface TrustAnchorSources {
  /** PEM of the AWS Nitro Enclaves Root-G1 (and any other Nitro roots to accept). */
  nitroRootsPem?: string[];
  /** PEM of the AMD ARKs to accept (Milan, Genoa, Turin). ASK+ARK bundles are fine: self-signed certs become roots. */
  amdPem?: string[];
  /** PEM of the Intel SGX Root CA(s) that TDX PCK chains must lead to (tdx/intel-root.ts holds Intel's). */
  intelRootsPem?: string[];
  jwtIssuers?: Record<string, JWTVerifyGetKey>;
  /** Intel PCS collateral for TDX TCB status (tdx/collateral.ts `tdxCollateralDirectory`); absent = not evaluated. */
  tdxCollateral?: TdxCollateralSource;
}

export function createTrustAnchors(src: TrustAnchorSources): TrustAnchors {
  const nitroRoots = (src.nitroRootsPem ?? []).flatMap((p, i) => parseCertificates(p, `nitro root #${i}`));
  const amd = (src.amdPem ?? []).flatMap((p, i) => parseCertificates(p, `AMD bundle #${i}`));
  const intelRoots = (src.intelRootsPem ?? []).flatMap((p, i) => parseCertificates(p, `Intel root #${i}`));
  for (const r of nitroRoots) {
    if (!isSelfIssued(r)) throw new AttestationConfigurationInvalid(`nitro root ${r.subject} is not self-issued`);
  }
  for (const r of intelRoots) {
    if (!isSelfIssued(r)) throw new AttestationConfigurationInvalid(`Intel root ${r.subject} is not self-issued`);
  }
  // AMD ships ASK and ARK in one file (ASK first); only the self-issued ARK is a root.
  const amdRoots = amd.filter(isSelfIssued);
  const amdIntermediates = amd.filter((c) => !isSelfIssued(c));
  return {
    nitroRoots,
    amdRoots,
    amdIntermediates,
    intelRoots,
    jwtIssuers: { ...(src.jwtIssuers ?? {}) },
    ...(src.tdxCollateral ? { tdxCollateral: src.tdxCollateral } : {}),
  };
}

export function isSelfIssued(c: X509Certificate): boolean {
  return Buffer.from(c.subjectName.toArrayBuffer()).equals(Buffer.from(c.issuerName.toArrayBuffer()));
}
