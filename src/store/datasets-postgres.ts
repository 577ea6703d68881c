// Data sources, datasets, their lineage and trainOn decisions in PostgreSQL, for replicas that share one control
// plane. Same contract as SqliteDatasetsStore (test/store/datasets-contract.test.ts runs one suite on both). State
// changes are single conditional UPDATEs, so of parallel transitions on any number of replicas exactly one wins.
import type pg from 'pg';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';
import type { DataSourceRecord, DatasetRecord, DatasetState, DatasetsStore, RecordErasure, TrainDecisionRecord, TrainingRunOutcome, TrainingRunRecord } from './datasets-store.js';

export const DATASETS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'data_sources, datasets, dataset_lineage, dataset_train_decisions',
    sql: `
      CREATE TABLE $PREFIXdata_sources (
        id text PRIMARY KEY, public_key_pem text NOT NULL, key_id text NOT NULL, algorithm text NOT NULL,
        owner text NOT NULL, description text NOT NULL, created_at bigint NOT NULL, retired_at bigint);
      CREATE TABLE $PREFIXdatasets (
        id text PRIMARY KEY, tenant text NOT NULL, name text NOT NULL, version text NOT NULL, digest text NOT NULL,
        source_id text NOT NULL REFERENCES $PREFIXdata_sources(id), signer_identity text NOT NULL,
        owner text NOT NULL, licence text NOT NULL, classification text NOT NULL, categories jsonb NOT NULL, retention text NOT NULL,
        state text NOT NULL CHECK (state IN ('registered','verified','retired')),
        signature_bundle text NOT NULL, files integer NOT NULL, records bigint NOT NULL, verification jsonb,
        created_at bigint NOT NULL, verified_at bigint, retired_at bigint, UNIQUE (name, version));
      CREATE INDEX $PREFIXdatasets_digest ON $PREFIXdatasets (digest);
      CREATE TABLE $PREFIXdataset_lineage (
        seq bigserial PRIMARY KEY, dataset_id text NOT NULL REFERENCES $PREFIXdatasets(id), digest text NOT NULL,
        event jsonb NOT NULL, at bigint NOT NULL);
      CREATE INDEX $PREFIXdataset_lineage_dataset ON $PREFIXdataset_lineage (dataset_id, seq);
      CREATE TABLE $PREFIXdataset_train_decisions (
        seq bigserial PRIMARY KEY, dataset_id text NOT NULL REFERENCES $PREFIXdatasets(id), model text NOT NULL, tenant text NOT NULL,
        allow boolean NOT NULL, policy_ids jsonb NOT NULL, policy_version text NOT NULL, decided_by text NOT NULL, at bigint NOT NULL);
      CREATE INDEX $PREFIXdataset_train_decisions_dataset ON $PREFIXdataset_train_decisions (dataset_id, seq);`,
  },
  {
    version: 2,
    description: 'data sources and dataset name@version scoped to a tenant',
    // A source becomes its tenant's: a copy in every tenant whose datasets name it, the rest in 'default'. The
    // constraints dropped are version 1's (the source foreign key, name@version, the sources' key), looked up by
    // kind because PostgreSQL shortens their generated names under a long prefix.
    sql: `
      DO $do$ DECLARE c record; BEGIN
        FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = '$PREFIXdatasets'::regclass AND contype IN ('f', 'u') LOOP
          EXECUTE format('ALTER TABLE $PREFIXdatasets DROP CONSTRAINT %I', c.conname);
        END LOOP;
        FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = '$PREFIXdata_sources'::regclass AND contype = 'p' LOOP
          EXECUTE format('ALTER TABLE $PREFIXdata_sources DROP CONSTRAINT %I', c.conname);
        END LOOP;
      END $do$;
      ALTER TABLE $PREFIXdata_sources ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      INSERT INTO $PREFIXdata_sources (tenant, id, public_key_pem, key_id, algorithm, owner, description, created_at, retired_at)
        SELECT DISTINCT d.tenant, s.id, s.public_key_pem, s.key_id, s.algorithm, s.owner, s.description, s.created_at, s.retired_at
        FROM $PREFIXdatasets d JOIN $PREFIXdata_sources s ON s.id = d.source_id AND s.tenant = 'default' WHERE d.tenant <> 'default';
      ALTER TABLE $PREFIXdata_sources ALTER COLUMN tenant DROP DEFAULT;
      ALTER TABLE $PREFIXdata_sources ADD PRIMARY KEY (tenant, id);
      ALTER TABLE $PREFIXdatasets ADD UNIQUE (tenant, name, version);
      ALTER TABLE $PREFIXdatasets ADD FOREIGN KEY (tenant, source_id) REFERENCES $PREFIXdata_sources (tenant, id);`,
  },
  {
    version: 3,
    description: 'dataset_training_runs (training runs end once), lineage_outbox (events for the OpenLineage endpoint)',
    sql: `
      CREATE TABLE $PREFIXdataset_training_runs (
        run_id text PRIMARY KEY, tenant text NOT NULL, model text NOT NULL, datasets jsonb NOT NULL, issued_by text NOT NULL,
        started_at bigint NOT NULL, expires_at bigint NOT NULL, ended_at bigint, outcome text CHECK (outcome IN ('COMPLETE','FAIL')));
      CREATE INDEX $PREFIXdataset_training_runs_open ON $PREFIXdataset_training_runs (expires_at) WHERE ended_at IS NULL;
      CREATE TABLE $PREFIXlineage_outbox (
        digest text PRIMARY KEY, event jsonb NOT NULL, created_at bigint NOT NULL, pushed_at bigint,
        attempts integer NOT NULL DEFAULT 0, last_error text, last_attempt_at bigint);
      CREATE INDEX $PREFIXlineage_outbox_pending ON $PREFIXlineage_outbox (created_at) WHERE pushed_at IS NULL;`,
  },
  {
    version: 4,
    description: 'dataset_train_decisions.purpose (the purpose a trainOn decision was asked for; NULL: none named)',
    sql: 'ALTER TABLE $PREFIXdataset_train_decisions ADD COLUMN purpose text;',
  },
  {
    version: 5,
    description: 'datasets.subject_field, dataset_record_erasures (records withheld after their subject was erased)',
    sql: `
      ALTER TABLE $PREFIXdatasets ADD COLUMN subject_field text;
      CREATE TABLE $PREFIXdataset_record_erasures (
        dataset_id text NOT NULL REFERENCES $PREFIXdatasets (id), file text NOT NULL, record_index bigint NOT NULL, erased_at bigint NOT NULL,
        PRIMARY KEY (dataset_id, file, record_index));`,
  },
];

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown) => JSON.stringify(v);

