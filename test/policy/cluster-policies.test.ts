// Policies across replicas (two in-process Wardens on one PostgreSQL + Redis): a set published through
// replica A is live on replica B within a second (NOTIFY, then B loads and hash-checks the stored set), and a
// rollback through B is live on A the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../helpers/services.js';
import { startTestCluster, withinOneSecond } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

test('a policy set published through one replica is live on the other within a second; so is a rollback', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const alice = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['demo-chat'], actions: ['chat'] })).json.key as string;
  const chat = (r: TestWarden) => r.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } });
  assert.equal((await chat(b)).status, 200);

  const before = (await admin(a, 'GET', '/admin/v1/policies')).json;
  assert.equal((await admin(b, 'GET', '/admin/v1/policies')).json.set_version, before.set_version, 'both replicas booted the one stored set');
  const text = before.policies.map((p: { text: string }) => p.text).join('\n') + '\n@id("alice-no-chat")\nforbid (principal == User::"alice", action == Action::"chat", resource);\n';
  const published = await admin(a, 'POST', '/admin/v1/policies', { text });
  assert.equal(published.status, 201, published.text);
  const ms = await withinOneSecond('the published set on B', async () => (await admin(b, 'GET', '/admin/v1/policies')).json.set_version === published.json.setVersion);
  const refused = await chat(b);
  assert.equal(refused.status, 403, refused.text);
  console.log(`# a set published through A was live on B after ${ms} ms`);

  const rolledBack = await admin(b, 'POST', '/admin/v1/policies/rollback', { version: before.set_version });
  assert.equal(rolledBack.status, 200, rolledBack.text);
  await withinOneSecond('the rollback on A', async () => (await admin(a, 'GET', '/admin/v1/policies')).json.set_version === before.set_version);
  assert.equal((await chat(a)).status, 200);
  const versions = (await admin(a, 'GET', '/admin/v1/policies')).json.versions as { version: string; active: boolean }[];
  assert.deepEqual(versions.filter((v) => v.active).map((v) => v.version), [before.set_version], 'one history, shared');
});
