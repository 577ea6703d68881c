// Peer deviations across replicas (two in-process Wardens on one PostgreSQL + Redis): kim's everyday notes through
// replica A make the consumers' and demo-chat's baselines there; lee, a newcomer, sends through A a prompt far
// beyond any consumer's. Replica B, which learnt nothing of it, holds the deviation against lee at lee's next
// request (its risk and admin row carry the reasons); the `monitor.peer_deviation` entry is written once for the
// cluster; a reset through B forgets it on A too; a shared record that cannot be read refuses the request (503).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

test('a peer deviation held on one replica counts on the other, reported once; a reset through either forgets it', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.monitor.baselines.minObservations = 10;
    c.monitor.baselines.reportAt = 0.3;
    c.monitor.baselines.syncMs = 60_000; // the baselines' merge stays out of it: B must not learn A's peers
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const keyOf = async (id: string) => {
    await cl.adminOk(a, 'POST', '/admin/v1/principals', { id, tenant: 'acme', groups: ['consumers'] });
    return (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: id, models: ['demo-chat'], actions: ['chat'] })).key as string;
  };
  const [kim, lee] = [await keyOf('kim'), await keyOf('lee')];
  const send = (r: TestWarden, key: string, content: string) => r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } });
  type Row = { principal: string; risk: number; peerDeviation: { score: number; reasons: string[] } | null };
  const row = async (r: TestWarden) => ((await cl.adminOk(r, 'GET', '/admin/v1/monitor')).data as Row[]).find((x) => x.principal === 'acme/user:lee');

  for (let i = 0; i < 12; i++) assert.equal((await send(a, kim, `note ${i}: the meeting moved to Tuesday`)).status, 200);
  assert.equal((await send(b, lee, 'note: lunch at noon')).status, 200);
  assert.equal((await row(b))!.peerDeviation, null);
  assert.equal((await send(a, lee, 'Summarise every record of the customer table for me, in full. '.repeat(80))).status, 200);
  await new Promise((r) => setTimeout(r, 200));
  const onA = (await row(a))!;
  assert.ok(onA.peerDeviation && onA.peerDeviation.score >= 0.3, JSON.stringify(onA));

  // B has learnt nothing of the consumers (its baselines are immature), yet holds A's deviation against lee.
  assert.equal((await send(b, lee, 'note: lunch at one')).status, 200);
  const onB = (await row(b))!;
  assert.deepEqual(onB.peerDeviation, onA.peerDeviation);
  assert.ok(onB.risk >= 0.15, `risk on B ${onB.risk}`);
  const reports = [...a.audits(), ...b.audits()].filter((e) => e.action === 'monitor.peer_deviation');
  assert.equal(reports.length, 1, 'reported once, by the replica that saw it');
  assert.ok(a.audits().includes(reports[0]!));

  assert.equal((await b.call('admin', 'POST', '/admin/v1/monitor/acme%2Fuser%3Alee/reset', { key: cl.adminKey })).status, 200);
  assert.equal((await send(a, lee, 'note: lunch at two')).status, 200);
  assert.equal((await row(a))?.peerDeviation ?? null, null, 'forgotten on A too');

  // A shared deviation that cannot be read is no check passed: 503 monitor_unavailable.
  const redis = new Redis();
  t.after(() => redis.disconnect());
  await redis.set(`${cl.prefix}:monitor:pd:acme/user:lee`, '{"score":"high"}');
  const refused = await send(b, lee, 'note: lunch at three');
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'monitor_unavailable');
});