function toSource(r: Row): DataSourceRecord {
  return {
    tenant: r.tenant as string, id: r.id as string, publicKeyPem: r.public_key_pem as string, keyId: r.key_id as string, algorithm: r.algorithm as string,
    owner: r.owner as string, description: r.description as string, createdAt: Number(r.created_at), retiredAt: num(r.retired_at),
  };
}

function toDataset(r: Row): DatasetRecord {
  return {
    id: r.id as string, tenant: r.tenant as string, name: r.name as string, version: r.version as string, digest: r.digest as string,
    sourceId: r.source_id as string, signerIdentity: r.signer_identity as string, owner: r.owner as string, licence: r.licence as string,
    classification: r.classification as string, categories: r.categories as string[], retention: r.retention as string,
    state: r.state as DatasetState, signatureBundle: r.signature_bundle as string, files: Number(r.files), records: Number(r.records),
    verification: (r.verification as unknown) ?? null, createdAt: Number(r.created_at), verifiedAt: num(r.verified_at), retiredAt: num(r.retired_at),
    subjectField: (r.subject_field as string | null) ?? null,
  };
}

function toRun(r: Row): TrainingRunRecord {
  return {
    runId: r.run_id as string, tenant: r.tenant as string, model: r.model as string, datasets: r.datasets as string[], issuedBy: r.issued_by as string,
    startedAt: Number(r.started_at), expiresAt: Number(r.expires_at), endedAt: num(r.ended_at), outcome: (r.outcome as TrainingRunOutcome | null) ?? null,
  };
}

// Sorted as SQLite sorts them (created_at, then id in byte order), so both backends list alike.
const ORDER = 'ORDER BY created_at, id COLLATE "C"';

