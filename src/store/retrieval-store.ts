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
  /** 0 public .. 3 restricted: the rank the SQL filter compares. */
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
  /** Which nearest-neighbour index answers: the sqlite-vec extension, or an exact cosine scan. */
  readonly index: 'sqlite-vec' | 'exact-scan';
  createStore(r: VectorStoreRecord): void;
  getStore(tenant: string, id: string): VectorStoreRecord | null;
  /** Any tenant's store (admin API only). */
  getStoreAnyTenant(id: string): VectorStoreRecord | null;
  listStores(tenant: string | null): VectorStoreRecord[];
  deleteStore(tenant: string, id: string): { files: number; chunks: number };
  /** The store's files that still hold a chunk not expired at `nowMs`. */
  listFiles(tenant: string, storeId: string, nowMs: number): VectorFileRecord[];
  /** Adds a file and its chunks in one transaction; fixes the store's dims on its first file. */
  addFile(f: VectorFileRecord, chunks: NewChunk[]): number[];
  /** The `limit` nearest chunks of a store, within a tenant and at or below a classification rank. */
  nearest(q: { tenant: string; storeId: string; maxRank: number; embedding: Float32Array; limit: number; nowMs: number }): Candidate[];
  /** The chunks of `ids` that exist and have not expired at `nowMs` (an expired one is never handed out). */
  chunks(ids: readonly number[], nowMs: number): Map<number, ChunkRecord>;
  /** Chunks (and files left without one) whose class's retention has ended by `nowMs`. */
  countExpired(nowMs: number): { files: number; chunks: number };
  /** Deletes them (vectors zeroed first, as for erasure); returns what went. */
  deleteExpired(nowMs: number): { files: number; chunks: number };
  /** Everything about a data subject: its chunks and files are deleted (secure_delete), counts returned. */
  eraseSubject(subject: string): { files: number; chunks: number };
  countSubject(subject: string): { files: number; chunks: number };
  close(): void;
}

/** The AAD (and data-key context) of a chunk's sealed text: a ciphertext moved to another chunk does not open. */
export function chunkAad(storeId: string, fileId: string, position: number): string {
  return `chunk:${storeId}/${fileId}#${position}`;
}
