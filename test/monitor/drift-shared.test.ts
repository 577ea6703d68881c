// Drift profiles kept and shared, one contract on every store (SQLite in a data dir, PostgreSQL, Redis), fixed clock: two
// replicas (two detectors, two store handles) learn one deployment's baseline between them without losing a
// concurrent replica's answers; the learnt baseline waits for an operator, whose approval through one replica is
// judged on the other; a drift seen by one is latched on the other without being reported twice; a new process
// judges at once against the approved baseline (no relearning); a relearn drops learning done under the old
// baseline; an answer set approved for a deployment never seen is its baseline; a malformed record is ignored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import { WardenError } from '../../src/core/errors.js';
import { profileAnswer, type AnswerSample } from '../../src/monitor/answer-profile.js';
import { DriftDetector, type DriftEvent } from '../../src/monitor/drift.js';
import { SharedDrift, type DriftProfileStore } from '../../src/monitor/drift-shared.js';
import { PostgresBaselineStore } from '../../src/store/baselines-postgres.js';
import { SqliteDriftProfileStore } from '../../src/store/drift-sqlite.js';
import { RedisDriftProfileStore } from '../../src/store/drift-redis.js';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite.js';
import { Redis } from 'ioredis';
import { contractCase, PG_TEST_URL, pgTestTables, redisTestPrefixes, sharedHandlesBackend, type SharedHandles, type StoreBackend } from '../helpers/contract.js';

const pgTables = pgTestTables();
const redisKeys = redisTestPrefixes('h17drift');
const DEP = 'dep_summarizer';

