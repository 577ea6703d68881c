// The ledger with its SQLite writes on a worker thread: same tree, same durability promise (an append
// resolves only once another connection can read it), same refusals, and resume with either store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteLedgerStore } from '../../src/store/ledger-sqlite.js';
import { LedgerWriterUnavailable, ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { LedgerStoreConflict } from '../../src/store/ledger-store.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerKeyFromSigner, loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { leafHash } from '../../src/ledger/hash.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { inferenceEvent } from './events.js';
import { ORIGIN, tmpDir } from './helpers.js';

const b = (s: string) => Buffer.from(s, 'base64');

async function openThreaded(dir: string): Promise<Ledger> {
  return Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db')), key: loadOrCreateLedgerKey(dir, ORIGIN) });
}

test('threaded store: group-committed appends are durable when they resolve, provable, and resume with either store', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openThreaded(dir);
  // An independent connection, as a crash-restarted process would see the file.
  const observer = new Database(join(dir, 'warden.db'), { readonly: true });
  t.after(() => observer.close());
  const stored = observer.prepare('SELECT count(*) FROM ledger_entries WHERE idx = ?').pluck();
  const results = await Promise.all(
    Array.from({ length: 500 }, async (_, i) => {
      const r = await ledger.append(inferenceEvent(i));
      // Resolved means committed: the row is already visible outside the writer thread.
      assert.equal(stored.get(r.index), 1, `entry ${r.index} resolved before it was committed`);
      return r;
    }),
  );
  assert.deepEqual(results.map((r) => r.index), Array.from({ length: 500 }, (_, i) => i));
  assert.ok(new Set(results.map((r) => r.checkpoint.size)).size < 50, 'group commit should need few batches');
  const cp = ledger.latestCheckpoint();
  for (const r of results.filter((_, i) => i % 41 === 0)) {
    assert.equal(r.leafHash, leafHash(Buffer.from(canonicalJson(inferenceEvent(r.index)))).toString('base64'));
    const p = await ledger.inclusionProof(r.index, cp.size);
    verifyInclusion(r.index, cp.size, b(r.leafHash), p.hashes.map(b), cp.rootHash);
  }
  await ledger.close();

  // The synchronous store reads the same tree (Ledger.open re-hashes it against the signed checkpoint).
  const sync = await Ledger.open({ store: new SqliteLedgerStore(openSqlite(join(dir, 'warden.db'))), key: loadOrCreateLedgerKey(dir, ORIGIN) });
  assert.equal(sync.latestCheckpoint().note, cp.note);
  await sync.append(inferenceEvent(500));
  const next = sync.latestCheckpoint();
  await sync.close();
  const again = await openThreaded(dir);
  assert.equal(again.latestCheckpoint().note, next.note);
  const r = await again.append(inferenceEvent(501));
  assert.equal(r.index, 501);
  const c = await again.consistencyProof(cp.size, r.checkpoint.size);
  assert.equal(c.oldRootHash, cp.rootHash.toString('base64'));
  await again.close();
});

test('threaded store: close() commits every accepted append first, then refuses new batches', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db'));
  const ledger = await Ledger.open({ store, key: loadOrCreateLedgerKey(dir, ORIGIN) });
  const pending = Array.from({ length: 64 }, (_, i) => ledger.append(inferenceEvent(i)));
  await ledger.close();
  assert.equal((await Promise.all(pending)).length, 64);
  await assert.rejects(ledger.append(inferenceEvent(64)), { name: 'LedgerUnavailable' });
  await assert.rejects(store.appendBatch({ firstIndex: 64, entries: [], nodes: [], checkpoint: { size: 64, note: 'x' } }), LedgerWriterUnavailable);
  const reopened = await openThreaded(dir);
  assert.equal(reopened.size, 64);
  await reopened.close();
});

