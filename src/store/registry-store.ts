// The contract between the model registry (workload plane) and its storage. SQLite implements it for the
// embedded default, PostgreSQL for replicas that share one control plane; one contract suite
// (test/store/registry-contract.test.ts) runs against both. The registry never sees SQL. Every state change
// is a compare-and-set on the deployment's state, so of two replicas moving one deployment only one wins.

export type DeploymentState = 'registered' | 'verified' | 'promoted' | 'quarantined' | 'retired';

export interface ModelVersionRecord {
  id: string;
  model: string;
  version: string;
  /** `sha256:<hex>`: the OpenSSF model-signing model digest (over all file digests). */
  artifactDigest: string;
  /** The Sigstore-shaped signature bundle, as JSON text. */
  signatureBundle: string | null;
  signerIdentity: string | null;
  /** SLSA provenance as submitted (a DSSE envelope or statement). */
  provenance: unknown;
  /** CycloneDX JSON as submitted. */
  sbom: unknown;
  scanReport: unknown;
  /** What verification established (summary), once verified. */
  verification: unknown;
  createdAt: number;
  verifiedAt: number | null;
}

export interface AttestationRequirement {
  /** e.g. `aws-nitro`, `amd-sev-snp`, `jwt`. */
  type: string;
  /** Expected measurements (PCRs, launch measurement, image digest...) by name. */
  referenceValues: Record<string, string>;
}

export interface DeploymentRecord {
  id: string;
  versionId: string;
  /** Denormalised from the version on read. */
  model: string;
  version: string;
  artifactDigest: string;
  /** Upstream base URL (an OpenAI-compatible server). */
  upstream: string;
  tier: string;
  region: string;
  tenant: string;
  /** Present for confidential deployments. */
  attestation: AttestationRequirement | null;
  state: DeploymentState;
  /** Principal ids that approved promotion (two-person rule). */
  approvals: string[];
  /** Was promoted and has never been quarantined: a rollback target. */
  knownGood: boolean;
  supersededBy: string | null;
  createdAt: number;
  updatedAt: number;
  promotedAt: number | null;
}

export type DeploymentPatch = Partial<Pick<DeploymentRecord, 'approvals' | 'knownGood' | 'supersededBy' | 'promotedAt'>>;

export interface VersionVerification {
  signerIdentity: string;
  scanReport: unknown;
  verification: unknown;
  verifiedAt: number;
}

/** One compare-and-set step of `transitionAll`. */
export interface TransitionStep {
  id: string;
  from: DeploymentState;
  to: DeploymentState;
  patch: DeploymentPatch;
}

export interface RegistryStore {
  getVersion(id: string): Promise<ModelVersionRecord | undefined>;
  findVersion(model: string, version: string): Promise<ModelVersionRecord | undefined>;
  setVersionVerification(id: string, v: VersionVerification): Promise<void>;
  /** Inserts a deployment and, when given, the new version it deploys, in one transaction. */
  insertDeployment(d: Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'>, newVersion?: ModelVersionRecord): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  /** Oldest first (created_at, then id). */
  listDeployments(filter?: { model?: string; state?: DeploymentState; tenant?: string }): Promise<DeploymentRecord[]>;
  /** Compare-and-set: moves `id` from `from` to `to` only if it is still in `from`; false otherwise. */
  transition(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): Promise<boolean>;
  /** Every step or none (one transaction): false, and nothing changed, when any deployment had left its `from`. */
  transitionAll(steps: readonly TransitionStep[], at: number): Promise<boolean>;
  setApprovals(id: string, state: DeploymentState, approvals: string[], at: number): Promise<boolean>;
}
