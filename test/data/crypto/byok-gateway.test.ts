// BYOK through a running Warden: a tenant's principals have their payloads sealed under the tenant's own KEK;
// once the tenant withdraws it, the admin payload export answers 503 kek_unavailable for that tenant only, and a
// new request of that tenant is refused (retention fails closed) while other tenants are served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createKeyFile } from '../../../src/data/crypto/index.js';
import { startTestWarden } from '../../helpers/warden.js';

test('a withdrawn tenant KEK makes that tenant\'s retained payloads unreadable over the admin API and stops its retention', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-byok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const acmeKek = join(dir, 'acme.key');
  createKeyFile(acmeKek);
  const w = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
    c.encryption = { previous: [], tenants: { acme: { file: acmeKek } } };
  });
  t.after(() => w.stop());
  const alice = await w.keyFor('alice', ['demo-chat'], ['chat'], { tenant: 'acme' });
  const gina = await w.keyFor('gina', ['demo-chat'], ['chat'], { tenant: 'globex' });
  const chat = (key: string, text: string) => w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: text }] } });
  const a = await chat(alice.key, 'acme secret');
  const g = await chat(gina.key, 'globex note');
  assert.equal(a.status, 200);
  assert.equal(g.status, 200);
  const payload = async (id: string, principal: string) => {
    const r = await request(`${w.w.adminUrl}/admin/v1/payloads/${id}?principal=${principal}&kind=request`, { dispatcher: w.agent, headers: { authorization: `Bearer ${w.adminKey}` } });
    return { status: r.statusCode, text: await r.body.text() };
  };
  assert.match((await payload(String(a.headers['x-request-id']), 'alice')).text, /acme secret/);

  rmSync(acmeKek);
  const refused = await payload(String(a.headers['x-request-id']), 'alice');
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.text).error.code, 'kek_unavailable');
  assert.match((await payload(String(g.headers['x-request-id']), 'gina')).text, /globex note/);
  // Nothing new of acme is kept under another key: its request is refused, globex is still served.
  const again = await chat(alice.key, 'more acme data');
  assert.equal(again.status, 503);
  assert.equal(again.json.error.code, 'retention_unavailable');
  assert.equal((await chat(gina.key, 'still fine')).status, 200);
});
