// Baselines across replicas through the real gateway (two in-process Wardens on one PostgreSQL + Redis): a key
// used only through replica A is judged on replica B against what A learnt; a deviation seen by A raises the
// principal's risk on B (reported once, by A); the baselines are in PostgreSQL, not in the data dirs; an
// admin reset through B forgets the baseline on A. The model's and the peer group's baselines are merged there too.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

const SYNC_MS = 200;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two replicas share one baseline per principal, kept in PostgreSQL', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.monitor.baselines.minObservations = 10;
    c.monitor.baselines.syncMs = SYNC_MS;
    c.monitor.baselines.reportAt = 0.2;
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  assert.equal((await a.call('admin', 'POST', '/admin/v1/principals', { key: cl.adminKey, body: { id: 'kim', tenant: 'acme', groups: ['consumers'] } })).status, 201);
  const key = (await a.call('admin', 'POST', '/admin/v1/keys', { key: cl.adminKey, body: { principal: 'kim', models: ['demo-chat'], actions: ['chat'] } })).json.key as string;
  const send = (r: TestWarden, content: string) => r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } });
  const row = async (r: TestWarden) =>
    ((await r.call('admin', 'GET', '/admin/v1/monitor', { key: cl.adminKey })).json.data as { principal: string; risk: number; baseline: { observations: number; deviation: { score: number; reasons: string[] } | null } | null }[]).find((x) => x.principal === 'acme/user:kim');

  for (let i = 0; i < 12; i++) assert.equal((await send(a, `note ${i}`)).status, 200);
  await pause(SYNC_MS * 3);
  // B has never seen kim: the first request through it is judged against (and learnt on top of) A's twelve.
  assert.equal((await send(b, 'note 12')).status, 200);
  assert.equal((await row(b))!.baseline!.observations, 13);

  // A prompt far beyond kim's own p99, through A: a deviation, reported by A.
  const long = 'Please summarise the following minutes carefully. '.repeat(100);
  assert.equal((await send(a, long)).status, 200);
  await pause(SYNC_MS * 3);
  assert.equal((await send(b, 'note 13')).status, 200);
  const onB = (await row(b))!;
  // The demo model echoes: the answer's tokens grow with the prompt, and are far beyond kim's too.
  assert.match(onB.baseline!.deviation!.reasons.join(), /^prompt_length \d+ > 2 × p99 \d+,tokens_in \d+ > 3 × p99 \d+,tokens_out \d+ > 3 × p99 \d+$/);
  assert.ok(onB.risk >= 0.2, `risk on B ${onB.risk}`);
  const reports = [...a.audits(), ...b.audits()].filter((e) => e.action === 'monitor.deviation');
  assert.equal(reports.length, 1, 'reported once, by the replica that saw it');
  assert.ok(a.audits().includes(reports[0]!));

  // Kept in the cluster store (it survives every replica).
  await pause(SYNC_MS * 3);
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const stored = (await c.query<{ record: string }>(`SELECT record FROM ${cl.prefix}monitor_baselines WHERE principal = $1`, ['acme/user:kim'])).rows[0];
  // The model's and the peer group's baselines beside it, learnt from both replicas.
  const resources = (await c.query<{ principal: string; record: string }>(`SELECT principal, record FROM ${cl.prefix}monitor_baselines WHERE principal LIKE 'res:%' ORDER BY principal`)).rows;
  await c.end();
  assert.deepEqual(resources.map((x) => [x.principal, (JSON.parse(x.record) as { stats: { n: number } }).stats.n]), [['res:model:demo-chat', 15], ['res:peer:acme/user[consumers]', 15]]);
  assert.equal((JSON.parse(stored!.record) as { stats: { n: number } }).stats.n, 15);

  // A reset through B forgets kim's baseline on A as well (A reads the store again at kim's next request).
  assert.equal((await b.call('admin', 'POST', '/admin/v1/monitor/acme%2Fuser%3Akim/reset', { key: cl.adminKey })).status, 200);
  await pause(SYNC_MS * 2);
  assert.equal((await send(a, 'note 14')).status, 200);
  const afterReset = (await row(a))!;
  assert.equal(afterReset.baseline!.observations, 1);
  assert.equal(afterReset.baseline!.deviation, null);

  // Stopped, the replicas merge what they learnt last into the store; nothing is written to their data dirs.
  await Promise.all([a.stop(), b.stop()]);
  for (const dir of ['r1', 'r2']) assert.equal(existsSync(join(cl.root, dir, 'monitor-baselines.json')), false);
});
