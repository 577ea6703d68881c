// `warden data rewrap` and `warden backup create` honour a recorded tenant-KEK withdrawal (`warden data kek
// withdraw`), in child processes against a real data dir: alice (tenant acme) has a payload data key still under the
// platform KEK from before acme brought its own; with acme withdrawn, rewrap leaves that key where it is and names
// acme (exit 1) and the backup leaves acme's data out (naming acme); once reinstated, both take it.
// (The backup and restore of a withdrawn tenant end to end: test/data/backup/withdrawn-tenant.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../../src/core/clock.js';
import { LocalFileKek, keyringFromConfig, parseWrappedKey } from '../../../src/data/crypto/index.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { SqliteTenantKekStore } from '../../../src/store/tenant-keks-store.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { runWarden } from '../../helpers/proc.js';

test('a withdrawn tenant\'s data keys are neither rewrapped nor backed up; reinstated, they are', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-withdrawn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const acmeKek = join(dir, 'acme-kek.bin');
  assert.equal((await runWarden(['data', 'new-key', acmeKek])).code, 0);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);

  // Before acme brought its own KEK: alice's payload data key is under the platform KEK.
  const db = openSqlite(join(data, 'warden.db'));
  const pdb = openSqlite(join(data, 'payloads.db'));
  t.after(() => {
    pdb.close();
    db.close();
  });
  const payloads = new SqlitePayloadStore(pdb);
  const platformOnly = keyringFromConfig({ dataDir: data, encryption: { previous: [], tenants: {} } });
  await new PayloadVault(payloads, platformOnly, new FixedClock(1)).put({ id: 'alice', tenant: 'acme' }, 'req-1', 'request', Buffer.from('a prompt'));
  const platformId = platformOnly.platformKekIds().current;
  platformOnly.close();
  // acme's KEK recorded (as `warden up` records it) and withdrawn (as `warden data kek withdraw acme` does).
  const keks = new SqliteTenantKekStore(db);
  await keks.record('acme', LocalFileKek.open(acmeKek).id, 2);
  assert.equal(await keks.setWithdrawn('acme', { at: Date.UTC(2026, 0, 2), by: 'ops', reason: 'customer revoked' }), true);
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  tenants:\n    acme: { file: ${acmeKek} }\n`);
  const kekOfAlice = async () => parseWrappedKey((await payloads.wrappedKey('alice'))!)!.kekId;

  const rewrap = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(rewrap.code, 1, rewrap.stdout + rewrap.stderr);
  assert.match(rewrap.stdout, /^rewrapped: 0 payload data key\(s\), 0 model key\(s\)$/m);
  assert.match(rewrap.stdout, /not moved: payload data key of alice \(tenant acme's KEK is withdrawn: withdrawn by ops at 2026-01-02T00:00:00.000Z \(customer revoked\)\)/);
  assert.equal(await kekOfAlice(), platformId, 'left where it was');

  const without = join(dir, 'without-acme.wbk');
  const backup = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', without]);
  assert.equal(backup.code, 0, backup.stdout + backup.stderr);
  assert.match(backup.stdout, /tenant acme excluded: its own KEK is withdrawn by ops at 2026-01-02T00:00:00.000Z \(customer revoked\); none of its content is in this backup/);
  assert.match(backup.stdout, /withdrawn tenants' data left out: 1 payloadKeys, 1 payloads/);

  // Reinstated (`warden data kek restore acme`): the same commands move and copy it.
  assert.equal(await keks.setWithdrawn('acme', null), true);
  const moved = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(moved.code, 0, moved.stdout + moved.stderr);
  assert.match(moved.stdout, /^rewrapped: 1 payload data key\(s\), 0 model key\(s\)$/m);
  assert.equal(await kekOfAlice(), LocalFileKek.open(acmeKek).id);
  const out = join(dir, 'b.wbk');
  const taken = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(taken.code, 0, taken.stdout + taken.stderr);
  assert.ok(existsSync(out));
  assert.doesNotMatch(taken.stdout, /excluded/);
  assert.match(taken.stdout, /withdrawn tenants' data left out: none/);
});
