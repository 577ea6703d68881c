// The retrieval plane's storage contract (src/data/retrieval): vector stores, their files and chunks, and a
// nearest-neighbour query that is always scoped by tenant and store and capped by classification rank. The
// caller never sees SQL; what a backend returns is only *candidates*: every one is still decided by the PDP.
export interface VectorStoreRecord {
  id: string;
  tenant: string;
  name: string;
  /** Default class of what is added (a chunk is never classed below what the inspector finds in it). */
  classification: string;
  /** The embedding model every chunk and query of this store goes through (Warden's /v1/embeddings). */
  embeddingModel: string;
  createdBy: string;
  createdAt: number;
  /** Vector dimensions, fixed by the first file added (null: empty store). */
  dims: number | null;
}

export interface VectorFileRecord {
  id: string;
  storeId: string;
  tenant: string;
  filename: string;
  /** sha256 of the file content as received, or the dataset digest it was declared to come from. */
  datasetDigest: string;
  classification: string;
  access: string[];
  subject: string | null;
  chunks: number;
  createdBy: string;
  createdAt: number;
  /** When its last chunk expires (epoch ms), null when one is kept indefinitely. */
  expiresAt: number | null;
}

export interface ChunkRecord {
  id: number;
  storeId: string;
  fileId: string;
  tenant: string;
  classification: string;
  /** The level's rank in the configured classification levels (0 = lowest; by default 0 public .. 3 restricted): the rank the SQL filter compares. */
  rank: number;
  datasetDigest: string;
  access: string[];
  subject: string | null;
  position: number;
  /** The chunk text sealed with the envelope module (sealBlob), AAD naming the chunk (chunkAad). */
  sealed: Buffer;
  /** The inspector's findings of the chunk text at ingest (injection score, signals, finding types). */
  findings: { injectionScore: number; injectionSignals: string[]; types: string[] };
  /** When its class's retention ends (epoch ms; placement.classes.<class>.retention), null: kept indefinitely. */
  expiresAt: number | null;
}

/**
 * A file uploaded through /v1/files (OpenAI's Files API) to be added to a vector store by `file_id`: its content is
 * sealed under the tenant's KEK (AAD `uploadAad(id)`), and it expires (`retrieval.uploadTtl`, or the caller's
 * shorter `expires_after`): an upload nobody attaches does not stay.
 */
export interface UploadRecord {
  id: string;
  tenant: string;
  filename: string;
  purpose: string;
  bytes: number;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
}

export interface NewChunk {
  embedding: Float32Array;
  position: number;
  /** Sealed before the insert: its AAD names store, file and position (chunkAad), which never change. */
  sealed: Buffer;
  findings: ChunkRecord['findings'];
  classification: string;
  rank: number;
  expiresAt: number | null;
}

export interface Candidate {
  chunkId: number;
  /** Cosine distance (0 = same direction). */
  distance: number;
}

