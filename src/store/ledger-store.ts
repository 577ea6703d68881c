// The ledger's storage contract. SQLite (embedded) and PostgreSQL (cluster) implement it; the ledger
// never sees SQL. A batch is one durable transaction: entries, new tree nodes and the checkpoint.
// A store one process owns (SQLite) takes batches the ledger built on its own frontier (appendBatch: no
// extra round trip). A store several replicas append to (PostgreSQL) serializes them instead: beginAppend
// holds the log's write lock and tells the ledger what is committed, and the ledger builds its batch on that.
import type { KeyObject } from 'node:crypto';

export interface LedgerNodeId {
  level: number;
  index: number;
}

export interface LedgerNodeRow extends LedgerNodeId {
  hash: Buffer;
}

export interface LedgerBatch {
  /** Index of the first entry; must equal the committed size (a second writer is refused). */
  firstIndex: number;
  entries: Buffer[];
  /** Every complete subtree the batch completes, level 0 (leaf hashes) included. */
  nodes: LedgerNodeRow[];
  /** The signed checkpoint (C2SP note) of the tree after this batch. */
  checkpoint: { size: number; note: string };
}

export interface LedgerState {
  size: number;
  /** Latest signed checkpoint note, null for a fresh store. */
  checkpoint: string | null;
}

/** One append under the store's write lock: nobody else appends until commit or abort. */
export interface LedgerAppend {
  /** What is committed now, read under the lock (other replicas may have appended since this one did). */
  readonly state: LedgerState;
  /** Writes the batch and releases the lock; resolves only when durable. firstIndex must equal state.size. */
  commit(batch: LedgerBatch): Promise<void>;
  /** Releases the lock, writing nothing. Never throws. */
  abort(): Promise<void>;
}

/** A batch whose checkpoint the store signs where it writes it (`body`: the C2SP checkpoint text). */
export interface UnsignedLedgerBatch extends Omit<LedgerBatch, 'checkpoint'> {
  checkpoint: { size: number; body: string };
}

export interface LedgerStore {
  load(): Promise<LedgerState>;
  /** Resolves only when the batch is durable (fsync / COMMIT). Rejects without partial effects. */
  appendBatch(batch: LedgerBatch): Promise<void>;
  /**
   * Present on a store that signs checkpoints off the event loop (the SQLite writer thread): the keys (Ed25519
   * private KeyObjects, first the current key, then co-signers) that sign every later unsigned batch.
   */
  useCheckpointSigners?(name: string, keys: readonly KeyObject[]): void;
  /** With useCheckpointSigners: signs the checkpoint, writes the batch, resolves with the signed note once durable. */
  appendUnsigned?(batch: UnsignedLedgerBatch): Promise<string>;
  /** Present on stores that several writers share; the ledger then appends only through it. */
  beginAppend?(): Promise<LedgerAppend>;
  /** One hash per id, in order; throws if any is missing. */
  readNodes(ids: readonly LedgerNodeId[]): Promise<Buffer[]>;
  /** Stored entries with from <= index < from + count, in index order (fewer if rows are missing). */
  readEntries(from: number, count: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

/** The store holds a different tree than the ledger expects (second writer, or tampering). */
export class LedgerStoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerStoreConflict';
  }
}
