// Limits shared by replicas, on a real Redis (skipped with a reason outside CI when none answers; CI fails
// instead): one bucket and one set of slots whichever replica a request lands on, slots of a dead replica
// come back, and an unreachable Redis refuses (503) rather than letting requests through unchecked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { limitOutcome, redisTestConns } from '../helpers/redis.js';
import { FailClosed, RateLimited } from '../../src/core/errors.js';
import { RedisLimiter } from '../../src/network/redis-limiter.js';
import type { Limits } from '../../src/network/limits.js';

const { prefix, skip: skipped, conn } = redisTestConns();
const OPEN: Limits = { requestsPerSecond: 1_000_000, burst: 1_000_000, concurrency: 1_000_000, tokensPerMinute: 1e12 };
const outcome = limitOutcome;

test('one request budget across three replicas: the bucket holds whichever replica is asked', async (t) => {
  const skip = skipped();
  if (skip) return t.skip(skip);
  const replicas = [new RedisLimiter(conn(), { prefix }), new RedisLimiter(conn(), { prefix }), new RedisLimiter(conn(), { prefix })];
  const limits: Limits = { ...OPEN, requestsPerSecond: 5, burst: 20 };
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 90 }, (_, i) => outcome(replicas[i % 3]!.acquire('user:alice', limits).then((l) => l.release()))));
  const elapsedS = (performance.now() - t0) / 1000;
  const ok = results.filter((r) => r === 'ok').length;
  assert.ok(results.every((r) => r === 'ok' || r === 'rate_limited'), results.join(','));
  // The burst, plus what refilled while the 90 requests were being decided.
  assert.ok(ok >= 20 && ok <= 20 + Math.ceil(elapsedS * 5) + 1, `${ok} accepted in ${elapsedS.toFixed(2)} s`);
  const other = await outcome(replicas[0]!.acquire('user:bob', limits));
  assert.equal(other, 'ok', "one principal's bucket is not another's");
});

test('concurrency slots are shared, released on release, and a dead replica\'s slot comes back after its lease', async (t) => {
  const skip = skipped();
  if (skip) return t.skip(skip);
  const a = new RedisLimiter(conn(), { prefix });
  const dyingConn = conn();
  const dying = new RedisLimiter(dyingConn, { prefix, leaseTtlMs: 1500 });
  const limits: Limits = { ...OPEN, concurrency: 2 };
  const l1 = await a.acquire('svc:batch', limits);
  await dying.acquire('svc:batch', limits); // this replica dies holding its slot
  assert.equal(await outcome(a.acquire('svc:batch', limits)), 'concurrency_limited');
  l1.release();
  l1.release(); // idempotent
  await new Promise((r) => setTimeout(r, 50));
  const l3 = await a.acquire('svc:batch', limits);
  assert.equal(await outcome(a.acquire('svc:batch', limits)), 'concurrency_limited');
  dyingConn.disconnect(); // no renewals, no release
  await new Promise((r) => setTimeout(r, 1700));
  const l4 = await a.acquire('svc:batch', limits);
  l3.release();
  l4.release();
});

test('model tokens per minute are charged on release and refuse with the window\'s reset time', async (t) => {
  const skip = skipped();
  if (skip) return t.skip(skip);
  const a = new RedisLimiter(conn(), { prefix });
  const b = new RedisLimiter(conn(), { prefix });
  const limits: Limits = { ...OPEN, tokensPerMinute: 100 };
  (await a.acquire('user:carol', limits)).release(60);
  (await b.acquire('user:carol', limits)).release(60);
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(a.acquire('user:carol', limits), (e: unknown) => e instanceof RateLimited && e.code === 'token_limited' && Number(e.headers['retry-after']) >= 1 && Number(e.headers['retry-after']) <= 60);
});

test('an unreachable Redis refuses with 503 limits_unavailable, never an unchecked request', async (t) => {
  const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  t.after(() => dead.disconnect());
  await assert.rejects(new RedisLimiter(dead, { prefix }).acquire('user:dave', OPEN), (e: unknown) => e instanceof FailClosed && e.status === 503 && e.code === 'limits_unavailable');
});
