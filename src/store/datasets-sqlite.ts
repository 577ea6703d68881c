import type { SqliteDb } from './sqlite.js';
import type { DataSourceRecord, DatasetRecord, DatasetState, DatasetsStore, TrainDecisionRecord } from './datasets-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS data_sources (
  id TEXT PRIMARY KEY, public_key_pem TEXT NOT NULL, key_id TEXT NOT NULL, algorithm TEXT NOT NULL,
  owner TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER
);
CREATE TABLE IF NOT EXISTS datasets (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
  source_id TEXT NOT NULL REFERENCES data_sources(id), signer_identity TEXT NOT NULL,
  owner TEXT NOT NULL, licence TEXT NOT NULL, classification TEXT NOT NULL, categories TEXT NOT NULL, retention TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('registered','verified','retired')),
  signature_bundle TEXT NOT NULL, files INTEGER NOT NULL, records INTEGER NOT NULL, verification TEXT,
  created_at INTEGER NOT NULL, verified_at INTEGER, retired_at INTEGER, UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS datasets_digest ON datasets(digest);
CREATE TABLE IF NOT EXISTS dataset_lineage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), digest TEXT NOT NULL,
  event TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dataset_lineage_dataset ON dataset_lineage(dataset_id, seq);
CREATE TABLE IF NOT EXISTS dataset_train_decisions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), model TEXT NOT NULL, tenant TEXT NOT NULL,
  allow INTEGER NOT NULL, policy_ids TEXT NOT NULL, policy_version TEXT NOT NULL, decided_by TEXT NOT NULL, at INTEGER NOT NULL
);
`;

type Row = Record<string, unknown>;

function toSource(r: Row): DataSourceRecord {
  return {
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
  };
}

export class SqliteDatasetsStore implements DatasetsStore {
  private readonly q;

  constructor(db: SqliteDb) {
    db.exec(SCHEMA);
    // Datasets registered before tenants were recorded belong to the default tenant.
    const cols = (db.prepare('PRAGMA table_info(datasets)').all() as { name: string }[]).map((c) => c.name);
    if (!cols.includes('tenant')) db.exec("ALTER TABLE datasets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'");
    this.q = {
      insertSource: db.prepare(
        `INSERT INTO data_sources (id, public_key_pem, key_id, algorithm, owner, description, created_at, retired_at)
         VALUES (@id, @public_key_pem, @key_id, @algorithm, @owner, @description, @created_at, @retired_at)`,
      ),
      getSource: db.prepare('SELECT * FROM data_sources WHERE id = ?'),
      listSources: db.prepare('SELECT * FROM data_sources ORDER BY created_at, id'),
      retireSource: db.prepare('UPDATE data_sources SET retired_at = ? WHERE id = ? AND retired_at IS NULL'),
      insertDataset: db.prepare(
        `INSERT INTO datasets (id, tenant, name, version, digest, source_id, signer_identity, owner, licence, classification, categories, retention,
           state, signature_bundle, files, records, verification, created_at, verified_at, retired_at)
         VALUES (@id, @tenant, @name, @version, @digest, @source_id, @signer_identity, @owner, @licence, @classification, @categories, @retention,
           @state, @signature_bundle, @files, @records, @verification, @created_at, @verified_at, @retired_at)`,
      ),
      getDataset: db.prepare('SELECT * FROM datasets WHERE id = ?'),
      findDataset: db.prepare('SELECT * FROM datasets WHERE name = ? AND version = ?'),
      findByDigest: db.prepare('SELECT * FROM datasets WHERE digest = ? ORDER BY created_at, id'),
      listDatasets: db.prepare('SELECT * FROM datasets WHERE (@name IS NULL OR name = @name) AND (@state IS NULL OR state = @state) AND (@tenant IS NULL OR tenant = @tenant) ORDER BY created_at, id'),
      insertLineage: db.prepare('INSERT INTO dataset_lineage (dataset_id, digest, event, at) VALUES (?, ?, ?, ?)'),
      listLineage: db.prepare('SELECT digest, event, at FROM dataset_lineage WHERE dataset_id = ? ORDER BY seq'),
      insertTrain: db.prepare('INSERT INTO dataset_train_decisions (dataset_id, model, tenant, allow, policy_ids, policy_version, decided_by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      listTrain: db.prepare('SELECT * FROM dataset_train_decisions WHERE dataset_id = ? ORDER BY seq'),
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
      id: s.id, public_key_pem: s.publicKeyPem, key_id: s.keyId, algorithm: s.algorithm, owner: s.owner, description: s.description,
      created_at: s.createdAt, retired_at: s.retiredAt,
    });
  }

  async getSource(id: string): Promise<DataSourceRecord | undefined> {
    const r = this.q.getSource.get(id) as Row | undefined;
    return r && toSource(r);
  }

  async listSources(): Promise<DataSourceRecord[]> {
    return (this.q.listSources.all() as Row[]).map(toSource);
  }

  async retireSource(id: string, at: number): Promise<boolean> {
    return this.q.retireSource.run(at, id).changes === 1;
  }

  async insertDataset(d: DatasetRecord): Promise<void> {
    this.q.insertDataset.run({
      id: d.id, tenant: d.tenant, name: d.name, version: d.version, digest: d.digest, source_id: d.sourceId, signer_identity: d.signerIdentity,
      owner: d.owner, licence: d.licence, classification: d.classification, categories: JSON.stringify(d.categories), retention: d.retention,
      state: d.state, signature_bundle: d.signatureBundle, files: d.files, records: d.records,
      verification: d.verification === null || d.verification === undefined ? null : JSON.stringify(d.verification),
      created_at: d.createdAt, verified_at: d.verifiedAt, retired_at: d.retiredAt,
    });
  }

  async getDataset(id: string): Promise<DatasetRecord | undefined> {
    const r = this.q.getDataset.get(id) as Row | undefined;
    return r && toDataset(r);
  }

  async findDataset(name: string, version: string): Promise<DatasetRecord | undefined> {
    const r = this.q.findDataset.get(name, version) as Row | undefined;
    return r && toDataset(r);
  }

  async findByDigest(digest: string): Promise<DatasetRecord[]> {
    return (this.q.findByDigest.all(digest) as Row[]).map(toDataset);
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

  async insertTrainDecision(d: TrainDecisionRecord): Promise<void> {
    this.q.insertTrain.run(d.datasetId, d.model, d.tenant, d.allow ? 1 : 0, JSON.stringify(d.policyIds), d.policyVersion, d.decidedBy, d.at);
  }

  async listTrainDecisions(datasetId: string): Promise<TrainDecisionRecord[]> {
    return (this.q.listTrain.all(datasetId) as Row[]).map((r) => ({
      datasetId: r.dataset_id as string, model: r.model as string, tenant: r.tenant as string, allow: r.allow === 1,
      policyIds: JSON.parse(r.policy_ids as string) as string[], policyVersion: r.policy_version as string, decidedBy: r.decided_by as string, at: r.at as number,
    }));
  }
}
