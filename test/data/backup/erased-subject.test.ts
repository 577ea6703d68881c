// Erasure crypto-shreds what a backup taken before it still holds, end to end: a running Warden (real TLS, real
// SQLite, the real PDP; embeddings from the built-in demo upstream, a labelled FAKE model) with its KEK and its
// subject-key store outside the data dir. A writer adds chunks about alice and about bob, and each uploads a file;
// `warden backup create` takes a backup; `warden erase alice` destroys alice's subject key. Then the backup is
// restored into empty dirs with the real CLI and served by a real Warden again:
//   - with --config (the subject-key store known), the restore deletes what can no longer be opened and says how many;
//   - without it, the rows come back, but a search skips them (counted in the entry), the file lists leave them out,
//     their content is 404 — never plaintext, never a 500 — while bob's content is intact;
// and the restored ledger verifies. A restore whose subject-key store cannot be read writes nothing; a store that
// cannot answer while serving is a 503.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { WardenConfig } from '../../../src/config/config.js';
import { openBackup } from '../../../src/data/backup/backup.js';
import { LocalFileKek } from '../../../src/data/crypto/index.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';
import { multipart } from '../../helpers/multipart.js';

const ALICE_TEXT = 'Alice Example lives at 12 Larch Lane and takes insulin';
const BOB_TEXT = 'Bob Example likes green tea and chess';