export interface RetrievalStore {
  /**
   * Which nearest-neighbour query answers: the sqlite-vec extension, an exact cosine scan in JS (SQLite without the
   * extension), or an exact cosine scan computed inside PostgreSQL (only the `limit` nearest rows leave the server).
   */
  readonly index: 'sqlite-vec' | 'exact-scan' | 'postgres-exact';
  createStore(r: VectorStoreRecord): Promise<void>;
  getStore(tenant: string, id: string): Promise<VectorStoreRecord | null>;
  /** Any tenant's store (admin API only). */
  getStoreAnyTenant(id: string): Promise<VectorStoreRecord | null>;
  listStores(tenant: string | null): Promise<VectorStoreRecord[]>;
  deleteStore(tenant: string, id: string): Promise<{ files: number; chunks: number }>;
  /** The store's files that still hold a chunk not expired at `nowMs`. */
  listFiles(tenant: string, storeId: string, nowMs: number): Promise<VectorFileRecord[]>;
  /** Adds a file and its chunks in one transaction; fixes the store's dims on its first file. */
  addFile(f: VectorFileRecord, chunks: NewChunk[]): Promise<number[]>;
  /** The `limit` nearest chunks of a store, within a tenant and at or below a classification rank. */
  nearest(q: NearestQuery): Promise<Candidate[]>;
  /** The chunks of `ids` that exist and have not expired at `nowMs` (an expired one is never handed out). */
  chunks(ids: readonly number[], nowMs: number): Promise<Map<number, ChunkRecord>>;
  /** Chunks (and files left without one) whose class's retention has ended by `nowMs`. */
  countExpired(nowMs: number): Promise<{ files: number; chunks: number }>;
  /** Deletes them (vectors zeroed first, as for erasure); returns what went. */
  deleteExpired(nowMs: number): Promise<{ files: number; chunks: number }>;
  /** Everything about a data subject: its chunks and files are deleted (secure_delete), counts returned. */
  eraseSubject(subject: string): Promise<{ files: number; chunks: number }>;
  countSubject(subject: string): Promise<{ files: number; chunks: number }>;
  /** How many chunks and uploads (sealed under the tenant's data keys) a tenant holds (before its KEK record is forgotten). */
  countTenant(tenant: string): Promise<{ chunks: number; uploads: number }>;
  putUpload(u: UploadRecord, sealed: Buffer): Promise<void>;
  /** An upload of any tenant (the caller decides who may see it) with its sealed content; null when missing or expired at `nowMs`. */
  getUpload(id: string, nowMs: number): Promise<(UploadRecord & { sealed: Buffer }) | null>;
  /** A tenant's uploads not expired at `nowMs`, oldest first. */
  listUploads(tenant: string, nowMs: number): Promise<UploadRecord[]>;
  /** Deletes a tenant's upload; false when it has none of that id. */
  deleteUpload(tenant: string, id: string): Promise<boolean>;
  /** How many uploads a principal of `tenant` made (expired or not: erasure counts what is still on disk). */
  countUploadsBy(tenant: string, createdBy: string): Promise<number>;
  /** Erasure of a principal: deletes every upload it made in its tenant (secure_delete), returns how many. */
  eraseUploadsBy(tenant: string, createdBy: string): Promise<number>;
  countExpiredUploads(nowMs: number): Promise<number>;
  deleteExpiredUploads(nowMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface NearestQuery {
  tenant: string;
  storeId: string;
  maxRank: number;
  embedding: Float32Array;
  limit: number;
  nowMs: number;
}

/** Cosine distance (0 = same direction, 1 when either vector is all zeros), in doubles over the float32 values. */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const d = Math.sqrt(na) * Math.sqrt(nb);
  return d === 0 ? 1 : 1 - dot / d;
}

/** A file id already in a store (an upload's id goes into one store only): both backends throw it from addFile. */
export class FileIdTaken extends Error {
  constructor(readonly fileId: string) {
    super(`file ${fileId} is already in a vector store`);
    this.name = 'FileIdTaken';
  }
}

/** The AAD of an upload's sealed content: a ciphertext moved to another upload does not open. */
export function uploadAad(id: string): string {
  return `upload:${id}`;
}

export const uploadFromRow = (r: Record<string, unknown>): UploadRecord => ({
  id: r.id as string,
  tenant: r.tenant as string,
  filename: r.filename as string,
  purpose: r.purpose as string,
  bytes: Number(r.bytes),
  createdBy: r.created_by as string,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

/** The AAD (and data-key context) of a chunk's sealed text: a ciphertext moved to another chunk does not open. */
export function chunkAad(storeId: string, fileId: string, position: number): string {
  return `chunk:${storeId}/${fileId}#${position}`;
}

/** A row of either backend: SQLite gives JSON columns as text and integers as numbers, PostgreSQL jsonb as values and bigints as strings. */
type Row = Record<string, unknown>;
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const storeFromRow = (r: Row): VectorStoreRecord => ({
  id: r.id as string,
  tenant: r.tenant as string,
  name: r.name as string,
  classification: r.classification as string,
  embeddingModel: r.embedding_model as string,
  createdBy: r.created_by as string,
  createdAt: Number(r.created_at),
  dims: numOrNull(r.dims),
});

export const fileFromRow = (r: Row): VectorFileRecord => ({
  id: r.id as string,
  storeId: r.store_id as string,
  tenant: r.tenant as string,
  filename: r.filename as string,
  datasetDigest: r.dataset_digest as string,
  classification: r.classification as string,
  access: json<string[]>(r.access),
  subject: (r.subject as string | null) ?? null,
  chunks: Number(r.chunks),
  createdBy: r.created_by as string,
  createdAt: Number(r.created_at),
  expiresAt: numOrNull(r.expires_at),
});

export const chunkFromRow = (r: Row): ChunkRecord => ({
  id: Number(r.id),
  storeId: r.store_id as string,
  fileId: r.file_id as string,
  tenant: r.tenant as string,
  classification: r.classification as string,
  rank: Number(r.rank),
  datasetDigest: r.dataset_digest as string,
  access: json<string[]>(r.access),
  subject: (r.subject as string | null) ?? null,
  position: Number(r.position),
  sealed: r.sealed as Buffer,
  findings: json<ChunkRecord['findings']>(r.findings),
  expiresAt: numOrNull(r.expires_at),
});
