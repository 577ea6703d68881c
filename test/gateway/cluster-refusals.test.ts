// The failed-attempt budget of unauthenticated requests (limits.unauthenticated) across replicas: two in-process
// Wardens on one PostgreSQL + Redis spend one bucket per source address in Redis, so a credential guesser spread
// over both is turned away after `burst` failures in all, not `burst` per replica; the budget read from an
// unreachable Redis refuses (503 limits_unavailable) instead of waving the request through to identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pino from 'pino';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';
import { RedisFailureBudget, UnauthenticatedRefusals } from '../../src/gateway/refusals.js';
import { RedisSourceRateLimiter } from '../../src/network/redis-source-limit.js';
import { FailClosed } from '../../src/core/errors.js';
import { systemClock } from '../../src/core/clock.js';

const chat = (w: TestWarden, key: string) => w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } });

test('two replicas spend one failed-attempt budget per source; a valid key is not refused for it elsewhere', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.limits.unauthenticated = { requestsPerSecond: 0.01, burst: 4, accountingWindowMs: 60_000 };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await chat(i % 2 ? b : a, 'wk_not-a-key');
    statuses.push(r.status);
    if (r.status === 429) {
      assert.equal(r.json.error.code, 'too_many_failed_requests');
      assert.ok(Number(r.headers['retry-after']) > 1);
    }
  }
  // Per replica the budget would allow eight failures; shared, four in all.
  assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429]);
  // Turned away before any other work, even with a good credential, on the replica that did not see the last failure.
  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] });
  const { key } = (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['demo-chat'], actions: ['chat'] })) as { key: string };
  assert.equal((await chat(b, key)).status, 429);
  const probe = new Redis();
  t.after(() => probe.disconnect());
  assert.equal((await probe.keys(`${cl.prefix}:unauthenticated:source:*`)).length, 1, 'one bucket, in Redis');
  // Each replica still accounts in the ledger for what it refused itself: three each.
  await Promise.all([a.w.flushRefusals(), b.w.flushRefusals()]);
  for (const r of [a, b]) {
    const e = r.audits().filter((x) => x.action === 'refused.unauthenticated');
    assert.equal(e.length, 1);
    assert.equal((e[0]!.details as { count: number }).count, r === a ? 3 : 4);
  }
});

test('a shared budget that cannot be read refuses (503 limits_unavailable); a spend that fails is logged, not thrown', async () => {
  const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
  dead.on('error', () => undefined);
  const logged: string[] = [];
  const log = pino({ level: 'error' }, { write: (l: string) => void logged.push(l) });
  const budget = new RedisFailureBudget(new RedisSourceRateLimiter(dead, 'x:', { requestsPerSecond: 1, burst: 5 }), systemClock);
  const refusals = new UnauthenticatedRefusals({ perSource: { requestsPerSecond: 1, burst: 5 }, windowMs: 60_000 }, { clock: systemClock, audit: { append: async () => ({}) as never }, log, budget });
  try {
    const e = await Promise.resolve(refusals.admit('10.0.0.1')).catch((x: unknown) => x);
    assert.ok(e instanceof FailClosed && e.status === 503 && e.code === 'limits_unavailable', String(e));
    await refusals.record('10.0.0.1', 'req_1', 'invalid_api_key', 401);
    assert.ok(logged.some((l) => l.includes('could not spend the failed-attempt budget')), logged.join('\n'));
  } finally {
    dead.disconnect();
    await refusals.close().catch(() => undefined);
  }
});
