// The A2A agents registry across replicas (two in-process Wardens on one PostgreSQL + Redis): an agent registered
// through replica A is listed and its (rewritten) card served through replica B at once; removed through B, it
// is gone through A. (The store contract itself: test/store/agents-contract.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';
import { startSdkAgent } from './sdk-agents.js';

test('an agent registered through one replica is served and removed through another', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // A LABELLED FAKE EXTERNAL AGENT (test/agents/sdk-agents.ts).
  const worker = await startSdkAgent('Worker', [{ id: 'summarize', description: 'Summarizes a text.' }], async () => {});
  t.after(() => worker.close());
  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });

  const reg = await admin(a, 'POST', '/admin/v1/agents', { id: 'worker', url: worker.url, grantees: ['consumers'] });
  assert.equal(reg.status, 201, reg.text);
  const onB = await admin(b, 'GET', '/admin/v1/agents/worker');
  assert.equal(onB.status, 200, onB.text);
  assert.match(String(onB.json.card.digest), /^sha256:/);
  assert.equal(onB.json.card.digest, reg.json.card.digest);
  assert.deepEqual(((await admin(b, 'GET', '/admin/v1/agents')).json.data as { id: string }[]).map((x) => x.id), ['worker']);
  // A caller reads the card through B: Warden's rewritten card, pointing at Warden.
  assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const key = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['*'], actions: ['callAgent'] })).json.key as string;
  const card = await b.call('inference', 'GET', '/a2a/worker/.well-known/agent-card.json', { key });
  assert.equal(card.status, 200, card.text);
  assert.ok(card.text.includes('/a2a/worker'), card.text);
  assert.ok(!card.text.includes(worker.url), 'the agent\'s own endpoint is not handed out');
  // Registering the same id through B is refused (one registry).
  const again = await admin(b, 'POST', '/admin/v1/agents', { id: 'worker', url: worker.url, grantees: ['consumers'] });
  assert.equal(again.status, 409, again.text);
  // Removed through B: gone through A.
  assert.equal((await admin(b, 'DELETE', '/admin/v1/agents/worker')).status, 200);
  assert.equal((await admin(a, 'GET', '/admin/v1/agents/worker')).status, 404);
  assert.equal((await a.call('inference', 'GET', '/a2a/worker/.well-known/agent-card.json', { key })).status, 404);
});
