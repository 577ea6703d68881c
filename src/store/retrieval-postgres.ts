// The retrieval store in PostgreSQL, for replicas that share vector stores (store.postgres in warden.yaml): a store
// created, filled or erased through one replica is what every other replica searches.
//
// The nearest-neighbour query is an exact cosine scan computed inside PostgreSQL: the tenant, store, class rank,
// vector size and expiry filters are in the WHERE clause and only the `limit` nearest rows leave the server, so a
// search never pulls another tenant's or a higher class's vectors into Warden. It is a scan of the store's chunks
// (no approximate index): pgvector would replace it where the extension is installed, but this machine's Debian 12
// archive has no pgvector package, so that path is not implemented (docs/retrieval.md).
//
// Erasure and expiry delete the rows; PostgreSQL keeps deleted rows until VACUUM reuses their space (and in its WAL
// and backups). The chunk text in them is sealed under the tenant's KEK (sealBlob), so what survives on disk stays
// unreadable without that KEK; the vectors are in the clear there, as they are in the live table.
import type pg from 'pg';
import { connectMigrated, inTransaction, type Migration, type MigrationResult } from './pg-migrate.js';
import { PostgresSubjectKeyStore } from './subject-keys-postgres.js';
import { FileIdTaken, chunkFromRow, fileFromRow, storeFromRow, uploadFromRow, type UploadRecord, type Candidate, type ChunkRecord, type NearestQuery, type NewChunk, type RetrievalStore, type VectorFileRecord, type VectorStoreRecord } from './retrieval-store.js';

export const RETRIEVAL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'retrieval_stores, retrieval_files, retrieval_chunks (vectors as real[] with their norm)',
    sql: `
      CREATE TABLE $PREFIXretrieval_stores (
        id text PRIMARY KEY, tenant text NOT NULL, name text NOT NULL, classification text NOT NULL,
        embedding_model text NOT NULL, created_by text NOT NULL, created_at bigint NOT NULL, dims integer);
      CREATE INDEX $PREFIXretrieval_stores_tenant ON $PREFIXretrieval_stores (tenant, created_at);
      CREATE TABLE $PREFIXretrieval_files (
        id text PRIMARY KEY, store_id text NOT NULL REFERENCES $PREFIXretrieval_stores (id) ON DELETE CASCADE,
        tenant text NOT NULL, filename text NOT NULL, dataset_digest text NOT NULL, classification text NOT NULL,
        access jsonb NOT NULL, subject text, chunks integer NOT NULL, created_by text NOT NULL, created_at bigint NOT NULL,
        expires_at bigint);
      CREATE INDEX $PREFIXretrieval_files_store ON $PREFIXretrieval_files (store_id, created_at);
      CREATE INDEX $PREFIXretrieval_files_subject ON $PREFIXretrieval_files (subject) WHERE subject IS NOT NULL;
      CREATE TABLE $PREFIXretrieval_chunks (
        id bigserial PRIMARY KEY, store_id text NOT NULL,
        file_id text NOT NULL REFERENCES $PREFIXretrieval_files (id) ON DELETE CASCADE,
        tenant text NOT NULL, classification text NOT NULL, rank smallint NOT NULL, dataset_digest text NOT NULL,
        access jsonb NOT NULL, subject text, position integer NOT NULL, sealed bytea NOT NULL, findings jsonb NOT NULL,
        dims integer NOT NULL, embedding real[] NOT NULL, norm double precision NOT NULL, expires_at bigint);
      CREATE INDEX $PREFIXretrieval_chunks_store ON $PREFIXretrieval_chunks (store_id, tenant, rank);
      CREATE INDEX $PREFIXretrieval_chunks_subject ON $PREFIXretrieval_chunks (subject) WHERE subject IS NOT NULL;
      CREATE INDEX $PREFIXretrieval_chunks_file ON $PREFIXretrieval_chunks (file_id);
      CREATE INDEX $PREFIXretrieval_chunks_expiry ON $PREFIXretrieval_chunks (expires_at) WHERE expires_at IS NOT NULL;`,
  },
  {
    version: 2,
    description: 'retrieval_uploads: files uploaded through /v1/files, sealed, until attached or expired',
    sql: `
      CREATE TABLE $PREFIXretrieval_uploads (
        id text PRIMARY KEY, tenant text NOT NULL, filename text NOT NULL, purpose text NOT NULL, bytes integer NOT NULL,
        sealed bytea NOT NULL, created_by text NOT NULL, created_at bigint NOT NULL, expires_at bigint NOT NULL);
      CREATE INDEX $PREFIXretrieval_uploads_tenant ON $PREFIXretrieval_uploads (tenant, created_at);
      CREATE INDEX $PREFIXretrieval_uploads_expiry ON $PREFIXretrieval_uploads (expires_at);`,
  },
  {
    version: 3,
    description: 'subject_keys: per-subject data keys (wrapped by the tenant KEK) and the tombstones erasure leaves',
    sql: `
      CREATE TABLE $PREFIXsubject_keys (
        tenant text NOT NULL, subject text NOT NULL, wrapped bytea, created_at bigint NOT NULL, erased_at bigint,
        PRIMARY KEY (tenant, subject));
      CREATE INDEX $PREFIXsubject_keys_subject ON $PREFIXsubject_keys (subject);`,
  },
];