test('a backup taken before an erasure no longer yields the erased subject after restore; the other subject is intact and the ledger verifies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-erased-subject-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kek = join(dir, 'kek.bin');
  const subjectKeys = join(dir, 'subject-keys.db');
  const data = join(dir, 'data');
  const configure = (c: WardenConfig) => {
    c.monitor.enabled = false;
    c.ledger.retainPayloads = true;
    c.encryption.kek = { file: kek };
    c.encryption.subjectKeys = subjectKeys;
  };
  assert.equal((await runWarden(['data', 'new-key', kek])).code, 0);
  const w = await startTestWarden(configure, { dataDir: data });
  let live: TestWarden | null = w;
  t.after(() => live?.stop());

  const writer = (id: string) => w.keyFor(id, ['demo-embed', 'demo-chat'], ['*'], { tenant: 'acme', groups: ['consumers', 'retrieval-writers'] }).then((k) => k.key);
  const wes = await writer('wes');
  const alice = await writer('alice');
  const bob = await writer('bob');
  const store = (await w.call('inference', 'POST', '/v1/vector_stores', { key: wes, body: { embedding_model: 'demo-embed' } })).json.id as string;
  const add = async (content: string, subject?: string) => {
    const r = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: wes, body: { content, ...(subject ? { subject } : {}) } });
    assert.equal(r.status, 200, r.text);
    return r.json.id as string;
  };
  const aliceFile = await add(ALICE_TEXT, 'alice');
  const bobFile = await add(BOB_TEXT, 'bob');
  const handbook = await add('The handbook says lunch is at noon');
  const upload = async (key: string, text: string) => {
    const r = await w.call('inference', 'POST', '/v1/files', { key, ...(await multipart({ purpose: 'assistants', file: { name: 'note.txt', bytes: text } })) });
    assert.equal(r.status, 200, r.text);
    return r.json.id as string;
  };
  const aliceUpload = await upload(alice, 'Alice uploaded her passport number X1234567');
  const bobUpload = await upload(bob, 'Bob uploaded his chess openings');
  // And a retained payload each (ledger.retainPayloads): payloads.db holds their data keys, so the backup does too.
  const chat = async (key: string, text: string) => {
    const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: text }] } });
    assert.equal(r.status, 200, r.text);
    return String(r.headers['x-request-id']);
  };
  const aliceChat = await chat(alice, 'alice private question');
  const bobChat = await chat(bob, 'bob private question');

  // At rest: a chunk about a subject and an upload are sealed under the subject's key ("WSK1"), the handbook under the
  // tenant's ("WSB1").
  const rdb = new Database(join(data, 'retrieval.db'), { readonly: true });
  const magic = (sql: string, ...args: string[]) => (rdb.prepare(sql).pluck().all(...args) as Buffer[]).map((b) => b.subarray(0, 4).toString());
  assert.deepEqual(magic('SELECT sealed FROM retrieval_chunks WHERE file_id IN (?, ?) ORDER BY file_id = ?', aliceFile, bobFile, bobFile), ['WSK1', 'WSK1']);
  assert.deepEqual(magic('SELECT sealed FROM retrieval_chunks WHERE file_id = ?', handbook), ['WSB1']);
  assert.deepEqual(magic('SELECT sealed FROM retrieval_uploads ORDER BY created_by'), ['WSK1', 'WSK1']);
  rdb.close();

  // The backup, before the erasure. Neither the KEK nor the subject keys are in it.
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  kek: { file: ${kek} }\n  subjectKeys: ${subjectKeys}\n`);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);
  const out = join(dir, 'before-erase.wbk');
  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  const opened = await openBackup(out, LocalFileKek.open(backupKey));
  assert.ok(opened.files.every((f) => !/subject-keys|kek/.test(f.entry.path)), opened.files.map((f) => f.entry.path).join(' '));

  // Erase alice: one entry, her chunk, file, upload and her one subject key (acme) go.
  const env = { WARDEN_ADMIN_URL: w.w.adminUrl, WARDEN_CA: w.w.caPemPath, WARDEN_ADMIN_KEY: w.adminKey, WARDEN_MFA_TOKEN: '' };
  const erased = await runWarden(['erase', 'alice', '--json'], env);
  assert.equal(erased.code, 0, erased.stderr);
  const answer = JSON.parse(erased.stdout);
  assert.deepEqual([answer.retrieval_chunks_deleted, answer.retrieval_files_deleted, answer.retrieval_uploads_deleted, answer.subject_keys_destroyed], [1, 1, 1, 1]);
  const entries = w.audits().filter((a) => a.action === 'principal.erase') as any[];
  assert.equal(entries.length, 1);
  assert.equal(entries[0].details.subjectKeysDestroyed, 1);
  // Nothing new is stored about an erased subject.
  const again = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: wes, body: { content: 'Alice is back', subject: 'alice' } });
  assert.deepEqual([again.status, again.json.error.code], [410, 'subject_erased']);
  const adminKey = w.adminKey;
  await w.stop();
  live = null;

  // Restore with the config: what alice's destroyed key sealed is not brought back, and the restore says so.
  const purged = join(dir, 'restored-purged');
  const r1 = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', purged, '--config', conf]);
  assert.equal(r1.code, 0, r1.stdout + r1.stderr);
  assert.match(r1.stdout, /the restored ledger verifies: \d+ entries/);
  assert.match(r1.stdout, /unreadable, their subject erased since the backup \(subject key destroyed\), not restored: 1 retrievalChunks, 1 retrievalFiles, 1 retrievalUploads, 1 payloadKeys, 2 payloads, 1 principals\n/);
  const pdb = new Database(join(purged, 'retrieval.db'), { readonly: true });
  assert.deepEqual(pdb.prepare('SELECT created_by FROM retrieval_uploads').pluck().all(), ['bob']);
  assert.deepEqual(pdb.prepare("SELECT COUNT(*) FROM retrieval_chunks WHERE subject = 'alice'").pluck().get(), 0);
  assert.deepEqual(pdb.prepare("SELECT COUNT(*) FROM retrieval_chunks WHERE subject = 'bob'").pluck().get(), 1);
  pdb.close();

  // Restore without it: the rows come back, sealed under a key that no longer exists.
  const raw = join(dir, 'restored-raw');
  const r2 = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', raw]);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /erasures since the backup not checked \(no --config naming the subject-key store\)/);
  const rawDb = new Database(join(raw, 'retrieval.db'), { readonly: true });
  assert.equal(rawDb.prepare("SELECT COUNT(*) FROM retrieval_chunks WHERE subject = 'alice'").pluck().get(), 1, 'setup: the old copy is there');
  rawDb.close();
  // And no file of either restored dir holds her text in the clear.
  for (const d of [purged, raw]) for (const f of readdirSync(d)) assert.equal(readFileSync(join(d, f)).includes(Buffer.from('Larch Lane')), false, `${d}/${f}`);

  for (const restored of [raw, purged]) {
    const r = await startTestWarden(configure, { dataDir: restored });
    live = r;
    const call = (method: string, path: string, key: string, body?: unknown) => r.call('inference', method, path, { key, ...(body !== undefined ? { body } : {}) });
    // Search: bob's chunk found, alice's never — skipped and counted where the old copy is still on disk.
    const s = await call('POST', `/v1/vector_stores/${store}/search`, wes, { query: ALICE_TEXT, max_num_results: 10 });
    assert.equal(s.status, 200, s.text);
    const texts = s.json.data.map((d: any) => d.content[0].text as string);
    assert.ok(texts.includes(BOB_TEXT), texts.join(' | '));
    assert.ok(!texts.some((x: string) => x.includes('Larch')), texts.join(' | '));
    const entry = r.audits().filter((a: any) => a.action === 'readVectorStore' && a.details?.candidates !== undefined).at(-1) as any;
    assert.equal(entry.details.erasedSubjectSkipped, restored === raw ? 1 : undefined);
    // The store's files: bob's and the handbook, not alice's.
    const files = await call('GET', `/v1/vector_stores/${store}/files`, wes);
    assert.deepEqual(files.json.data.map((f: any) => f.id).sort(), [bobFile, handbook].sort());
    assert.equal((await call('GET', `/v1/vector_stores/${store}/files/${aliceFile}`, wes)).status, 404);
    // Uploads: bob's listed and readable; alice's neither listed nor readable (404, as after the erasure itself).
    const listed = await call('GET', '/v1/files', wes);
    assert.deepEqual(listed.json.data.map((f: any) => f.id), [bobUpload]);
    assert.equal((await call('GET', `/v1/files/${bobUpload}/content`, bob)).text, 'Bob uploaded his chess openings');
    for (const path of [`/v1/files/${aliceUpload}`, `/v1/files/${aliceUpload}/content`]) {
      const g = await call('GET', path, wes);
      assert.deepEqual([g.status, g.json.error.code], [404, 'file_not_found'], path);
      assert.ok(!g.text.includes('passport'));
    }
    const addBack = await call('POST', `/v1/vector_stores/${store}/files`, wes, { file_id: aliceUpload });
    assert.deepEqual([addBack.status, addBack.json.error.code], [404, 'file_not_found']);
    // The ledger export holds no content either way, and the restored ledger still verifies through the admin API.
    const cp = await r.call('admin', 'GET', '/audit/v1/checkpoint', { key: adminKey });
    assert.equal(cp.status, 200, cp.text);
    // Retained payloads: bob's open; alice's are erased again where the restore applied the erasures.
    const payload = (id: string, who: string) => r.call('admin', 'GET', `/admin/v1/payloads/${id}?principal=${who}&kind=request`, { key: adminKey });
    assert.match((await payload(bobChat, 'bob')).text, /bob private question/);
    if (restored === purged) {
      const p = await payload(aliceChat, 'alice');
      assert.deepEqual([p.status, p.json.error.code], [410, 'payload_erased'], p.text);
      // And alice is erased again: her restored API key no longer authenticates.
      assert.equal((await call('GET', '/v1/files', alice)).status, 401);
    }
    await r.stop();
    live = null;
  }

  // The subject-key store cannot answer while serving (its table gone): a search reaching a subject's chunk is a 503.
  const broken = await startTestWarden(configure, { dataDir: raw });
  live = broken;
  const sk = new Database(subjectKeys);
  sk.exec('DROP TABLE subject_keys');
  sk.close();
  const s = await broken.call('inference', 'POST', `/v1/vector_stores/${store}/search`, { key: wes, body: { query: BOB_TEXT } });
  assert.deepEqual([s.status, s.json.error.code], [503, 'subject_keys_unavailable'], s.text);
  assert.ok(!s.text.includes('chess'));
  const c = await broken.call('inference', 'GET', `/v1/files/${bobUpload}/content`, { key: bob });
  assert.deepEqual([c.status, c.json.error.code], [503, 'subject_keys_unavailable'], c.text);
  await broken.stop();
  live = null;

  // A restore whose subject-key store cannot be read is refused before anything is written.
  const conf2 = join(dir, 'missing.yaml');
  writeFileSync(conf2, `dataDir: ${data}\nencryption:\n  kek: { file: ${kek} }\n  subjectKeys: ${join(dir, 'gone.db')}\n`);
  const refused = join(dir, 'restored-refused');
  const r3 = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', refused, '--config', conf2]);
  assert.equal(r3.code, 1, r3.stdout + r3.stderr);
  assert.match(r3.stderr, /the subject-key store .*gone\.db cannot be read .*nothing restored/);
  assert.equal(existsSync(refused), false);
});
