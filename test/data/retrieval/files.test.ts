// OpenAI's Files API in front of vector stores, driven by the official `openai` SDK against a running Warden (real
// TLS, real SQLite, the real PDP with the starter policies; embeddings from the built-in demo upstream, a labelled
// FAKE model): a file is uploaded (multipart), added to a store by file_id (uploadAndPoll, createAndPoll, and
// vectorStores.create({ file_ids })), searched, listed, read back (files.content) and deleted. Every refusal answers with its status, code and
// one ledger entry: a consumer uploading, another tenant reading or attaching an upload, a key whose scope lacks the
// action, a body that is not multipart, a purpose other than vector-store content, a binary file, an upload added
// twice, an expired upload, the content of an upload the caller may not read. The uploaded text is sealed at rest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { Agent } from 'undici';
import { FixedClock } from '../../../src/core/clock.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';
import { multipart } from '../../helpers/multipart.js';

const T0 = Date.UTC(2026, 11, 1);
const clock = new FixedClock(T0);
const HANDBOOK = 'The VPN concentrator in Lyon is reset every Sunday at four in the morning';
const ROTA = 'On-call engineers hand over the pager at nine on Mondays';
const SEALED_MARKER = 'Nightingale-escrow-7731 is the vault code word';
let w: TestWarden;
let dispatcher: Agent;
const key: Record<string, string> = {};
const sdk: Record<string, OpenAI> = {};

before(async () => {
  w = await startTestWarden(
    (c) => {
      c.monitor.enabled = false;
    },
    { clock },
  );
  dispatcher = new Agent({ connect: { ca: w.ca } });
  const mk = async (id: string, tenant: string, groups: string[], actions = ['*']) => (key[id] = (await w.keyFor(id, ['demo-embed'], actions, { tenant, groups })).key);
  await mk('wendy', 'acme', ['consumers', 'retrieval-writers', 'clearance:restricted']);
  await mk('carl', 'acme', ['consumers']);
  await mk('gina', 'globex', ['consumers', 'retrieval-writers']);
  // A writer whose key's scope is a ceiling without uploads: refused at /v1/files whatever policy grants.
  await mk('vera', 'acme', ['consumers', 'retrieval-writers'], ['embed', 'createVectorStore', 'readVectorStore', 'writeVectorStore']);
  for (const id of Object.keys(key)) sdk[id] = new OpenAI({ apiKey: key[id]!, baseURL: `${w.w.inferenceUrl}/v1`, fetchOptions: { dispatcher } as never, maxRetries: 0 });
});
after(async () => {
  await w?.stop();
  await dispatcher?.close();
});

/** The SDK's error for a refused call (status and Warden's error code). */
async function refused(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status?: number; code?: string; error?: { code?: string } };
    return { status: err.status ?? 0, code: err.code ?? err.error?.code ?? '' };
  }
  assert.fail('the call was not refused');
}

