// `warden data migrate|rewrap|new-key` in a child process against a real data dir. The legacy records are
// written here exactly as the pre-envelope code sealed them (payload data keys: nonce ‖ AES-256-GCM under
// payload-kek.bin with AAD "data-key:<principal>"; model keys: the JSON record under model-kek.bin with the
// canonical labels as AAD): until migrated, reading them is refused with envelope_needs_migration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../../../src/core/canonical-json.js';
import { FixedClock } from '../../../src/core/clock.js';
import { LegacyEnvelope, createKeyFile, keyringFromConfig, parseWrappedKey, sealWithDataKey, LocalFileKek } from '../../../src/data/crypto/index.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqliteIdentityStore } from '../../../src/store/identity-sqlite.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { SqliteModelKeyStore } from '../../../src/store/model-keys-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { unwrapModelKey, type LegacyWrappedModelKey } from '../../../src/workload/key-release-envelope.js';
import { runWarden } from '../../helpers/proc.js';

function legacyGcm(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; ct: Buffer; tag: Buffer } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { iv, ct, tag: c.getAuthTag() };
}

test('legacy payload and model keys are refused until `warden data migrate`, then open under the new KEKs; rotation via `warden data rewrap`', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const acmeKek = join(dir, 'acme-kek.bin');
  const created = await runWarden(['data', 'new-key', acmeKek]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(statSync(acmeKek).mode & 0o777, 0o600);
  const again = await runWarden(['data', 'new-key', acmeKek]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists; a key file is never overwritten/);
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  tenants:\n    acme: { file: ${acmeKek} }\n`);

  // The old data dir: payload-kek.bin and model-kek.bin, records sealed the old way.
  const db = openSqlite(join(data, 'warden.db'));
  const pdb = openSqlite(join(data, 'payloads.db'));
  const identity = new SqliteIdentityStore(db);
  await identity.insertPrincipal({ id: 'alice', kind: 'user', tenant: 'acme', groups: [], admin: false, sourceCidrs: null, limits: null, createdAt: 1, erasedAt: null });
  const payloadKek = createKeyFile(join(data, 'payload-kek.bin'));
  const modelKek = createKeyFile(join(data, 'model-kek.bin'));
  const payloads = new SqlitePayloadStore(pdb);
  const models = new SqliteModelKeyStore(db);
  const aliceKey = randomBytes(32);
  const w = legacyGcm(payloadKek, aliceKey, Buffer.from('data-key:alice'));
  await payloads.putKey('alice', Buffer.concat([w.iv, w.ct, w.tag]), 1);
  await payloads.putPayload('req-1', 'request', { principal: 'alice', ...sealWithDataKey(aliceKey, Buffer.from('old prompt'), 'alice|req-1|request') });
  const modelKey = randomBytes(32);
  const labels = { alg: 'A256GCM' as const, kekId: 'local-kek-1', keyId: 'mk-1', modelId: 'm' };
  const m = legacyGcm(modelKek, modelKey, Buffer.from(canonicalJson(labels)));
  const legacyRecord: LegacyWrappedModelKey = { ...labels, iv: m.iv.toString('base64url'), ciphertext: m.ct.toString('base64url'), tag: m.tag.toString('base64url') };
  await models.put('dep-1', legacyRecord, 1);

  const open = () => keyringFromConfig({ dataDir: data, encryption: { previous: [], tenants: { acme: { file: acmeKek } } } });
  let keyring = open();
  const vault = () => new PayloadVault(payloads, keyring, new FixedClock(1));
  await assert.rejects(vault().get('alice', 'req-1', 'request'), (e: unknown) => e instanceof LegacyEnvelope && e.code === 'envelope_needs_migration' && /warden data migrate/.test(e.message));
  await assert.rejects(unwrapModelKey(keyring, (await models.get('dep-1'))!), LegacyEnvelope);
  await assert.rejects(vault().put({ id: 'alice', tenant: 'acme' }, 'req-2', 'request', Buffer.from('x')), LegacyEnvelope, 'nothing new is sealed under a legacy key');
  // rewrap leaves old-format records to migrate, and says so (exit 1).
  const early = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(early.code, 1, early.stderr);
  assert.match(early.stdout, /not moved: payload data key of alice \(old format: run warden data migrate\)/);

  const migrated = await runWarden(['data', 'migrate', '--config', conf, '--remove-legacy-keys']);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  assert.match(migrated.stdout, /^migrated: 1 payload data key\(s\), 1 model key\(s\)$/m);
  assert.equal(existsSync(join(data, 'payload-kek.bin')), false);
  assert.equal(existsSync(join(data, 'model-kek.bin')), false);
  // alice is in tenant acme, which brings its own KEK: her data key is now under it.
  assert.equal(parseWrappedKey((await payloads.wrappedKey('alice'))!)!.kekId, LocalFileKek.open(acmeKek).id);
  assert.equal((await vault().get('alice', 'req-1', 'request')).toString(), 'old prompt');
  assert.ok((await unwrapModelKey(keyring, (await models.get('dep-1'))!)).equals(modelKey));
  keyring.close();

  // Rotation of the platform KEK: a new key file, the old one listed under previous, then rewrap.
  const next = join(dir, 'kek-2.bin');
  assert.equal((await runWarden(['data', 'new-key', next])).code, 0);
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  kek: { file: ${next} }\n  previous:\n    - { file: ${join(data, 'data-kek.bin')} }\n  tenants:\n    acme: { file: ${acmeKek} }\n`);
  const rotated = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
  assert.match(rotated.stdout, /^rewrapped: 0 payload data key\(s\), 1 model key\(s\)$/m, "alice's key is under acme's KEK; the model key (tenant default) moves");
  keyring = keyringFromConfig({ dataDir: data, encryption: { kek: { file: next }, previous: [], tenants: { acme: { file: acmeKek } } } });
  assert.ok((await unwrapModelKey(keyring, (await models.get('dep-1'))!)).equals(modelKey), 'opens without the old KEK');
  assert.equal((await vault().get('alice', 'req-1', 'request')).toString(), 'old prompt');
  keyring.close();
  pdb.close();
  db.close();

  const bad = await runWarden(['data', 'frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown verb "frobnicate"[\s\S]*\n {2}migrate \[--config F\][\s\S]*\n {2}rewrap \[--config F\]/);
});

test('warden up refuses to start when the platform KEK file is readable by others, or its token KEK cannot open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-kek-up-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  createKeyFile(join(data, 'data-kek.bin'));
  chmodSync(join(data, 'data-kek.bin'), 0o644);
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\n`);
  const loose = await runWarden(['up', '--config', conf]);
  assert.equal(loose.code, 1, loose.stdout + loose.stderr);
  assert.match(loose.stderr, /^warden: cannot start: .*data-kek\.bin has mode 644; a key file must be 600/m);
  writeFileSync(conf, `dataDir: ${data}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\nencryption:\n  kek: { pkcs11: { module: ${join(dir, 'none.so')}, tokenLabel: t, keyLabel: k }, pinEnv: WARDEN_TEST_NO_PIN }\n`);
  const token = await runWarden(['up', '--config', conf], { WARDEN_TEST_NO_PIN: '' });
  assert.equal(token.code, 1, token.stdout + token.stderr);
  assert.match(token.stderr, /^warden: cannot start: KEK pkcs11: the token PIN variable WARDEN_TEST_NO_PIN is not set/m);
  // An unknown key under encryption is a configuration error, not ignored.
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  kek: { file: x, extra: 1 }\n`);
  const typo = await runWarden(['up', '--config', conf]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /\/encryption\/kek\/extra: unknown key "extra"/);
});
