// Policies across replicas (two in-process Wardens on one PostgreSQL + Redis): a set published through
// replica A is live on replica B within a second (NOTIFY, then B loads and hash-checks the stored set), and a
// rollback through B is live on A the same way.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../helpers/services.js';
import { startTestCluster, withinOneSecond } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

/** Two replicas on PostgreSQL + Redis (null, the test skipped, without them) and a consumer's chat key. */
async function twoReplicas(t: TestContext, principal: string) {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) {
    t.skip(skip);
    return null;
  }
  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id: principal, tenant: 'acme', groups: ['consumers'] })).status, 201);
  const key = (await admin(a, 'POST', '/admin/v1/keys', { principal, models: ['demo-chat'], actions: ['chat'] })).json.key as string;
  return { a, b, admin, key };
}

test('a policy set published through one replica is live on the other within a second; so is a rollback', { timeout: 120_000 }, async (t) => {
  const two = await twoReplicas(t, 'alice');
  if (!two) return;
  const { a, b, admin, key: alice } = two;
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

test('a shadow candidate started through one replica is shadowed on the other within a second; stopped through it, on both', { timeout: 120_000 }, async (t) => {
  const two = await twoReplicas(t, 'bob');
  if (!two) return;
  const { a, b, admin, key: bob } = two;
  const live = (await admin(a, 'GET', '/admin/v1/policies')).json;
  const text = live.policies.map((p: { text: string }) => p.text).join('\n') + '\n@id("bob-no-chat")\nforbid (principal == User::"bob", action == Action::"chat", resource);\n';
  const shadow = await admin(a, 'POST', '/admin/v1/policies/shadow', { text });
  assert.equal(shadow.status, 201, shadow.text);
  const ms = await withinOneSecond('the shadow on B', async () => (await admin(b, 'GET', '/admin/v1/policies')).json.shadow_version !== null);
  console.log(`# a shadow started through A was shadowed on B after ${ms} ms`);
  // B still answers by the live set, and records the decision the candidate would change.
  const r = await b.call('inference', 'POST', '/v1/chat/completions', { key: bob, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } });
  assert.equal(r.status, 200, r.text);
  const diffs = (await admin(b, 'GET', '/admin/v1/policies/shadow/diffs')).json.data as { principal: string; live: string; candidate: string }[];
  assert.ok(diffs.some((d) => d.live === 'allow' && d.candidate === 'deny'), JSON.stringify(diffs));

  assert.equal((await admin(b, 'DELETE', '/admin/v1/policies/shadow')).status, 200);
  await withinOneSecond('the shadow stopped on A', async () => (await admin(a, 'GET', '/admin/v1/policies')).json.shadow_version === null);
  assert.equal((await admin(a, 'POST', '/admin/v1/policies/promote')).status, 404, 'nothing left to promote on A');
});
