// One log, many writers: several Ledger instances (one per replica, each on its own connections) append to
// the same PostgreSQL tables. Every entry lands exactly once at a dense index, the final root is the tree
// rebuilt from the entries, every receipt and checkpoint any replica handed out is consistent with the final
// one, and a replica that loses its connection or holds another key never forks the log.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { PostgresLedgerStore } from '../../src/store/ledger-postgres.js';
import { Ledger, type AppendResult } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey, type LedgerKey } from '../../src/ledger/key.js';
import { openCheckpoint, signCheckpoint, type SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { CompactRange, type StoredNode } from '../../src/ledger/compact-range.js';
import { leafHash } from '../../src/ledger/hash.js';
import { verifyConsistency, verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { issueReceipt, openProofReceipt } from '../../src/ledger/receipt-proof.js';
import { inferenceEvent } from './events.js';
import { ORIGIN, tmpDir } from './helpers.js';

const URL_ = 'postgres://postgres@127.0.0.1:5432/test';

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: URL_ });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** A unique table prefix and a ledger key shared by the replicas, dropped after the test. */
async function setup(t: TestContext): Promise<{ prefix: string; key: LedgerKey } | null> {
  const skip = await requireService('postgres');
  if (skip) {
    t.skip(skip);
    return null;
  }
  const prefix = `t${randomBytes(4).toString('hex')}_`;
  const dir = tmpDir();
  t.after(async () => {
    await sql(`DROP TABLE IF EXISTS ${prefix}entries, ${prefix}nodes, ${prefix}checkpoint`);
    rmSync(dir, { recursive: true, force: true });
  });
  return { prefix, key: loadOrCreateLedgerKey(dir, ORIGIN) };
}

async function replica(prefix: string, key: LedgerKey, name: string): Promise<Ledger> {
  const store = await PostgresLedgerStore.connect({ connectionString: `${URL_}?application_name=${name}`, prefix });
  return Ledger.open({ store, key, maxBatch: 16 }).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
}

/** Replica `r` appends `count` events in waves of random size, so batches of the replicas interleave. */
async function drive(ledger: Ledger, r: number, count: number, seen: SignedCheckpoint[]): Promise<AppendResult[]> {
  const out: AppendResult[] = [];
  const run = randomBytes(3).toString('hex');
  let i = 0;
  while (i < count) {
    const wave = Math.min(count - i, 1 + Math.floor(Math.random() * 12));
    const rs = await Promise.all(Array.from({ length: wave }, (_, k) => ledger.append(inferenceEvent(i + k, { requestId: `req_r${r}_${run}_${i + k}` }))));
    out.push(...rs);
    seen.push(ledger.latestCheckpoint());
    i += wave;
    await new Promise((res) => setTimeout(res, Math.random() * 3));
  }
  return out;
}

/** The whole stored log checked from scratch: dense, each expected entry once, root = rebuilt tree = signed checkpoint. */
async function checkLog(prefix: string, key: LedgerKey, expected: Buffer[]): Promise<{ reader: Ledger; final: SignedCheckpoint }> {
  const reader = await replica(prefix, key, 'auditor');
  const final = reader.latestCheckpoint();
  assert.equal(final.size, expected.length);
  const entries = await reader.readEntries(0, final.size);
  assert.equal(entries.length, final.size, 'indices are dense');
  assert.deepEqual(entries.map((e) => e.toString('hex')).sort(), expected.map((e) => e.toString('hex')).sort(), 'every entry exactly once');
  const rebuilt = CompactRange.empty();
  const sink: StoredNode[] = [];
  for (const e of entries) rebuilt.append(leafHash(e), sink);
  assert.deepEqual(rebuilt.root(), final.rootHash, 'final root equals the tree rebuilt from the entries');
  const stored = await sql<{ note: string }>(`SELECT note FROM ${prefix}checkpoint`);
  assert.equal(openCheckpoint(stored[0]!.note, key.verifier).size, final.size);
  return { reader, final };
}

async function checkProofs(reader: Ledger, final: SignedCheckpoint, results: AppendResult[][], seen: SignedCheckpoint[][]): Promise<void> {
  const entries = await reader.readEntries(0, final.size);
  for (const r of results.flat()) {
    assert.deepEqual(entries[r.index], r.entry, `entry ${r.index} is what its replica was told`);
    // The receipt the replica would hand out verifies on its own (its batch checkpoint) ...
    if (r.entry.includes('"decision":"allow"')) assert.equal(openProofReceipt(issueReceipt(r), key(reader)).payload.leafIndex, r.index);
    // ... and the entry is in the final tree.
    const p = await reader.inclusionProof(r.index);
    verifyInclusion(r.index, final.size, leafHash(r.entry), p.hashes.map((h) => Buffer.from(h, 'base64')), final.rootHash);
    // The batch checkpoint of its receipt is a prefix of the final tree.
    const c = await reader.consistencyProof(r.checkpoint.size);
    verifyConsistency(r.checkpoint.size, final.size, r.checkpoint.rootHash, final.rootHash, c.hashes.map((h) => Buffer.from(h, 'base64')));
  }
  // Checkpoints seen by different replicas: each one's older is a prefix of another's newer.
  for (let a = 0; a < seen.length; a++) {
    for (let b = 0; b < seen.length; b++) {
      if (a === b) continue;
      const older = seen[a]![Math.floor(seen[a]!.length / 2)]!;
      const newer = seen[b]![seen[b]!.length - 1]!;
      if (older.size > newer.size) continue;
      const c = await reader.consistencyProof(older.size, newer.size);
      verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, c.hashes.map((h) => Buffer.from(h, 'base64')));
    }
  }
}

