// Backups and retention (placement.classes.<c>.retention): `warden backup create` leaves out retained payloads
// whose retention has already ended, and `warden backup restore` drops those that ended since the backup was taken,
// so a restore never brings expired data back; the data dir being backed up is not touched (its sweep records the
// expiry in the ledger). Child processes on a real data dir; the later restore is the same code on a later clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../../src/core/clock.js';
import { LocalFileKek, keyringFromConfig } from '../../../src/data/crypto/index.js';
import { dropExpiredRestored, openBackup, restoreFiles } from '../../../src/data/backup/backup.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { runWarden } from '../../helpers/proc.js';

const ids = (file: string): string[] => {
  const db = openSqlite(file);
  try {
    return (db.prepare('SELECT request_id FROM ledger_payloads ORDER BY request_id').pluck().all() as string[]);
  } finally {
    db.close();
  }
};

test('a backup leaves out expired payloads and a restore does not bring back those expired since', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-backup-expired-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  openSqlite(join(data, 'warden.db')).close();
  const pdb = openSqlite(join(data, 'payloads.db'));
  const keyring = keyringFromConfig({ dataDir: data, encryption: { previous: [], tenants: {} } });
  const vault = new PayloadVault(new SqlitePayloadStore(pdb), keyring, new FixedClock(Date.now()));
  const now = Date.now();
  const pat = { id: 'pat', tenant: 'acme' };
  await vault.put(pat, 'req-expired', 'request', Buffer.from('gone already'), now - 1000);
  await vault.put(pat, 'req-soon', 'request', Buffer.from('goes after the backup'), now + 10 * 60_000);
  await vault.put(pat, 'req-kept', 'request', Buffer.from('kept indefinitely'), null);
  keyring.close();
  pdb.close();
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\n`);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);
  const out = join(dir, 'b.wbk');

  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.match(created.stdout, /expired data left out \(its class's retention had ended\): 1 payloads/);
  const b = await openBackup(out, LocalFileKek.open(backupKey));
  const copy = join(dir, 'in-backup.db');
  writeFileSync(copy, b.files.find((f) => f.entry.path === 'payloads.db')!.bytes);
  assert.deepEqual(ids(copy), ['req-kept', 'req-soon'], 'the expired payload is not in the backup');
  assert.deepEqual(ids(join(data, 'payloads.db')), ['req-expired', 'req-kept', 'req-soon'], 'the source is left to its own sweep');

  // Restored while req-soon is still within its retention: it comes back; the expired one is not in the backup.
  const target = join(dir, 'restored');
  const restored = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', target]);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, /expired since the backup, not restored: none/);
  assert.deepEqual(ids(join(target, 'payloads.db')), ['req-kept', 'req-soon']);
  // Restored after req-soon's retention ended (the restore's clock, eleven minutes on): it is not brought back.
  const later = join(dir, 'restored-later');
  restoreFiles(b, later);
  assert.deepEqual(await dropExpiredRestored(later, now + 11 * 60_000), { payloads: 1 });
  assert.deepEqual(ids(join(later, 'payloads.db')), ['req-kept']);
});
