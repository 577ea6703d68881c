// The contract between the data plane's dataset registry and its storage: SQLite for the embedded default
// (src/store/datasets-sqlite.ts), PostgreSQL for replicas sharing one control plane (datasets-postgres.ts); one
// contract suite runs on both (test/store/datasets-contract.test.ts). The registry never sees SQL.

export type DatasetState = 'registered' | 'verified' | 'retired';

/** A data source: an identity with a public key, registered by an admin. Only its signatures admit datasets. */
export interface DataSourceRecord {
  /** Chosen by the admin; what a dataset manifest names in `predicate.dataset.source`. */
  id: string;
  /** SPKI PEM of the source's Ed25519 / ECDSA P-256 / P-384 key. */
  publicKeyPem: string;
  /** `key:sha256:<spki hex>`, as model signer identities are written. */
  keyId: string;
  algorithm: string;
  owner: string;
  description: string;
  createdAt: number;
  retiredAt: number | null;
}

export interface DatasetRecord {
  id: string;
  /** The tenant that registered it (the registering admin's): every read of the registry is scoped to it. */
  tenant: string;
  name: string;
  version: string;
  /** `sha256:<hex>` over the file digests in name order (the signed subject digest). */
  digest: string;
  sourceId: string;
  /** The key that signed, `key:sha256:<spki hex>`. */
  signerIdentity: string;
  owner: string;
  licence: string;
  classification: string;
  categories: string[];
  /** How long the data may be kept (e.g. `P365D`), as the source declared it. */
  retention: string;
  state: DatasetState;
  /** The Sigstore-shaped bundle holding the DSSE envelope, as JSON text. */
  signatureBundle: string;
  files: number;
  /** Record counts per JSONL/CSV file, from the signed manifest. */
  records: number;
  /** What verification established (files, bytes), once verified. */
  verification: unknown;
  createdAt: number;
  verifiedAt: number | null;
  retiredAt: number | null;
}

export interface DatasetsStore {
  insertSource(s: DataSourceRecord): Promise<void>;
  getSource(id: string): Promise<DataSourceRecord | undefined>;
  listSources(): Promise<DataSourceRecord[]>;
  /** Compare-and-set: retires `id` only if it is still active; false otherwise. */
  retireSource(id: string, at: number): Promise<boolean>;
  insertDataset(d: DatasetRecord): Promise<void>;
  getDataset(id: string): Promise<DatasetRecord | undefined>;
  findDataset(name: string, version: string): Promise<DatasetRecord | undefined>;
  findByDigest(digest: string): Promise<DatasetRecord[]>;
  listDatasets(filter?: { name?: string; state?: DatasetState; tenant?: string }): Promise<DatasetRecord[]>;
  /** Compare-and-set on the state; false when the dataset was no longer in `from`. */
  transition(id: string, from: DatasetState, to: DatasetState, patch: { verification?: unknown; at: number }): Promise<boolean>;
  /** Lineage events (OpenLineage RunEvent JSON) of a dataset, with the digest its ledger entry carries. */
  insertLineage(e: { datasetId: string; digest: string; event: unknown; at: number }): Promise<void>;
  listLineage(datasetId: string): Promise<{ digest: string; event: unknown; at: number }[]>;
  /** trainOn decisions: which model may train on which dataset, under which policy version. */
  insertTrainDecision(d: TrainDecisionRecord): Promise<void>;
  listTrainDecisions(datasetId: string): Promise<TrainDecisionRecord[]>;
}

export interface TrainDecisionRecord {
  datasetId: string;
  model: string;
  tenant: string;
  allow: boolean;
  policyIds: string[];
  policyVersion: string;
  decidedBy: string;
  at: number;
}
