// Row ↔ record mapping shared by the SQLite and PostgreSQL registry stores (same column names; PostgreSQL
// returns bigint as text and booleans as booleans, SQLite integers for both).
import type { DeploymentRecord, DeploymentState, ModelVersionRecord } from './registry-store.js';

export type Row = Record<string, unknown>;
export const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
const unjson = (v: unknown) => (v === null || v === undefined ? null : (JSON.parse(v as string) as unknown));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function toVersion(r: Row): ModelVersionRecord {
  return {
    id: r.id as string,
    model: r.model as string,
    version: r.version as string,
    artifactDigest: r.artifact_digest as string,
    signatureBundle: (r.signature_bundle as string | null) ?? null,
    signerIdentity: (r.signer_identity as string | null) ?? null,
    provenance: unjson(r.provenance),
    sbom: unjson(r.sbom),
    scanReport: unjson(r.scan_report),
    verification: unjson(r.verification),
    createdAt: Number(r.created_at),
    verifiedAt: num(r.verified_at),
  };
}

export function toDeployment(r: Row): DeploymentRecord {
  return {
    id: r.id as string,
    versionId: r.version_id as string,
    model: r.model as string,
    version: r.version as string,
    artifactDigest: r.artifact_digest as string,
    upstream: r.upstream as string,
    tier: r.tier as string,
    region: r.region as string,
    tenant: r.tenant as string,
    attestation: unjson(r.attestation) as DeploymentRecord['attestation'],
    state: r.state as DeploymentState,
    approvals: JSON.parse(r.approvals as string) as string[],
    knownGood: r.known_good === 1 || r.known_good === true,
    supersededBy: (r.superseded_by as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    promotedAt: num(r.promoted_at),
  };
}