const entries = (action: string) => w.audits().filter((a) => (a as { action?: string }).action === action) as Record<string, any>[];
describe('the OpenAI SDK: upload, add by file_id, search, list, delete', () => {
  test('files.create, then vectorStores.files.createAndPoll and uploadAndPoll; the store answers a search with the text', async () => {
    const c = sdk.wendy!;
    const f = await c.files.create({ file: await toFile(Buffer.from(HANDBOOK), 'handbook.txt'), purpose: 'assistants' });
    assert.match(f.id, /^file-[0-9a-f]{24}$/);
    assert.deepEqual([f.object, f.bytes, f.filename, f.purpose, f.status], ['file', Buffer.byteLength(HANDBOOK), 'handbook.txt', 'assistants', 'processed']);
    assert.equal(f.expires_at, Math.floor((T0 + 86_400_000) / 1000), 'kept one day by default');
    const vs = await c.vectorStores.create({ name: 'ops', embedding_model: 'demo-embed' } as never);
    const added = await c.vectorStores.files.createAndPoll(vs.id, { file_id: f.id });
    assert.deepEqual([added.id, added.status, added.vector_store_id], [f.id, 'completed', vs.id]);
    const second = await c.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from(ROTA), 'rota.txt'));
    assert.equal(second.status, 'completed');
    const files = [];
    for await (const x of c.vectorStores.files.list(vs.id)) files.push(x.id);
    assert.deepEqual(files.sort(), [f.id, second.id].sort());
    const page = await c.vectorStores.search(vs.id, { query: HANDBOOK });
    const hits = page.data.map((d) => d.content[0]!.text);
    assert.equal(hits[0], HANDBOOK, 'the nearest chunk is the uploaded text');
    assert.equal(page.data[0]!.file_id, f.id);
    // Each step is one ledger entry with its decision.
    assert.equal(entries('uploadFile').filter((e) => e.decision === 'allow').length, 2);
  });

  test('vectorStores.create({ file_ids }) adds uploads at creation; files.list / retrieve / delete', async () => {
    const c = sdk.wendy!;
    const a = await c.files.create({ file: await toFile(Buffer.from('Badges are renewed every January'), 'badges.txt'), purpose: 'user_data' });
    const b = await c.files.create({ file: await toFile(Buffer.from('Laptops are imaged by the service desk'), 'laptops.txt'), purpose: 'assistants', expires_after: { anchor: 'created_at', seconds: 3600 } });
    assert.equal(b.expires_at, Math.floor((T0 + 3_600_000) / 1000), 'a shorter expires_after is kept');
    const vs = await c.vectorStores.create({ name: 'it', embedding_model: 'demo-embed', file_ids: [a.id, b.id] } as never);
    assert.equal(vs.file_counts.completed, 2);
    const listed = [];
    for await (const x of c.files.list()) listed.push(x.id);
    assert.ok(listed.includes(a.id) && listed.includes(b.id));
    assert.equal((await c.files.retrieve(a.id)).filename, 'badges.txt');
    const del = await c.files.delete(a.id);
    assert.deepEqual([del.id, del.deleted], [a.id, true]);
    assert.deepEqual(await refused(c.files.retrieve(a.id)), { status: 404, code: 'file_not_found' });
    // The store keeps what was added from it (its chunks are the store's now).
    const after = [];
    for await (const x of c.vectorStores.files.list(vs.id)) after.push(x.id);
    assert.ok(after.includes(a.id));
  });

  test('files.content gives the uploaded bytes back as text/plain, in one allow entry', async () => {
    const text = 'Zürich office: the badge reader on floor 2 is replaced on Friday ✓';
    const f = await sdk.wendy!.files.create({ file: await toFile(Buffer.from(text), 'zurich.txt'), purpose: 'assistants' });
    const r = await sdk.wendy!.files.content(f.id);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await r.text(), text);
    const entry = (w.audits() as Record<string, any>[]).find((e) => e.requestId === r.headers.get('x-request-id'));
    assert.equal(entry?.action, 'readFile');
    assert.equal(entry?.decision, 'allow');
    assert.deepEqual(entry?.resource, { type: 'Upload', id: f.id });
    assert.deepEqual([entry?.details.file, entry?.details.bytes], [f.id, Buffer.byteLength(text)]);
    assert.ok(entry?.policyIds.includes('uploads-in-tenant'), JSON.stringify(entry?.policyIds));
    // The content is read only: another method is 405.
    const del = await w.call('inference', 'DELETE', `/v1/files/${f.id}/content`, { key: key.wendy! });
    assert.equal(del.status, 405);
  });

  test('the uploaded text is sealed at rest', async () => {
    await sdk.wendy!.files.create({ file: await toFile(Buffer.from(SEALED_MARKER), 'vault.txt'), purpose: 'assistants' });
    const db = join(w.w.dataDir, 'retrieval.db');
    const bytes = Buffer.concat([readFileSync(db), readFileSync(db + '-wal')]);
    assert.equal(bytes.includes(Buffer.from('Nightingale-escrow')), false);
  });
});

