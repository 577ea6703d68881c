import type { SqliteDb } from './sqlite.js';
import type { DataSourceRecord, DatasetRecord, DatasetState, DatasetsStore, RecordErasure, TrainDecisionRecord, TrainingRunOutcome, TrainingRunRecord } from './datasets-store.js';

// Sources and datasets are a tenant's own: two tenants may name a source or a dataset alike, and a dataset may
// only name a source of its own tenant (the composite foreign key).
const SOURCES_TABLE = (name: string) => `CREATE TABLE ${name} (
  tenant TEXT NOT NULL, id TEXT NOT NULL, public_key_pem TEXT NOT NULL, key_id TEXT NOT NULL, algorithm TEXT NOT NULL,
  owner TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER, PRIMARY KEY (tenant, id)
)`;
const DATASETS_TABLE = (name: string) => `CREATE TABLE ${name} (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
  source_id TEXT NOT NULL, signer_identity TEXT NOT NULL,
  owner TEXT NOT NULL, licence TEXT NOT NULL, classification TEXT NOT NULL, categories TEXT NOT NULL, retention TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('registered','verified','retired')),
  signature_bundle TEXT NOT NULL, files INTEGER NOT NULL, records INTEGER NOT NULL, verification TEXT,
  created_at INTEGER NOT NULL, verified_at INTEGER, retired_at INTEGER, UNIQUE (tenant, name, version),
  FOREIGN KEY (tenant, source_id) REFERENCES data_sources(tenant, id)
)`;
const DATASET_COLUMNS = 'id, tenant, name, version, digest, source_id, signer_identity, owner, licence, classification, categories, retention, state, signature_bundle, files, records, verification, created_at, verified_at, retired_at';
const SOURCE_COLUMNS = 'id, public_key_pem, key_id, algorithm, owner, description, created_at, retired_at';

const SCHEMA = `
${SOURCES_TABLE('IF NOT EXISTS data_sources')};
${DATASETS_TABLE('IF NOT EXISTS datasets')};
CREATE INDEX IF NOT EXISTS datasets_digest ON datasets(digest);
CREATE TABLE IF NOT EXISTS dataset_lineage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), digest TEXT NOT NULL,
  event TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dataset_lineage_dataset ON dataset_lineage(dataset_id, seq);
CREATE TABLE IF NOT EXISTS dataset_training_runs (
  run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, model TEXT NOT NULL, datasets TEXT NOT NULL, issued_by TEXT NOT NULL,
  started_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, ended_at INTEGER, outcome TEXT CHECK (outcome IN ('COMPLETE','FAIL'))
);
CREATE INDEX IF NOT EXISTS dataset_training_runs_open ON dataset_training_runs(expires_at) WHERE ended_at IS NULL;
CREATE TABLE IF NOT EXISTS lineage_outbox (
  digest TEXT PRIMARY KEY, event TEXT NOT NULL, created_at INTEGER NOT NULL, pushed_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt_at INTEGER
);
CREATE INDEX IF NOT EXISTS lineage_outbox_pending ON lineage_outbox(created_at) WHERE pushed_at IS NULL;
CREATE TABLE IF NOT EXISTS dataset_train_decisions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), model TEXT NOT NULL, tenant TEXT NOT NULL,
  allow INTEGER NOT NULL, policy_ids TEXT NOT NULL, policy_version TEXT NOT NULL, decided_by TEXT NOT NULL, at INTEGER NOT NULL,
  purpose TEXT
);
CREATE TABLE IF NOT EXISTS dataset_record_erasures (
  dataset_id TEXT NOT NULL REFERENCES datasets(id), file TEXT NOT NULL, record_index INTEGER NOT NULL, erased_at INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, file, record_index)
);
`;

const columnsOf = (db: SqliteDb, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);

/** A data dir from before the trainOn decision kept its purpose: its earlier decisions named none (NULL). */
function addTrainDecisionPurpose(db: SqliteDb): void {
  const cols = columnsOf(db, 'dataset_train_decisions');
  if (cols.length > 0 && !cols.includes('purpose')) db.exec('ALTER TABLE dataset_train_decisions ADD COLUMN purpose TEXT');
}

