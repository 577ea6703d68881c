// The attestation endpoints' per-source limit shared by replicas, on a real Redis (skipped with a reason outside
// CI when none answers; CI fails instead): one bucket per source whichever replica is asked, sources apart, a
// refusal says when to come back, an idle bucket expires, and an unreachable Redis refuses (503) rather than
// letting a request through unchecked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { limitOutcome, redisTestConns } from '../helpers/redis.js';
import { FailClosed, RateLimited } from '../../src/core/errors.js';
import { RedisSourceRateLimiter } from '../../src/network/redis-source-limit.js';

const { prefix: base, skip: skipped, conn } = redisTestConns();
const prefix = `${base}source:`;
const outcome = limitOutcome;
/** A client of a Redis that is not there (nothing listens on port 1), configured as Warden's is (no offline queue). */
const unreachable = () => {
  const r = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => undefined);
  return r;
};

test('one bucket per source across three replicas: the burst holds whichever replica is asked', async (t) => {
  const skip = skipped();
  if (skip) return t.skip(skip);
  const rate = { requestsPerSecond: 0.01, burst: 5 };
  const replicas = [0, 1, 2].map(() => new RedisSourceRateLimiter(conn(), prefix, rate));
  const results = await Promise.all(Array.from({ length: 15 }, (_, i) => outcome(replicas[i % 3]!.take('10.0.0.1'))));
  assert.equal(results.filter((r) => r === 'ok').length, 5, results.join(','));
  assert.equal(results.filter((r) => r === 'rate_limited').length, 10, results.join(','));
  const refused = await replicas[1]!.take('10.0.0.1').catch((e: unknown) => e);
  assert.ok(refused instanceof RateLimited && refused.status === 429 && Number(refused.headers['retry-after']) > 1, String(refused));
  assert.equal(await outcome(replicas[2]!.take('10.0.0.2')), 'ok', "one source's bucket is not another's");
  // The bucket is kept only until it would have refilled (burst / rate = 500 s here).
  const ttl = await conn().pttl(`${prefix}10.0.0.1`);
  assert.ok(ttl > 0 && ttl <= 500_000, `ttl ${ttl}`);
});

test('tokens come back at the configured rate, on Redis\'s clock', async (t) => {
  const skip = skipped();
  if (skip) return t.skip(skip);
  const l = new RedisSourceRateLimiter(conn(), prefix, { requestsPerSecond: 10, burst: 1 });
  assert.equal(await outcome(l.take('10.0.0.3')), 'ok');
  assert.equal(await outcome(l.take('10.0.0.3')), 'rate_limited');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await outcome(l.take('10.0.0.3')), 'ok');
});

test('Redis unreachable: 503 limits_unavailable, never an unchecked request; a bad rate is refused at construction', async (t) => {
  const dead = unreachable();
  t.after(() => dead.disconnect());
  const l = new RedisSourceRateLimiter(dead, prefix, { requestsPerSecond: 1, burst: 1 });
  const e = await l.take('10.0.0.1').catch((x: unknown) => x);
  assert.ok(e instanceof FailClosed && e.status === 503 && e.code === 'limits_unavailable', String(e));
  assert.throws(() => new RedisSourceRateLimiter(dead, prefix, { requestsPerSecond: 0, burst: 1 }), /requestsPerSecond/);
});
