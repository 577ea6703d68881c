// One contract for both challenge stores (src/workload/attestation-challenges.ts): a nonce is spent exactly once,
// only for its deployment and before its expiry; anything forged is refused. For Redis the suite runs with
// two stores on one Redis (two replicas): issued by one, spent by the other, never twice across both. Redis
// unreachable or its shared MAC key tampered with → 503, never a challenge accepted unchecked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { LocalChallengeStore, RedisChallengeStore, type ChallengeStore } from '../../src/workload/attestation-challenges.js';
import { WardenError } from '../../src/core/errors.js';

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const TTL = 60_000;

interface Pair {
  /** The store that issues and the one that spends (the same one for a single process, two replicas on Redis). */
  issuer: ChallengeStore;
  spender: ChallengeStore;
}

const redisClients: Redis[] = [];
const prefixes: string[] = [];
after(async () => {
  if (redisClients.length === 0) return;
  const r = redisClients[0]!;
  for (const p of prefixes) {
    const keys = await r.keys(`${p}*`);
    if (keys.length) await r.del(...keys);
  }
  for (const c of redisClients) c.disconnect();
});

const backends: { name: string; open: () => Promise<Pair | string> }[] = [
  {
    name: 'in process',
    open: () => {
      const s = new LocalChallengeStore();
      return Promise.resolve({ issuer: s, spender: s });
    },
  },
  {
    name: 'Redis, two replicas',
    open: async () => {
      const skip = await requireService('redis');
      if (skip) return skip;
      const prefix = `tch_${randomBytes(4).toString('hex')}:`;
      prefixes.push(prefix);
      const [a, b] = [new Redis(), new Redis()];
      redisClients.push(a, b);
      return { issuer: new RedisChallengeStore(a, prefix), spender: new RedisChallengeStore(b, prefix) };
    },
  },
];

for (const backend of backends) {
  test(`challenges (${backend.name}): spent once, for its deployment, before its expiry`, async (t) => {
    const s = await backend.open();
    if (typeof s === 'string') return t.skip(s);
    const n = await s.issuer.issue('dep_a', T0 + TTL);
    assert.match(n, /^[0-9a-f]{112}$/);
    assert.equal(await s.spender.consume(n, 'dep_b', T0), false, 'another deployment');
    assert.equal(await s.spender.consume(n, 'dep_a', T0 + 1000), true, 'issued by one, spent by the other');
    assert.equal(await s.spender.consume(n, 'dep_a', T0 + 1000), false, 'spent');
    assert.equal(await s.issuer.consume(n, 'dep_a', T0 + 1000), false, 'spent, asked of the issuer');

    const late = await s.issuer.issue('dep_a', T0 + TTL);
    assert.equal(await s.spender.consume(late, 'dep_a', T0 + TTL), false, 'expired');
    const flipped = late.slice(0, 100) + (late[100] === '0' ? '1' : '0') + late.slice(101);
    assert.equal(await s.spender.consume(flipped, 'dep_a', T0), false, 'MAC broken');
    assert.equal(await s.spender.consume(randomBytes(56).toString('hex'), 'dep_a', T0), false, 'not issued');
    assert.equal(await s.spender.consume('', 'dep_a', T0), false, 'empty');
    assert.equal(await s.spender.consume('zz'.repeat(56), 'dep_a', T0), false, 'not hex');

    // Parallel key requests with one nonce (on both replicas): exactly one is let through.
    const one = await s.issuer.issue('dep_a', T0 + TTL);
    const raced = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? s.issuer : s.spender).consume(one, 'dep_a', T0)));
    assert.equal(raced.filter(Boolean).length, 1);
  });
}

test('in process: past limits.attestationUsedNonces spent nonces, key requests get 503 and the nonce is not spent', async () => {
  const s = new LocalChallengeStore(2);
  for (let i = 0; i < 2; i++) assert.equal(await s.consume(await s.issue('dep_a', T0 + TTL), 'dep_a', T0), true);
  const third = await s.issue('dep_a', T0 + TTL);
  await assert.rejects(s.consume(third, 'dep_a', T0), (e: WardenError) => e.status === 503 && e.code === 'too_many_challenges');
  // Once the first two expire, the table has room again and the third (still valid) is spent.
  const s2 = new LocalChallengeStore(1);
  assert.equal(await s2.consume(await s2.issue('dep_a', T0 + 10), 'dep_a', T0), true);
  const later = await s2.issue('dep_a', T0 + TTL);
  assert.equal(await s2.consume(later, 'dep_a', T0 + 20), true);
});

test('Redis: unreachable, or its shared MAC key malformed → 503 attestation_challenges_unavailable', async (t) => {
  const skip = await requireService('redis');
  if (skip) return t.skip(skip);
  const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  dead.on('error', () => {}); // the refused connection is the point; ioredis would print it as unhandled
  redisClients.push(dead);
  const down = new RedisChallengeStore(dead, 'tch_dead:');
  const unavailable = (e: WardenError) => e.status === 503 && e.code === 'attestation_challenges_unavailable';
  await assert.rejects(down.issue('dep_a', T0 + TTL), unavailable);
  await assert.rejects(down.consume('00'.repeat(56), 'dep_a', T0), unavailable);

  const prefix = `tch_${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  const r = new Redis();
  redisClients.push(r);
  const s = new RedisChallengeStore(r, prefix);
  const n = await s.issue('dep_a', T0 + TTL);
  await r.set(`${prefix}mac-key`, 'not a key');
  await assert.rejects(s.consume(n, 'dep_a', T0), unavailable);
  await assert.rejects(s.issue('dep_a', T0 + TTL), unavailable);
  // A Redis that lost the key (flushed) gets a new one: nonces made under the old key are refused, new ones work.
  await r.del(`${prefix}mac-key`);
  assert.equal(await s.consume(n, 'dep_a', T0), false);
  assert.equal(await s.consume(await s.issue('dep_a', T0 + TTL), 'dep_a', T0), true);
});
