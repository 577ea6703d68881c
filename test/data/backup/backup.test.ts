// `warden backup create|verify|restore` end to end: a running Warden with payload retention answers requests,
// a backup is taken while it runs (SQLite online backup), sealed under a backup key of its own and verified;
// tampering, a wrong key and a data KEK used as backup key are refused; the backup restores only into an empty
// dir, the restored ledger verifies (CLI, and independently with the audit verifier over a static export), and
// the restored payloads open only with the data KEK, which the backup does not contain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../../src/core/clock.js';
import { KekUnavailable, Keyring, LocalFileKek } from '../../../src/data/crypto/index.js';
import { auditVerify } from '../../../src/ledger/audit-verify.js';
import { exportStatic } from '../../../src/ledger/export-static.js';
import { loadOrCreateLedgerKey } from '../../../src/ledger/key.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqliteLedgerStore } from '../../../src/store/ledger-sqlite.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden } from '../../helpers/warden.js';

test('a backup of a running Warden verifies, refuses tampering, restores into an empty dir whose ledger verifies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const w = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
  });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await w.stop();
  });
  const dataDir = w.w.dataDir;
  const { key } = await w.keyFor('erin', ['demo-chat'], ['chat']);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `backup me please ${i}` }] } });
    assert.equal(r.status, 200, r.text);
    ids.push(String(r.headers['x-request-id']));
  }
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${dataDir}\n`);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);
  const out = join(dir, 'b1.wbk');

  // Taken while Warden runs and writes.
  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.match(created.stdout, /digests and SQLite integrity OK/);
  assert.match(created.stdout, /ledger: \d+ entries, checkpoint signature and every leaf verify/);
  const sealed = readFileSync(out);
  assert.equal(sealed.includes(Buffer.from('backup me please')), false, 'nothing readable in the backup');
  assert.equal(sealed.includes(readFileSync(join(dataDir, 'data-kek.bin'))), false, 'the data KEK is not in the backup');
  // The backup file is never overwritten.
  const again = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /EEXIST/);
  // The data KEK cannot serve as backup key.
  const kekAsBackup = await runWarden(['backup', 'create', '--config', conf, '--key', join(dataDir, 'data-kek.bin'), '--out', join(dir, 'b2.wbk')]);
  assert.equal(kekAsBackup.code, 1);
  assert.match(kekAsBackup.stderr, /is a data KEK; backups need a key of their own/);
  // Kept apart, as an operator keeps the KEK apart from backups (the test Warden removes its data dir on stop).
  const kekCopy = join(dir, 'kek-copy.bin');
  copyFileSync(join(dataDir, 'data-kek.bin'), kekCopy);
  await w.stop();
  stopped = true;

  const verified = await runWarden(['backup', 'verify', out, '--key', backupKey]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  // A flipped byte, a wrong key, a foreign file: refused.
  const tampered = join(dir, 'tampered.wbk');
  const bad = Buffer.from(sealed);
  bad[bad.length - 40]! ^= 1;
  writeFileSync(tampered, bad);
  const r1 = await runWarden(['backup', 'verify', tampered, '--key', backupKey]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /does not authenticate/);
  const otherKey = join(dir, 'other.key');
  await runWarden(['data', 'new-key', otherKey]);
  const r2 = await runWarden(['backup', 'verify', out, '--key', otherKey]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /is sealed under backup key file:[0-9a-f]+, not file:/);
  const r3 = await runWarden(['backup', 'verify', conf, '--key', backupKey]);
  assert.match(r3.stderr, /is not a Warden backup/);

  // Restore: never over existing data; into an empty dir it verifies the restored ledger.
  const busy = join(dir, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'x'), 'x');
  const r4 = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', busy]);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /is not empty/);
  const restored = join(dir, 'restored');
  const r5 = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', restored]);
  assert.equal(r5.code, 0, r5.stdout + r5.stderr);
  const entries = Number(/the restored ledger verifies: (\d+) entries/.exec(r5.stdout)![1]);
  assert.ok(entries >= 3);
  assert.equal(existsSync(join(restored, 'data-kek.bin')), false);

  // The audit verifier, independently: export the restored ledger statically and verify it with the vkey alone.
  const lkey = loadOrCreateLedgerKey(restored);
  const ledger = await Ledger.open({ store: new SqliteLedgerStore(openSqlite(join(restored, 'ledger.db'))), key: lkey });
  await exportStatic(ledger, join(dir, 'export'));
  await ledger.close();
  assert.equal((await auditVerify({ log: join(dir, 'export'), key: lkey.vkey })).size, entries);

  // Payloads come back sealed: they open with the original data KEK, and with nothing else.
  const pdb = openSqlite(join(restored, 'payloads.db'));
  t.after(() => pdb.close());
  const withKek = new PayloadVault(new SqlitePayloadStore(pdb), new Keyring({ kek: LocalFileKek.open(kekCopy) }), new FixedClock(1));
  assert.match((await withKek.get('erin', ids[2]!, 'request')).toString(), /backup me please 2/);
  const fresh = new PayloadVault(new SqlitePayloadStore(pdb), new Keyring({ kek: LocalFileKek.open(join(dir, 'fresh.bin'), { create: true }) }), new FixedClock(1));
  await assert.rejects(fresh.get('erin', ids[2]!, 'request'), KekUnavailable);
});
