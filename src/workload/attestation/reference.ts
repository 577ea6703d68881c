// Reference values: validated before use (a reference that pins nothing measures nothing) and
// compared measurement by measurement, naming the first one that differs.
import { AttestationConfigurationInvalid, AttestationMeasurementMismatch } from './errors.js';
import { TDX_TCB_STATUSES, type ReferenceValues } from './types.js';

const HEX = /^[0-9a-fA-F]+$/;

function isHexBytes(v: unknown, bytes: number): v is string {
  return typeof v === 'string' && v.length === bytes * 2 && HEX.test(v);
}

export function assertReferenceUsable(reference: ReferenceValues): void {
  switch (reference.type) {
    case 'nitro': {
      const entries = Object.entries(reference.pcrs ?? {});
      if (entries.length === 0) throw new AttestationConfigurationInvalid('nitro reference pins no PCR');
      for (const [idx, value] of entries) {
        if (!/^(?:[0-9]|[12][0-9]|3[01])$/.test(idx)) throw new AttestationConfigurationInvalid(`nitro reference: PCR index ${JSON.stringify(idx)} is not 0..31`);
        if (typeof value !== 'string' || !HEX.test(value) || ![64, 96, 128].includes(value.length))
          throw new AttestationConfigurationInvalid(`nitro reference: PCR${idx} must be 32, 48 or 64 bytes of hex`);
      }
      if (reference.allowDebug !== undefined && typeof reference.allowDebug !== 'boolean')
        throw new AttestationConfigurationInvalid('nitro reference: allowDebug must be true or false');
      return;
    }
    case 'sev-snp': {
      if (typeof reference.measurement !== 'string' || reference.measurement.length !== 96 || !HEX.test(reference.measurement))
        throw new AttestationConfigurationInvalid('sev-snp reference: measurement must be 48 bytes of hex');
      if (reference.hostData !== undefined && (reference.hostData.length !== 64 || !HEX.test(reference.hostData)))
        throw new AttestationConfigurationInvalid('sev-snp reference: hostData must be 32 bytes of hex');
      if (reference.idKeyDigest !== undefined && (reference.idKeyDigest.length !== 96 || !HEX.test(reference.idKeyDigest)))
        throw new AttestationConfigurationInvalid('sev-snp reference: idKeyDigest must be 48 bytes of hex');
      if (reference.signingKeys !== undefined && reference.signingKeys.length === 0)
        throw new AttestationConfigurationInvalid('sev-snp reference: signingKeys is empty, nothing could be accepted');
      return;
    }
    case 'tdx': {
      if (!isHexBytes(reference.mrtd, 48)) throw new AttestationConfigurationInvalid('tdx reference: mrtd must be 48 bytes of hex');
      const rtmrs = reference.rtmrs ?? {};
      if (typeof rtmrs !== 'object' || rtmrs === null || Array.isArray(rtmrs)) throw new AttestationConfigurationInvalid('tdx reference: rtmrs must map 0..3 to hex');
      for (const [idx, value] of Object.entries(rtmrs)) {
        if (!/^[0-3]$/.test(idx)) throw new AttestationConfigurationInvalid(`tdx reference: RTMR index ${JSON.stringify(idx)} is not 0..3`);
        if (!isHexBytes(value, 48)) throw new AttestationConfigurationInvalid(`tdx reference: rtmr${idx} must be 48 bytes of hex`);
      }
      for (const k of ['mrseam', 'mrconfigid', 'mrowner', 'mrownerconfig'] as const) {
        if (reference[k] !== undefined && !isHexBytes(reference[k], 48)) throw new AttestationConfigurationInvalid(`tdx reference: ${k} must be 48 bytes of hex`);
      }
      if (reference.minTeeTcbSvn !== undefined && !isHexBytes(reference.minTeeTcbSvn, 16))
        throw new AttestationConfigurationInvalid('tdx reference: minTeeTcbSvn must be 16 bytes of hex');
      if (reference.allowDebug !== undefined && typeof reference.allowDebug !== 'boolean')
        throw new AttestationConfigurationInvalid('tdx reference: allowDebug must be true or false');
      if (reference.requireCollateral !== undefined && typeof reference.requireCollateral !== 'boolean')
        throw new AttestationConfigurationInvalid('tdx reference: requireCollateral must be true or false');
      if (reference.acceptedTcbStatuses !== undefined) {
        const list: unknown = reference.acceptedTcbStatuses;
        if (!Array.isArray(list) || list.length === 0)
          throw new AttestationConfigurationInvalid('tdx reference: acceptedTcbStatuses must list at least one TCB status');
        for (const st of list) {
          if (typeof st !== 'string' || !(TDX_TCB_STATUSES as readonly string[]).includes(st))
            throw new AttestationConfigurationInvalid(`tdx reference: acceptedTcbStatuses: ${JSON.stringify(st)} is not an Intel TCB status (${TDX_TCB_STATUSES.filter((x) => x !== 'Revoked').join(', ')})`);
          // A revoked platform (or TCB level) is never trustworthy, whatever the operator writes.
          if (st === 'Revoked') throw new AttestationConfigurationInvalid('tdx reference: acceptedTcbStatuses cannot accept Revoked');
        }
      }
      return;
    }
    case 'jwt': {
      if (!reference.issuer) throw new AttestationConfigurationInvalid('jwt reference: issuer is required');
      if (!reference.audience) throw new AttestationConfigurationInvalid('jwt reference: audience is required');
      const claims = Object.entries(reference.claims ?? {});
      if (claims.length === 0) throw new AttestationConfigurationInvalid('jwt reference pins no claim');
      for (const [path, value] of claims) {
        if (!['string', 'number', 'boolean'].includes(typeof value))
          throw new AttestationConfigurationInvalid(`jwt reference: claim ${path} must be a string, number or boolean`);
      }
      if (reference.allowDebug !== undefined && typeof reference.allowDebug !== 'boolean')
        throw new AttestationConfigurationInvalid('jwt reference: allowDebug must be true or false');
      return;
    }
    default:
      throw new AttestationConfigurationInvalid(`unknown reference type ${JSON.stringify((reference as { type?: unknown }).type)}`);
  }
}

