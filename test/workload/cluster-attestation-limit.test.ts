// The attestation endpoints' per-source limit across replicas (two in-process Wardens on one PostgreSQL + Redis):
// one bucket per source address in Redis, so two replicas together allow `limits.attestationPerSource` once, not
// twice. (The bucket itself, its refill and Redis being unreachable: test/network/redis-source-limit.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

test('two replicas share one per-source attestation bucket', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.limits.attestationPerSource = { requestsPerSecond: 0.01, burst: 4 };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await (i % 2 ? b : a).call('inference', 'POST', '/v1/attestation/challenge', { body: { deployment: 'nope' } });
    statuses.push(r.status);
    if (r.status === 429) {
      assert.equal(r.json.error.code, 'rate_limited');
      assert.ok(Number(r.headers['retry-after']) > 1);
    }
  }
  // Four answered (404: no such deployment, after the limit let them through), then refused on both replicas.
  assert.deepEqual(statuses, [404, 404, 404, 404, 429, 429]);
});
