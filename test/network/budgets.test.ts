// Budgets: reserve before the call, settle after, on both stores (in process and Redis) with one contract:
// the arithmetic of a reservation and its settlement, a refund when the answer uses less, a refusal when the
// reservation alone does not fit, calendar windows in UTC, overrides, and many concurrent reservations that
// never together exceed a budget. Redis tests skip with a reason outside CI when none answers (CI fails).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { FixedClock } from '../../src/core/clock.js';
import { BudgetExhausted, FailClosed } from '../../src/core/errors.js';
import type { Principal } from '../../src/core/types.js';
import { Budgets, LocalBudgetStore, windowAt, costMicros, type BudgetLimit, type BudgetStore, type BudgetsConfig } from '../../src/network/budgets.js';
import { RedisBudgetStore } from '../../src/network/redis-budgets.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteBudgetPersistence } from '../../src/store/budgets-sqlite.js';

const principal = (id: string, tenant = 'acme', key = `key_${id}`): Principal => ({ kind: 'user', id, tenant, groups: [], authn: { method: 'api_key', credentialId: key }, scope: { models: ['*'], actions: ['*'] } }) as unknown as Principal;
const limit = (l: Partial<BudgetLimit> & Pick<BudgetLimit, 'scope' | 'id' | 'window'>): BudgetLimit => ({ tokens: null, cost: null, ...l });
const BASE = Date.parse('2026-12-05T21:00:00Z'); // a Saturday
const WEEK = 7 * 86_400_000;
// Redis expires a window's counters at the window's end in real time, so the contract runs on a Saturday at
// least a day ahead of today (a fixed past date made every Redis counter vanish as soon as it was written).
const NOW = BASE + Math.max(0, Math.ceil((Date.now() + 86_400_000 - BASE) / WEEK)) * WEEK;
/** A time written relative to the base Saturday, moved to the Saturday the contract runs on. */
const at = (iso: string): number => Date.parse(iso) - BASE + NOW;
const atIso = (iso: string): string => new Date(at(iso)).toISOString();

