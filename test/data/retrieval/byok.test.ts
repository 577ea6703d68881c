// BYOK for retrieval chunks through a running Warden: a tenant's chunk text is sealed under the tenant's own KEK;
// once the tenant withdraws it, a search that would return its chunks answers 503 kek_unavailable (never the text,
// never a silent empty answer), adding content is refused, and another tenant is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile } from '../../../src/data/crypto/index.js';
import { startTestWarden } from '../../helpers/warden.js';

test('a withdrawn tenant KEK makes that tenant\'s chunks unreadable: search and add answer 503, other tenants are served', async (t) => {
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
});
