// Model extraction across replicas (two in-process Wardens on one PostgreSQL + Redis): a logprob-harvesting
// campaign split evenly over the two replicas, each half of it below the threshold on its own, is counted as one
// window and detected (one `monitor.extraction` entry for the cluster); both replicas' risk carries the score; a
// reset through B forgets the window on A too; a window that cannot be read refuses the request (503).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ExtractionDetector } from '../../src/monitor/extraction.js';
import { FixedClock } from '../../src/core/clock.js';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

const EXTRACTION = { minRequests: 20, threshold: 0.65 };
const prompt = (i: number) => `question ${['alpha', 'beta', 'gamma', 'delta'][i % 4]} ${i * 7919} about topic ${i}`;

test('an extraction campaign split over two replicas is one campaign: detected once, risk on both, reset everywhere', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // Half the campaign, on one process, stays below the threshold (what each replica alone would have seen).
  const half = new ExtractionDetector({ clock: new FixedClock(0), ...EXTRACTION });
  for (let i = 0; i < 10; i++) half.observe('x', { endpoint: 'chat', body: { messages: [{ role: 'user', content: prompt(i) }], logprobs: true, top_logprobs: 20 } });
  assert.ok(half.score('x') < EXTRACTION.threshold, `half alone: ${half.score('x')}`);

  const cl = await startTestCluster(2, (c) => {
    c.monitor.extraction = { ...c.monitor.extraction, ...EXTRACTION };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'xavier', tenant: 'acme', groups: ['consumers'] });
  const key = (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: 'xavier', models: ['demo-chat'], actions: ['chat'] })).key as string;
  const send = (r: TestWarden, i: number) => r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: prompt(i) }], logprobs: true, top_logprobs: 20 } });
  for (let i = 0; i < 20; i++) assert.equal((await send(i % 2 ? b : a, i)).status, 200);
  await new Promise((r) => setTimeout(r, 200));

  const reports = [...a.audits(), ...b.audits()].filter((e) => e.action === 'monitor.extraction') as Record<string, any>[];
  assert.equal(reports.length, 1, 'detected once for the cluster');
  assert.equal(reports[0]!.details.requests, 20);
  assert.ok(reports[0]!.details.score >= EXTRACTION.threshold);
  // Each replica's view (read at the principal's next request) is the whole window.
  for (const r of [a, b]) {
    assert.equal((await r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'thanks' }] } })).status, 200);
    const row = ((await cl.adminOk(r, 'GET', '/admin/v1/monitor')).data as { principal: string; risk: number; extraction: { score: number; requests: number } }[]).find((x) => x.principal === 'acme/user:xavier')!;
    assert.ok(row.extraction.requests >= 21 && row.extraction.score >= EXTRACTION.threshold, JSON.stringify(row.extraction));
    assert.ok(row.risk >= 0.6 * EXTRACTION.threshold, `risk ${row.risk}`);
  }

  assert.equal((await b.call('admin', 'POST', '/admin/v1/monitor/acme%2Fuser%3Axavier/reset', { key: cl.adminKey })).status, 200);
  assert.equal((await send(a, 99)).status, 200);
  const fresh = ((await cl.adminOk(a, 'GET', '/admin/v1/monitor')).data as { principal: string; extraction: { requests: number } }[]).find((x) => x.principal === 'acme/user:xavier')!;
  assert.equal(fresh.extraction.requests, 1, 'forgotten on A too: only the request since the reset');

  const redis = new Redis();
  t.after(() => redis.disconnect());
  await redis.del(`${cl.prefix}:monitor:x:acme/user:xavier`);
  await redis.set(`${cl.prefix}:monitor:x:acme/user:xavier`, 'not a hash');
  const refused = await send(b, 100);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'monitor_unavailable');
});