let skipRedis: string | false = false;
const prefix = `warden-test:${randomUUID()}:`;
const conns: Redis[] = [];
before(async () => {
  skipRedis = await requireService('redis');
});
after(async () => {
  if (!skipRedis) {
    const r = new Redis({ host: '127.0.0.1', port: 6379 });
    const keys = await r.keys(prefix + '*');
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
  for (const r of conns) r.disconnect();
});

test('calendar windows are UTC: day, ISO week from Monday, month, lifetime', () => {
  assert.deepEqual(windowAt('day', BASE), { start: Date.parse('2026-12-05T00:00:00Z'), end: Date.parse('2026-12-06T00:00:00Z'), label: '2026-12-05' });
  assert.deepEqual(windowAt('week', BASE), { start: Date.parse('2026-11-30T00:00:00Z'), end: Date.parse('2026-12-07T00:00:00Z'), label: 'w2026-11-30' });
  assert.equal(windowAt('week', Date.parse('2026-11-30T00:00:00Z')).label, 'w2026-11-30');
  assert.equal(windowAt('week', Date.parse('2026-11-29T23:59:59Z')).label, 'w2026-11-23');
  assert.deepEqual(windowAt('month', Date.parse('2026-12-31T23:59:59Z')), { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z'), label: '2026-12' });
  assert.deepEqual(windowAt('lifetime', NOW), { start: 0, end: null, label: 'lifetime' });
  // 1000 input tokens at 0.5 per 1k plus 10 output at 1.5 per 1k = 0.515 = 515000 micro-units.
  assert.equal(costMicros({ inputPer1k: 0.5, outputPer1k: 1.5 }, 1000, 10), 515_000);
  assert.equal(costMicros({ inputPer1k: 0.1, outputPer1k: 0.1 }, 3, 0), 300);
});

type Make = (clock: FixedClock) => Promise<BudgetStore | string>;
const backends: [string, Make][] = [
  ['in process', async (clock) => new LocalBudgetStore(clock)],
  [
    'redis',
    async () => {
      if (skipRedis) return skipRedis;
      const r = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
      conns.push(r);
      return new RedisBudgetStore(r, `${prefix}${randomUUID()}:`);
    },
  ],
];

for (const [name, make] of backends) {
  describe(`budget store contract: ${name}`, () => {
    const setup = async (t: { skip(m: string): void }, cfg: Partial<BudgetsConfig>) => {
      const clock = new FixedClock(NOW);
      const store = await make(clock);
      if (typeof store === 'string') {
        t.skip(store);
        return null;
      }
      const b = new Budgets(store, { limits: [], prices: {}, defaultMaxTokens: 100, ...cfg }, { clock, refreshMs: 0 });
      await b.refresh();
      return { b, clock, store };
    };
    const remaining = async (b: Budgets, scope: BudgetLimit['scope'], id: string, window: BudgetLimit['window']) => (await b.show({ scope, id })).find((r) => r.window === window)!;

    test('reserve counts the estimate at once; settle charges the usage and refunds the rest', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'principal', id: 'ann', window: 'day', tokens: 1000 })] });
      if (!s) return;
      const hold = await s.b.reserve(principal('ann'), 'm', { prompt: 100, completion: 200 });
      assert.ok(hold);
      assert.equal((await remaining(s.b, 'principal', 'ann', 'day')).used.tokens, 300);
      hold.settle({ prompt: 40, completion: 60 });
      hold.settle({ prompt: 1000, completion: 1000 }); // once only
      await new Promise((r) => setTimeout(r, 50));
      const row = await remaining(s.b, 'principal', 'ann', 'day');
      assert.equal(row.used.tokens, 100);
      assert.equal(row.remaining.tokens, 900);
      assert.equal(row.resetsAt, atIso('2026-12-06T00:00:00Z'));
    });

    test('a failure before the upstream refunds everything; an upstream that reported nothing keeps the estimate', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'tenant', id: '*', window: 'month', tokens: 1000 })] });
      if (!s) return;
      const a = await s.b.reserve(principal('bob', 'globex'), 'm', { prompt: 10, completion: 90 });
      a!.settle(null);
      const b = await s.b.reserve(principal('cy', 'globex'), 'm', { prompt: 10, completion: 90 });
      b!.settle('reserved');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await remaining(s.b, 'tenant', 'globex', 'month')).used.tokens, 100);
    });

    test('a reservation that alone exceeds the remainder is refused, naming the window and its reset', async (t) => {
      const s = await setup(t, {
        limits: [limit({ scope: 'key', id: 'key_dee', window: 'week', tokens: 500 }), limit({ scope: 'principal', id: 'dee', window: 'lifetime', cost: 1 })],
        prices: { m: { inputPer1k: 1, outputPer1k: 1 } },
      });
      if (!s) return;
      const ok = await s.b.reserve(principal('dee'), 'm', { prompt: 100, completion: 300 });
      ok!.settle({ prompt: 100, completion: 300 });
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(
        async () => s.b.reserve(principal('dee'), 'm', { prompt: 1, completion: 100 }),
        (e: unknown) => {
          assert.ok(e instanceof BudgetExhausted);
          assert.equal(e.status, 429);
          assert.equal(e.headers['retry-after'], String(Math.ceil((at('2026-12-07T00:00:00Z') - NOW) / 1000)));
          const body = e.toBody('req_1').error;
          assert.equal(body.code, 'budget_exhausted');
          assert.deepEqual(body.budget, { scope: 'key', id: 'key_dee', window: 'week', unit: 'tokens', resets_at: atIso('2026-12-07T00:00:00Z') });
          return true;
        },
      );
      // Nothing of the refused reservation was charged anywhere.
      assert.equal((await remaining(s.b, 'key', 'key_dee', 'week')).used.tokens, 400);
      assert.equal((await remaining(s.b, 'principal', 'dee', 'lifetime')).used.cost, 0.4);
      // The lifetime cost budget: 0.6 left; 700 tokens at 1 per 1k do not fit. No reset, no Retry-After.
      await s.b.set(limit({ scope: 'key', id: 'key_dee', window: 'week', tokens: null }));
      await assert.rejects(
        async () => s.b.reserve(principal('dee'), 'm', { prompt: 200, completion: 500 }),
        (e: unknown) => e instanceof BudgetExhausted && e.headers['retry-after'] === undefined && e.budget.unit === 'cost' && e.budget.window === 'lifetime' && /never resets/.test(e.message),
      );
    });

    test('the next window starts from nothing', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'principal', id: '*', window: 'day', tokens: 100 })] });
      if (!s) return;
      (await s.b.reserve(principal('eve'), 'm', { prompt: 0, completion: 100 }))!.settle('reserved');
      await assert.rejects(async () => s.b.reserve(principal('eve'), 'm', { prompt: 0, completion: 1 }), BudgetExhausted);
      s.clock.set(at('2026-12-06T00:00:00Z'));
      assert.ok(await s.b.reserve(principal('eve'), 'm', { prompt: 0, completion: 100 }));
    });

    test('an override from the admin API beats the config; id * is each subject separately', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'principal', id: '*', window: 'day', tokens: 10 })] });
      if (!s) return;
      await assert.rejects(async () => s.b.reserve(principal('fay'), 'm', { prompt: 0, completion: 50 }), BudgetExhausted);
      await s.b.set(limit({ scope: 'principal', id: 'fay', window: 'day', tokens: 100 }));
      assert.ok(await s.b.reserve(principal('fay'), 'm', { prompt: 0, completion: 50 }));
      // Another process on the same store sees the override after its refresh.
      const other = new Budgets(s.store, { limits: [limit({ scope: 'principal', id: '*', window: 'day', tokens: 10 })], prices: {}, defaultMaxTokens: 1 }, { clock: s.clock, refreshMs: 0 });
      await other.refresh();
      assert.equal(other.limitFor('principal', 'fay', 'day')?.tokens, 100);
      assert.equal(other.limitFor('principal', 'gus', 'day')?.tokens, 10);
    });

    test('a cost budget on a model without a price refuses (fail closed), never counts it free', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'tenant', id: 'acme', window: 'day', cost: 5 })], prices: { priced: { inputPer1k: 1, outputPer1k: 1 } } });
      if (!s) return;
      await assert.rejects(async () => s.b.reserve(principal('hal'), 'unpriced', { prompt: 1, completion: 1 }), (e: unknown) => e instanceof FailClosed && e.code === 'model_unpriced');
      assert.ok(await s.b.reserve(principal('hal'), 'priced', { prompt: 1, completion: 1 }));
    });

    test('200 concurrent reservations never exceed the budget', async (t) => {
      const s = await setup(t, { limits: [limit({ scope: 'tenant', id: 'acme', window: 'day', tokens: 1000 })] });
      if (!s) return;
      const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => Promise.resolve().then(() => s.b.reserve(principal(`p${i}`), 'm', { prompt: 10, completion: 20 }))));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 33); // floor(1000 / 30)
      assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof BudgetExhausted));
      assert.equal((await remaining(s.b, 'tenant', 'acme', 'day')).used.tokens, 990);
    });
  });
}