/**
 * Brings a data dir from before tenant-scoped sources up to date: datasets gain their tenant ('default' for rows
 * from before tenants), a source becomes its tenant's (a copy in every tenant whose datasets name it, the rest in
 * 'default'), and name@version is unique per tenant. SQLite cannot change a key in place, so the two tables are
 * rebuilt (https://sqlite.org/lang_altertable.html#otheralter) in one transaction, foreign keys off meanwhile.
 */
function migrateToTenantScope(db: SqliteDb): void {
  const dsCols = columnsOf(db, 'datasets');
  if (dsCols.length > 0 && !dsCols.includes('tenant')) db.exec("ALTER TABLE datasets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'");
  const srcCols = columnsOf(db, 'data_sources');
  const oldSources = srcCols.length > 0 && !srcCols.includes('tenant');
  const dsSql = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'datasets'").get() as { sql: string } | undefined)?.sql;
  const oldDatasets = dsSql !== undefined && !dsSql.includes('UNIQUE (tenant, name, version)');
  if (!oldSources && !oldDatasets) return;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      if (oldSources) {
        db.exec(`${SOURCES_TABLE('data_sources_tenant')};
          INSERT INTO data_sources_tenant (tenant, ${SOURCE_COLUMNS}) SELECT 'default', ${SOURCE_COLUMNS} FROM data_sources;`);
        if (dsCols.length > 0) {
          db.exec(`INSERT OR IGNORE INTO data_sources_tenant (tenant, ${SOURCE_COLUMNS})
            SELECT DISTINCT d.tenant, ${SOURCE_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ')} FROM datasets d JOIN data_sources s ON s.id = d.source_id;`);
        }
        db.exec('DROP TABLE data_sources; ALTER TABLE data_sources_tenant RENAME TO data_sources;');
      }
      if (oldDatasets) {
        db.exec(`${DATASETS_TABLE('datasets_tenant')};
          INSERT INTO datasets_tenant (${DATASET_COLUMNS}) SELECT ${DATASET_COLUMNS} FROM datasets;
          DROP TABLE datasets; ALTER TABLE datasets_tenant RENAME TO datasets;`);
      }
    })();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

type Row = Record<string, unknown>;

function toSource(r: Row): DataSourceRecord {
  return {
    tenant: r.tenant as string,
    id: r.id as string,
    publicKeyPem: r.public_key_pem as string,
    keyId: r.key_id as string,
    algorithm: r.algorithm as string,
    owner: r.owner as string,
    description: r.description as string,
    createdAt: r.created_at as number,
    retiredAt: (r.retired_at as number | null) ?? null,
  };
}

function toDataset(r: Row): DatasetRecord {
  return {
    id: r.id as string,
    tenant: r.tenant as string,
    name: r.name as string,
    version: r.version as string,
    digest: r.digest as string,
    sourceId: r.source_id as string,
    signerIdentity: r.signer_identity as string,
    owner: r.owner as string,
    licence: r.licence as string,
    classification: r.classification as string,
    categories: JSON.parse(r.categories as string) as string[],
    retention: r.retention as string,
    state: r.state as DatasetState,
    signatureBundle: r.signature_bundle as string,
    files: r.files as number,
    records: r.records as number,
    verification: r.verification === null ? null : (JSON.parse(r.verification as string) as unknown),
    createdAt: r.created_at as number,
    verifiedAt: (r.verified_at as number | null) ?? null,
    retiredAt: (r.retired_at as number | null) ?? null,
    subjectField: (r.subject_field as string | null) ?? null,
  };
}

function toRun(r: Row): TrainingRunRecord {
  return {
    runId: r.run_id as string, tenant: r.tenant as string, model: r.model as string, datasets: JSON.parse(r.datasets as string) as string[],
    issuedBy: r.issued_by as string, startedAt: Number(r.started_at), expiresAt: Number(r.expires_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at), outcome: (r.outcome as TrainingRunOutcome | null) ?? null,
  };
}

