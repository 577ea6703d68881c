// The ledger's writer thread: owns the only write connection to the ledger database and runs each batch
// transaction (and the COMMIT's fsync) here, so the gateway's event loop keeps serving while the disk syncs.
// Batches are handled strictly one at a time in arrival order; the main thread sends the next only after
// this one is acknowledged, so the store's firstIndex check still sees every batch in sequence.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from './sqlite.js';
import { SqliteLedgerStore } from './ledger-sqlite.js';
import { unpackBatch, type PackedBatch } from './ledger-sqlite-batch.js';

export interface WriterInit {
  file: string;
}

export type WriterRequest = { op: 'append'; id: number; batch: PackedBatch } | { op: 'close'; id: number };

export type WriterReply =
  | { op: 'ready' }
  | { op: 'init_failed'; error: { name: string; message: string } }
  | { id: number; ok: true }
  | { id: number; ok: false; error: { name: string; message: string } };

function describe(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

const port = parentPort;
if (!port) throw new Error('ledger-sqlite-writer runs only as a worker thread');
const { file } = workerData as WriterInit;

let store: SqliteLedgerStore;
try {
  // openSqlite sets WAL and synchronous=FULL; SqliteLedgerStore refuses anything weaker and creates the schema.
  store = new SqliteLedgerStore(openSqlite(file));
} catch (e) {
  port.postMessage({ op: 'init_failed', error: describe(e) } satisfies WriterReply);
  process.exit(1);
}
port.postMessage({ op: 'ready' } satisfies WriterReply);

port.on('message', (msg: WriterRequest) => {
  if (msg.op === 'close') {
    void store.close().then(() => {
      port.postMessage({ id: msg.id, ok: true } satisfies WriterReply);
      port.close();
    });
    return;
  }
  // A batch that fails to unpack is refused like any failed transaction, not left to crash the thread.
  Promise.resolve(msg.batch).then((b) => store.appendBatch(unpackBatch(b))).then(
    () => port.postMessage({ id: msg.id, ok: true } satisfies WriterReply),
    (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: describe(e) } satisfies WriterReply),
  );
});
