// The Redis-backed replay and revocation stores, against a real Redis (skipped with a reason when
// none answers outside CI), plus their fail-closed behaviour when Redis is unreachable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { FailClosed } from '../../src/core/errors.js';
import { FixedClock } from '../../src/core/clock.js';
import { RedisNonceStore } from '../../src/identity/http-signature/redis-nonce-store.js';
import { RedisRevocationStore } from '../../src/identity/jit/redis-revocation-store.js';

let skip: string | false = false;
let redis: Redis;
const prefix = `warden-test:${randomUUID()}:`;

before(async () => {
  skip = await requireService('redis');
  if (!skip) redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
});

after(async () => {
  if (redis) {
    const keys = await redis.keys(prefix + '*');
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

test('a nonce is accepted once across store instances (two replicas)', { timeout: 5000 }, async (t) => {
  if (skip) return t.skip(skip);
  const replicaA = new RedisNonceStore(redis, prefix);
  const replicaB = new RedisNonceStore(redis, prefix);
  assert.equal(await replicaA.checkAndRecord('k1\nn1', 60_000), true);
  assert.equal(await replicaB.checkAndRecord('k1\nn1', 60_000), false);
  assert.ok((await redis.pttl(prefix + 'k1\nn1')) > 0, 'nonces carry a TTL');
});

test('a revoked jti (or ancestor) is seen by every replica', async (t) => {
  if (skip) return t.skip(skip);
  const a = new RedisRevocationStore(redis, prefix);
  const b = new RedisRevocationStore(redis, prefix);
  await a.revoke('jti-1', Date.now() + 60_000);
  assert.equal(await b.anyRevoked(['jti-1']), true);
  assert.equal(await b.anyRevoked(['jti-2', 'jti-1']), true);
  assert.equal(await b.anyRevoked(['jti-2']), false);
  assert.equal(await b.anyRevoked([]), false);
});

test('an unreachable Redis fails closed (503), never "fresh" or "not revoked"', async () => {
  const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  try {
    await assert.rejects(new RedisNonceStore(dead, prefix).checkAndRecord('k', 1000), (e: unknown) => e instanceof FailClosed && e.code === 'replay_cache_unavailable');
    await assert.rejects(new RedisRevocationStore(dead, prefix).anyRevoked(['j']), (e: unknown) => e instanceof FailClosed && e.code === 'revocation_store_unavailable');
  } finally {
    dead.disconnect();
  }
});

test('a revocation can start later (a rotated key\'s grace), and revoking again keeps the earliest start', async (t) => {
  if (skip) return t.skip(skip);
  const clock = new FixedClock(Date.now());
  const a = new RedisRevocationStore(redis, prefix, clock);
  const b = new RedisRevocationStore(redis, prefix, clock);
  await a.revoke('key:rotated', clock.now() + 120_000, clock.now() + 60_000);
  assert.equal(await b.anyRevoked(['key:rotated']), false, 'not yet: the grace runs');
  clock.advance(60_000);
  assert.equal(await b.anyRevoked(['key:rotated']), true);
  await a.revoke('key:later', clock.now() + 120_000, clock.now() + 60_000);
  await b.revoke('key:later', clock.now() + 30_000); // an immediate revocation wins over the later start
  assert.equal(await a.anyRevoked(['key:later']), true);
  assert.ok((await redis.pttl(prefix + 'key:later')) > 60_000, 'and the later end is kept');
});
