// The ledger's writer thread: owns the only write connection to the ledger database and runs each batch
// transaction (and the COMMIT's fsync) here, so the gateway's event loop keeps serving while the disk syncs.
// Batches are handled strictly one at a time in arrival order; the main thread sends the next only after
// this one is acknowledged, so the store's firstIndex check still sees every batch in sequence.
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { ledgerKeyFromPrivate } from '../ledger/key.js';
import { signNote, type NoteSigner } from '../ledger/note.js';
import { openSqlite } from './sqlite.js';
import { SqliteLedgerStore } from './ledger-sqlite.js';
import { unpackBatch, type PackedBatch } from './ledger-sqlite-batch.js';

export interface WriterInit {
  file: string;
}

export type WriterRequest =
  | { op: 'append'; id: number; batch: PackedBatch }
  | { op: 'appendUnsigned'; id: number; batch: PackedBatch<{ size: number; body: string }> }
  | { op: 'signers'; name: string; keys: KeyObject[] }
  | { op: 'close'; id: number };

export type WriterReply =
  | { op: 'ready' }
  | { op: 'init_failed'; error: { name: string; message: string } }
  | { id: number; ok: true; note?: string }
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

// Checkpoint signing moved off the event loop (one Ed25519 signature per batch per key): the keys arrive before
// the first unsigned batch and again on a key rotation; messages are handled in order, so a batch is signed by
// the keys sent before it.
let signers: NoteSigner[] = [];

function signAndAppend(p: PackedBatch<{ size: number; body: string }>): Promise<string> {
  if (signers.length === 0) return Promise.reject(new Error('no checkpoint signing key was given to the writer thread'));
  const b = unpackBatch(p);
  const note = signNote(b.checkpoint.body, signers);
  return store.appendBatch({ ...b, checkpoint: { size: b.checkpoint.size, note } }).then(() => note);
}

port.on('message', (msg: WriterRequest) => {
  if (msg.op === 'signers') {
    signers = msg.keys.map((k) => ledgerKeyFromPrivate(k, msg.name).signer);
    return;
  }
  if (msg.op === 'appendUnsigned') {
    Promise.resolve(msg.batch).then(signAndAppend).then(
      (note) => port.postMessage({ id: msg.id, ok: true, note } satisfies WriterReply),
      (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: describe(e) } satisfies WriterReply),
    );
    return;
  }
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
