// BYOK for retrieval chunks and uploads through a running Warden: a tenant's chunk text and uploaded files are sealed
// under the tenant's own KEK; once the tenant withdraws it, a search that would return its chunks and reading an
// upload's content answer 503 kek_unavailable (never the text, never a silent empty answer, never a crash), adding
// content is refused, and another tenant is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile } from '../../../src/data/crypto/index.js';
import { startTestWarden } from '../../helpers/warden.js';
import { multipart } from '../../helpers/multipart.js';

test('a withdrawn tenant KEK makes that tenant\'s chunks and uploads unreadable: search, add and file content answer 503, other tenants are served', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-byok-retrieval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const acmeKek = join(dir, 'acme.key');
  createKeyFile(acmeKek);
  const w = await startTestWarden((c) => {
    c.encryption = { previous: [], tenants: { acme: { file: acmeKek } } };
  });
  t.after(() => w.stop());
  const ada = (await w.keyFor('ada', ['demo-embed'], ['*'], { tenant: 'acme', groups: ['consumers', 'retrieval-writers'] })).key;
  const gus = (await w.keyFor('gus', ['demo-embed'], ['*'], { tenant: 'globex', groups: ['consumers', 'retrieval-writers'] })).key;
  const storeOf = async (key: string, text: string) => {
    const s = (await w.call('inference', 'POST', '/v1/vector_stores', { key, body: { embedding_model: 'demo-embed' } })).json.id as string;
    assert.equal((await w.call('inference', 'POST', `/v1/vector_stores/${s}/files`, { key, body: { content: text, classification: 'public' } })).status, 200);
    return s;
  };
  const acmeStore = await storeOf(ada, 'acme launch date is in May');
  const globexStore = await storeOf(gus, 'globex offsite is in June');
  const search = (key: string, s: string, query: string) => w.call('inference', 'POST', `/v1/vector_stores/${s}/search`, { key, body: { query } });
  assert.equal((await search(ada, acmeStore, 'acme launch date is in May')).json.data[0].content[0].text, 'acme launch date is in May');
  const upload = async (key: string, text: string) => {
    const r = await w.call('inference', 'POST', '/v1/files', { key, ...(await multipart({ purpose: 'assistants', file: { name: 'note.txt', bytes: text } })) });
    assert.equal(r.status, 200, r.text);
    return r.json.id as string;
  };
  const content = (key: string, id: string) => w.call('inference', 'GET', `/v1/files/${id}/content`, { key });
  const acmeUpload = await upload(ada, 'acme board meets on Tuesday');
  const globexUpload = await upload(gus, 'globex board meets on Thursday');
  assert.equal((await content(ada, acmeUpload)).text, 'acme board meets on Tuesday');

  rmSync(acmeKek);
  const refused = await search(ada, acmeStore, 'acme launch date is in May');
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'kek_unavailable');
  assert.ok(!refused.text.includes('launch date'));
  const entry = w.audits().find((a) => a.requestId === refused.headers['x-request-id']) as any;
  assert.equal(entry.decision, 'error');
  const add = await w.call('inference', 'POST', `/v1/vector_stores/${acmeStore}/files`, { key: ada, body: { content: 'more acme text', classification: 'public' } });
  assert.equal(add.status, 503, add.text);
  assert.equal(add.json.error.code, 'kek_unavailable');
  assert.equal((await search(gus, globexStore, 'globex offsite is in June')).json.data[0].content[0].text, 'globex offsite is in June');
  // An upload's content fails closed the same way, in an error entry; the other tenant's still opens.
  const unreadable = await content(ada, acmeUpload);
  assert.deepEqual([unreadable.status, unreadable.headers['content-type'], unreadable.json?.error?.code], [503, 'application/json', 'kek_unavailable'], unreadable.text);
  assert.ok(!unreadable.text.includes('board meets'));
  assert.equal((w.audits().find((a) => a.requestId === unreadable.headers['x-request-id']) as any).decision, 'error');
  assert.equal((await content(gus, globexUpload)).text, 'globex board meets on Thursday');
  // Warden is still up and serving after the refusal.
  assert.equal((await w.call('inference', 'GET', '/v1/files', { key: ada })).status, 200);
});
