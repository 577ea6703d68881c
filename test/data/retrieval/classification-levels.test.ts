// Configured classification levels through a running Warden (real TLS, SQLite, PDP, ledger; embeddings from the
// built-in demo upstream, a labelled FAKE model): five levels, credentials mapped to top-secret. The policy set is
// the starter set plus a rule that lets a tenant's members retrieve any chunk of their tenant whatever its class,
// so what keeps a `clearance:secret` principal from top-secret chunks is the plane's clearance on the configured
// scale. Datasets may declare the configured levels only; /admin/v1/inspect takes and answers them.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chunkText } from '../../../src/data/retrieval/index.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const LEVELS = ['public', 'internal', 'confidential', 'secret', 'top-secret'];
const SECRET_NOTE = 'Project Heron merger talks with Initech resume next Tuesday in Geneva';
const TOP_NOTE = 'Launch codes for the Heron vault are kept in the blue binder on shelf nine';
const first = (text: string) => chunkText(text, { maxTokens: 16, overlapTokens: 0 })[0]!;
const SMALL_CHUNKS = { type: 'static', static: { max_chunk_size_tokens: 16, chunk_overlap_tokens: 0 } };
const tmp = mkdtempSync(join(tmpdir(), 'warden-levels-'));

let w: TestWarden;
const key: Record<string, string> = {};
let store = '';

before(async () => {
  w = await startTestWarden((c) => {
    c.classification = { levels: LEVELS, detectors: { restricted: 'top-secret' } };
    c.monitor.enabled = false;
  });
  const dir = join(process.cwd(), 'policies', 'starter');
  const starter = readdirSync(dir).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const anyClass = '\n@id("retrieve-any-class-in-tenant")\npermit (principal, action == Action::"retrieve", resource is Chunk) when { resource.tenant == principal.tenant };\n';
  await w.admin('POST', '/admin/v1/policies', { text: starter + anyClass });
  const mk = async (id: string, groups: string[]) => (key[id] = (await w.keyFor(id, ['demo-embed'], ['*'], { tenant: 'acme', groups })).key);
  await mk('wendy', ['consumers', 'retrieval-writers', 'clearance:top-secret']);
  await mk('sid', ['consumers', 'clearance:secret']);
  await mk('carl', ['consumers']);
  const created = await w.call('inference', 'POST', '/v1/vector_stores', { key: key.wendy!, body: { name: 'ops', embedding_model: 'demo-embed' } });
  assert.equal(created.status, 200, created.text);
  store = created.json.id;
  for (const [content, classification] of [[SECRET_NOTE, 'secret'], [TOP_NOTE, 'top-secret'], ['The canteen opens at noon', 'public']] as const) {
    const r = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: key.wendy!, body: { content, classification, chunking_strategy: SMALL_CHUNKS } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.attributes.classification, classification);
  }
});
after(async () => {
  await w?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const search = (who: string, query: string) => w.call('inference', 'POST', `/v1/vector_stores/${store}/search`, { key: key[who]!, body: { query, max_num_results: 10 } });
const texts = (r: { json: any }): string[] => (r.json?.data ?? []).map((d: any) => d.content[0].text as string);

test('clearance:secret sees secret chunks, never top-secret ones; clearance:top-secret sees both; no clearance sees neither', async () => {
  const sid = await search('sid', first(SECRET_NOTE));
  assert.equal(sid.status, 200, sid.text);
  assert.equal(texts(sid)[0], first(SECRET_NOTE));
  const sidTop = await search('sid', first(TOP_NOTE));
  assert.ok(!texts(sidTop).includes(first(TOP_NOTE)), 'the exact query does not reach a top-secret chunk');
  assert.ok((sidTop.json.data as { attributes: { classification: string } }[]).every((d) => d.attributes.classification !== 'top-secret'));
  const entry = w.audits().find((a) => a.requestId === String(sidTop.headers['x-request-id']))!;
  assert.equal((entry.details as Record<string, string>).clearance, 'secret', 'the ledger names the clearance on the configured scale');
  assert.equal(texts(await search('wendy', first(TOP_NOTE)))[0], first(TOP_NOTE));
  const carl = texts(await search('carl', first(SECRET_NOTE)));
  assert.ok(!carl.includes(first(SECRET_NOTE)) && !carl.includes(first(TOP_NOTE)), 'members without clearance reach internal only');
});

test('a label outside the configured levels is refused with 400 naming them', async () => {
  for (const classification of ['restricted', 'cosmic']) {
    const r = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: key.wendy!, body: { content: 'x', classification } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_classification');
    assert.match(r.json.error.message, /public, internal, confidential, secret, top-secret/);
  }
  const vs = await w.call('inference', 'POST', '/v1/vector_stores', { key: key.wendy!, body: { name: 'x', embedding_model: 'demo-embed', classification: 'restricted' } });
  assert.equal(vs.status, 400, vs.text);
});

test('/admin/v1/inspect classifies on the configured scale and takes its labels only', async () => {
  const r = await w.admin('POST', '/admin/v1/inspect', { text: 'deploy key AKIAIOSFODNN7EXAMPLE' });
  assert.equal(r.classification, 'top-secret');
  assert.equal((await w.admin('POST', '/admin/v1/inspect', { text: 'hello', label: 'secret' })).classification, 'secret');
  const bad = await w.call('admin', 'POST', '/admin/v1/inspect', { key: w.adminKey, body: { text: 'hello', label: 'restricted' } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.code, 'invalid_classification');
});

test('dataset registration: a configured level is admitted, a level outside them is refused naming the allowed ones', async () => {
  const pair = generateKeyPairSync('ed25519');
  const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  await w.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
  const sign = async (name: string, classification: string) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), '{"text":"the canteen opens at noon","label":"x"}\n');
    return (await signDataset(dir, { name, version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification, categories: [], retention: 'P30D' }, signer, { classifications: LEVELS })).bundle;
  };
  const ok = await w.call('admin', 'POST', '/admin/v1/datasets', { key: w.adminKey, body: { signatureBundle: await sign('ops-secret', 'secret') } });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.classification, 'secret');
  // Signed elsewhere with a level this gateway does not configure (the default signer's `restricted`).
  const dir = join(tmp, 'ops-restricted');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"x","label":"y"}\n');
  const restricted = (await signDataset(dir, { name: 'ops-restricted', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'restricted', categories: [], retention: 'P30D' }, signer)).bundle;
  const refused = await w.call('admin', 'POST', '/admin/v1/datasets', { key: w.adminKey, body: { signatureBundle: restricted } });
  assert.equal(refused.json.error.code, 'dataset_manifest_invalid', refused.text);
  assert.match(refused.json.error.message, /classification "restricted" is not one of public, internal, confidential, secret, top-secret/);
  const entry = w.audits().filter((a) => a.action === 'data.dataset.register').at(-1)!;
  assert.equal(entry.decision, 'deny', 'the refusal is in the ledger');
  await assert.rejects(sign('ops-cosmic', 'cosmic'), /classification "cosmic" is not one of public, internal, confidential, secret, top-secret/, 'the signer is told too');
});

