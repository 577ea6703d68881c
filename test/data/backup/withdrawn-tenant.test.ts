// A backup taken while one tenant's own KEK is withdrawn, end to end in child processes on a real data dir: acme
// (its own KEK, withdrawn) and globex (the platform KEK) each have a principal with retained payloads, a model key
// and a vector store with chunks. `warden backup create` takes the backup, leaves acme's content rows out of every
// store's copy (and out of the file's bytes) and says so in the sealed manifest and its output; `verify` names
// the excluded tenant; `restore` into an empty dir brings back globex's rows, none of acme's, keeps the withdrawal
// record, and the restored ledger verifies. A restore also deletes anything of an excluded tenant a file holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../../src/core/clock.js';
import { auditEvent } from '../../../src/core/audit-event.js';
import { LocalFileKek, keyringFromConfig, sealBlob } from '../../../src/data/crypto/index.js';
import { dropWithdrawnRestored, openBackup } from '../../../src/data/backup/backup.js';
import { loadOrCreateLedgerKey } from '../../../src/ledger/key.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqliteIdentityStore } from '../../../src/store/identity-sqlite.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { SqliteLedgerStore } from '../../../src/store/ledger-sqlite.js';
import { SqliteModelKeyStore } from '../../../src/store/model-keys-sqlite.js';
import { SqliteRetrievalStore } from '../../../src/store/retrieval-sqlite.js';
import { SqliteTenantKekStore } from '../../../src/store/tenant-keks-store.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { runWarden } from '../../helpers/proc.js';

const TENANTS = ['acme', 'globex'] as const;
const rowsByTenant = (dataDir: string) => {
  const payloads = openSqlite(join(dataDir, 'payloads.db'));
  const main = openSqlite(join(dataDir, 'warden.db'));
  const retrieval = openSqlite(join(dataDir, 'retrieval.db'));
  try {
    return {
      payloadKeys: (payloads.prepare('SELECT principal FROM ledger_payload_keys ORDER BY principal').pluck().all() as string[]),
      payloads: (payloads.prepare('SELECT principal || \':\' || request_id FROM ledger_payloads ORDER BY 1').pluck().all() as string[]),
      modelKeys: (main.prepare('SELECT deployment_id FROM model_keys ORDER BY 1').pluck().all() as string[]),
      chunks: (retrieval.prepare('SELECT tenant, COUNT(*) AS n FROM retrieval_chunks GROUP BY tenant ORDER BY tenant').all() as { tenant: string; n: number }[]).map((r) => `${r.tenant}:${r.n}`),
      stores: (retrieval.prepare('SELECT id FROM retrieval_stores ORDER BY id').pluck().all() as string[]),
      files: (retrieval.prepare('SELECT id FROM retrieval_files ORDER BY id').pluck().all() as string[]),
      uploads: (retrieval.prepare('SELECT id FROM retrieval_uploads ORDER BY id').pluck().all() as string[]),
    };
  } finally {
    payloads.close();
    main.close();
    retrieval.close();
  }
};