test('the in-process store keeps settled counters and overrides across a restart (SQLite)', async () => {
  const db = openSqlite(':memory:');
  const clock = new FixedClock(NOW);
  const cfg = { limits: [limit({ scope: 'principal', id: 'ivy', window: 'lifetime', tokens: 1000 })], prices: {}, defaultMaxTokens: 1 };
  const s1 = new LocalBudgetStore(clock, new SqliteBudgetPersistence(db));
  const b1 = new Budgets(s1, cfg, { clock, refreshMs: 0 });
  await b1.refresh();
  (await b1.reserve(principal('ivy'), 'm', { prompt: 100, completion: 100 }))!.settle({ prompt: 50, completion: 50 });
  await b1.set(limit({ scope: 'tenant', id: 'acme', window: 'day', tokens: 7 }));
  s1.close();
  const s2 = new LocalBudgetStore(clock, new SqliteBudgetPersistence(db));
  const b2 = new Budgets(s2, cfg, { clock, refreshMs: 0 });
  await b2.refresh();
  assert.equal((await b2.show({ scope: 'principal', id: 'ivy' }))[0]!.used.tokens, 100);
  assert.equal(b2.limitFor('tenant', 'acme', 'day')?.tokens, 7);
  s2.close();
  db.close();
});

test('Redis unreachable: 503 budgets_unavailable, never a silent pass', async () => {
  const r = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => {});
  const clock = new FixedClock(NOW);
  const b = new Budgets(new RedisBudgetStore(r, `${prefix}down:`), { limits: [limit({ scope: 'principal', id: '*', window: 'day', tokens: 10 })], prices: {}, defaultMaxTokens: 1 }, { clock, refreshMs: 0 });
  await assert.rejects(async () => b.reserve(principal('jo'), 'm', { prompt: 1, completion: 1 }), (e: unknown) => e instanceof FailClosed && e.code === 'budgets_unavailable' && e.status === 503);
  // The PDP context's remaining budget is read from the same store: refused the same way.
  await assert.rejects(async () => b.remaining(principal('jo')), (e: unknown) => e instanceof FailClosed && e.code === 'budgets_unavailable');
  r.disconnect();
});