test('threaded store: a second writer on the same file is refused and its ledger does not advance', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await openThreaded(dir);
  const b2 = await openThreaded(dir); // both resumed at size 0
  await a.append(inferenceEvent(0));
  await assert.rejects(b2.append(inferenceEvent(1)), (e: Error) => e.name === 'LedgerUnavailable' && /another writer appended/.test(e.message));
  assert.equal(b2.size, 0);
  // The store-level refusal keeps its type across the thread boundary.
  const store = await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db'));
  await assert.rejects(store.appendBatch({ firstIndex: 0, entries: [Buffer.from('{}')], nodes: [], checkpoint: { size: 1, note: 'x' } }), LedgerStoreConflict);
  await Promise.all([a.close(), b2.close(), store.close()]);
});

test('threaded store: a failing transaction rejects the append (fail closed) and nothing partial is kept', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openThreaded(dir);
  await ledger.append(inferenceEvent(0));
  const before = ledger.latestCheckpoint();
  // Break the schema under the writer from outside: its INSERT into the nodes table now fails.
  const db = openSqlite(join(dir, 'warden.db'));
  db.exec('ALTER TABLE ledger_nodes RENAME TO ledger_nodes_moved');
  await assert.rejects(ledger.append(inferenceEvent(1)), (e: Error) => e.name === 'LedgerUnavailable' && /ledger_nodes/.test(e.message));
  assert.equal(ledger.latestCheckpoint().note, before.note);
  assert.equal(db.prepare('SELECT count(*) FROM ledger_entries').pluck().get(), 1, 'the failed batch left entry rows behind');
  db.exec('ALTER TABLE ledger_nodes_moved RENAME TO ledger_nodes');
  db.close();
  // The same ledger carries on from its last committed state.
  assert.equal((await ledger.append(inferenceEvent(2))).index, 1);
  await ledger.close();
});

test('threaded store: a database the writer cannot open is refused at start', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const notAFile = join(dir, 'is-a-directory.db');
  mkdirSync(notAFile);
  await assert.rejects(ThreadedSqliteLedgerStore.open(notAFile), /unable to open database file|directory/i);
});

test('threaded store: the writer thread signs checkpoints with a key in memory; a key that signs elsewhere (a token) signs here; no key refuses', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fileKey = loadOrCreateLedgerKey(dir, ORIGIN);
  const store = await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db'));
  let mainThreadSignatures = 0;
  // The same key without its private half in memory, as a PKCS#11 token presents it: the ledger signs on this thread.
  const tokenLike = ledgerKeyFromSigner(fileKey.publicKey, (m) => {
    mainThreadSignatures++;
    return fileKey.signer.sign(m);
  }, ORIGIN);
  const onToken = await Ledger.open({ store, key: tokenLike });
  await onToken.append(inferenceEvent(0));
  assert.ok(mainThreadSignatures >= 2, 'empty checkpoint and the batch signed by the token-like signer');
  await onToken.close();

  let fileSigns = 0;
  const counted = { ...fileKey, signer: { ...fileKey.signer, sign: (m: Buffer) => (fileSigns++, fileKey.signer.sign(m)) } };
  const ledger = await Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db')), key: counted });
  const r = await Promise.all([1, 2, 3].map((i) => ledger.append(inferenceEvent(i))));
  assert.equal(fileSigns, 0, 'with the private key in memory, no checkpoint is signed on the event loop');
  assert.equal(openCheckpoint(r[2]!.checkpoint.note, fileKey.verifier).size, 4, 'the writer-signed checkpoint verifies');
  await ledger.close();
  // What the writer signed and stored is what a restart opens.
  const reopened = await openThreaded(dir);
  assert.equal(reopened.size, 4);
  await reopened.close();

  // A writer that was never given a key refuses unsigned batches (fail closed), and the ledger does not advance.
  const bare = await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db'));
  const packed = { firstIndex: 4, entries: [Buffer.from('{}')], nodes: [], checkpoint: { size: 5, body: 'x\n5\nAAAA\n' } };
  await assert.rejects(bare.appendUnsigned(packed), /no checkpoint signing key/);
  assert.equal((await bare.load()).size, 4);
  await bare.close();
});