type Opened = SharedHandles<DriftProfileStore>;

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'warden-drift-store-'));
      const dbs: SqliteDb[] = [];
      return {
        // Each handle its own connection to warden.db, as two gateways on one data dir hold it.
        handle: async () => {
          const db = openSqlite(join(dir, 'warden.db'));
          dbs.push(db);
          return new SqliteDriftProfileStore(db);
        },
        close: async () => {
          for (const db of dbs) db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  sharedHandlesBackend('PostgreSQL', pgTables, (prefix) => PostgresBaselineStore.connect({ connectionString: PG_TEST_URL, prefix }), (s) => s.driftProfiles(), (s) => s.close()),
  // Each handle its own connection, as replicas hold them.
  sharedHandlesBackend('Redis', redisKeys, async () => new Redis(), (c, prefix) => new RedisDriftProfileStore(c, prefix), (c) => c.disconnect()),
];

const silent = pino({ level: 'silent' });
const SUMMARY = 'The report finds that revenue grew in the third quarter while costs fell, and the board approved hiring.';
const SQL = "Here it is:\nSELECT id, email, salary FROM employees WHERE region = 'eu';";
const sample = (text: string): AnswerSample => profileAnswer({ choices: [{ message: { content: text } }] }, 0);

function replica(store: DriftProfileStore, approval: 'operator' | 'auto' = 'operator', log = silent) {
  const events: DriftEvent[] = [];
  const detector = new DriftDetector({ baselineAnswers: 20, windowAnswers: 10, approval, onDrift: (e) => events.push(e) });
  const shared = new SharedDrift(detector, null, store, { syncMs: 60_000, clock: new FixedClock(1_700_000_000_000), log });
  const phase = () => detector.report().find((r) => r.deployment === DEP)?.phase ?? null;
  const answer = (text: string, n: number) => {
    for (let i = 0; i < n; i++) detector.observe(DEP, 'summarizer', sample(text));
  };
  return { detector, shared, events, phase, answer };
}

contractCase(backends, 'the version check refuses a write computed from a stale read', async ({ handle }) => {
  const s = await handle();
  assert.equal(await s.get(DEP), null);
  assert.equal(await s.put(DEP, 0, '{"a":1}'), true);
  assert.equal(await s.put(DEP, 0, '{"a":2}'), false, 'created meanwhile');
  assert.equal(await s.put(DEP, 1, '{"a":3}'), true);
  assert.equal(await s.put(DEP, 1, '{"a":4}'), false, 'written meanwhile');
  assert.deepEqual(await s.get(DEP), { version: 2, record: '{"a":3}' });
  assert.deepEqual(await s.list(), [{ key: DEP, record: '{"a":3}' }]);
});

contractCase(backends, 'two replicas learn one baseline; an approval through one is judged on the other; a drift is latched everywhere, reported once', async ({ handle }) => {
  const a = replica(await handle());
  const b = replica(await handle());
  await Promise.all([a.shared.start(), b.shared.start()]);
  a.answer(SUMMARY, 12);
  b.answer(SUMMARY, 8);
  // Both merge at once: compare-and-set keeps every answer.
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  for (const r of [a, b]) {
    assert.equal(r.phase(), 'awaiting_approval');
    assert.equal(r.detector.record(DEP)!.baselineN, 20);
  }
  // Not judged before approval, on either replica.
  a.answer(SQL, 15);
  assert.equal(a.events.length, 0);

  // Approval refused while nothing is learnt elsewhere, then through B.
  await assert.rejects(b.shared.approve('dep_unknown', 'user:ops', null, null), (e: WardenError) => e.code === 'deployment_not_profiled');
  const approved = await b.shared.approve(DEP, 'user:ops', null, null);
  assert.equal(approved.phase, 'watching');
  await assert.rejects(b.shared.approve(DEP, 'user:ops', null, null), (e: WardenError) => e.code === 'baseline_already_approved');
  await a.shared.sync();
  assert.equal(a.phase(), 'watching');
  assert.equal(a.detector.report()[0]!.approvedBy, 'user:ops');

  // A sees the summarizer answer SQL: one drift, on A, once its write latched it; B takes the latch at its next read and never reports it.
  a.answer(SUMMARY, 10);
  a.answer(SQL, 10);
  assert.equal(a.events.length, 0, 'held until the store latches it');
  await a.shared.sync();
  assert.equal(a.events.length, 1);
  assert.ok(['sql', 'code', 'length', 'language'].includes(a.events[0]!.feature), a.events[0]!.feature);
  await a.shared.sync();
  await b.shared.sync();
  assert.equal(b.phase(), 'drifted');
  b.answer(SQL, 20);
  assert.equal(b.events.length, 0, 'reported once, by the replica that saw it');

  // Relearn through B: A learns again after its next read.
  await b.shared.relearn(DEP);
  await a.shared.sync();
  assert.equal(a.phase(), 'learning');
  // A learns five answers; meanwhile B relearns again: those five were learnt for a baseline no longer in force.
  a.answer(SUMMARY, 5);
  assert.equal(a.detector.record(DEP)!.baselineN, 5);
  await b.shared.relearn(DEP);
  await a.shared.sync();
  assert.equal(a.phase(), 'learning');
  assert.equal(a.detector.record(DEP)!.baselineN, 0, 'dropped, not merged into the new baseline');
  await a.shared.close();
  await b.shared.close();
});

contractCase(backends, 'a new process judges at once against the approved baseline (no relearning)', async ({ handle }) => {
  const first = replica(await handle());
  await first.shared.start();
  first.answer(SUMMARY, 20);
  await first.shared.sync();
  await first.shared.approve(DEP, 'user:ops', null, null);
  await first.shared.close();

  const next = replica(await handle());
  await next.shared.start();
  assert.equal(next.phase(), 'watching', 'read back before any answer');
  next.answer(SQL, 10);
  await next.shared.sync();
  assert.equal(next.events.length, 1, 'the drift is seen within one window of the restart');
  await next.shared.close();
});

contractCase(backends, 'an answer set approved for a deployment never seen is its baseline; a malformed record is ignored and replaced', async ({ handle }) => {
  const store = await handle();
  const errors: unknown[] = [];
  const log = pino({ level: 'error' }, { write: (l: string) => void errors.push(JSON.parse(l)) });
  const r = replica(store, 'operator', log);
  await r.shared.start();
  const set = Array.from({ length: 20 }, () => sample(SUMMARY));
  const rec = await r.shared.approve('dep_new', 'user:ops', set, 'summarizer');
  assert.deepEqual([rec.phase, rec.baselineN, rec.model, rec.epoch], ['watching', 20, 'summarizer', 1]);
  for (let i = 0; i < 10; i++) r.detector.observe('dep_new', 'summarizer', sample(SQL));
  await r.shared.sync();
  assert.equal(r.events.length, 1);

  // A record no Warden wrote is ignored (and said so), then replaced by the next merge.
  assert.equal(await store.put('dep_bad', 0, '{"model":"x","epoch":0,"phase":"sideways"}'), true);
  await r.shared.sync();
  assert.ok(errors.some((e) => (e as { profile?: string }).profile === 'dep_bad'));
  assert.equal(r.detector.record('dep_bad'), null);
  for (let i = 0; i < 3; i++) r.detector.observe('dep_bad', 'm', sample(SUMMARY));
  await r.shared.sync();
  assert.equal(JSON.parse((await store.get('dep_bad'))!.record).baselineN, 3);
  await r.shared.close();
});

/** Two replicas with approval auto: A learns the whole baseline, B reads it approved. */
async function learntOnA(handle: Opened['handle']) {
  const a = replica(await handle(), 'auto');
  const b = replica(await handle(), 'auto');
  await Promise.all([a.shared.start(), b.shared.start()]);
  a.answer(SUMMARY, 20);
  await a.shared.sync();
  await b.shared.sync();
  assert.equal(b.phase(), 'watching');
  return { a, b };
}

contractCase(backends, 'with approval auto the learnt baseline is approved as it completes', async ({ handle }) => {
  const { a, b } = await learntOnA(handle);
  assert.equal(b.detector.report()[0]!.approvedBy, null);
  b.answer(SQL, 10);
  await b.shared.sync();
  assert.equal(b.events.length, 1);
  await a.shared.close();
  await b.shared.close();
});

contractCase(backends, 'a drift two replicas see at once is reported by exactly one; the other adopts the latch silently', async ({ handle }) => {
  const a = replica(await handle(), 'auto');
  const b = replica(await handle(), 'auto');
  await Promise.all([a.shared.start(), b.shared.start()]);
  // Half the baseline learnt on each replica, merged: both watch one approved baseline.
  a.answer(SUMMARY, 10);
  b.answer(SUMMARY, 10);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  assert.deepEqual([a.phase(), b.phase()], ['watching', 'watching']);
  // Both see the summarizer answer SQL before either has synced: each latches locally and claims in the store.
  a.answer(SQL, 10);
  b.answer(SQL, 10);
  assert.deepEqual([a.phase(), b.phase()], ['drifted', 'drifted']);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  assert.equal(a.events.length + b.events.length, 1, 'one report across the replicas');
  const stored = JSON.parse((await (await handle()).get(DEP))!.record) as { phase: string; drift: { feature: string } };
  assert.equal(stored.phase, 'drifted');
  assert.equal(stored.drift.feature, [...a.events, ...b.events][0]!.feature, 'the winner\'s drift is the one latched');
  // More drifting answers on either replica report nothing more.
  a.answer(SQL, 10);
  b.answer(SQL, 10);
  await Promise.all([a.shared.sync(), b.shared.sync()]);
  assert.equal(a.events.length + b.events.length, 1);
  await a.shared.close();
  await b.shared.close();
});

contractCase(backends, 'a drift seen after a relearn elsewhere latched nothing in force: not reported, the new baseline is learnt', async ({ handle }) => {
  const { a, b } = await learntOnA(handle);
  await b.shared.relearn(DEP);
  // A has not read the relearn: it judges against the old baseline, sees a drift, and its claim finds a new epoch.
  a.answer(SQL, 10);
  await a.shared.sync();
  assert.equal(a.events.length, 0);
  assert.equal(a.phase(), 'learning');
  await a.shared.close();
  await b.shared.close();
});

test('a drift the store cannot latch is reported by the replica that saw it (unclaimed, logged); the latch is written at the next merge, not reported again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-drift-claim-'));
  const db = openSqlite(join(dir, 'warden.db'));
  const other = openSqlite(join(dir, 'warden.db'));
  try {
    const errors: { msg: string; profile?: string }[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void errors.push(JSON.parse(l)) });
    const r = replica(new SqliteDriftProfileStore(db), 'auto', log);
    await r.shared.start();
    r.answer(SUMMARY, 20);
    await r.shared.sync();
    // The store stops answering (its table is taken away under the running replica).
    other.exec('ALTER TABLE monitor_drift_profiles RENAME TO monitor_drift_profiles_aside');
    r.answer(SQL, 10);
    await r.shared.sync();
    assert.equal(r.events.length, 1, 'acted on here rather than by nobody');
    assert.ok(errors.some((e) => /could not be claimed/.test(e.msg) && e.profile === DEP), JSON.stringify(errors));
    assert.equal(r.phase(), 'drifted');
    other.exec('ALTER TABLE monitor_drift_profiles_aside RENAME TO monitor_drift_profiles');
    await r.shared.sync();
    const stored = JSON.parse((await new SqliteDriftProfileStore(other).get(DEP))!.record) as { phase: string };
    assert.equal(stored.phase, 'drifted', 'latched once the store answers');
    assert.equal(r.events.length, 1, 'not reported a second time');
    await r.shared.close();
  } finally {
    db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Redis down: a merge is kept for later and a drift reported unclaimed; both reach the store once it answers', async (t) => {
  const skip = redisKeys.skip();
  if (skip) return t.skip(skip);
  const prefix = redisKeys.newPrefix();
  // A real client, disconnected, with no offline queue: every command fails at once, as with Redis down.
  const down = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  t.after(() => down.disconnect());
  await new Promise((r) => down.once('ready', r));
  const errors: { msg: string; profile?: string }[] = [];
  const log = pino({ level: 'error' }, { write: (l: string) => void errors.push(JSON.parse(l)) });
  const r = replica(new RedisDriftProfileStore(down, prefix), 'auto', log);
  await r.shared.start();
  const ended = new Promise((res) => down.once('end', res));
  down.disconnect();
  await ended;
  r.answer(SUMMARY, 20);
  await r.shared.sync();
  assert.ok(errors.some((e) => /could not merge/.test(e.msg)), JSON.stringify(errors));
  assert.equal(r.phase(), 'watching', 'judged here on what was learnt here');
  r.answer(SQL, 10);
  await r.shared.sync();
  assert.equal(r.events.length, 1);
  assert.ok(errors.some((e) => /could not be claimed/.test(e.msg)));
  await down.connect();
  await r.shared.sync();
  const stored = JSON.parse((await new RedisDriftProfileStore(redisKeys.redis, prefix).get(DEP))!.record) as { phase: string; baselineN: number };
  assert.deepEqual([stored.phase, stored.baselineN], ['drifted', 20], 'the learning and the latch, kept and merged');
  assert.equal(r.events.length, 1, 'not reported again');
  await r.shared.close();
});

contractCase(backends, 'a drift seen while a merge is running is claimed right after it, not at the next interval', async ({ handle }) => {
  const { a, b } = await learntOnA(handle);
  const running = b.shared.sync();
  b.answer(SQL, 10);
  await running;
  // No further sync is asked for here: the claim follows the running merge on its own (syncMs is a minute).
  for (let i = 0; i < 100 && b.events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(b.events.length, 1);
  assert.equal(JSON.parse((await (await handle()).get(DEP))!.record).phase, 'drifted');
  await a.shared.close();
  await b.shared.close();
});

contractCase(backends, 'closing waits for a drift claimed during the last merge', async ({ handle }) => {
  const { a, b } = await learntOnA(handle);
  const running = b.shared.sync();
  b.answer(SQL, 10);
  await b.shared.close();
  assert.equal(b.events.length, 1, 'reported before close returned');
  assert.equal(JSON.parse((await (await handle()).get(DEP))!.record).phase, 'drifted');
  await running;
  await a.shared.close();
});
