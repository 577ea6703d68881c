// The attestation endpoints' per-source limit shared by replicas, on a real Redis (skipped with a reason outside
// CI when none answers; CI fails instead): one bucket per source whichever replica is asked, sources apart, a
// refusal says when to come back, an idle bucket expires, and an unreachable Redis refuses (503) rather than
// letting a request through unchecked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { FailClosed, RateLimited } from '../../src/core/errors.js';
import { RedisSourceRateLimiter } from '../../src/network/redis-source-limit.js';

let skip: string | false = false;
const prefix = `warden-test:${randomUUID()}:source:`;
const conns: Redis[] = [];
const conn = () => {
  const r = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
  conns.push(r);
  return r;
};
/** A client of a Redis that is not there (nothing listens on port 1), configured as Warden's is (no offline queue). */
const unreachable = () => {
  const r = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => undefined);
  conns.push(r);
  return r;
};

before(async () => {
  skip = await requireService('redis');
});
after(async () => {
  if (!skip) {
    const r = conn();
    const keys = await r.keys(prefix + '*');
    if (keys.length) await r.del(...keys);
  }
  for (const r of conns) r.disconnect();
});

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof RateLimited || e instanceof FailClosed ? e.code : String(e);
  }
}

test('one bucket per source across three replicas: the burst holds whichever replica is asked', async (t) => {
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
  if (skip) return t.skip(skip);
  const l = new RedisSourceRateLimiter(conn(), prefix, { requestsPerSecond: 10, burst: 1 });
  assert.equal(await outcome(l.take('10.0.0.3')), 'ok');
  assert.equal(await outcome(l.take('10.0.0.3')), 'rate_limited');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await outcome(l.take('10.0.0.3')), 'ok');
});

test('Redis unreachable: 503 limits_unavailable, never an unchecked request; a bad rate is refused at construction', async () => {
  // Nothing listens on port 1.
  const l = new RedisSourceRateLimiter(unreachable(), prefix, { requestsPerSecond: 1, burst: 1 });
  const e = await l.take('10.0.0.1').catch((x: unknown) => x);
  assert.ok(e instanceof FailClosed && e.status === 503 && e.code === 'limits_unavailable', String(e));
  assert.throws(() => new RedisSourceRateLimiter(unreachable(), prefix, { requestsPerSecond: 0, burst: 1 }), /requestsPerSecond/);
});
