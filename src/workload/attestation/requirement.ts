// A registry deployment stores its attestation requirement flat ({type, referenceValues: {k: v}}), as
// `warden model register --attestation-type T --reference k=v,...` and the admin API take it. This turns it
// into the verifiers' typed ReferenceValues, refusing anything it does not understand: an unknown key could
// be a pin the operator believes is enforced (fail closed, docs/models.md "Confidential deployments").
import type { AttestationRequirement } from '../../store/registry-store.js';
import { AttestationConfigurationInvalid, assertReferenceUsable, type ReferenceValues, type SevSnpReference, type TdxReference, type TdxTcbStatus } from './index.js';

const NITRO_TYPES = new Set(['nitro', 'aws-nitro']);
const SNP_TYPES = new Set(['sev-snp', 'amd-sev-snp']);
const TDX_TYPES = new Set(['tdx', 'intel-tdx']);
const JWT_TYPES = new Set(['jwt']);

function integer(key: string, v: string): number {
  if (!/^\d{1,9}$/.test(v)) throw new AttestationConfigurationInvalid(`attestation reference ${key} must be a non-negative integer`);
  return Number(v);
}

function boolean(key: string, v: string): boolean {
  if (v !== 'true' && v !== 'false') throw new AttestationConfigurationInvalid(`attestation reference ${key} must be true or false`);
  return v === 'true';
}

function nitro(values: Record<string, string>): ReferenceValues {
  const pcrs: Record<string, string> = {};
  let allowDebug = false;
  for (const [k, v] of Object.entries(values)) {
    // A debug-mode enclave (PCR0-2 zero) is refused unless the deployment says so explicitly.
    if (k === 'allowDebug') {
      allowDebug = boolean(k, v);
      continue;
    }
    // `pcr0=<hex>` (or `0=<hex>`): AWS Nitro Enclaves PCR index → expected value.
    const m = /^(?:pcr)?(\d{1,2})$/i.exec(k);
    if (!m) throw new AttestationConfigurationInvalid(`nitro reference: unknown key ${JSON.stringify(k)} (expected pcrN)`);
    pcrs[String(Number(m[1]))] = v;
  }
  return allowDebug ? { type: 'nitro', pcrs, allowDebug } : { type: 'nitro', pcrs };
}

function sevSnp(values: Record<string, string>): ReferenceValues {
  const r: SevSnpReference = { type: 'sev-snp', measurement: '' };
  for (const [k, v] of Object.entries(values)) {
    switch (k) {
      case 'measurement': r.measurement = v; break;
      case 'hostData': case 'host_data': r.hostData = v; break;
      case 'idKeyDigest': case 'id_key_digest': r.idKeyDigest = v; break;
      case 'vmpl': r.vmpl = integer(k, v); break;
      case 'minGuestSvn': case 'min_guest_svn': r.minGuestSvn = integer(k, v); break;
      case 'allowDebug': r.allowDebug = boolean(k, v); break;
      case 'allowMigrationAgent': r.allowMigrationAgent = boolean(k, v); break;
      case 'signingKeys': {
        const keys = v.split(/[;|]/).map((s) => s.trim());
        if (keys.some((x) => x !== 'vcek' && x !== 'vlek')) throw new AttestationConfigurationInvalid('sev-snp reference: signingKeys lists vcek and/or vlek, separated by ;');
        r.signingKeys = keys as ('vcek' | 'vlek')[];
        break;
      }
      default:
        throw new AttestationConfigurationInvalid(`sev-snp reference: unknown key ${JSON.stringify(k)}`);
    }
  }
  return r;
}

function tdx(values: Record<string, string>): ReferenceValues {
  const r: TdxReference = { type: 'tdx', mrtd: '' };
  for (const [k, v] of Object.entries(values)) {
    // `rtmr0=<hex>` … `rtmr3=<hex>`: runtime measurement registers.
    const m = /^rtmr([0-3])$/i.exec(k);
    if (m) {
      r.rtmrs = { ...(r.rtmrs ?? {}), [m[1] as '0' | '1' | '2' | '3']: v };
      continue;
    }
    switch (k) {
      case 'mrtd': r.mrtd = v; break;
      case 'mrseam': r.mrseam = v; break;
      case 'mrconfigid': r.mrconfigid = v; break;
      case 'mrowner': r.mrowner = v; break;
      case 'mrownerconfig': r.mrownerconfig = v; break;
      case 'minTeeTcbSvn': case 'min_tee_tcb_svn': r.minTeeTcbSvn = v; break;
      case 'allowDebug': r.allowDebug = boolean(k, v); break;
      // `acceptedTcbStatuses=UpToDate;SWHardeningNeeded`: Intel TCB statuses accepted when collateral is
      // configured (each is checked against Intel's list by assertReferenceUsable).
      case 'acceptedTcbStatuses': case 'accepted_tcb_statuses':
        r.acceptedTcbStatuses = v.split(/[;|]/).map((s) => s.trim()).filter((s) => s !== '') as TdxTcbStatus[];
        break;
      case 'requireCollateral': case 'require_collateral': r.requireCollateral = boolean(k, v); break;
      default:
        throw new AttestationConfigurationInvalid(`tdx reference: unknown key ${JSON.stringify(k)}`);
    }
  }
  return r;
}

function jwt(values: Record<string, string>): ReferenceValues {
  let issuer = '';
  let audience = '';
  let nonceClaim: string | undefined;
  let allowDebug = false;
  const claims: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (k === 'issuer') issuer = v;
    else if (k === 'allowDebug') allowDebug = boolean(k, v);
    else if (k === 'audience') audience = v;
    else if (k === 'nonceClaim') nonceClaim = v;
    // `claim.submods.container.image_digest=sha256:...`: pinned claims compare as strings (docs/attestation.md).
    else if (k.startsWith('claim.') && k.length > 6) claims[k.slice(6)] = v;
    else throw new AttestationConfigurationInvalid(`jwt reference: unknown key ${JSON.stringify(k)} (issuer, audience, nonceClaim, allowDebug, claim.<path>)`);
  }
  return { type: 'jwt', issuer, audience, claims, ...(nonceClaim ? { nonceClaim } : {}), ...(allowDebug ? { allowDebug } : {}) };
}

/** The typed reference values for a deployment's attestation requirement; throws AttestationConfigurationInvalid. */
export function referenceFromRequirement(req: AttestationRequirement): ReferenceValues {
  const values = req.referenceValues ?? {};
  if (typeof values !== 'object' || Array.isArray(values) || Object.values(values).some((v) => typeof v !== 'string')) {
    throw new AttestationConfigurationInvalid('attestation referenceValues must map names to strings');
  }
  const t = String(req.type).toLowerCase();
  const ref = NITRO_TYPES.has(t) ? nitro(values) : SNP_TYPES.has(t) ? sevSnp(values) : TDX_TYPES.has(t) ? tdx(values) : JWT_TYPES.has(t) ? jwt(values) : null;
  if (!ref) throw new AttestationConfigurationInvalid(`unknown attestation type ${JSON.stringify(req.type)} (nitro, sev-snp, tdx, jwt)`);
  assertReferenceUsable(ref);
  return ref;
}