export class SqliteDatasetsStore implements DatasetsStore {
  private readonly q;

  constructor(private readonly db: SqliteDb) {
    migrateToTenantScope(db);
    addTrainDecisionPurpose(db);
    db.exec(SCHEMA);
    // Data dirs from before subject fields (issue 16): their datasets declare none.
    if (!columnsOf(db, 'datasets').includes('subject_field')) db.exec('ALTER TABLE datasets ADD COLUMN subject_field TEXT');
    this.q = {
      insertSource: db.prepare(
        `INSERT INTO data_sources (tenant, ${SOURCE_COLUMNS})
         VALUES (@tenant, @id, @public_key_pem, @key_id, @algorithm, @owner, @description, @created_at, @retired_at)`,
      ),
      getSource: db.prepare('SELECT * FROM data_sources WHERE tenant = ? AND id = ?'),
      listSources: db.prepare('SELECT * FROM data_sources WHERE tenant = ? ORDER BY created_at, id'),
      retireSource: db.prepare('UPDATE data_sources SET retired_at = ? WHERE tenant = ? AND id = ? AND retired_at IS NULL'),
      insertDataset: db.prepare(
        `INSERT INTO datasets (${DATASET_COLUMNS}, subject_field)
         VALUES (@id, @tenant, @name, @version, @digest, @source_id, @signer_identity, @owner, @licence, @classification, @categories, @retention,
           @state, @signature_bundle, @files, @records, @verification, @created_at, @verified_at, @retired_at, @subject_field)`,
      ),
      insertErasure: db.prepare('INSERT INTO dataset_record_erasures (dataset_id, file, record_index, erased_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      erased: db.prepare('SELECT record_index FROM dataset_record_erasures WHERE dataset_id = ? AND file = ? AND record_index >= ? AND record_index < ? ORDER BY record_index'),
      getDataset: db.prepare('SELECT * FROM datasets WHERE id = ?'),
      findDataset: db.prepare('SELECT * FROM datasets WHERE tenant = ? AND name = ? AND version = ?'),
      findByDigest: db.prepare('SELECT * FROM datasets WHERE digest = @digest AND (@tenant IS NULL OR tenant = @tenant) ORDER BY created_at, id'),
      listDatasets: db.prepare('SELECT * FROM datasets WHERE (@name IS NULL OR name = @name) AND (@state IS NULL OR state = @state) AND (@tenant IS NULL OR tenant = @tenant) ORDER BY created_at, id'),
      insertLineage: db.prepare('INSERT INTO dataset_lineage (dataset_id, digest, event, at) VALUES (?, ?, ?, ?)'),
      listLineage: db.prepare('SELECT digest, event, at FROM dataset_lineage WHERE dataset_id = ? ORDER BY seq'),
      insertTrain: db.prepare('INSERT INTO dataset_train_decisions (dataset_id, model, tenant, allow, policy_ids, policy_version, decided_by, at, purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      listTrain: db.prepare('SELECT * FROM dataset_train_decisions WHERE dataset_id = ? ORDER BY seq'),
      insertRun: db.prepare(
        `INSERT INTO dataset_training_runs (run_id, tenant, model, datasets, issued_by, started_at, expires_at, ended_at, outcome)
         VALUES (@run_id, @tenant, @model, @datasets, @issued_by, @started_at, @expires_at, @ended_at, @outcome)`,
      ),
      getRun: db.prepare('SELECT * FROM dataset_training_runs WHERE run_id = ?'),
      endRun: db.prepare('UPDATE dataset_training_runs SET ended_at = ?, outcome = ? WHERE run_id = ? AND ended_at IS NULL'),
      reopenRun: db.prepare('UPDATE dataset_training_runs SET ended_at = NULL, outcome = NULL WHERE run_id = ?'),
      expiredRuns: db.prepare('SELECT * FROM dataset_training_runs WHERE ended_at IS NULL AND expires_at < ? ORDER BY expires_at, run_id LIMIT ?'),
      enqueuePush: db.prepare('INSERT INTO lineage_outbox (digest, event, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING'),
      pendingPushes: db.prepare('SELECT digest, event, attempts FROM lineage_outbox WHERE pushed_at IS NULL ORDER BY created_at, digest LIMIT ?'),
      markPushed: db.prepare('UPDATE lineage_outbox SET pushed_at = ?, attempts = attempts + 1, last_error = NULL, last_attempt_at = ? WHERE digest = ?'),
      pushFailed: db.prepare('UPDATE lineage_outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? WHERE digest = ?'),
      prunePushed: db.prepare('DELETE FROM lineage_outbox WHERE pushed_at IS NOT NULL AND pushed_at < ?'),
      transition: db.prepare(
        `UPDATE datasets SET state = @to,
           verification = COALESCE(@verification, verification),
           verified_at = CASE WHEN @to = 'verified' THEN @at ELSE verified_at END,
           retired_at = CASE WHEN @to = 'retired' THEN @at ELSE retired_at END
         WHERE id = @id AND state = @from`,
      ),
    };
  }

  async insertSource(s: DataSourceRecord): Promise<void> {
    this.q.insertSource.run({
      tenant: s.tenant, id: s.id, public_key_pem: s.publicKeyPem, key_id: s.keyId, algorithm: s.algorithm, owner: s.owner, description: s.description,
      created_at: s.createdAt, retired_at: s.retiredAt,
    });
  }

  async getSource(tenant: string, id: string): Promise<DataSourceRecord | undefined> {
    const r = this.q.getSource.get(tenant, id) as Row | undefined;
    return r && toSource(r);
  }

  async listSources(tenant: string): Promise<DataSourceRecord[]> {
    return (this.q.listSources.all(tenant) as Row[]).map(toSource);
  }

  async retireSource(tenant: string, id: string, at: number): Promise<boolean> {
    return this.q.retireSource.run(at, tenant, id).changes === 1;
  }

  async insertDataset(d: DatasetRecord): Promise<void> {
    this.q.insertDataset.run({
      id: d.id, tenant: d.tenant, name: d.name, version: d.version, digest: d.digest, source_id: d.sourceId, signer_identity: d.signerIdentity,
      owner: d.owner, licence: d.licence, classification: d.classification, categories: JSON.stringify(d.categories), retention: d.retention,
      state: d.state, signature_bundle: d.signatureBundle, files: d.files, records: d.records,
      verification: d.verification === null || d.verification === undefined ? null : JSON.stringify(d.verification),
      created_at: d.createdAt, verified_at: d.verifiedAt, retired_at: d.retiredAt, subject_field: d.subjectField,
    });
  }

  private readonly insertErasures = (rows: readonly RecordErasure[]) => rows.reduce((n, r) => n + this.q.insertErasure.run(r.datasetId, r.file, r.index, r.erasedAt).changes, 0);

  async insertRecordErasures(rows: readonly RecordErasure[]): Promise<number> {
    return this.db.transaction(this.insertErasures)(rows);
  }

  async erasedRecords(datasetId: string, file: string, from: number, to: number): Promise<number[]> {
    return (this.q.erased.all(datasetId, file, from, to) as { record_index: number }[]).map((r) => r.record_index);
  }

  async getDataset(id: string): Promise<DatasetRecord | undefined> {
    const r = this.q.getDataset.get(id) as Row | undefined;
    return r && toDataset(r);
  }

  async findDataset(tenant: string, name: string, version: string): Promise<DatasetRecord | undefined> {
    const r = this.q.findDataset.get(tenant, name, version) as Row | undefined;
    return r && toDataset(r);
  }

  async findByDigest(digest: string, tenant?: string): Promise<DatasetRecord[]> {
    return (this.q.findByDigest.all({ digest, tenant: tenant ?? null }) as Row[]).map(toDataset);
  }

  async listDatasets(filter: { name?: string; state?: DatasetState; tenant?: string } = {}): Promise<DatasetRecord[]> {
    return (this.q.listDatasets.all({ name: filter.name ?? null, state: filter.state ?? null, tenant: filter.tenant ?? null }) as Row[]).map(toDataset);
  }

  async transition(id: string, from: DatasetState, to: DatasetState, patch: { verification?: unknown; at: number }): Promise<boolean> {
    return this.q.transition.run({ id, from, to, at: patch.at, verification: patch.verification === undefined ? null : JSON.stringify(patch.verification) }).changes === 1;
  }

  async insertLineage(e: { datasetId: string; digest: string; event: unknown; at: number }): Promise<void> {
    this.q.insertLineage.run(e.datasetId, e.digest, JSON.stringify(e.event), e.at);
  }

  async listLineage(datasetId: string): Promise<{ digest: string; event: unknown; at: number }[]> {
    return (this.q.listLineage.all(datasetId) as Row[]).map((r) => ({ digest: r.digest as string, event: JSON.parse(r.event as string) as unknown, at: r.at as number }));
  }

  async insertTrainingRun(r: TrainingRunRecord): Promise<void> {
    this.q.insertRun.run({
      run_id: r.runId, tenant: r.tenant, model: r.model, datasets: JSON.stringify(r.datasets), issued_by: r.issuedBy,
      started_at: r.startedAt, expires_at: r.expiresAt, ended_at: r.endedAt, outcome: r.outcome,
    });
  }

  async getTrainingRun(runId: string): Promise<TrainingRunRecord | undefined> {
    const r = this.q.getRun.get(runId) as Row | undefined;
    return r && toRun(r);
  }

  async endTrainingRun(runId: string, outcome: TrainingRunOutcome, at: number): Promise<boolean> {
    return this.q.endRun.run(at, outcome, runId).changes === 1;
  }

  async reopenTrainingRun(runId: string): Promise<void> {
    this.q.reopenRun.run(runId);
  }

  async expiredTrainingRuns(now: number, limit: number): Promise<TrainingRunRecord[]> {
    return (this.q.expiredRuns.all(now, limit) as Row[]).map(toRun);
  }

  async enqueueLineagePush(e: { digest: string; event: unknown; at: number }): Promise<void> {
    this.q.enqueuePush.run(e.digest, JSON.stringify(e.event), e.at);
  }

  async pendingLineagePushes(limit: number): Promise<{ digest: string; event: unknown; attempts: number }[]> {
    return (this.q.pendingPushes.all(limit) as Row[]).map((r) => ({ digest: r.digest as string, event: JSON.parse(r.event as string) as unknown, attempts: r.attempts as number }));
  }

  async markLineagePushed(digest: string, at: number): Promise<void> {
    this.q.markPushed.run(at, at, digest);
  }

  async lineagePushFailed(digest: string, error: string, at: number): Promise<void> {
    this.q.pushFailed.run(error, at, digest);
  }

  async pruneLineagePushed(before: number): Promise<number> {
    return this.q.prunePushed.run(before).changes;
  }

  async insertTrainDecision(d: TrainDecisionRecord): Promise<void> {
    this.q.insertTrain.run(d.datasetId, d.model, d.tenant, d.allow ? 1 : 0, JSON.stringify(d.policyIds), d.policyVersion, d.decidedBy, d.at, d.purpose);
  }

  async listTrainDecisions(datasetId: string): Promise<TrainDecisionRecord[]> {
    return (this.q.listTrain.all(datasetId) as Row[]).map((r) => ({
      datasetId: r.dataset_id as string, model: r.model as string, tenant: r.tenant as string, allow: r.allow === 1,
      policyIds: JSON.parse(r.policy_ids as string) as string[], policyVersion: r.policy_version as string, decidedBy: r.decided_by as string, at: r.at as number,
      purpose: (r.purpose as string | null) ?? null,
    }));
  }
}