const key = (l: Ledger) => l.key.vkey;

for (const n of [2, 3]) {
  test(`${n} replicas append concurrently to one PostgreSQL log: dense, exactly once, one tree, every proof verifies`, async (t) => {
    const s = await setup(t);
    if (!s) return;
    // Starting together on a fresh log: one of them pins the key with the empty checkpoint, the others resume it.
    const ledgers = await Promise.all(Array.from({ length: n }, (_, r) => replica(s.prefix, s.key, `rep${r}`)));
    const seen: SignedCheckpoint[][] = ledgers.map(() => []);
    const results = await Promise.all(ledgers.map((l, r) => drive(l, r, 450 / n, seen[r]!)));
    await Promise.all(ledgers.map((l) => l.close()));
    // The replicas' batches really interleaved (no replica appended all of its entries as one block).
    const owner = results.flatMap((rs, r) => rs.map((x) => [x.index, r] as const)).sort((a, b) => a[0] - b[0]);
    const switches = owner.filter((o, i) => i > 0 && o[1] !== owner[i - 1]![1]).length;
    assert.ok(switches >= 2 * n, `batches interleave (${switches} replica switches along the log)`);
    const { reader, final } = await checkLog(s.prefix, s.key, results.flat().map((r) => r.entry));
    await checkProofs(reader, final, results, seen);
    await reader.close();
  });
}

