// Drift profiles across replicas through the real gateway (two in-process Wardens on one PostgreSQL + Redis, the
// demo upstream echoing the prompt): a deployment's baseline learnt through replica A waits for an operator, who
// approves it through replica B; the answers then turn to raw SQL through B and B, which never learnt a baseline
// itself, reports the drift (once, in the shared ledger) against the baseline approved there; the profile is a row
// of PostgreSQL, not in the data dirs. A drift both replicas see at once is reported (and acted on) by one; with
// store.redis alone the profiles are shared through Redis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster } from '../helpers/cluster.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import type { WardenConfig } from '../../src/config/config.js';

const SYNC_MS = 200;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two replicas share one approved drift baseline per deployment, kept in PostgreSQL', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.monitor.drift = { ...c.monitor.drift, baselineAnswers: 20, windowAnswers: 10, syncMs: SYNC_MS, approval: 'operator' };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  assert.equal((await a.call('admin', 'POST', '/admin/v1/principals', { key: cl.adminKey, body: { id: 'lee', tenant: 'acme', groups: ['consumers'] } })).status, 201);
  const key = (await a.call('admin', 'POST', '/admin/v1/keys', { key: cl.adminKey, body: { principal: 'lee', models: ['demo-chat'], actions: ['chat'] } })).json.key as string;
  const send = async (r: TestWarden, content: string) => assert.equal((await r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } })).status, 200);
  const rows = async (r: TestWarden) => (await r.call('admin', 'GET', '/admin/v1/monitor/drift', { key: cl.adminKey })).json.data as { deployment: string; phase: string; baselineAnswers: number; approvedBy: string | null }[];

  for (let i = 0; i < 20; i++) await send(a, `Summarize the notes of meeting ${i}: the team agreed on the plan and the budget.`);
  await pause(SYNC_MS * 3);
  const onB = (await rows(b)).find((x) => x.deployment.endsWith('/demo-chat'));
  assert.ok(onB, 'B lists the profile A learnt');
  assert.equal(onB.phase, 'awaiting_approval');
  assert.equal(onB.baselineAnswers, 20);
  const approved = await b.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(onB.deployment)}/approve`, { key: cl.adminKey });
  assert.equal(approved.status, 200, approved.text);
  await pause(SYNC_MS * 3);
  assert.equal((await rows(a)).find((x) => x.deployment === onB.deployment)!.phase, 'watching', 'A judges against the baseline approved through B');

  for (let i = 0; i < 12; i++) await send(b, `Here it is:\nSELECT id, email, salary FROM employees WHERE id > ${i * 100};`);
  for (let i = 0; i < 50 && ![...a.audits(), ...b.audits()].some((e) => e.action === 'monitor.drift'); i++) await pause(20);
  const drifts = [...a.audits(), ...b.audits()].filter((e) => e.action === 'monitor.drift') as Record<string, any>[];
  assert.equal(drifts.length, 1, 'reported once');
  assert.ok(b.audits().includes(drifts[0]!), 'by the replica that saw it');
  assert.equal(drifts[0]!.details.deployment, onB.deployment);
  await pause(SYNC_MS * 3);
  assert.equal((await rows(a)).find((x) => x.deployment === onB.deployment)!.phase, 'drifted', 'latched on A too');

  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const stored = (await c.query<{ record: string }>(`SELECT record FROM ${cl.prefix}monitor_drift_profiles WHERE key = $1`, [onB.deployment])).rows[0];
  await c.end();
  const rec = JSON.parse(stored!.record) as { phase: string; baselineN: number; approvedBy: string };
  assert.deepEqual([rec.phase, rec.baselineN], ['drifted', 20]);
  assert.match(rec.approvedBy, /admin/);
});

test('a drift both replicas see at once is one ledger entry and one playbook firing, by the replica that latched it', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.monitor.drift = { ...c.monitor.drift, baselineAnswers: 20, windowAnswers: 10, syncMs: SYNC_MS, approval: 'operator' };
    c.monitor.playbooks = [{ name: 'drift-book', when: { drift: true }, steps: [{ do: 'quarantineDeployment' }], dryRun: true }];
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  assert.equal((await a.call('admin', 'POST', '/admin/v1/principals', { key: cl.adminKey, body: { id: 'lee', tenant: 'acme', groups: ['consumers'] } })).status, 201);
  const key = (await a.call('admin', 'POST', '/admin/v1/keys', { key: cl.adminKey, body: { principal: 'lee', models: ['demo-chat'], actions: ['chat'] } })).json.key as string;
  const send = async (r: TestWarden, content: string) => assert.equal((await r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } })).status, 200);
  const rows = async (r: TestWarden) => (await r.call('admin', 'GET', '/admin/v1/monitor/drift', { key: cl.adminKey })).json.data as { deployment: string; phase: string }[];

  // One answer through A names the deployment; an operator approves a summaries answer set for it.
  await send(a, 'Summarize the notes of the planning meeting.');
  const dep = (await rows(a)).find((x) => x.deployment.endsWith('/demo-chat'))!.deployment;
  const answers = Array.from({ length: 20 }, (_, i) => `Summary ${i}: the team agreed on the plan and the budget for the quarter.`);
  const approved = await a.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(dep)}/approve`, { key: cl.adminKey, body: { answers, model: 'demo-chat' } });
  assert.equal(approved.status, 200, approved.text);
  await pause(SYNC_MS * 3);
  assert.deepEqual([(await rows(a)).find((x) => x.deployment === dep)?.phase, (await rows(b)).find((x) => x.deployment === dep)?.phase], ['watching', 'watching']);

  // Nine SQL answers on each replica (a window of ten is not judged before it is full), then the tenth on both at once.
  const sql = (i: number) => `Here it is:\nSELECT id, email, salary FROM employees WHERE id > ${i * 100};`;
  for (let i = 0; i < 9; i++) await Promise.all([send(a, sql(i)), send(b, sql(i))]);
  await Promise.all([send(a, sql(9)), send(b, sql(9))]);
  const entries = (action: string) => [...a.audits(), ...b.audits()].filter((e) => e.action === action) as Record<string, any>[];
  for (let i = 0; i < 100 && (entries('monitor.drift').length === 0 || entries('playbook.step').length === 0); i++) await pause(20);
  await pause(SYNC_MS * 3);
  assert.equal(entries('monitor.drift').length, 1, 'one drift report across the replicas');
  assert.equal(entries('playbook.step').length, 1, 'one playbook firing');
  const reporter = a.audits().includes(entries('monitor.drift')[0]!) ? a : b;
  assert.ok(reporter.audits().includes(entries('playbook.step')[0]!), 'the playbook ran where the drift was reported');
  assert.equal(entries('monitor.drift')[0]!.details.deployment, dep);
  assert.deepEqual([(await rows(a)).find((x) => x.deployment === dep)?.phase, (await rows(b)).find((x) => x.deployment === dep)?.phase], ['drifted', 'drifted']);
});

