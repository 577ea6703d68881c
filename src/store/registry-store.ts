// The contract between the model registry (workload plane) and its storage. SQLite implements it
// for the embedded default; the registry never sees SQL.

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

export interface RegistryStore {
  insertVersion(v: ModelVersionRecord): void;
  getVersion(id: string): ModelVersionRecord | undefined;
  findVersion(model: string, version: string): ModelVersionRecord | undefined;
  setVersionVerification(id: string, v: VersionVerification): void;
  insertDeployment(d: Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'>): void;
  getDeployment(id: string): DeploymentRecord | undefined;
  listDeployments(filter?: { model?: string; state?: DeploymentState; tenant?: string }): DeploymentRecord[];
  /** Compare-and-set: moves `id` from `from` to `to` only if it is still in `from`; false otherwise. */
  transition(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): boolean;
  setApprovals(id: string, state: DeploymentState, approvals: string[], at: number): boolean;
  /** Runs `fn` atomically (one SQLite transaction). */
  atomically<T>(fn: () => T): T;
}
