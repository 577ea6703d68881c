// `warden erase SUBJECT` and the files the subject uploaded (/v1/files), against a running Warden (real TLS, real
// SQLite, the real PDP; embeddings from the built-in demo upstream, a labelled FAKE model): the erased principal's
// uploads are counted in the one `principal.erase` entry and the CLI's answer, then deleted (their sealed bytes out
// of retrieval.db and its WAL); afterwards another writer of the same tenant finds them neither in `GET /v1/files`,
// nor by id, nor by content, nor can add them to a vector store, while its own uploads are untouched; a backup taken
// afterwards and restored into an empty dir holds none of them, nor the chunk added about the subject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden } from '../../helpers/warden.js';
import { multipart } from '../../helpers/multipart.js';

test('erasing a principal deletes the files it uploaded: gone from the Files API, from vector store adds and from a later backup; other uploads stay', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-erase-uploads-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const w = await startTestWarden((c) => {
    c.monitor.enabled = false;
  });
  t.after(() => w.stop());
  const writer = (id: string) => w.keyFor(id, ['demo-embed'], ['*'], { tenant: 'acme', groups: ['consumers', 'retrieval-writers'] }).then((k) => k.key);
  const wendy = await writer('wendy');
  const walt = await writer('walt');
  const upload = async (key: string, name: string, text: string) => {
    const r = await w.call('inference', 'POST', '/v1/files', { key, ...(await multipart({ purpose: 'assistants', file: { name, bytes: text } })) });
    assert.equal(r.status, 200, r.text);
    return r.json.id as string;
  };
  const wendyFiles = [await upload(wendy, 'w1.txt', 'Wendy home address: 12 Larch Lane'), await upload(wendy, 'w2.txt', 'Wendy medical leave until March')];
  const waltFile = await upload(walt, 'v1.txt', 'Walt keeps the spare server keys');
  // And a chunk another writer added about her (subject), to see it leave the later backup too.
  const notes = (await w.call('inference', 'POST', '/v1/vector_stores', { key: walt, body: { embedding_model: 'demo-embed' } })).json.id as string;
  assert.equal((await w.call('inference', 'POST', `/v1/vector_stores/${notes}/files`, { key: walt, body: { content: 'Wendy asked for a standing desk', subject: 'wendy' } })).status, 200);

  // The ciphertexts as stored, to look for after the erasure: their tail (nonce and ciphertext; a blob's head is the
  // envelope's header and wrapped key, alike in part for every blob).
  const rfile = join(w.w.dataDir, 'retrieval.db');
  const sealedBy = (by: string) => {
    const ro = new Database(rfile, { readonly: true });
    try {
      return (ro.prepare('SELECT sealed FROM retrieval_uploads WHERE created_by = ?').pluck().all(by) as Buffer[]).map((b) => b.subarray(-40));
    } finally {
      ro.close();
    }
  };
  const onDisk = () => Buffer.concat([readFileSync(rfile), ...(existsSync(rfile + '-wal') ? [readFileSync(rfile + '-wal')] : [])]);
  const sealed = sealedBy('wendy');
  assert.equal(sealed.length, 2);

  const env = { WARDEN_ADMIN_URL: w.w.adminUrl, WARDEN_CA: w.w.caPemPath, WARDEN_ADMIN_KEY: w.adminKey, WARDEN_MFA_TOKEN: '' };
  const erased = await runWarden(['erase', 'wendy'], env);
  assert.equal(erased.code, 0, erased.stderr);
  assert.equal(erased.stdout, 'erased wendy: 0 retained payload(s) deleted, data key absent, 1 retrieval chunk(s) deleted, 2 uploaded file(s) deleted, 1 subject key(s) destroyed, 0 dataset record(s) withheld, API keys revoked\n');
  // One ledger entry, counting the uploads.
  const entries = w.audits().filter((a) => a.action === 'principal.erase') as any[];
  assert.equal(entries.length, 1);
  assert.deepEqual([entries[0].details.retrievalUploadsDeleted, entries[0].details.retrievalChunksDeleted, entries[0].details.subjectKeysDestroyed], [2, 1, 1]);

  // Gone for another writer of the same tenant (uploads-in-tenant would let it read them): listing, id, content, add.
  const listed = await w.call('inference', 'GET', '/v1/files', { key: walt });
  assert.deepEqual(listed.json.data.map((f: { id: string }) => f.id), [waltFile]);
  const store = (await w.call('inference', 'POST', '/v1/vector_stores', { key: walt, body: { embedding_model: 'demo-embed' } })).json.id as string;
  for (const id of wendyFiles) {
    for (const path of [`/v1/files/${id}`, `/v1/files/${id}/content`]) {
      const r = await w.call('inference', 'GET', path, { key: walt });
      assert.deepEqual([r.status, r.json.error.code], [404, 'file_not_found'], path);
    }
    const add = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: walt, body: { file_id: id } });
    assert.deepEqual([add.status, add.json.error.code], [404, 'file_not_found']);
  }
  // Walt's own upload is untouched: listed above, read back, added to the store.
  assert.equal((await w.call('inference', 'GET', `/v1/files/${waltFile}/content`, { key: walt })).text, 'Walt keeps the spare server keys');
  assert.equal((await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key: walt, body: { file_id: waltFile } })).status, 200);

  // The sealed bytes are out of the store file and its WAL (secure_delete, checkpoint).
  const bytes = onDisk();
  for (const c of sealed) assert.equal(bytes.includes(c), false, 'an erased upload\'s ciphertext is left in retrieval.db');
  assert.equal(bytes.includes(sealedBy('walt')[0]!), true, 'setup: a ciphertext left would be seen');

  // A backup taken now, restored into an empty dir, holds Walt's upload and none of Wendy's.
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${w.w.dataDir}\n`);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);
  const out = join(dir, 'after-erase.wbk');
  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  const restored = join(dir, 'restored');
  const r = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', restored]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const rdb = new Database(join(restored, 'retrieval.db'), { readonly: true });
  const uploads = rdb.prepare('SELECT id, created_by AS by FROM retrieval_uploads ORDER BY id').all();
  const aboutHer = rdb.prepare("SELECT (SELECT COUNT(*) FROM retrieval_chunks WHERE subject = 'wendy') + (SELECT COUNT(*) FROM retrieval_files WHERE subject = 'wendy')").pluck().get();
  const kept = rdb.prepare('SELECT COUNT(*) FROM retrieval_chunks').pluck().get();
  rdb.close();
  assert.deepEqual(uploads, [{ id: waltFile, by: 'walt' }]);
  assert.equal(aboutHer, 0, 'no chunk or file about the erased subject in the restored store');
  assert.ok((kept as number) >= 1, 'setup: the restored store holds the chunks added from Walt\'s upload');

  // A second erasure finds nothing more.
  const twice = await runWarden(['erase', 'wendy', '--json'], env);
  assert.equal(twice.code, 0, twice.stderr);
  assert.equal(JSON.parse(twice.stdout).retrieval_uploads_deleted, 0);
});