test('with store.redis alone (no PostgreSQL) replicas on separate data dirs share the drift profiles through Redis', { timeout: 120_000 }, async (t) => {
  const skip = await requireService('redis');
  if (skip) return t.skip(skip);
  const prefix = `h17drift_${randomBytes(4).toString('hex')}:`;
  const config = (c: WardenConfig) => {
    c.store = { redis: { url: 'redis://127.0.0.1:6379', prefix } };
    c.monitor.drift = { ...c.monitor.drift, baselineAnswers: 20, windowAnswers: 10, syncMs: SYNC_MS, approval: 'operator' };
  };
  const a = await startTestWarden(config);
  t.after(() => a.stop());
  const b = await startTestWarden(config);
  t.after(() => b.stop());
  const redis = new Redis();
  t.after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  // Each replica has its own identity store (SQLite in its data dir); the traffic goes through A.
  const keyA = (await a.keyFor('lee', ['demo-chat'], ['chat'])).key;
  const send = async (r: TestWarden, key: string, content: string) => assert.equal((await r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } })).status, 200);
  const rows = async (r: TestWarden) => (await r.call('admin', 'GET', '/admin/v1/monitor/drift', { key: r.adminKey })).json.data as { deployment: string; phase: string; baselineAnswers: number }[];

  for (let i = 0; i < 20; i++) await send(a, keyA, `Summarize the notes of meeting ${i}: the team agreed on the plan and the budget.`);
  await pause(SYNC_MS * 3);
  const onB = (await rows(b)).find((x) => x.deployment.endsWith('/demo-chat'));
  assert.ok(onB, 'B lists the profile A learnt');
  assert.deepEqual([onB.phase, onB.baselineAnswers], ['awaiting_approval', 20]);
  const approved = await b.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(onB.deployment)}/approve`, { key: b.adminKey });
  assert.equal(approved.status, 200, approved.text);
  await pause(SYNC_MS * 3);
  assert.equal((await rows(a)).find((x) => x.deployment === onB.deployment)!.phase, 'watching', 'A judges against the baseline approved through B');

  for (let i = 0; i < 12; i++) await send(a, keyA, `Here it is:\nSELECT id, email, salary FROM employees WHERE id > ${i * 100};`);
  for (let i = 0; i < 50 && !a.audits().some((e) => e.action === 'monitor.drift'); i++) await pause(20);
  await pause(SYNC_MS * 3);
  assert.equal(a.audits().filter((e) => e.action === 'monitor.drift').length, 1);
  assert.equal(b.audits().filter((e) => e.action === 'monitor.drift').length, 0);
  assert.equal((await rows(b)).find((x) => x.deployment === onB.deployment)!.phase, 'drifted', 'latched on B');
  const stored = await redis.hget(`${prefix}monitor:drift`, `r:${onB.deployment}`);
  assert.equal((JSON.parse(stored!) as { phase: string }).phase, 'drifted', 'kept in Redis');
});