/**
 * JWT claims that carry an image measurement, by attestation service: GCP Confidential Space (container
 * image digest), Azure Attestation (SEV-SNP launch measurement, SGX MRENCLAVE, TDX MRTD) and Intel Trust
 * Authority (TDX MRTD, SGX MRENCLAVE). A JWT reference pinning none of them pins no code.
 */
export const JWT_IMAGE_CLAIMS: readonly string[] = Object.freeze([
  'submods.container.image_digest',
  'x-ms-sevsnpvm-launchmeasurement',
  'x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement',
  'x-ms-sgx-mrenclave',
  'x-ms-isolation-tee.x-ms-sgx-mrenclave',
  'x-ms-tdx-mrtd',
  'tdx_mrtd',
  'sgx_mrenclave',
]);

const allZero = (hex: string) => /^0*$/.test(hex);

/**
 * The image measurement a reference pins for key release — Nitro PCR0 (the enclave image), SEV-SNP
 * `measurement`, TDX MRTD, or a JWT image claim — or why there is none. A reference that pins, say,
 * only Nitro PCR3 (the IAM role) would hand the model key to any code that runs under that role.
 */
export function imageMeasurementProblem(reference: ReferenceValues): string | undefined {
  switch (reference.type) {
    case 'nitro': {
      const pcr0 = reference.pcrs?.['0'];
      if (pcr0 === undefined) return 'the nitro reference does not pin PCR0 (the enclave image)';
      if (allZero(pcr0)) return 'the nitro reference pins PCR0 to zeros, the value of a debug-mode enclave, which measures no image';
      return undefined;
    }
    case 'sev-snp':
      return allZero(reference.measurement ?? '') ? 'the sev-snp reference pins no launch measurement' : undefined;
    case 'tdx':
      return allZero(reference.mrtd ?? '') ? 'the tdx reference pins no MRTD' : undefined;
    case 'jwt':
      return Object.keys(reference.claims ?? {}).some((c) => JWT_IMAGE_CLAIMS.includes(c))
        ? undefined
        : `the jwt reference pins no image-measurement claim (one of ${JWT_IMAGE_CLAIMS.join(', ')})`;
    default:
      return 'unknown reference type';
  }
}

/** The measurements a reference pins, in the naming of VerifiedEvidence.measurements. */
export function expectedMeasurements(reference: ReferenceValues): Record<string, string> {
  switch (reference.type) {
    case 'nitro':
      return Object.fromEntries(Object.entries(reference.pcrs).map(([i, v]) => [`pcr${i}`, v.toLowerCase()]));
    case 'sev-snp': {
      const out: Record<string, string> = { measurement: reference.measurement.toLowerCase() };
      if (reference.hostData !== undefined) out['host_data'] = reference.hostData.toLowerCase();
      if (reference.idKeyDigest !== undefined) out['id_key_digest'] = reference.idKeyDigest.toLowerCase();
      return out;
    }
    case 'tdx': {
      const out: Record<string, string> = { mrtd: reference.mrtd.toLowerCase() };
      for (const [i, v] of Object.entries(reference.rtmrs ?? {})) if (v !== undefined) out[`rtmr${i}`] = v.toLowerCase();
      for (const k of ['mrseam', 'mrconfigid', 'mrowner', 'mrownerconfig'] as const) {
        const v = reference[k];
        if (v !== undefined) out[k] = v.toLowerCase();
      }
      return out;
    }
    case 'jwt':
      return Object.fromEntries(Object.entries(reference.claims).map(([k, v]) => [k, claimString(v)]));
  }
}

/** Claim values are compared as JSON text, so the string "true" can never match the boolean true. */
export function claimString(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

export function assertMeasurementsMatch(reference: ReferenceValues, measurements: Readonly<Record<string, string>>): void {
  for (const [name, expected] of Object.entries(expectedMeasurements(reference))) {
    const actual = measurements[name];
    if (actual === undefined) throw new AttestationMeasurementMismatch(`${name} is pinned by the reference but absent from the evidence`);
    if (actual !== expected) throw new AttestationMeasurementMismatch(`${name} differs from the reference value`);
  }
}