export class PostgresDatasetsStore implements DatasetsStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { sources: string; datasets: string; lineage: string; train: string; runs: string; outbox: string; erasures: string },
    readonly migration: MigrationResult,
  ) {}

  /** Connects and brings the schema up to date (see pg-migrate.ts). */
  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresDatasetsStore> {
    const { pool, prefix, migration } = await connectMigrated(opts, 'datasets', DATASETS_MIGRATIONS);
    return new PostgresDatasetsStore(pool, { sources: `${prefix}data_sources`, datasets: `${prefix}datasets`, lineage: `${prefix}dataset_lineage`, train: `${prefix}dataset_train_decisions`, runs: `${prefix}dataset_training_runs`, outbox: `${prefix}lineage_outbox`, erasures: `${prefix}dataset_record_erasures` }, migration);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  async insertSource(s: DataSourceRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.sources} (tenant, id, public_key_pem, key_id, algorithm, owner, description, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [s.tenant, s.id, s.publicKeyPem, s.keyId, s.algorithm, s.owner, s.description, s.createdAt, s.retiredAt],
    );
  }

  async getSource(tenant: string, id: string): Promise<DataSourceRecord | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.sources} WHERE tenant = $1 AND id = $2`, [tenant, id]))[0];
    return r && toSource(r);
  }

  async listSources(tenant: string): Promise<DataSourceRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.sources} WHERE tenant = $1 ${ORDER}`, [tenant])).map(toSource);
  }

  async retireSource(tenant: string, id: string, at: number): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${this.t.sources} SET retired_at = $3 WHERE tenant = $1 AND id = $2 AND retired_at IS NULL`, [tenant, id, at])).rowCount === 1;
  }

  async insertDataset(d: DatasetRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.datasets} (id, tenant, name, version, digest, source_id, signer_identity, owner, licence, classification, categories, retention,
         state, signature_bundle, files, records, verification, created_at, verified_at, retired_at, subject_field)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
      [d.id, d.tenant, d.name, d.version, d.digest, d.sourceId, d.signerIdentity, d.owner, d.licence, d.classification, json(d.categories), d.retention,
        d.state, d.signatureBundle, d.files, d.records, d.verification === null || d.verification === undefined ? null : json(d.verification), d.createdAt, d.verifiedAt, d.retiredAt, d.subjectField],
    );
  }

  async insertRecordErasures(rows: readonly RecordErasure[]): Promise<number> {
    if (rows.length === 0) return 0;
    const r = await this.pool.query(
      `INSERT INTO ${this.t.erasures} (dataset_id, file, record_index, erased_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING`,
      [rows.map((e) => e.datasetId), rows.map((e) => e.file), rows.map((e) => e.index), rows.map((e) => e.erasedAt)],
    );
    return r.rowCount ?? 0;
  }

  async erasedRecords(datasetId: string, file: string, from: number, to: number): Promise<number[]> {
    const rows = await this.rows(`SELECT record_index FROM ${this.t.erasures} WHERE dataset_id = $1 AND file = $2 AND record_index >= $3 AND record_index < $4 ORDER BY record_index`, [datasetId, file, from, to]);
    return rows.map((r) => Number(r.record_index));
  }

  async getDataset(id: string): Promise<DatasetRecord | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.datasets} WHERE id = $1`, [id]))[0];
    return r && toDataset(r);
  }

  async findDataset(tenant: string, name: string, version: string): Promise<DatasetRecord | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.datasets} WHERE tenant = $1 AND name = $2 AND version = $3`, [tenant, name, version]))[0];
    return r && toDataset(r);
  }

  async findByDigest(digest: string, tenant?: string): Promise<DatasetRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.datasets} WHERE digest = $1 AND ($2::text IS NULL OR tenant = $2) ${ORDER}`, [digest, tenant ?? null])).map(toDataset);
  }

  async listDatasets(filter: { name?: string; state?: DatasetState; tenant?: string } = {}): Promise<DatasetRecord[]> {
    return (await this.rows(
      `SELECT * FROM ${this.t.datasets} WHERE ($1::text IS NULL OR name = $1) AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR tenant = $3) ${ORDER}`,
      [filter.name ?? null, filter.state ?? null, filter.tenant ?? null],
    )).map(toDataset);
  }

  async transition(id: string, from: DatasetState, to: DatasetState, patch: { verification?: unknown; at: number }): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE ${this.t.datasets} SET state = $3,
         verification = COALESCE($4::jsonb, verification),
         verified_at = CASE WHEN $3 = 'verified' THEN $5 ELSE verified_at END,
         retired_at = CASE WHEN $3 = 'retired' THEN $5 ELSE retired_at END
       WHERE id = $1 AND state = $2`,
      [id, from, to, patch.verification === undefined ? null : json(patch.verification), patch.at],
    );
    return r.rowCount === 1;
  }

  async insertLineage(e: { datasetId: string; digest: string; event: unknown; at: number }): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.lineage} (dataset_id, digest, event, at) VALUES ($1, $2, $3, $4)`, [e.datasetId, e.digest, json(e.event), e.at]);
  }

  async listLineage(datasetId: string): Promise<{ digest: string; event: unknown; at: number }[]> {
    return (await this.rows(`SELECT digest, event, at FROM ${this.t.lineage} WHERE dataset_id = $1 ORDER BY seq`, [datasetId])).map((r) => ({ digest: r.digest as string, event: r.event as unknown, at: Number(r.at) }));
  }

  async insertTrainingRun(r: TrainingRunRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.runs} (run_id, tenant, model, datasets, issued_by, started_at, expires_at, ended_at, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.runId, r.tenant, r.model, json(r.datasets), r.issuedBy, r.startedAt, r.expiresAt, r.endedAt, r.outcome],
    );
  }

  async getTrainingRun(runId: string): Promise<TrainingRunRecord | undefined> {
    const r = (await this.rows(`SELECT * FROM ${this.t.runs} WHERE run_id = $1`, [runId]))[0];
    return r && toRun(r);
  }

  async endTrainingRun(runId: string, outcome: TrainingRunOutcome, at: number): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${this.t.runs} SET ended_at = $3, outcome = $2 WHERE run_id = $1 AND ended_at IS NULL`, [runId, outcome, at])).rowCount === 1;
  }

  async reopenTrainingRun(runId: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.runs} SET ended_at = NULL, outcome = NULL WHERE run_id = $1`, [runId]);
  }

  async expiredTrainingRuns(now: number, limit: number): Promise<TrainingRunRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.runs} WHERE ended_at IS NULL AND expires_at < $1 ORDER BY expires_at, run_id COLLATE "C" LIMIT $2`, [now, limit])).map(toRun);
  }

  async enqueueLineagePush(e: { digest: string; event: unknown; at: number }): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.outbox} (digest, event, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING`, [e.digest, json(e.event), e.at]);
  }

  async pendingLineagePushes(limit: number): Promise<{ digest: string; event: unknown; attempts: number }[]> {
    return (await this.rows(`SELECT digest, event, attempts FROM ${this.t.outbox} WHERE pushed_at IS NULL ORDER BY created_at, digest COLLATE "C" LIMIT $1`, [limit]))
      .map((r) => ({ digest: r.digest as string, event: r.event as unknown, attempts: Number(r.attempts) }));
  }

  async markLineagePushed(digest: string, at: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.outbox} SET pushed_at = $2, attempts = attempts + 1, last_error = NULL, last_attempt_at = $2 WHERE digest = $1`, [digest, at]);
  }

  async lineagePushFailed(digest: string, error: string, at: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.outbox} SET attempts = attempts + 1, last_error = $2, last_attempt_at = $3 WHERE digest = $1`, [digest, error, at]);
  }

  async pruneLineagePushed(before: number): Promise<number> {
    const r = await this.pool.query(`DELETE FROM ${this.t.outbox} WHERE pushed_at IS NOT NULL AND pushed_at < $1`, [before]);
    return r.rowCount ?? 0;
  }

  async insertTrainDecision(d: TrainDecisionRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.train} (dataset_id, model, tenant, allow, policy_ids, policy_version, decided_by, at, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [d.datasetId, d.model, d.tenant, d.allow, json(d.policyIds), d.policyVersion, d.decidedBy, d.at, d.purpose],
    );
  }

  async listTrainDecisions(datasetId: string): Promise<TrainDecisionRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.train} WHERE dataset_id = $1 ORDER BY seq`, [datasetId])).map((r) => ({
      datasetId: r.dataset_id as string, model: r.model as string, tenant: r.tenant as string, allow: r.allow as boolean,
      policyIds: r.policy_ids as string[], policyVersion: r.policy_version as string, decidedBy: r.decided_by as string, at: Number(r.at),
      purpose: (r.purpose as string | null) ?? null,
    }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