test('backup with a withdrawn tenant: its rows are left out, named in the manifest and output, and not restored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-backup-withdrawn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const acmeKek = join(dir, 'acme-kek.bin');
  const backupKey = join(dir, 'backup.key');
  for (const k of [acmeKek, backupKey]) assert.equal((await runWarden(['data', 'new-key', k])).code, 0);

  const db = openSqlite(join(data, 'warden.db'));
  const pdb = openSqlite(join(data, 'payloads.db'));
  const rdb = openSqlite(join(data, 'retrieval.db'));
  const keyring = keyringFromConfig({ dataDir: data, encryption: { previous: [], tenants: { acme: { file: acmeKek } } } });
  const identity = new SqliteIdentityStore(db);
  const vault = new PayloadVault(new SqlitePayloadStore(pdb), keyring, new FixedClock(1));
  const models = new SqliteModelKeyStore(db);
  const retrieval = new SqliteRetrievalStore(rdb);
  for (const tenant of TENANTS) {
    const who = `${tenant}-user`;
    await identity.insertPrincipal({ id: who, kind: 'user', tenant, groups: [], admin: false, sourceCidrs: null, limits: null, createdAt: 1, erasedAt: null });
    for (const r of ['req-1', 'req-2']) await vault.put({ id: who, tenant }, `${tenant}-${r}`, 'request', Buffer.from(`${tenant} secret prompt ${r}`));
    await models.put(`dep_${tenant}`, await wrapModelKey(keyring, { keyId: 'k1', modelId: `m-${tenant}`, tenant }, Buffer.alloc(32, 7)), 1);
    await retrieval.createStore({ id: `vs_${tenant}`, tenant, name: tenant, classification: 'internal', embeddingModel: 'demo-embed', createdBy: who, createdAt: 1, dims: null });
    const file = { id: `file_${tenant}`, storeId: `vs_${tenant}`, tenant, filename: 'notes.txt', datasetDigest: `sha256:${'0'.repeat(64)}`, classification: 'internal', access: [], subject: null, chunks: 2, createdBy: who, createdAt: 1, expiresAt: null };
    const chunks = await Promise.all([0, 1].map(async (position) => ({
      embedding: new Float32Array([1, position, 0, 0]), position, findings: {} as never, classification: 'internal', rank: 1, expiresAt: null,
      sealed: await sealBlob(keyring, tenant, `chunk:${tenant}:${position}`, Buffer.from(`${tenant} chunk ${position}`)),
    })));
    await retrieval.addFile(file, chunks);
    // An upload (/v1/files) not yet added to a store: sealed under the tenant's KEK like the chunks.
    await retrieval.putUpload({ id: `file-up-${tenant}`, tenant, filename: 'up.txt', purpose: 'assistants', bytes: 9, createdBy: who, createdAt: 1, expiresAt: 8.64e15 }, await sealBlob(keyring, tenant, `upload:file-up-${tenant}`, Buffer.from(`${tenant} upload`)));
  }
  const acmeWrapped = (await new SqlitePayloadStore(pdb).wrappedKey('acme-user'))!;
  // A ledger beside them, as `warden up` keeps it.
  const ledger = await Ledger.open({ store: new SqliteLedgerStore(openSqlite(join(data, 'ledger.db'))), key: loadOrCreateLedgerKey(data) });
  for (let i = 0; i < 3; i++) await ledger.append(auditEvent({ time: new Date(1000 + i).toISOString(), requestId: `req-${i}`, kind: 'system', action: 'test.entry', decision: 'allow', status: 200 }));
  await ledger.close();
  // acme's KEK recorded and withdrawn (as `warden up` and `warden data kek withdraw acme` do).
  const keks = new SqliteTenantKekStore(db);
  await keks.record('acme', LocalFileKek.open(acmeKek).id, 2);
  assert.equal(await keks.setWithdrawn('acme', { at: Date.UTC(2026, 0, 2), by: 'ops', reason: 'contract ended' }), true);
  keyring.close();
  const before = rowsByTenant(data);
  await retrieval.close();
  pdb.close();
  db.close();
  assert.deepEqual(before.chunks, ['acme:2', 'globex:2']);

  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  tenants:\n    acme: { file: ${acmeKek} }\n`);
  const out = join(dir, 'b.wbk');
  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.match(created.stdout, /tenant acme excluded: its own KEK is withdrawn by ops at 2026-01-02T00:00:00\.000Z \(contract ended\); none of its content is in this backup/);
  assert.doesNotMatch(created.stdout, /tenant globex excluded/);
  const leftOut = /withdrawn tenants' data left out: (.*)/.exec(created.stdout)![1]!;
  for (const part of ['1 payloadKeys', '2 payloads', '1 retrievalStores', '1 retrievalFiles', '2 retrievalChunks', '1 retrievalUploads', '1 modelKeys']) assert.ok(leftOut.split(', ').includes(part), `${part} in ${leftOut}`);
  assert.deepEqual(rowsByTenant(data), before, 'the data dir backed up is not touched');

  // The sealed manifest names the tenant; the copies hold none of its rows, not even in freed pages.
  const b = await openBackup(out, LocalFileKek.open(backupKey));
  assert.equal(b.header.format, 'warden-backup/2');
  assert.deepEqual(b.excludedTenants, [{ tenant: 'acme', withdrawn: 'withdrawn by ops at 2026-01-02T00:00:00.000Z (contract ended)' }]);
  for (const f of b.files) assert.equal(f.bytes.includes(acmeWrapped), false, `${f.entry.path} holds no copy of acme's wrapped data key`);

  const verified = await runWarden(['backup', 'verify', out, '--key', backupKey]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /tenant acme excluded: its own KEK is withdrawn by ops/);

  const target = join(dir, 'restored');
  const restored = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', target]);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, /the restored ledger verifies: 3 entries/);
  assert.match(restored.stdout, /excluded tenants \(acme\): not restored; found in the backup and deleted: none/);
  assert.deepEqual(rowsByTenant(target), {
    payloadKeys: ['globex-user'],
    payloads: ['globex-user:globex-req-1', 'globex-user:globex-req-2'],
    modelKeys: ['dep_globex'],
    chunks: ['globex:2'],
    stores: ['vs_globex'],
    files: ['file_globex'],
    uploads: ['file-up-globex'],
  });
  const rk = openSqlite(join(target, 'warden.db'));
  t.after(() => rk.close());
  const record = (await new SqliteTenantKekStore(rk).list()).find((r) => r.tenant === 'acme');
  assert.equal(record?.withdrawn?.by, 'ops', 'the restored dir still knows acme is withdrawn');

  // Restore deletes anything of an excluded tenant that the restored files hold (here: stores that still have it).
  const again = join(dir, 'again');
  mkdirSync(again);
  for (const name of ['warden.db', 'payloads.db', 'retrieval.db']) copyFileSync(join(data, name), join(again, name));
  const dropped = dropWithdrawnRestored(again, b.excludedTenants);
  assert.deepEqual(dropped, { payloadKeys: 1, payloads: 2, retrievalStores: 1, retrievalFiles: 1, retrievalChunks: 2, retrievalUploads: 1, modelKeys: 1 });
  const left = rowsByTenant(again);
  assert.deepEqual([left.payloadKeys, left.modelKeys, left.chunks, left.stores], [['globex-user'], ['dep_globex'], ['globex:2'], ['vs_globex']]);
});
