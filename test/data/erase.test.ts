// `warden erase SUBJECT` (the admin API behind it) against a running Warden with payload retention: the
// subject's retained payloads are deleted from the store file and its WAL (secure_delete + checkpoint), its data
// key destroyed, one ledger entry says what was erased, the payload export answers 410 for it while another
// subject is untouched, and neither the SIEM export nor the ledger file ever held the prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden } from '../helpers/warden.js';

const fileHas = (f: string, needle: Buffer) => existsSync(f) && readFileSync(f).includes(needle);

test('warden erase SUBJECT deletes its payloads and data key, records one entry, and its data is gone from every export', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-erase-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const siem = join(dir, 'audit.jsonl');
  const w = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true, export: { file: siem, intervalMs: 100, batchSize: 500 } };
  });
  t.after(() => w.stop());
  const send = async (key: string, text: string) => {
    const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: text }] } });
    assert.equal(r.status, 200, r.text);
    return String(r.headers['x-request-id']);
  };
  const erin = await w.keyFor('erin', ['demo-chat'], ['chat']);
  const finn = await w.keyFor('finn', ['demo-chat'], ['chat']);
  const erinIds = [await send(erin.key, 'erin private note one'), await send(erin.key, 'erin private note two')];
  const finnId = await send(finn.key, 'finn keeps this');
  const payload = async (id: string, principal: string) => {
    const g = await request(`${w.w.adminUrl}/admin/v1/payloads/${id}?principal=${principal}&kind=request`, { dispatcher: w.agent, headers: { authorization: `Bearer ${w.adminKey}` } });
    return { status: g.statusCode, text: await g.body.text() };
  };
  assert.match((await payload(erinIds[0]!, 'erin')).text, /erin private note one/);

  // The ciphertexts as stored, to look for after the erasure.
  const pfile = join(w.w.dataDir, 'payloads.db');
  const ro = new Database(pfile, { readonly: true });
  const ciphertexts = (ro.prepare("SELECT ciphertext FROM ledger_payloads WHERE principal = 'erin'").all() as { ciphertext: Buffer }[]).map((r) => r.ciphertext);
  ro.close();
  assert.equal(ciphertexts.length, 4, 'request and response of two requests');

  const env = { WARDEN_ADMIN_URL: w.w.adminUrl, WARDEN_CA: w.w.caPemPath, WARDEN_ADMIN_KEY: w.adminKey, WARDEN_MFA_TOKEN: '' };
  const erased = await runWarden(['erase', 'erin'], env);
  assert.equal(erased.code, 0, erased.stderr);
  assert.equal(erased.stdout, 'erased erin: 4 retained payload(s) deleted, data key destroyed, 0 retrieval chunk(s) deleted, 0 uploaded file(s) deleted, 0 subject key(s) destroyed, 0 dataset record(s) withheld, API keys revoked\n');

  // One ledger entry, saying what was erased.
  const entries = w.audits().filter((a) => a.action === 'principal.erase');
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0]!.details, { payloadsDeleted: 4, dataKeyDestroyed: true, apiKeysRevoked: true, retrievalChunksDeleted: 0, retrievalFilesDeleted: 0, retrievalUploadsDeleted: 0, subjectKeysDestroyed: 0, datasetRecordsErased: 0 });

  // Gone: the payload export answers 410, the rows and their bytes are out of the store file and its WAL.
  for (const id of erinIds) assert.equal((await payload(id, 'erin')).status, 410);
  for (const c of ciphertexts) {
    assert.equal(fileHas(pfile, c.subarray(0, 24)), false, 'ciphertext overwritten in payloads.db');
    assert.equal(fileHas(pfile + '-wal', c.subarray(0, 24)), false, 'and not left in the WAL');
  }
  // Another subject is untouched; the erased one cannot call again.
  assert.match((await payload(finnId, 'finn')).text, /finn keeps this/);
  assert.equal((await w.call('inference', 'POST', '/v1/chat/completions', { key: erin.key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'x' }] } })).status, 401);

  // The SIEM export and the ledger never held the content (digests only).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !(existsSync(siem) && readFileSync(siem, 'utf8').includes('principal.erase'))) await new Promise((r) => setTimeout(r, 100));
  assert.match(readFileSync(siem, 'utf8'), /principal\.erase/);
  for (const f of [siem, join(w.w.dataDir, 'ledger.db'), join(w.w.dataDir, 'ledger.db-wal')]) assert.equal(fileHas(f, Buffer.from('erin private note')), false, f);

  // Errors: an unknown subject is 404, a second erase of the same subject erases nothing more, no subject is a usage error.
  const unknown = await runWarden(['erase', 'nobody'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no principal nobody/);
  const twice = await runWarden(['erase', 'erin', '--json'], env);
  assert.equal(twice.code, 0, twice.stderr);
  assert.deepEqual(JSON.parse(twice.stdout), { principal: 'erin', erased: true, key_destroyed: false, payloads_deleted: 0, payloads_unreadable: 0, retrieval_chunks_deleted: 0, retrieval_files_deleted: 0, retrieval_uploads_deleted: 0, subject_keys_destroyed: 0, dataset_records_erased: 0 });
  assert.equal((await runWarden(['erase'], env)).code, 2);
});