describe('every refusal, with its status, code and entry', () => {
  test('a consumer may not upload (policy); a key without uploadFile in its scope may not either (ceiling)', async () => {
    const file = await toFile(Buffer.from('x y z'), 'n.txt');
    assert.deepEqual(await refused(sdk.carl!.files.create({ file, purpose: 'assistants' })), { status: 403, code: 'policy_denied' });
    assert.ok(entries('uploadFile').some((e) => e.decision === 'deny' && e.principal?.id === 'carl'), 'the refusal is in the ledger');
    const r = await refused(sdk.vera!.files.create({ file: await toFile(Buffer.from('x y z'), 'n.txt'), purpose: 'assistants' }));
    assert.equal(r.status, 403);
    assert.ok(entries('uploadFile').some((e) => e.decision === 'deny' && e.principal?.id === 'vera'));
  });

  test('another tenant can neither read, delete nor attach an upload', async () => {
    const f = await sdk.wendy!.files.create({ file: await toFile(Buffer.from('acme only text'), 'acme.txt'), purpose: 'assistants' });
    const g = sdk.gina!;
    assert.deepEqual(await refused(g.files.retrieve(f.id)), { status: 403, code: 'policy_denied' });
    assert.deepEqual(await refused(g.files.delete(f.id)), { status: 403, code: 'policy_denied' });
    const gs = await g.vectorStores.create({ name: 'globex', embedding_model: 'demo-embed' } as never);
    assert.deepEqual(await refused(g.vectorStores.files.create(gs.id, { file_id: f.id })), { status: 403, code: 'policy_denied' });
    assert.deepEqual(await refused(g.vectorStores.create({ name: 'x', embedding_model: 'demo-embed', file_ids: [f.id] } as never)), { status: 403, code: 'policy_denied' });
    const listed = [];
    for await (const x of g.files.list()) listed.push(x.id);
    assert.equal(listed.includes(f.id), false, 'not listed to another tenant');
    // Each of the four attempts is one deny entry naming the upload and the policy that refused it.
    const denials = (w.audits() as Record<string, any>[]).filter((e) => e.decision === 'deny' && e.principal?.id === 'gina' && e.resource?.type === 'Upload' && e.resource?.id === f.id);
    assert.deepEqual(denials.map((e) => e.action).sort(), ['createVectorStore', 'deleteFile', 'readFile', 'writeVectorStore']);
    for (const e of denials) assert.ok(e.policyIds.includes('retrieval-tenant-isolation'), JSON.stringify(e));
  });

  test('files.content is refused to another tenant, a consumer, a key without readFile, and for an unknown id', async () => {
    const f = await sdk.wendy!.files.create({ file: await toFile(Buffer.from('acme payroll runs on the 25th'), 'payroll.txt'), purpose: 'assistants' });
    const before = w.audits().length;
    assert.deepEqual(await refused(sdk.gina!.files.content(f.id)), { status: 403, code: 'policy_denied' });
    assert.deepEqual(await refused(sdk.carl!.files.content(f.id)), { status: 403, code: 'policy_denied' });
    assert.equal((await refused(sdk.vera!.files.content(f.id))).status, 403, 'the key scope is a ceiling');
    const denials = (w.audits().slice(before) as Record<string, any>[]).filter((e) => e.action === 'readFile' && e.decision === 'deny');
    assert.deepEqual(denials.map((e) => e.principal?.id).sort(), ['carl', 'gina', 'vera']);
    assert.ok(denials.find((e) => e.principal?.id === 'gina')!.policyIds.includes('retrieval-tenant-isolation'));
    // No content in any refusal; an unknown id is a JSON 404.
    const unknown = await w.call('inference', 'GET', '/v1/files/file-000000000000000000000000/content', { key: key.wendy! });
    assert.deepEqual([unknown.status, unknown.headers['content-type'], unknown.json.error.code], [404, 'application/json', 'file_not_found']);
    const cross = await w.call('inference', 'GET', `/v1/files/${f.id}/content`, { key: key.gina! });
    assert.deepEqual([cross.status, cross.json.error.code], [403, 'policy_denied']);
    assert.equal(cross.text.includes('payroll'), false);
  });

  test('bad uploads: not multipart 415, malformed 400, purpose 400, binary 415, no file part 400, bad expires_after 400', async () => {
    const post = (body: Buffer | string, type: string) => w.call('inference', 'POST', '/v1/files', { key: key.wendy!, body, headers: { 'content-type': type } });
    const postForm = (m: Awaited<ReturnType<typeof multipart>>) => w.call('inference', 'POST', '/v1/files', { key: key.wendy!, ...m });
    const json = await post(JSON.stringify({ purpose: 'assistants', file: 'text' }), 'application/json');
    assert.deepEqual([json.status, json.json.error.code], [415, 'unsupported_media_type']);
    const broken = await post('--xx\r\nnot a part', 'multipart/form-data; boundary=xx');
    assert.deepEqual([broken.status, broken.json.error.code], [400, 'invalid_multipart']);
    const tune = await multipart({ purpose: 'fine-tune', file: { name: 'a.jsonl', bytes: Buffer.from('{}') } });
    const t1 = await postForm(tune);
    assert.deepEqual([t1.status, t1.json.error.code], [400, 'unsupported_purpose']);
    const png = await multipart({ purpose: 'assistants', file: { name: 'logo.png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]) } });
    const t2 = await postForm(png);
    assert.deepEqual([t2.status, t2.json.error.code], [415, 'unsupported_file_type']);
    const nofile = await multipart({ purpose: 'assistants', file: 'just a string field' });
    const t3 = await postForm(nofile);
    assert.deepEqual([t3.status, t3.json.error.code, t3.json.error.param], [400, 'missing_field', 'file']);
    const exp = await multipart({ purpose: 'assistants', 'expires_after[anchor]': 'last_active_at', 'expires_after[seconds]': '3600', file: { name: 'a.txt', bytes: Buffer.from('a b c') } });
    const t4 = await postForm(exp);
    assert.deepEqual([t4.status, t4.json.error.code], [400, 'invalid_field']);
    // Each refused request is an entry, with its status and code.
    const refusedUploads = entries('uploadFile').filter((e) => e.principal?.id === 'wendy' && e.decision === 'deny');
    for (const code of ['unsupported_media_type', 'invalid_multipart', 'unsupported_purpose', 'unsupported_file_type', 'missing_field', 'invalid_field']) assert.ok(refusedUploads.some((e) => e.errorCode === code), `no entry for ${code}`);
  });

  test('an upload is added to one store once; file_id and content together, or an unknown id, are refused', async () => {
    const c = sdk.wendy!;
    const f = await c.files.create({ file: await toFile(Buffer.from('Printers on floor three need badge release'), 'print.txt'), purpose: 'assistants' });
    const vs = await c.vectorStores.create({ name: 'once', embedding_model: 'demo-embed' } as never);
    await c.vectorStores.files.create(vs.id, { file_id: f.id });
    assert.deepEqual(await refused(c.vectorStores.files.create(vs.id, { file_id: f.id })), { status: 409, code: 'file_already_added' });
    const both = await w.call('inference', 'POST', `/v1/vector_stores/${vs.id}/files`, { key: key.wendy!, body: { file_id: f.id, content: 'x' } });
    assert.deepEqual([both.status, both.json.error.code], [400, 'invalid_request']);
    assert.deepEqual(await refused(c.vectorStores.files.create(vs.id, { file_id: 'file-000000000000000000000000' })), { status: 404, code: 'file_not_found' });
    assert.deepEqual(await refused(c.vectorStores.files.retrieve('file-000000000000000000000000', { vector_store_id: vs.id })), { status: 404, code: 'file_not_found' });
  });

  test('an expired upload is gone: not readable, not attachable, and swept', async () => {
    const c = sdk.wendy!;
    const f = await c.files.create({ file: await toFile(Buffer.from('Short-lived note about the fire drill'), 'drill.txt'), purpose: 'assistants', expires_after: { anchor: 'created_at', seconds: 3600 } });
    const vs = await c.vectorStores.create({ name: 'late', embedding_model: 'demo-embed' } as never);
    clock.advance(3_600_000);
    assert.deepEqual(await refused(c.files.retrieve(f.id)), { status: 404, code: 'file_not_found' });
    assert.deepEqual(await refused(c.files.content(f.id)), { status: 404, code: 'file_not_found' });
    assert.deepEqual(await refused(c.vectorStores.files.create(vs.id, { file_id: f.id })), { status: 404, code: 'file_not_found' });
    const swept = await w.w.sweepRetention();
    assert.ok((swept as any)?.retrievalUploads?.deleted >= 1, JSON.stringify(swept));
  });
});