test('a replica whose connection is killed fails its pending appends; the others go on, no fork; it recovers', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const [a, b, c] = await Promise.all(['rep_a', 'rep_b', 'rep_c'].map((name) => replica(s.prefix, s.key, name)));
  const seen: SignedCheckpoint[][] = [[], [], []];
  const results: AppendResult[][] = [[], [], []];
  results[0]!.push(...(await drive(a!, 0, 40, seen[0]!)));
  results[2]!.push(...(await drive(c!, 2, 40, seen[2]!)));
  // Hold the log's write lock (as a replica in the middle of a batch would), so replica c's next batch is
  // certainly pending inside PostgreSQL when its connections are killed.
  const holder = new pg.Client({ connectionString: URL_ });
  await holder.connect();
  await holder.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('warden-ledger:${s.prefix}'))`);
  const pending = Array.from({ length: 5 }, (_, i) => c!.append(inferenceEvent(1000 + i, { requestId: `req_lost_${i}` })));
  const lost = pending.map((p) => p.then(() => 'committed', (e: Error & { code?: string }) => `${e.name}:${e.code}`));
  for (let tries = 0; ; tries++) {
    const waiting = await sql(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'rep_c' AND wait_event_type = 'Lock'`);
    if (waiting.length > 0) break;
    assert.ok(tries < 200, 'replica c never waited for the lock');
    await new Promise((r) => setTimeout(r, 10));
  }
  const killed = await sql<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'rep_c'`);
  assert.ok(Number(killed[0]!.n) >= 1);
  assert.deepEqual(await Promise.all(lost), Array(5).fill('LedgerUnavailable:ledger_unavailable'), 'every pending append of the killed replica fails');
  await holder.query('COMMIT');
  await holder.end();
  // The others go on (and catch up on c's earlier batches) ...
  const [ra, rb] = await Promise.all([drive(a!, 0, 60, seen[0]!), drive(b!, 1, 60, seen[1]!)]);
  results[0]!.push(...ra);
  results[1]!.push(...rb);
  // ... and c reconnects for its next batch, building on what a and b committed meanwhile.
  const rc = await drive(c!, 2, 20, seen[2]!);
  assert.ok(rc[0]!.index > Math.max(ra[ra.length - 1]!.index, rb[rb.length - 1]!.index));
  results[2]!.push(...rc);
  await Promise.all([a, b, c].map((l) => l!.close()));
  const { reader, final } = await checkLog(s.prefix, s.key, results.flat().map((r) => r.entry));
  const stored = (await reader.readEntries(0, final.size)).map((e) => e.toString());
  assert.ok(!stored.some((e) => e.includes('req_lost_')), 'nothing of the failed batch was written');
  await checkProofs(reader, final, results, seen);
  await reader.close();
});

test('a replica with another ledger key is refused at start, and a running replica never builds on a foreign or forked checkpoint', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await replica(s.prefix, s.key, 'rep_a');
  await a.append(inferenceEvent(1));
  const otherDir = tmpDir();
  t.after(() => rmSync(otherDir, { recursive: true, force: true }));
  const other = loadOrCreateLedgerKey(otherDir, ORIGIN);
  await assert.rejects(replica(s.prefix, other, 'rep_x'), (e: Error & { code?: string }) => {
    assert.equal(e.name, 'NoteSignatureInvalid');
    assert.equal(e.code, 'no_trusted_signature');
    assert.match(e.message, /not signed by this ledger key .*every replica appending to one log must use the same ledger key/);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  // A fresh log is pinned to the first replica's key at once: another key is refused before any entry exists.
  const fresh = await setup(t);
  const first = await replica(fresh!.prefix, fresh!.key, 'rep_f');
  await assert.rejects(replica(fresh!.prefix, other, 'rep_y'), { name: 'NoteSignatureInvalid', code: 'no_trusted_signature' });
  await first.close();

  const b = await replica(s.prefix, s.key, 'rep_b');
  const before = (await sql<{ size: string; note: string }>(`SELECT size, note FROM ${s.prefix}checkpoint`))[0]!;
  const size = Number(before.size);
  const tamper = (cp: SignedCheckpoint) => sql(`UPDATE ${s.prefix}checkpoint SET note = $1, size = $2`, [cp.note, cp.size]);
  // Someone else's key signed the shared checkpoint: refuse to build on it.
  await tamper(signCheckpoint({ origin: ORIGIN, size, rootHash: randomBytes(32) }, other.signer));
  await assert.rejects(b.append(inferenceEvent(2)), { name: 'LedgerUnavailable', message: /not signed by this ledger key/ });
  // Our key, but a root the stored tree does not hash to (a fork written by a compromised replica).
  await tamper(signCheckpoint({ origin: ORIGIN, size, rootHash: randomBytes(32) }, s.key.signer));
  await assert.rejects(b.append(inferenceEvent(3)), { name: 'LedgerUnavailable', message: /does not hash to its signed checkpoint root/ });
  // Rolled back below what this replica already signed.
  await tamper(signCheckpoint({ origin: ORIGIN, size: 0, rootHash: randomBytes(32) }, s.key.signer));
  await assert.rejects(a.append(inferenceEvent(4)), { name: 'LedgerUnavailable', message: /below the size 1 this replica committed/ });
  // Nothing was appended by the refused batches.
  assert.equal((await sql(`SELECT idx FROM ${s.prefix}entries`)).length, size);
  await sql(`UPDATE ${s.prefix}checkpoint SET note = $1, size = $2`, [before.note, size]);
  assert.equal((await b.append(inferenceEvent(5))).index, size, 'with the genuine checkpoint back, appends go on');
  await Promise.all([a.close(), b.close()]);
});

test('a replica serves the shared latest checkpoint (and proofs for it) without appending first; a forged one or a lost store is refused, never served', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await replica(s.prefix, s.key, 'rep_a');
  const b = await replica(s.prefix, s.key, 'rep_b');
  await b.append(inferenceEvent(0));
  const fromA = await Promise.all(Array.from({ length: 5 }, (_, i) => a.append(inferenceEvent(i + 1))));
  assert.equal(b.latestCheckpoint().size, 1, 'before refreshing, B knows only its own append');
  // Concurrent readers share one catch-up; B then serves A's checkpoint and proves A's entries in it.
  await Promise.all([b.refresh(), b.refresh(), b.refresh()]);
  const cp = b.latestCheckpoint();
  assert.equal(cp.note, a.latestCheckpoint().note, 'B serves the shared latest checkpoint');
  const last = fromA[fromA.length - 1]!;
  const p = await b.inclusionProof(last.index, cp.size);
  verifyInclusion(last.index, cp.size, leafHash(last.entry), p.hashes.map((h) => Buffer.from(h, 'base64')), cp.rootHash);
  // B's next append builds on the tree it caught up to.
  assert.equal((await b.append(inferenceEvent(9))).index, 6);
  await a.refresh();
  assert.equal(a.latestCheckpoint().size, 7);

  // A newer checkpoint that our key did not sign is refused by the refresh; B keeps serving its verified one.
  const otherDir = tmpDir();
  t.after(() => rmSync(otherDir, { recursive: true, force: true }));
  const other = loadOrCreateLedgerKey(otherDir, ORIGIN);
  const genuine = (await sql<{ size: string; note: string }>(`SELECT size, note FROM ${s.prefix}checkpoint`))[0]!;
  await sql(`UPDATE ${s.prefix}checkpoint SET note = $1, size = $2`, [signCheckpoint({ origin: ORIGIN, size: 9, rootHash: randomBytes(32) }, other.signer).note, 9]);
  await assert.rejects(b.refresh(), { name: 'NoteSignatureInvalid' });
  assert.equal(b.latestCheckpoint().size, 7);
  await sql(`UPDATE ${s.prefix}checkpoint SET note = $1, size = $2`, [genuine.note, Number(genuine.size)]);

  // The store gone: a refresh fails as LedgerUnavailable (the audit API answers 503), not with a stale tree.
  await a.close();
  await assert.rejects(a.refresh(), { name: 'LedgerUnavailable', message: /cannot read the shared log/ });
  await b.close();
});