test('retrieval honours no obligation: an allow that carries one refuses the store or withholds the chunk, never drops the duty', async () => {
  const dir = join(process.cwd(), 'policies', 'starter');
  const starter = readdirSync(dir).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const anyClass = '\n@id("retrieve-any-class-in-tenant")\npermit (principal, action == Action::"retrieve", resource is Chunk) when { resource.tenant == principal.tenant };\n';
  const canteen = first('The canteen opens at noon');
  assert.ok(texts(await search('carl', canteen)).includes(canteen), 'before: carl reaches the public chunk');
  try {
    // A redaction duty on carl's chunks: retrieval cannot redact a chunk, so the chunk is withheld.
    const chunkDuty = '\n@id("carl-chunks-redacted")\n@obligation("redact:pii")\npermit (principal == User::"carl", action == Action::"retrieve", resource is Chunk) when { resource.tenant == principal.tenant };\n';
    await w.admin('POST', '/admin/v1/policies', { text: starter + anyClass + chunkDuty });
    const withheld = await search('carl', canteen);
    assert.equal(withheld.status, 200, withheld.text);
    assert.ok(!texts(withheld).includes(canteen), 'the chunk whose allow carries a duty is not released');
    assert.ok(texts(await search('sid', canteen)).includes(canteen), 'a caller without the duty still reaches it');
    // The same duty on reading the store: the whole search is refused.
    const storeDuty = '\n@id("carl-store-flagged")\n@obligation("flag:review")\npermit (principal == User::"carl", action == Action::"readVectorStore", resource is VectorStore);\n';
    await w.admin('POST', '/admin/v1/policies', { text: starter + anyClass + storeDuty });
    const refused = await search('carl', canteen);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, 'policy_denied');
    assert.match(refused.json.error.message, /unenforceable obligation flag:review/);
  } finally {
    await w.admin('POST', '/admin/v1/policies', { text: starter + anyClass });
  }
  assert.ok(texts(await search('carl', canteen)).includes(canteen), 'after: carl reaches it again');
});
