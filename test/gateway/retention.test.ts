// Payload retention with crypto-shredding, and the JSON-lines export of the ledger for a SIEM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTestWarden } from '../helpers/warden.js';

test('retained payloads are readable until the principal is erased; the export carries every entry', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'warden-export-')), 'audit.jsonl');
  const t = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true, export: { file: out, intervalMs: 100, batchSize: 500 } };
  });
  try {
    const { key } = await t.keyFor('erin', ['demo-chat'], ['chat']);
    const body = { model: 'demo-chat', messages: [{ role: 'user', content: 'remember me' }] };
    const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body });
    assert.equal(r.status, 200);
    const id = String(r.headers['x-request-id']);
    const get = async (kind: string) => {
      const g = await request(`${t.w.adminUrl}/admin/v1/payloads/${id}?principal=erin&kind=${kind}`, { dispatcher: t.agent, headers: { authorization: `Bearer ${t.adminKey}` } });
      return { status: g.statusCode, text: await g.body.text() };
    };
    assert.deepEqual(await get('request'), { status: 200, text: JSON.stringify(body) });
    assert.equal((await get('response')).text, r.text);
    assert.equal((await get('both')).status, 400);

    const erased = await t.admin('POST', '/admin/v1/principals/erin/erase');
    assert.equal(erased.key_destroyed, true);
    assert.equal(erased.payloads_unreadable, 2);
    assert.equal((await get('request')).status, 410);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body })).status, 401, 'an erased principal cannot authenticate');
    assert.ok(t.audits().some((a) => a.action === 'principal.erase'));
    assert.equal((await t.call('admin', 'POST', '/admin/v1/principals/nobody/erase', { key: t.adminKey })).status, 404);

    // The export file catches up with the log (entries, not payloads).
    const deadline = Date.now() + 10_000;
    let lines: { index: number; entry: { requestId: string } }[] = [];
    while (Date.now() < deadline) {
      if (existsSync(out)) lines = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (lines.some((l) => l.entry.requestId === id)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(lines.some((l) => l.entry.requestId === id), 'exported');
    assert.deepEqual(lines.map((l) => l.index), lines.map((_, i) => i), 'contiguous from 0');
    assert.ok(!readFileSync(out, 'utf8').includes('remember me'), 'no payload in the export');
  } finally {
    await t.stop();
  }
});
