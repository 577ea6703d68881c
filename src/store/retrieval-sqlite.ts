// The embedded retrieval store: SQLite, with the sqlite-vec extension (shipped as a registry package) for the
// nearest-neighbour query, or an exact cosine scan when the extension cannot load here. One vec0 table per
// vector size; the store id is its partition key and tenant and classification rank are metadata columns,
// so the tenant and classification filters run inside the KNN query (pushed down, not applied afterwards).
import { createRequire } from 'node:module';
import type { SqliteDb } from './sqlite.js';
import { FileIdTaken, chunkFromRow, cosineDistance, fileFromRow, storeFromRow, uploadFromRow, type UploadRecord, type Candidate, type ChunkRecord, type NearestQuery, type NewChunk, type RetrievalStore, type VectorFileRecord, type VectorStoreRecord } from './retrieval-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS retrieval_stores (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, classification TEXT NOT NULL,
  embedding_model TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, dims INTEGER
);
CREATE INDEX IF NOT EXISTS retrieval_stores_tenant ON retrieval_stores(tenant, created_at);
CREATE TABLE IF NOT EXISTS retrieval_files (
  id TEXT PRIMARY KEY, store_id TEXT NOT NULL REFERENCES retrieval_stores(id) ON DELETE CASCADE, tenant TEXT NOT NULL,
  filename TEXT NOT NULL, dataset_digest TEXT NOT NULL, classification TEXT NOT NULL, access TEXT NOT NULL,
  subject TEXT, chunks INTEGER NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS retrieval_files_store ON retrieval_files(store_id, created_at);
CREATE INDEX IF NOT EXISTS retrieval_files_subject ON retrieval_files(subject);
CREATE TABLE IF NOT EXISTS retrieval_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, file_id TEXT NOT NULL REFERENCES retrieval_files(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL, classification TEXT NOT NULL, rank INTEGER NOT NULL, dataset_digest TEXT NOT NULL,
  access TEXT NOT NULL, subject TEXT, position INTEGER NOT NULL, sealed BLOB NOT NULL, findings TEXT NOT NULL,
  dims INTEGER NOT NULL, embedding BLOB, expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS retrieval_chunks_store ON retrieval_chunks(store_id, tenant, rank);
CREATE INDEX IF NOT EXISTS retrieval_chunks_subject ON retrieval_chunks(subject);
CREATE INDEX IF NOT EXISTS retrieval_chunks_file ON retrieval_chunks(file_id);
CREATE TABLE IF NOT EXISTS retrieval_uploads (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, filename TEXT NOT NULL, purpose TEXT NOT NULL, bytes INTEGER NOT NULL,
  sealed BLOB NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS retrieval_uploads_tenant ON retrieval_uploads(tenant, created_at);
CREATE INDEX IF NOT EXISTS retrieval_uploads_expiry ON retrieval_uploads(expires_at);
`;

type Row = Record<string, unknown>;


/** Stores from before retention by class: their rows gain an expiry column (null: kept, as they were). */
function addExpiryColumns(db: SqliteDb): void {
  for (const table of ['retrieval_files', 'retrieval_chunks']) {
    const cols = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[];
    if (!cols.includes('expires_at')) db.exec(`ALTER TABLE ${table} ADD COLUMN expires_at INTEGER`);
  }
  db.exec('CREATE INDEX IF NOT EXISTS retrieval_chunks_expiry ON retrieval_chunks(expires_at) WHERE expires_at IS NOT NULL');
}

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/** Loads sqlite-vec into `db`; the reason it could not, or null. */
export function loadSqliteVec(db: SqliteDb): string | null {
  try {
    const require = createRequire(import.meta.url);
    (require('sqlite-vec') as { load(db: SqliteDb): void }).load(db);
    db.prepare('SELECT vec_version()').get();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const f32 = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);


export class SqliteRetrievalStore implements RetrievalStore {
  readonly index: 'sqlite-vec' | 'exact-scan';
  /** Why sqlite-vec is not used (null when it is). */
  readonly fallbackReason: string | null;
  private readonly vecTables = new Set<number>();

  /** `index: 'exact-scan'` forces the scan (benchmarks, and the contract test of the fallback). */
  constructor(
    private readonly db: SqliteDb,
    opts: { index?: 'auto' | 'exact-scan' } = {},
  ) {
    db.exec(SCHEMA);
    addExpiryColumns(db);
    // Erased chunks are overwritten in the file, not just unlinked from the b-tree.
    db.pragma('secure_delete = ON');
    const failed = opts.index === 'exact-scan' ? 'exact scan requested' : loadSqliteVec(db);
    this.index = failed === null ? 'sqlite-vec' : 'exact-scan';
    this.fallbackReason = failed;
    if (this.index === 'sqlite-vec') {
      for (const r of db.prepare('SELECT DISTINCT dims FROM retrieval_chunks').all() as { dims: number }[]) this.vecTable(r.dims);
    }
  }

  private vecTable(dims: number): string {
    if (!Number.isSafeInteger(dims) || dims < 1 || dims > 8192) throw new Error(`vector size ${dims} is out of range`);
    const name = `retrieval_vec_${dims}`;
    if (!this.vecTables.has(dims)) {
      this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${name} USING vec0(store_id TEXT PARTITION KEY, tenant TEXT, rank INTEGER, embedding float[${dims}] distance_metric=cosine)`);
      this.vecTables.add(dims);
    }
    return name;
  }

  async createStore(r: VectorStoreRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO retrieval_stores (id, tenant, name, classification, embedding_model, created_by, created_at, dims) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.tenant, r.name, r.classification, r.embeddingModel, r.createdBy, r.createdAt, r.dims);
  }

  async getStore(tenant: string, id: string): Promise<VectorStoreRecord | null> {
    const r = this.db.prepare('SELECT * FROM retrieval_stores WHERE id = ? AND tenant = ?').get(id, tenant) as Row | undefined;
    return r ? storeFromRow(r) : null;
  }

  async getStoreAnyTenant(id: string): Promise<VectorStoreRecord | null> {
    const r = this.db.prepare('SELECT * FROM retrieval_stores WHERE id = ?').get(id) as Row | undefined;
    return r ? storeFromRow(r) : null;
  }

  async listStores(tenant: string | null): Promise<VectorStoreRecord[]> {
    const rows = tenant === null ? this.db.prepare('SELECT * FROM retrieval_stores ORDER BY created_at, id').all() : this.db.prepare('SELECT * FROM retrieval_stores WHERE tenant = ? ORDER BY created_at, id').all(tenant);
    return (rows as Row[]).map(storeFromRow);
  }

  async listFiles(tenant: string, storeId: string, nowMs: number): Promise<VectorFileRecord[]> {
    return (this.db.prepare(`SELECT * FROM retrieval_files WHERE store_id = ? AND tenant = ? AND ${LIVE} ORDER BY created_at, id`).all(storeId, tenant, nowMs) as Row[]).map(fileFromRow);
  }

  async addFile(f: VectorFileRecord, chunks: NewChunk[]): Promise<number[]> {
    const dims = chunks[0]?.embedding.length;
    if (dims !== undefined && chunks.some((c) => c.embedding.length !== dims)) throw new Error('the chunks of one file have different vector sizes');
    const vec = dims !== undefined && this.index === 'sqlite-vec' ? this.vecTable(dims) : null;
    const insertChunk = this.db.prepare(
      'INSERT INTO retrieval_chunks (store_id, file_id, tenant, classification, rank, dataset_digest, access, subject, position, sealed, findings, dims, embedding, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertVec = vec ? this.db.prepare(`INSERT INTO ${vec} (rowid, store_id, tenant, rank, embedding) VALUES (?, ?, ?, ?, ?)`) : null;
    return this.db.transaction(() => {
      const store = this.db.prepare('SELECT dims FROM retrieval_stores WHERE id = ? AND tenant = ?').get(f.storeId, f.tenant) as { dims: number | null } | undefined;
      if (!store) throw new Error(`no vector store ${f.storeId} in tenant ${f.tenant}`);
      if (dims !== undefined) {
        if (store.dims === null) this.db.prepare('UPDATE retrieval_stores SET dims = ? WHERE id = ?').run(dims, f.storeId);
        else if (store.dims !== dims) throw new Error(`the store holds ${store.dims}-dimensional vectors, the embedding model answered ${dims}`);
      }
      const inserted = this.db
        .prepare('INSERT INTO retrieval_files (id, store_id, tenant, filename, dataset_digest, classification, access, subject, chunks, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
        .run(f.id, f.storeId, f.tenant, f.filename, f.datasetDigest, f.classification, JSON.stringify(f.access), f.subject, chunks.length, f.createdBy, f.createdAt, f.expiresAt);
      if (inserted.changes === 0) throw new FileIdTaken(f.id);
      const ids: number[] = [];
      for (const c of chunks) {
        const r = insertChunk.run(f.storeId, f.id, f.tenant, c.classification, c.rank, f.datasetDigest, JSON.stringify(f.access), f.subject, c.position, c.sealed, JSON.stringify(c.findings), c.embedding.length, vec ? null : f32(c.embedding), c.expiresAt);
        const id = Number(r.lastInsertRowid);
        insertVec?.run(BigInt(id), f.storeId, f.tenant, BigInt(c.rank), c.embedding);
        ids.push(id);
      }
      return ids;
    })();
  }

  /** Expiry is not a vec0 column (tables made before it exist): an expired candidate is dropped by `chunks()`. */
  async nearest(q: NearestQuery): Promise<Candidate[]> {
    if (this.index === 'sqlite-vec') {
      if (!this.vecTables.has(q.embedding.length)) return [];
      const t = this.vecTable(q.embedding.length);
      // vec0 KNN with the partition key and metadata filters applied during the search (k = limit after filtering).
      const rows = this.db
        .prepare(`SELECT rowid AS id, distance FROM ${t} WHERE embedding MATCH ? AND k = ? AND store_id = ? AND tenant = ? AND rank <= ? ORDER BY distance`)
        .all(q.embedding, q.limit, q.storeId, q.tenant, q.maxRank) as { id: number; distance: number }[];
      return rows.map((r) => ({ chunkId: Number(r.id), distance: r.distance }));
    }
    const rows = this.db
      .prepare(`SELECT id, embedding FROM retrieval_chunks WHERE store_id = ? AND tenant = ? AND rank <= ? AND dims = ? AND ${LIVE}`)
      .all(q.storeId, q.tenant, q.maxRank, q.embedding.length, q.nowMs) as { id: number; embedding: Buffer }[];
    const scored = rows.map((r) => ({
      chunkId: r.id,
      distance: cosineDistance(q.embedding, new Float32Array(r.embedding.buffer, r.embedding.byteOffset, r.embedding.byteLength / 4)),
    }));
    scored.sort((a, b) => a.distance - b.distance || a.chunkId - b.chunkId);
    return scored.slice(0, q.limit);
  }

  async chunks(ids: readonly number[], nowMs: number): Promise<Map<number, ChunkRecord>> {
    const out = new Map<number, ChunkRecord>();
    if (ids.length === 0) return out;
    const get = this.db.prepare(`SELECT * FROM retrieval_chunks WHERE id = ? AND ${LIVE}`);
    for (const id of ids) {
      const r = get.get(id, nowMs) as Row | undefined;
      if (r) out.set(id, chunkFromRow(r));
    }
    return out;
  }

  /** Removes chunks from the vector tables first, their vectors overwritten with zeros (vec0 keeps deleted slots). */
  private dropVectors(where: string, arg: string | number): number {
    const rows = this.db.prepare(`SELECT id, dims FROM retrieval_chunks WHERE ${where}`).all(arg) as { id: number; dims: number }[];
    if (this.index === 'sqlite-vec') {
      for (const r of rows) {
        if (!this.vecTables.has(r.dims)) continue;
        const t = this.vecTable(r.dims);
        this.db.prepare(`UPDATE ${t} SET embedding = ? WHERE rowid = ?`).run(new Float32Array(r.dims), BigInt(r.id));
        this.db.prepare(`DELETE FROM ${t} WHERE rowid = ?`).run(BigInt(r.id));
      }
    }
    return rows.length;
  }

  async deleteStore(tenant: string, id: string): Promise<{ files: number; chunks: number }> {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM retrieval_stores WHERE id = ? AND tenant = ?').get(id, tenant)) return { files: 0, chunks: 0 };
      const chunks = this.dropVectors('store_id = ?', id);
      const files = this.db.prepare('DELETE FROM retrieval_files WHERE store_id = ?').run(id).changes;
      this.db.prepare('DELETE FROM retrieval_chunks WHERE store_id = ?').run(id);
      this.db.prepare('DELETE FROM retrieval_stores WHERE id = ?').run(id);
      return { files, chunks };
    })();
  }

  async countExpired(nowMs: number): Promise<{ files: number; chunks: number }> {
    const chunks = (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_chunks WHERE expires_at <= ?').get(nowMs) as { n: number }).n;
    const files = (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_files f WHERE NOT EXISTS (SELECT 1 FROM retrieval_chunks c WHERE c.file_id = f.id AND (c.expires_at IS NULL OR c.expires_at > ?))').get(nowMs) as { n: number }).n;
    return { files, chunks };
  }

  async deleteExpired(nowMs: number): Promise<{ files: number; chunks: number }> {
    return this.purgeChunks('expires_at <= ?', nowMs, () => {
      // A file whose every chunk expired goes with them; the others keep their count of what is left.
      const files = this.db.prepare('DELETE FROM retrieval_files WHERE NOT EXISTS (SELECT 1 FROM retrieval_chunks c WHERE c.file_id = retrieval_files.id)').run().changes;
      this.db.prepare('UPDATE retrieval_files SET chunks = (SELECT COUNT(*) FROM retrieval_chunks c WHERE c.file_id = retrieval_files.id)').run();
      return files;
    });
  }

  /**
   * Deletes the chunks `where` selects (vectors zeroed first), then what `deleteFiles` removes, in one transaction;
   * the deleted pages are overwritten (secure_delete) and the WAL that still holds them is folded in and cut.
   */
  private purgeChunks(where: string, arg: string | number, deleteFiles: () => number): { files: number; chunks: number } {
    const done = this.db.transaction(() => {
      const chunks = this.dropVectors(where, arg);
      this.db.prepare(`DELETE FROM retrieval_chunks WHERE ${where}`).run(arg);
      return { files: deleteFiles(), chunks };
    })();
    if (done.chunks > 0 || done.files > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return done;
  }

  /** How many chunks (sealed under the tenant's data keys) a tenant holds here. */
  async countTenant(tenant: string): Promise<{ chunks: number; uploads: number }> {
    const n = (sql: string) => (this.db.prepare(sql).get(tenant) as { n: number }).n;
    return { chunks: n('SELECT COUNT(*) AS n FROM retrieval_chunks WHERE tenant = ?'), uploads: n('SELECT COUNT(*) AS n FROM retrieval_uploads WHERE tenant = ?') };
  }

  async putUpload(u: UploadRecord, sealed: Buffer): Promise<void> {
    this.db
      .prepare('INSERT INTO retrieval_uploads (id, tenant, filename, purpose, bytes, sealed, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(u.id, u.tenant, u.filename, u.purpose, u.bytes, sealed, u.createdBy, u.createdAt, u.expiresAt);
  }

  async getUpload(id: string, nowMs: number): Promise<(UploadRecord & { sealed: Buffer }) | null> {
    const r = this.db.prepare('SELECT * FROM retrieval_uploads WHERE id = ? AND expires_at > ?').get(id, nowMs) as Row | undefined;
    return r ? { ...uploadFromRow(r), sealed: r.sealed as Buffer } : null;
  }

  async listUploads(tenant: string, nowMs: number): Promise<UploadRecord[]> {
    return (this.db.prepare('SELECT * FROM retrieval_uploads WHERE tenant = ? AND expires_at > ? ORDER BY created_at, id').all(tenant, nowMs) as Row[]).map(uploadFromRow);
  }

  async deleteUpload(tenant: string, id: string): Promise<boolean> {
    const gone = this.db.prepare('DELETE FROM retrieval_uploads WHERE id = ? AND tenant = ?').run(id, tenant).changes > 0;
    if (gone) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return gone;
  }

  async countUploadsBy(tenant: string, createdBy: string): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_uploads WHERE tenant = ? AND created_by = ?').get(tenant, createdBy) as { n: number }).n;
  }

  async eraseUploadsBy(tenant: string, createdBy: string): Promise<number> {
    const n = this.db.prepare('DELETE FROM retrieval_uploads WHERE tenant = ? AND created_by = ?').run(tenant, createdBy).changes;
    // secure_delete overwrote the pages; the WAL that still holds them is folded in and cut.
    if (n > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  async countExpiredUploads(nowMs: number): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_uploads WHERE expires_at <= ?').get(nowMs) as { n: number }).n;
  }

  async deleteExpiredUploads(nowMs: number): Promise<number> {
    const n = this.db.prepare('DELETE FROM retrieval_uploads WHERE expires_at <= ?').run(nowMs).changes;
    if (n > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  /** Every store, file, chunk and upload of a tenant (a backup's copy of a withdrawn tenant: src/data/backup/withdrawn.ts). */
  deleteTenant(tenant: string): { stores: number; files: number; chunks: number; uploads: number } {
    const done = this.purgeChunks('tenant = ?', tenant, () => this.db.prepare('DELETE FROM retrieval_files WHERE tenant = ?').run(tenant).changes);
    const stores = this.db.prepare('DELETE FROM retrieval_stores WHERE tenant = ?').run(tenant).changes;
    const uploads = this.db.prepare('DELETE FROM retrieval_uploads WHERE tenant = ?').run(tenant).changes;
    return { stores, ...done, uploads };
  }

  async countSubject(subject: string): Promise<{ files: number; chunks: number }> {
    const files = (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_files WHERE subject = ?').get(subject) as { n: number }).n;
    const chunks = (this.db.prepare('SELECT COUNT(*) AS n FROM retrieval_chunks WHERE subject = ?').get(subject) as { n: number }).n;
    return { files, chunks };
  }

  async eraseSubject(subject: string): Promise<{ files: number; chunks: number }> {
    return this.purgeChunks('subject = ?', subject, () => this.db.prepare('DELETE FROM retrieval_files WHERE subject = ?').run(subject).changes);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
