// Inline commits: the threaded SQLite store also writes small batches on the event loop while such commits
// are fast (Ledger's inlineCommit), and hands batches to its writer thread when they are large, when commits
// get slow, or when the database is locked. Whichever path a batch takes, the tree is the same, durable when
// the append resolves, and resumable. The clock that times inline commits is given by the test, so the
// hand-off rules are exercised without depending on this machine's disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { Ledger, type LedgerOptions } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { inferenceEvent } from './events.js';
import { ORIGIN, tmpDir } from './helpers.js';

const b = (s: string) => Buffer.from(s, 'base64');

/** A clock that moves `stepMs` on every reading: each inline commit is timed at exactly `stepMs`. */
function steppingClock(stepMs: () => number): () => number {
  let t = 0;
  return () => (t += stepMs());
}

async function open(dir: string, opts: Partial<LedgerOptions> = {}): Promise<Ledger> {
  return Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db')), key: loadOrCreateLedgerKey(dir, ORIGIN), ...opts });
}

test('inline commits: small batches are written on the event loop, durable when the append resolves, and the tree resumes', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await open(dir, { monotonicNow: steppingClock(() => 0.1) });
  const observer = new Database(join(dir, 'warden.db'), { readonly: true });
  t.after(() => observer.close());
  const stored = observer.prepare('SELECT count(*) FROM ledger_entries WHERE idx = ?').pluck();
  const results = [];
  for (let i = 0; i < 20; i++) {
    const r = await ledger.append(inferenceEvent(i));
    assert.equal(stored.get(r.index), 1, `entry ${r.index} resolved before another connection could read it`);
    results.push(r);
  }
  // Then a burst larger than maxEntries: one batch, handed to the writer thread.
  const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.append(inferenceEvent(20 + i))));
  assert.deepEqual(ledger.commits, { inline: 20, handedOff: 1, inlineBusy: 0 });
  const cp = ledger.latestCheckpoint();
  assert.equal(cp.size, 60);
  for (const r of [...results, ...burst].filter((_, i) => i % 7 === 0)) {
    const p = await ledger.inclusionProof(r.index, cp.size);
    verifyInclusion(r.index, cp.size, b(r.leafHash), p.hashes.map(b), cp.rootHash);
  }
  await ledger.close();
  // A restart re-hashes the stored tree against the signed checkpoint, whichever path wrote it.
  const again = await open(dir, { verifyTail: 60 });
  assert.equal(again.latestCheckpoint().note, cp.note);
  await again.close();
});

test('inline commits: slow commits send batches to the writer thread, and one inline commit per retry period measures again', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let step = 3; // every inline commit "takes" 3 ms, over the 1 ms budget
  let now = 0;
  const clock = () => (now += step);
  const ledger = await open(dir, { inlineCommit: { maxEntries: 8, budgetMs: 1, retryMs: 1000 }, monotonicNow: clock });
  for (let i = 0; i < 5; i++) await ledger.append(inferenceEvent(i));
  // A moving average (0.2 per commit): one slow commit alone (0.6 ms) stays under the budget, the second (1.08) does not.
  assert.deepEqual(ledger.commits, { inline: 2, handedOff: 3, inlineBusy: 0 }, 'two slow inline commits, then the writer thread');
  now += 1000; // the retry period passes: one batch measures the disk again
  step = 0.2;
  for (let i = 5; i < 10; i++) await ledger.append(inferenceEvent(i));
  assert.deepEqual(ledger.commits, { inline: 7, handedOff: 3, inlineBusy: 0 }, 'a fast measurement brings inline commits back at once');
  assert.equal(ledger.size, 10);
  await ledger.close();
});

test('inline commits: a locked database sends the batch to the writer thread, which commits it once the lock is gone', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await open(dir, { monotonicNow: steppingClock(() => 0.1) });
  await ledger.append(inferenceEvent(0));
  // Another process holds the write lock (a RESERVED lock from BEGIN IMMEDIATE).
  const other = new Database(join(dir, 'warden.db'));
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  let settled = false;
  const pending = ledger.append(inferenceEvent(1)).finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(settled, false, 'the append must not resolve while the batch cannot be written');
  other.exec('COMMIT');
  const r = await pending;
  assert.equal(r.index, 1);
  assert.deepEqual(ledger.commits, { inline: 1, handedOff: 1, inlineBusy: 1 });
  await ledger.close();
});

test('inline commits: a failing inline transaction rejects the append (fail closed), keeps nothing partial, and the ledger carries on', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await open(dir, { monotonicNow: steppingClock(() => 0.1) });
  await ledger.append(inferenceEvent(0));
  const before = ledger.latestCheckpoint();
  const db = new Database(join(dir, 'warden.db'));
  t.after(() => db.close());
  db.exec('ALTER TABLE ledger_nodes RENAME TO ledger_nodes_moved');
  await assert.rejects(ledger.append(inferenceEvent(1)), (e: Error) => e.name === 'LedgerUnavailable' && /ledger_nodes/.test(e.message));
  assert.equal(ledger.latestCheckpoint().note, before.note);
  assert.equal(db.prepare('SELECT count(*) FROM ledger_entries').pluck().get(), 1, 'the failed batch left entry rows behind');
  db.exec('ALTER TABLE ledger_nodes_moved RENAME TO ledger_nodes');
  assert.equal((await ledger.append(inferenceEvent(2))).index, 1);
  assert.equal(ledger.commits.inline, 2, 'both committed batches were inline');
  await ledger.close();
});

test('inline commits: the writer thread checkpoints the WAL the inline connection fills (it never checkpoints itself)', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await open(dir, { monotonicNow: steppingClock(() => 0.1) });
  const file = join(dir, 'warden.db');
  const dbBytes = () => statSync(file).size;
  const start = dbBytes();
  // ~5 MiB of entries in batches of 8, every one inline: past the 4 MiB at which the writer thread is asked.
  const pad = 'x'.repeat(4000);
  for (let i = 0; i < 1300; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => ledger.append(inferenceEvent(i + k, { reason: pad }))));
  assert.equal(ledger.commits.handedOff, 0);
  // The checkpoint runs on the writer thread after its request; the main file grows when pages are copied back.
  const deadline = Date.now() + 5000;
  while (dbBytes() < start + 4 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(dbBytes() >= start + 4 * 1024 * 1024, `the main database file did not grow (${dbBytes()} bytes): the WAL was never checkpointed`);
  await ledger.close();
});

test('inline commits: inlineCommit false hands every batch to the writer thread; bad options are refused', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await open(dir, { inlineCommit: false });
  for (let i = 0; i < 3; i++) await ledger.append(inferenceEvent(i));
  assert.deepEqual(ledger.commits, { inline: 0, handedOff: 3, inlineBusy: 0 });
  await ledger.close();
  const store = await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db'));
  t.after(() => store.close());
  await assert.rejects(Ledger.open({ store, key: loadOrCreateLedgerKey(dir, ORIGIN), inlineCommit: { maxEntries: 0, budgetMs: 1, retryMs: 1 } }), /inlineCommit needs/);
  await assert.rejects(Ledger.open({ store, key: loadOrCreateLedgerKey(dir, ORIGIN), inlineCommit: { maxEntries: 8, budgetMs: 0, retryMs: 1 } }), /inlineCommit needs/);
});
