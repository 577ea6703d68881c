// The embedded ledger store with its writes off the event loop: each batch transaction and its fsync run
// on a worker thread (ledger-sqlite-writer.ts), while reads (resume, proofs, tiles) use a second
// connection on the calling thread, made read-only with PRAGMA query_only. WAL gives that reader a
// consistent snapshot; the ledger only reads sizes its last acknowledged batch covers, which are committed.
// If the writer thread fails or exits, every pending and later batch is refused (fail closed).
import { Worker } from 'node:worker_threads';
import type { SqliteDb } from './sqlite.js';
import { openSqlite } from './sqlite.js';
import { SqliteLedgerStore } from './ledger-sqlite.js';
import type { KeyObject } from 'node:crypto';
import { LedgerStoreConflict, type LedgerBatch, type LedgerNodeId, type LedgerState, type LedgerStore, type UnsignedLedgerBatch } from './ledger-store.js';
import { packBatch, transferList } from './ledger-sqlite-batch.js';
import type { WriterInit, WriterReply, WriterRequest } from './ledger-sqlite-writer.js';

/** The writer thread could not start, died, or the store was closed: nothing more can be made durable. */
export class LedgerWriterUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerWriterUnavailable';
  }
}

const WRITER_URL = new URL('./ledger-sqlite-writer.js', import.meta.url);

interface Waiter {
  resolve: (note?: string) => void;
  reject: (e: Error) => void;
}

function rebuild(error: { name: string; message: string }): Error {
  // The store's own refusal keeps its type so callers can tell a second writer from a disk failure.
  if (error.name === 'LedgerStoreConflict') return new LedgerStoreConflict(error.message);
  const e = new Error(`ledger writer thread: ${error.message}`);
  e.name = error.name;
  return e;
}

export class ThreadedSqliteLedgerStore implements LedgerStore {
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private broken: LedgerWriterUnavailable | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly reader: SqliteLedgerStore,
    private readonly readerDb: SqliteDb,
  ) {
    worker.on('message', (m: WriterReply) => {
      if (!('id' in m)) return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.note);
      else w.reject(rebuild(m.error));
    });
    worker.on('error', (e) => this.fail(`the ledger writer thread failed: ${e.message}`));
    worker.on('exit', (code) => this.fail(`the ledger writer thread exited (code ${code})`));
  }

  /**
   * Starts the writer thread on `file` (it creates the schema and checks synchronous=FULL), then opens the
   * read connection. Rejects if the writer cannot open the database.
   */
  static async open(file: string): Promise<ThreadedSqliteLedgerStore> {
    const worker = new Worker(WRITER_URL, { workerData: { file } satisfies WriterInit });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WriterReply) => {
        if (!('op' in m)) return;
        cleanup();
        if (m.op === 'ready') resolve();
        else reject(rebuild(m.error));
      };
      const onError = (e: Error) => {
        cleanup();
        reject(new LedgerWriterUnavailable(`the ledger writer thread failed to start: ${e.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new LedgerWriterUnavailable(`the ledger writer thread exited during start (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    let db: SqliteDb;
    let reader: SqliteLedgerStore;
    try {
      db = openSqlite(file);
      reader = new SqliteLedgerStore(db); // the schema exists already, so its CREATE IF NOT EXISTS writes nothing
      db.pragma('query_only = ON'); // this connection never writes: the writer thread is the only writer
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return new ThreadedSqliteLedgerStore(worker, reader, db);
  }

  private fail(message: string): void {
    if (this.broken) return;
    this.broken = new LedgerWriterUnavailable(message);
    for (const w of this.waiting.values()) w.reject(this.broken);
    this.waiting.clear();
  }

  private request(msg: Exclude<WriterRequest, { op: 'signers' }>, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<string | undefined>((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  load(): Promise<LedgerState> {
    return this.reader.load();
  }

  /** Resolves once the writer thread's COMMIT (WAL fsync, synchronous=FULL) of this batch returned. */
  async appendBatch(batch: LedgerBatch): Promise<void> {
    const packed = packBatch(batch);
    await this.request({ op: 'append', id: this.nextId++, batch: packed }, transferList(packed));
  }

  useCheckpointSigners(name: string, keys: readonly KeyObject[]): void {
    if (this.broken) return;
    // KeyObjects are cloneable across threads (node:crypto); the writer builds its signers from them.
    this.worker.postMessage({ op: 'signers', name, keys: [...keys] } satisfies WriterRequest);
  }

  /** The writer signs the checkpoint (keys from useCheckpointSigners), commits, and answers with the note. */
  async appendUnsigned(batch: UnsignedLedgerBatch): Promise<string> {
    const packed = packBatch(batch);
    const note = await this.request({ op: 'appendUnsigned', id: this.nextId++, batch: packed }, transferList(packed));
    if (typeof note !== 'string') throw new LedgerWriterUnavailable('the ledger writer thread committed a batch without answering its signed checkpoint');
    return note;
  }

  readNodes(ids: readonly LedgerNodeId[]): Promise<Buffer[]> {
    return this.reader.readNodes(ids);
  }

  readEntries(from: number, count: number): Promise<Buffer[]> {
    return this.reader.readEntries(from, count);
  }

  /** Closes the writer's connection (after any batch it is writing), stops the thread, closes the reader. */
  async close(): Promise<void> {
    try {
      if (!this.broken) await this.request({ op: 'close', id: this.nextId++ });
    } finally {
      this.fail('the ledger store is closed');
      await this.worker.terminate();
      this.readerDb.close();
    }
  }
}
