// The contract between the data plane's dataset registry and its storage: SQLite for the embedded default
// (src/store/datasets-sqlite.ts), PostgreSQL for replicas sharing one control plane (datasets-postgres.ts); one
// contract suite runs on both (test/store/datasets-contract.test.ts). The registry never sees SQL.

export type DatasetState = 'registered' | 'verified' | 'retired';

/** A data source: an identity with a public key, registered by an admin. Only its signatures admit datasets. */
export interface DataSourceRecord {
  /** The tenant of the admin who registered it: only that tenant's datasets can name it, and only it sees it. */
  tenant: string;
  /** Chosen by the admin, unique within its tenant; what a dataset manifest names in `predicate.dataset.source`. */
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
  /**
   * The record field (JSONL key / CSV header column) naming each record's data subject, a principal id, as the
   * registering admin declared it; null: the dataset has none, and erasing a subject leaves it untouched.
   */
  subjectField: string | null;
  createdAt: number;
  verifiedAt: number | null;
  retiredAt: number | null;
}

export interface DatasetsStore {
  insertSource(s: DataSourceRecord): Promise<void>;
  getSource(tenant: string, id: string): Promise<DataSourceRecord | undefined>;
  listSources(tenant: string): Promise<DataSourceRecord[]>;
  /** Compare-and-set: retires the tenant's source `id` only if it is still active; false otherwise. */
  retireSource(tenant: string, id: string, at: number): Promise<boolean>;
  insertDataset(d: DatasetRecord): Promise<void>;
  getDataset(id: string): Promise<DatasetRecord | undefined>;
  /** name@version is unique within a tenant (two tenants may both have tickets@1). */
  findDataset(tenant: string, name: string, version: string): Promise<DatasetRecord | undefined>;
  /** Datasets of that digest, of `tenant` only when given. */
  findByDigest(digest: string, tenant?: string): Promise<DatasetRecord[]>;
  listDatasets(filter?: { name?: string; state?: DatasetState; tenant?: string }): Promise<DatasetRecord[]>;
  /** Compare-and-set on the state; false when the dataset was no longer in `from`. */
  transition(id: string, from: DatasetState, to: DatasetState, patch: { verification?: unknown; at: number }): Promise<boolean>;
  /** Lineage events (OpenLineage RunEvent JSON) of a dataset, with the digest its ledger entry carries. */
  insertLineage(e: { datasetId: string; digest: string; event: unknown; at: number }): Promise<void>;
  listLineage(datasetId: string): Promise<{ digest: string; event: unknown; at: number }[]>;
  /** Training runs (a training token issued): ended once, by an admin or by the token's expiry (compare-and-set). */
  insertTrainingRun(r: TrainingRunRecord): Promise<void>;
  getTrainingRun(runId: string): Promise<TrainingRunRecord | undefined>;
  /** Ends the run if it is still open; false when it had already ended (another replica, or the admin, was first). */
  endTrainingRun(runId: string, outcome: TrainingRunOutcome, at: number): Promise<boolean>;
  /** Opens an ended run again (its end could not be written to the ledger; the next sweep retries it). */
  reopenTrainingRun(runId: string): Promise<void>;
  /** Open runs whose token expired before `now`, oldest first. */
  expiredTrainingRuns(now: number, limit: number): Promise<TrainingRunRecord[]>;
  /** The outbox of lineage events for the configured OpenLineage endpoint, one row per event digest. */
  enqueueLineagePush(e: { digest: string; event: unknown; at: number }): Promise<void>;
  pendingLineagePushes(limit: number): Promise<{ digest: string; event: unknown; attempts: number }[]>;
  markLineagePushed(digest: string, at: number): Promise<void>;
  lineagePushFailed(digest: string, error: string, at: number): Promise<void>;
  /** Deletes events pushed before `before` (they live on in the ledger and the dataset's lineage); how many. */
  pruneLineagePushed(before: number): Promise<number>;
  /** trainOn decisions: which model may train on which dataset, under which policy version. */
  insertTrainDecision(d: TrainDecisionRecord): Promise<void>;
  listTrainDecisions(datasetId: string): Promise<TrainDecisionRecord[]>;
  /** Records erased for a data subject (right to erasure): never served again. How many were not erased before. */
  insertRecordErasures(rows: readonly RecordErasure[]): Promise<number>;
  /** Indexes of erased records of one file of a dataset, in [from, to). */
  erasedRecords(datasetId: string, file: string, from: number, to: number): Promise<number[]>;
}

/** A record withheld because its data subject was erased (the customer's file still holds it). */
export interface RecordErasure {
  datasetId: string;
  file: string;
  index: number;
  erasedAt: number;
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
  /** The purpose the decision was asked for (the Cedar context's `purpose`); null when none was named. */
  purpose: string | null;
}

export type TrainingRunOutcome = 'COMPLETE' | 'FAIL';

/** A training run: the token issued for `model` to read `datasets` (of `tenant`), its run id the token's jti. */
export interface TrainingRunRecord {
  runId: string;
  tenant: string;
  model: string;
  datasets: string[];
  issuedBy: string;
  startedAt: number;
  expiresAt: number;
  endedAt: number | null;
  outcome: TrainingRunOutcome | null;
}
