// The model registry across replicas (two in-process Wardens on one PostgreSQL + Redis): a deployment
// registered through replica A is visible on B; quarantined through A's admin API it is refused on B within a
// second; and a deployment that B quarantines itself (its upstream served another digest) is refused on A
// within a second. The upstream is a FAKE OpenAI-compatible model server (external to Warden).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster, withinOneSecond } from '../helpers/cluster.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { testdata } from '../helpers/testdata.js';
import type { TestWarden } from '../helpers/warden.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { AnnouncingRegistryStore } from '../../src/store/registry-announce.js';
import { PostgresRegistryStore } from '../../src/store/registry-postgres.js';

const BUNDLE = JSON.parse(readFileSync(join(testdata('crypto_vectors/model_signing/v1.0.0-certificate'), 'model.sig'), 'utf8')) as unknown;
// The digest the vector's signature bundle names (registration checks that the two agree).
const PINNED = 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';

test('a model quarantined through one replica is refused on the other within a second', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const served = { digest: PINNED };
  const upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': served.digest });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'from the pinned model' } }], usage: { total_tokens: 3 } }));
  });
  t.after(() => upstream.close());
  const cl = await startTestCluster(2, (c) => {
    // Only the announcement can make a replica see another's change within the second: no periodic refresh.
    c.workload.refreshIntervalMs = 600_000;
    c.models.pinned = { grantees: ['consumers'] };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const alice = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['pinned'], actions: ['chat'] })).json.key as string;
  const chat = (r: TestWarden) => r.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model: 'pinned', messages: [{ role: 'user', content: 'hi' }] } });

  const register = async (version: string) => {
    const r = await admin(a, 'POST', '/admin/v1/models', { model: 'pinned', version, artifactDigest: PINNED, upstream: upstream.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: BUNDLE });
    assert.equal(r.status, 201, r.text);
    return r.json.id as string;
  };
  const dep1 = await register('1.0');
  const onB = await admin(b, 'GET', `/admin/v1/models/${dep1}`);
  assert.equal(onB.status, 200, 'registered through A, read through B: one registry');
  assert.equal(onB.json.state, 'registered');

  // Promotion with its artifact verification and MFA step-up is covered by e2e-routing.test.ts; here a third
  // writer on the shared store (announcing like a replica) promotes, so both replicas start routing.
  const side = await PostgresRegistryStore.connect({ connectionString: PG_URL, prefix: cl.prefix });
  const feed = await PgChangeFeed.connect({ connectionString: PG_URL, prefix: cl.prefix });
  t.after(async () => {
    await feed.close();
    await side.close();
  });
  const promote = (id: string) => new AnnouncingRegistryStore(side, feed).transition(id, 'registered', 'promoted', { knownGood: true, promotedAt: Date.now() }, Date.now());
  assert.equal(await promote(dep1), true);
  for (const r of [a, b]) await withinOneSecond('the promotion on both replicas', async () => (await chat(r)).status === 200);
  assert.equal((await chat(b)).json.choices[0].message.content, 'from the pinned model');

  const q = await admin(a, 'POST', `/admin/v1/models/${dep1}/quarantine`, { reason: 'incident 42' });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.state, 'quarantined');
  const ms = await withinOneSecond('the quarantine on B', async () => (await chat(b)).status !== 200);
  const refused = await chat(b);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'no_promoted_deployment');
  assert.equal((await admin(b, 'GET', `/admin/v1/models/${dep1}`)).json.state, 'quarantined');
  console.log(`# a deployment quarantined through A was refused on B after ${ms} ms`);

  // B sees its upstream serve another artifact, quarantines the deployment, and A stops routing to it.
  const dep2 = await register('2.0');
  assert.equal(await promote(dep2), true);
  for (const r of [a, b]) await withinOneSecond('the second promotion on both replicas', async () => (await chat(r)).status === 200);
  served.digest = `sha256:${'ee'.repeat(32)}`;
  const swapped = await chat(b);
  assert.notEqual(swapped.status, 200, 'the answer of a swapped model is not released');
  assert.equal(swapped.json.error.code, 'served_digest_mismatch', swapped.text);
  served.digest = PINNED;
  const ms2 = await withinOneSecond('the automatic quarantine on A', async () => (await chat(a)).status !== 200);
  assert.equal((await chat(a)).json.error.code, 'no_promoted_deployment');
  assert.equal((await admin(a, 'GET', `/admin/v1/models/${dep2}`)).json.state, 'quarantined');
  console.log(`# a deployment quarantined by B (served digest mismatch) was refused on A after ${ms2} ms`);
});
