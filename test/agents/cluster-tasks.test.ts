// A2A tasks across replicas (two in-process Wardens on one PostgreSQL + Redis, in front of a LABELLED FAKE
// EXTERNAL agent): a task started through replica A is read, continued and cancelled through replica B, also
// after A is gone; another caller is refused it through either; while the task table cannot be read the call is
// 503 agent_store_unavailable (never answered from a guess), and served again once it can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { AgentEvent } from '@a2a-js/sdk/server';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';
import { partText, sdkClient, startSdkAgent, textMessage, wardenFetch } from './sdk-agents.js';

const WORKING = 2 as never;
const ROLE_AGENT = 2 as never;

/** What a load balancer in front of the replicas does: the public origin (in the rewritten card) goes to this replica. */
function through(r: TestWarden, key: string): typeof fetch {
  const f = wardenFetch(r.ca, key);
  return ((url: string | URL, init?: RequestInit) => f(String(url).replace('https://gateway.test', r.w.inferenceUrl), init)) as typeof fetch;
}

test('an A2A task started through one replica is read, continued and cancelled through another, also after the first is gone', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // A LABELLED FAKE EXTERNAL AGENT (test/agents/sdk-agents.ts): every message opens or continues a working task.
  const worker = await startSdkAgent('Worker', [{ id: 'summarize', description: 'Summarizes a text.' }], async (ctx, bus) => {
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: { state: WORKING, message: textMessage(`working on: ${partText(ctx.userMessage as never)}`, { role: ROLE_AGENT }), timestamp: undefined }, artifacts: [], history: [], metadata: undefined }));
    bus.finished();
  });
  t.after(() => worker.close());
  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  assert.equal((await admin(a, 'POST', '/admin/v1/agents', { id: 'worker', url: worker.url, grantees: ['consumers'] })).status, 201);
  const keyOf = async (id: string) => {
    assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id, tenant: 'acme', groups: ['consumers'] })).status, 201);
    return (await admin(a, 'POST', '/admin/v1/keys', { principal: id, models: ['*'], actions: ['callAgent'] })).json.key as string;
  };
  const [alice, bob] = [await keyOf('alice'), await keyOf('bob')];

  const onA = await sdkClient('https://gateway.test/a2a/worker', through(a, alice));
  const started = (await onA.sendMessage({ tenant: '', message: textMessage('the quarterly report'), configuration: undefined, metadata: undefined })) as unknown as { id: string };
  const taskId = started.id;
  assert.ok(taskId, JSON.stringify(started));

  const aliceOnB = await sdkClient('https://gateway.test/a2a/worker', through(b, alice));
  assert.equal((await aliceOnB.getTask({ tenant: '', id: taskId })).id, taskId);
  // Another caller of the same tenant does not get it, through either replica.
  const bobOnB = await sdkClient('https://gateway.test/a2a/worker', through(b, bob));
  await assert.rejects(bobOnB.getTask({ tenant: '', id: taskId }), /a2a_task_unknown|404/);
  const bobRaw = await a.call('inference', 'POST', '/a2a/worker', { key: bob, body: { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: taskId } }, headers: { 'a2a-version': '1.0' } });
  assert.equal(bobRaw.status, 404, bobRaw.text);
  assert.equal(bobRaw.json.error.code, 'a2a_task_unknown');

  // Replica A goes away; the task is still alice's through B: read, continued, cancelled.
  await a.stop();
  assert.equal((await aliceOnB.getTask({ tenant: '', id: taskId })).id, taskId);
  const more = (await aliceOnB.sendMessage({ tenant: '', message: textMessage('also the annex', { taskId, contextId: (started as unknown as { contextId: string }).contextId }), configuration: undefined, metadata: undefined })) as unknown as { id: string };
  assert.equal(more.id, taskId);
  const bobFollowUp = await b.call('inference', 'POST', '/a2a/worker', { key: bob, body: { jsonrpc: '2.0', id: 2, method: 'SendMessage', params: { message: { messageId: 'm1', role: 'ROLE_USER', taskId, parts: [{ text: 'mine now' }] } } }, headers: { 'a2a-version': '1.0' } });
  assert.equal(bobFollowUp.status, 404, bobFollowUp.text);
  assert.equal(bobFollowUp.json.error.code, 'a2a_task_unknown');
  const cancel = await b.call('inference', 'POST', '/a2a/worker', { key: alice, body: { jsonrpc: '2.0', id: 3, method: 'CancelTask', params: { id: taskId } }, headers: { 'a2a-version': '1.0' } });
  assert.equal(cancel.status, 200, cancel.text);
  const entry = b.audits().filter((x) => (x as Record<string, any>).action === 'callAgent').at(-1) as Record<string, any>;
  assert.equal(entry.details.method, 'CancelTask');
  assert.equal(entry.details.taskId, taskId);
  assert.equal(entry.decision, 'allow');

  // The task table cannot be read: refused with 503, not guessed; back when it can.
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  t.after(() => c.end());
  await c.query(`ALTER TABLE ${cl.prefix}a2a_tasks RENAME TO ${cl.prefix}a2a_tasks_away`);
  try {
    const down = await b.call('inference', 'POST', '/a2a/worker', { key: alice, body: { jsonrpc: '2.0', id: 4, method: 'GetTask', params: { id: taskId } }, headers: { 'a2a-version': '1.0' } });
    assert.equal(down.status, 503, down.text);
    assert.equal(down.json.error.code, 'agent_store_unavailable');
  } finally {
    await c.query(`ALTER TABLE ${cl.prefix}a2a_tasks_away RENAME TO ${cl.prefix}a2a_tasks`);
  }
  const back = await b.call('inference', 'POST', '/a2a/worker', { key: alice, body: { jsonrpc: '2.0', id: 5, method: 'GetTask', params: { id: taskId } }, headers: { 'a2a-version': '1.0' } });
  assert.equal(back.status, 200, back.text);
});