type Row = Record<string, unknown>;


function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Chunk columns inserted per row, and rows per INSERT (PostgreSQL takes at most 65,535 parameters a statement). */
const CHUNK_COLUMNS = ['store_id', 'file_id', 'tenant', 'classification', 'rank', 'dataset_digest', 'access', 'subject', 'position', 'sealed', 'findings', 'dims', 'embedding', 'norm', 'expires_at'] as const;
const ROWS_PER_INSERT = 500;

export class PostgresRetrievalStore implements RetrievalStore {
  readonly index = 'postgres-exact' as const;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    readonly migration: MigrationResult,
  ) {}

  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresRetrievalStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 4, ...opts }, 'retrieval', RETRIEVAL_MIGRATIONS);
    return new PostgresRetrievalStore(pool, prefix, migration);
  }

  /** The replicas' shared subject keys, on this store's pool (closed with it). */
  subjectKeys(): PostgresSubjectKeyStore {
    return new PostgresSubjectKeyStore(this.pool, this.prefix);
  }

  private t(name: 'stores' | 'files' | 'chunks' | 'uploads'): string {
    return `${this.prefix}retrieval_${name}`;
  }

  private live(param: number): string {
    return `(expires_at IS NULL OR expires_at > $${param})`;
  }

  async createStore(r: VectorStoreRecord): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t('stores')} (id, tenant, name, classification, embedding_model, created_by, created_at, dims) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      r.id,
      r.tenant,
      r.name,
      r.classification,
      r.embeddingModel,
      r.createdBy,
      r.createdAt,
      r.dims,
    ]);
  }

  async getStore(tenant: string, id: string): Promise<VectorStoreRecord | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t('stores')} WHERE id = $1 AND tenant = $2`, [id, tenant])).rows[0] as Row | undefined;
    return r ? storeFromRow(r) : null;
  }

  async getStoreAnyTenant(id: string): Promise<VectorStoreRecord | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t('stores')} WHERE id = $1`, [id])).rows[0] as Row | undefined;
    return r ? storeFromRow(r) : null;
  }

  async listStores(tenant: string | null): Promise<VectorStoreRecord[]> {
    // COLLATE "C": the byte order SQLite uses, so both backends list alike.
    const r =
      tenant === null
        ? await this.pool.query(`SELECT * FROM ${this.t('stores')} ORDER BY created_at, id COLLATE "C"`)
        : await this.pool.query(`SELECT * FROM ${this.t('stores')} WHERE tenant = $1 ORDER BY created_at, id COLLATE "C"`, [tenant]);
    return (r.rows as Row[]).map(storeFromRow);
  }

  async listFiles(tenant: string, storeId: string, nowMs: number): Promise<VectorFileRecord[]> {
    const r = await this.pool.query(`SELECT * FROM ${this.t('files')} WHERE store_id = $1 AND tenant = $2 AND ${this.live(3)} ORDER BY created_at, id COLLATE "C"`, [storeId, tenant, nowMs]);
    return (r.rows as Row[]).map(fileFromRow);
  }

  async addFile(f: VectorFileRecord, chunks: NewChunk[]): Promise<number[]> {
    const dims = chunks[0]?.embedding.length;
    if (dims !== undefined && chunks.some((c) => c.embedding.length !== dims)) throw new Error('the chunks of one file have different vector sizes');
    if (dims !== undefined && (dims < 1 || dims > 8192)) throw new Error(`vector size ${dims} is out of range`);
    return inTransaction(this.pool, async (c) => {
      // The store's row is locked: two replicas adding a first file at once cannot fix two different sizes.
      const store = (await c.query<{ dims: number | null }>(`SELECT dims FROM ${this.t('stores')} WHERE id = $1 AND tenant = $2 FOR UPDATE`, [f.storeId, f.tenant])).rows[0];
      if (!store) throw new Error(`no vector store ${f.storeId} in tenant ${f.tenant}`);
      if (dims !== undefined) {
        if (store.dims === null) await c.query(`UPDATE ${this.t('stores')} SET dims = $1 WHERE id = $2`, [dims, f.storeId]);
        else if (store.dims !== dims) throw new Error(`the store holds ${store.dims}-dimensional vectors, the embedding model answered ${dims}`);
      }
      const inserted = await c.query(
        `INSERT INTO ${this.t('files')} (id, store_id, tenant, filename, dataset_digest, classification, access, subject, chunks, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
        [f.id, f.storeId, f.tenant, f.filename, f.datasetDigest, f.classification, JSON.stringify(f.access), f.subject, chunks.length, f.createdBy, f.createdAt, f.expiresAt],
      );
      if (inserted.rowCount === 0) throw new FileIdTaken(f.id);
      const idOf = new Map<number, number>();
      for (let i = 0; i < chunks.length; i += ROWS_PER_INSERT) {
        const batch = chunks.slice(i, i + ROWS_PER_INSERT);
        const params: unknown[] = [];
        const rows = batch.map((ch) => {
          const base = params.length;
          params.push(f.storeId, f.id, f.tenant, ch.classification, ch.rank, f.datasetDigest, JSON.stringify(f.access), f.subject, ch.position, ch.sealed, JSON.stringify(ch.findings), ch.embedding.length, Array.from(ch.embedding), norm(ch.embedding), ch.expiresAt);
          return `(${CHUNK_COLUMNS.map((_, k) => `$${base + k + 1}`).join(', ')})`;
        });
        const r = await c.query<{ id: string; position: number }>(`INSERT INTO ${this.t('chunks')} (${CHUNK_COLUMNS.join(', ')}) VALUES ${rows.join(', ')} RETURNING id, position`, params);
        for (const row of r.rows) idOf.set(row.position, Number(row.id));
      }
      return chunks.map((ch) => idOf.get(ch.position)!);
    });
  }

  async nearest(q: NearestQuery): Promise<Candidate[]> {
    const qn = norm(q.embedding);
    // The same formula as the JS scan (doubles over the float32 values; 1 when either vector is all zeros).
    const r = await this.pool.query<{ id: string; distance: number }>(
      `SELECT id, CASE WHEN norm = 0 OR $2::float8 = 0 THEN 1
                  ELSE 1 - (SELECT sum(a::float8 * b) FROM unnest(embedding, $1::float8[]) AS t(a, b)) / (norm * $2::float8) END AS distance
         FROM ${this.t('chunks')}
        WHERE store_id = $3 AND tenant = $4 AND rank <= $5 AND dims = $6 AND ${this.live(7)}
        ORDER BY distance, id LIMIT $8`,
      [Array.from(q.embedding), qn, q.storeId, q.tenant, q.maxRank, q.embedding.length, q.nowMs, q.limit],
    );
    return r.rows.map((row) => ({ chunkId: Number(row.id), distance: Number(row.distance) }));
  }

  async chunks(ids: readonly number[], nowMs: number): Promise<Map<number, ChunkRecord>> {
    const out = new Map<number, ChunkRecord>();
    if (ids.length === 0) return out;
    const r = await this.pool.query(`SELECT * FROM ${this.t('chunks')} WHERE id = ANY($1::bigint[]) AND ${this.live(2)}`, [ids.map(String), nowMs]);
    for (const row of r.rows as Row[]) out.set(Number(row.id), chunkFromRow(row));
    return out;
  }

  async deleteStore(tenant: string, id: string): Promise<{ files: number; chunks: number }> {
    return inTransaction(this.pool, async (c) => {
      if ((await c.query(`SELECT 1 FROM ${this.t('stores')} WHERE id = $1 AND tenant = $2 FOR UPDATE`, [id, tenant])).rowCount === 0) return { files: 0, chunks: 0 };
      const chunks = (await c.query(`DELETE FROM ${this.t('chunks')} WHERE store_id = $1`, [id])).rowCount ?? 0;
      const files = (await c.query(`DELETE FROM ${this.t('files')} WHERE store_id = $1`, [id])).rowCount ?? 0;
      await c.query(`DELETE FROM ${this.t('stores')} WHERE id = $1`, [id]);
      return { files, chunks };
    });
  }

  async countExpired(nowMs: number): Promise<{ files: number; chunks: number }> {
    const r = await this.pool.query<{ chunks: string; files: string }>(
      `SELECT (SELECT count(*) FROM ${this.t('chunks')} WHERE expires_at <= $1) AS chunks,
              (SELECT count(*) FROM ${this.t('files')} f WHERE NOT EXISTS (SELECT 1 FROM ${this.t('chunks')} c WHERE c.file_id = f.id AND (c.expires_at IS NULL OR c.expires_at > $1))) AS files`,
      [nowMs],
    );
    return { files: Number(r.rows[0]!.files), chunks: Number(r.rows[0]!.chunks) };
  }

  async deleteExpired(nowMs: number): Promise<{ files: number; chunks: number }> {
    return inTransaction(this.pool, async (c) => {
      const touched = await c.query<{ file_id: string }>(`DELETE FROM ${this.t('chunks')} WHERE expires_at <= $1 RETURNING file_id`, [nowMs]);
      const chunks = touched.rowCount ?? 0;
      if (chunks === 0) return { files: 0, chunks: 0 };
      const fileIds = [...new Set(touched.rows.map((r) => r.file_id))];
      // A file whose every chunk expired goes with them; the others keep their count of what is left.
      const files = (await c.query(`DELETE FROM ${this.t('files')} f WHERE f.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM ${this.t('chunks')} c WHERE c.file_id = f.id)`, [fileIds])).rowCount ?? 0;
      await c.query(`UPDATE ${this.t('files')} f SET chunks = (SELECT count(*) FROM ${this.t('chunks')} c WHERE c.file_id = f.id) WHERE f.id = ANY($1::text[])`, [fileIds]);
      return { files, chunks };
    });
  }

  async countSubject(subject: string): Promise<{ files: number; chunks: number }> {
    const r = await this.pool.query<{ chunks: string; files: string }>(
      `SELECT (SELECT count(*) FROM ${this.t('chunks')} WHERE subject = $1) AS chunks, (SELECT count(*) FROM ${this.t('files')} WHERE subject = $1) AS files`,
      [subject],
    );
    return { files: Number(r.rows[0]!.files), chunks: Number(r.rows[0]!.chunks) };
  }

  async countTenant(tenant: string): Promise<{ chunks: number; uploads: number }> {
    const r = await this.pool.query<{ chunks: string; uploads: string }>(`SELECT (SELECT count(*) FROM ${this.t('chunks')} WHERE tenant = $1) AS chunks, (SELECT count(*) FROM ${this.t('uploads')} WHERE tenant = $1) AS uploads`, [tenant]);
    return { chunks: Number(r.rows[0]!.chunks), uploads: Number(r.rows[0]!.uploads) };
  }

  async putUpload(u: UploadRecord, sealed: Buffer): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t('uploads')} (id, tenant, filename, purpose, bytes, sealed, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      u.id,
      u.tenant,
      u.filename,
      u.purpose,
      u.bytes,
      sealed,
      u.createdBy,
      u.createdAt,
      u.expiresAt,
    ]);
  }

  async getUpload(id: string, nowMs: number): Promise<(UploadRecord & { sealed: Buffer }) | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t('uploads')} WHERE id = $1 AND expires_at > $2`, [id, nowMs])).rows[0] as Row | undefined;
    return r ? { ...uploadFromRow(r), sealed: r.sealed as Buffer } : null;
  }

  async listUploads(tenant: string, nowMs: number): Promise<UploadRecord[]> {
    const r = await this.pool.query(`SELECT * FROM ${this.t('uploads')} WHERE tenant = $1 AND expires_at > $2 ORDER BY created_at, id COLLATE "C"`, [tenant, nowMs]);
    return (r.rows as Row[]).map(uploadFromRow);
  }

  async deleteUpload(tenant: string, id: string): Promise<boolean> {
    return ((await this.pool.query(`DELETE FROM ${this.t('uploads')} WHERE id = $1 AND tenant = $2`, [id, tenant])).rowCount ?? 0) > 0;
  }

  async countUploadsBy(tenant: string, createdBy: string): Promise<number> {
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.t('uploads')} WHERE tenant = $1 AND created_by = $2`, [tenant, createdBy])).rows[0]!.n);
  }

  async eraseUploadsBy(tenant: string, createdBy: string): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.t('uploads')} WHERE tenant = $1 AND created_by = $2`, [tenant, createdBy])).rowCount ?? 0;
  }

  async countExpiredUploads(nowMs: number): Promise<number> {
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.t('uploads')} WHERE expires_at <= $1`, [nowMs])).rows[0]!.n);
  }

  async deleteExpiredUploads(nowMs: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.t('uploads')} WHERE expires_at <= $1`, [nowMs])).rowCount ?? 0;
  }

  async eraseSubject(subject: string): Promise<{ files: number; chunks: number }> {
    return inTransaction(this.pool, async (c) => {
      const chunks = (await c.query(`DELETE FROM ${this.t('chunks')} WHERE subject = $1`, [subject])).rowCount ?? 0;
      const files = (await c.query(`DELETE FROM ${this.t('files')} WHERE subject = $1`, [subject])).rowCount ?? 0;
      return { files, chunks };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
