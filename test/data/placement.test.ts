// Classification decides placement (issue 16): the `placement` table of the config maps a request's class to the
// tiers and regions that may process it, and a tenant's residency to its regions. Against a running Warden with
// three FAKE upstreams (labelled test servers, not Warden code) placed differently: an upstream outside the table
// is refused (403 placement_refused, one entry, the upstream never called), fail closed for an upstream that
// declares no placement; retrieval embeddings carry the class the file was declared with; a tenant whose data must
// stay in a region cannot create stores on a Warden elsewhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const CARD = 'please charge card 4111 1111 1111 1111 for the order';
let w: TestWarden;
let fake: FakeUpstream;
const key: Record<string, string> = {};

before(async () => {
  fake = await startFakeUpstream((req, res, body) => {
    const b = JSON.parse(body || '{}') as { model?: string; input?: string | string[] };
    const json = req.url?.endsWith('/embeddings')
      ? { object: 'list', data: [b.input ?? []].flat().map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, index + 1] })), usage: { prompt_tokens: 1, total_tokens: 1 } }
      : { id: 'c1', object: 'chat.completion', model: b.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  });
  const up = (name: string, models: string[], placement: { tier?: string; region?: string }) => ({ name, baseUrl: fake.url, models, connections: 4, connectTimeoutMs: 2000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000, ...placement });
  w = await startTestWarden((c) => {
    c.upstreams = [
      up('cloud', ['cloud-chat', 'cloud-embed'], { tier: 'public_cloud', region: 'us' }),
      up('eu', ['eu-chat', 'eu-embed'], { tier: 'onprem', region: 'eu' }),
      up('us-onprem', ['us-chat'], { tier: 'onprem', region: 'us' }),
      up('undeclared', ['plain-chat'], {}),
    ];
    c.placement = { classes: { confidential: { tiers: ['onprem'] }, restricted: { tiers: ['onprem'], regions: ['eu'] } }, tenants: { euco: { regions: ['eu'] } }, region: 'us' };
    c.monitor.enabled = false;
  });
  const models = ['cloud-chat', 'cloud-embed', 'eu-chat', 'eu-embed', 'us-chat', 'plain-chat'];
  key.carl = (await w.keyFor('carl', models, ['*'], { tenant: 'acme', groups: ['consumers', 'retrieval-writers'] })).key;
  key.eve = (await w.keyFor('eve', models, ['*'], { tenant: 'euco', groups: ['consumers', 'retrieval-writers'] })).key;
});
after(async () => {
  await w?.stop();
  await fake?.close();
});

const chat = (who: string, model: string, content: string) => w.call('inference', 'POST', '/v1/chat/completions', { key: key[who]!, body: { model, messages: [{ role: 'user', content }] } });

function refusedAtRoute(r: { status: number; json: any; headers: any }, what: string): void {
  assert.equal(r.status, 403, `${what}: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.error.code, 'placement_refused', what);
  const entries = w.audits().filter((a) => a.requestId === r.headers['x-request-id']) as any[];
  assert.equal(entries.length, 1, what);
  assert.equal(entries[0].stage, 'route', what);
  assert.equal(entries[0].errorCode, 'placement_refused', what);
}

test('confidential content is refused on a public-cloud upstream and on one that declares no placement, served on-prem', async () => {
  const before = fake.requests.length;
  const cloud = await chat('carl', 'cloud-chat', CARD);
  refusedAtRoute(cloud, 'public cloud');
  assert.match(cloud.json.error.message, /confidential data may be processed only in tier onprem .*is tier public_cloud/);
  refusedAtRoute(await chat('carl', 'plain-chat', CARD), 'undeclared placement (fail closed)');
  assert.equal(fake.requests.length, before, 'no refused request reached an upstream');
  assert.equal((await chat('carl', 'eu-chat', CARD)).status, 200);
  assert.equal((await chat('carl', 'us-chat', CARD)).status, 200);
  // A class without a row is not constrained.
  assert.equal((await chat('carl', 'cloud-chat', 'what is the weather like')).status, 200);
});

test('tenant residency: an eu tenant\'s requests go only to eu upstreams, whatever their class', async () => {
  const r = await chat('eve', 'cloud-chat', 'hello');
  refusedAtRoute(r, 'us cloud');
  assert.match(r.json.error.message, /tenant euco's data stays in region eu/);
  refusedAtRoute(await chat('eve', 'us-chat', 'hello'), 'us on-prem');
  refusedAtRoute(await chat('eve', 'plain-chat', 'hello'), 'undeclared region');
  assert.equal((await chat('eve', 'eu-chat', 'hello')).status, 200);
  const e = await w.call('inference', 'POST', '/v1/embeddings', { key: key.eve!, body: { model: 'cloud-embed', input: 'hello' } });
  refusedAtRoute(e, 'embeddings route too');
});

test('an eu tenant cannot create a vector store on a Warden whose stores are in us', async () => {
  const r = await w.call('inference', 'POST', '/v1/vector_stores', { key: key.eve!, body: { embedding_model: 'eu-embed' } });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'placement_refused');
  assert.match(r.json.error.message, /this Warden's stores are in us/);
});

test('retrieval: a file declared confidential is embedded as confidential, so only an on-prem embedding model may index it', async () => {
  const mk = async (model: string) => (await w.call('inference', 'POST', '/v1/vector_stores', { key: key.carl!, body: { embedding_model: model } })).json.id as string;
  const cloudStore = await mk('cloud-embed');
  const add = (store: string, classification: string) => w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: key.carl!, body: { content: 'quarterly numbers look fine', classification } });
  const refused = await add(cloudStore, 'confidential');
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error.code, 'placement_refused');
  const child = w.audits().filter((a: any) => a.details?.parentRequestId === refused.headers['x-request-id']) as any[];
  assert.equal(child.length, 1);
  assert.equal(child[0].stage, 'route');
  assert.match(refused.json.error.message, /confidential data may be processed only in tier onprem/, 'the text itself reads as public: the declared class decided');
  assert.equal((await add(cloudStore, 'public')).status, 200, 'public content may use the cloud model');
  assert.equal((await add(await mk('eu-embed'), 'confidential')).status, 200);
});
