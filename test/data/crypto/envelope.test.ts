// The envelope-encryption module with the local key-file KEK: the one key-file loader, wrap contexts, KEK
// withdrawal (file removed, loosened, replaced), rotation that rewraps data keys without touching the data,
// and BYOK (a tenant's own KEK; its data unreadable once it is withdrawn, every other tenant unaffected).
// Retained payloads and model keys are checked through their real stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EnvelopeTampered,
  KekUnavailable,
  KeyFileInsecure,
  Keyring,
  LocalFileKek,
  createKeyFile,
  keyringFromConfig,
  loadOrCreateKeyFile,
  openBlob,
  openWithDataKey,
  parseWrappedKey,
  readKeyFile,
  sealBlob,
  sealWithDataKey,
} from '../../../src/data/crypto/index.js';
import { FixedClock } from '../../../src/core/clock.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { SqliteModelKeyStore } from '../../../src/store/model-keys-sqlite.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { unwrapModelKey, wrapModelKey } from '../../../src/workload/key-release-envelope.js';

const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'warden-envelope-'));
  process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
};
const ACME = { id: 'alice', tenant: 'acme' };
const GLOBEX = { id: 'gina', tenant: 'globex' };

test('the key-file loader creates 0600 keys, refuses group/world-readable or wrong-size files, never overwrites', () => {
  const d = dir();
  const f = join(d, 'k.bin');
  const k = loadOrCreateKeyFile(f);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.ok(loadOrCreateKeyFile(f).equals(k), 'a second load reads the same key');
  assert.throws(() => createKeyFile(f), (e: unknown) => e instanceof KeyFileInsecure && /never overwritten/.test(e.message));
  assert.ok(readFileSync(f).equals(k), 'the refused create left the key as it was');
  for (const mode of [0o640, 0o604, 0o660]) {
    chmodSync(f, mode);
    assert.throws(() => readKeyFile(f), (e: unknown) => e instanceof KeyFileInsecure && e.status === 503 && /must be 600/.test(e.message));
    assert.throws(() => loadOrCreateKeyFile(f), KeyFileInsecure);
  }
  const short = join(d, 'short.bin');
  writeFileSync(short, randomBytes(16), { mode: 0o600 });
  assert.throws(() => readKeyFile(short), /not a 32-byte key/);
  assert.throws(() => LocalFileKek.open(join(d, 'absent.bin')), { code: 'ENOENT' });
});

test('data keys open only under their context and tenant; tampering is refused', async () => {
  const d = dir();
  const keyring = new Keyring({ kek: LocalFileKek.open(join(d, 'kek.bin'), { create: true }) });
  const { key, wrapped } = await keyring.newDataKey('acme', 'data-key:alice');
  assert.equal(parseWrappedKey(wrapped)!.tenant, 'acme');
  assert.ok((await keyring.unwrapDataKey(wrapped, 'data-key:alice')).key.equals(key));
  await assert.rejects(keyring.unwrapDataKey(wrapped, 'data-key:bob'), EnvelopeTampered);
  // Relabel the tenant in the header: the KEK's context no longer matches.
  const h = parseWrappedKey(wrapped)!;
  const relabeled = Buffer.concat([Buffer.from('WDK1'), Buffer.from([5]), Buffer.from('evilx'), Buffer.from([h.kekId.length]), Buffer.from(h.kekId), h.blob]);
  await assert.rejects(keyring.unwrapDataKey(relabeled, 'data-key:alice'), EnvelopeTampered);
  await assert.rejects(keyring.unwrapDataKey(Buffer.from('not an envelope'), 'data-key:alice'), EnvelopeTampered);
  await assert.rejects(keyring.unwrapDataKey(wrapped.subarray(0, 7), 'data-key:alice'), EnvelopeTampered);
  const flipped = Buffer.from(wrapped);
  flipped[flipped.length - 1]! ^= 1;
  await assert.rejects(keyring.unwrapDataKey(flipped, 'data-key:alice'), EnvelopeTampered);

  const s = sealWithDataKey(key, Buffer.from('hello'), 'rec-1');
  assert.equal(openWithDataKey(key, s.nonce, s.ciphertext, 'rec-1').toString(), 'hello');
  assert.throws(() => openWithDataKey(key, s.nonce, s.ciphertext, 'rec-2'), EnvelopeTampered);
  const blob = await sealBlob(keyring, 'acme', 'export:1', Buffer.from('chunk text'));
  assert.equal((await openBlob(keyring, 'export:1', blob)).toString(), 'chunk text');
  await assert.rejects(openBlob(keyring, 'export:2', blob), EnvelopeTampered);
  await assert.rejects(openBlob(keyring, 'export:1', blob.subarray(0, 20)), EnvelopeTampered);
});

test('retained payloads and model keys are unreadable once the file KEK is withdrawn (removed, loosened, replaced)', async () => {
  const d = dir();
  const kekFile = join(d, 'data-kek.bin');
  const keyring = keyringFromConfig({ dataDir: d, encryption: { previous: [], tenants: {} } });
  const db = openSqlite(join(d, 'warden.db'));
  const vault = new PayloadVault(new SqlitePayloadStore(db), keyring, new FixedClock(1_700_000_000_000));
  const models = new SqliteModelKeyStore(db);
  await vault.put(ACME, 'req-1', 'request', Buffer.from('secret prompt'));
  const modelKey = randomBytes(32);
  await models.put('dep-1', await wrapModelKey(keyring, { keyId: 'mk-1', modelId: 'm', tenant: 'acme' }, modelKey), 1);
  assert.equal((await vault.get('alice', 'req-1', 'request')).toString(), 'secret prompt');
  assert.ok((await unwrapModelKey(keyring, (await models.get('dep-1'))!)).equals(modelKey));
  assert.equal(readFileSync(join(d, 'warden.db')).includes(Buffer.from('secret prompt')), false);

  renameSync(kekFile, kekFile + '.away');
  await assert.rejects(vault.get('alice', 'req-1', 'request'), (e: unknown) => e instanceof KekUnavailable && e.status === 503 && /withdrawn/.test(e.message));
  await assert.rejects(unwrapModelKey(keyring, (await models.get('dep-1'))!), KekUnavailable);
  await assert.rejects(vault.put(GLOBEX, 'req-2', 'request', Buffer.from('x')), KekUnavailable, 'nothing new is sealed either');
  renameSync(kekFile + '.away', kekFile);
  assert.equal((await vault.get('alice', 'req-1', 'request')).toString(), 'secret prompt', 'the key came back');
  chmodSync(kekFile, 0o644);
  await assert.rejects(vault.get('alice', 'req-1', 'request'), KekUnavailable);
  chmodSync(kekFile, 0o600);
  // Another key at the same path is not the KEK the data was wrapped under.
  rmSync(kekFile);
  createKeyFile(kekFile);
  await assert.rejects(vault.get('alice', 'req-1', 'request'), (e: unknown) => e instanceof KekUnavailable && /another key/.test(e.message));
  // A restart with the new file: the old KEK id is not configured; nothing opens, nothing is guessed.
  const restarted = keyringFromConfig({ dataDir: d, encryption: { previous: [], tenants: {} } });
  const vault2 = new PayloadVault(new SqlitePayloadStore(db), restarted, new FixedClock(1_700_000_000_000));
  await assert.rejects(vault2.get('alice', 'req-1', 'request'), (e: unknown) => e instanceof KekUnavailable && /not configured/.test(e.message));
  await assert.rejects(unwrapModelKey(restarted, (await models.get('dep-1'))!), KekUnavailable);
  db.close();
});

test('KEK rotation rewraps data keys; the sealed data is not re-encrypted', async () => {
  const d = dir();
  const old = LocalFileKek.open(join(d, 'kek-1.bin'), { create: true });
  const next = LocalFileKek.open(join(d, 'kek-2.bin'), { create: true });
  const db = openSqlite(join(d, 'warden.db'));
  const store = new SqlitePayloadStore(db);
  const before = new PayloadVault(store, new Keyring({ kek: old }), new FixedClock(1));
  await before.put(ACME, 'req-1', 'request', Buffer.from('kept across rotation'));
  const ciphertext = Buffer.from((await store.getPayload('req-1', 'request'))!.ciphertext);

  // During the rotation the old KEK still unwraps (previous); new keys go under the new one.
  const rotating = new Keyring({ kek: next, previous: [old] });
  assert.equal((await new PayloadVault(store, rotating, new FixedClock(1)).get('alice', 'req-1', 'request')).toString(), 'kept across rotation');
  const wrapped = (await store.wrappedKey('alice'))!;
  const rewrapped = (await rotating.rewrap(wrapped, 'data-key:alice'))!;
  assert.equal(parseWrappedKey(rewrapped)!.kekId, next.id);
  assert.equal(await rotating.rewrap(rewrapped, 'data-key:alice'), null, 'already under the current KEK');
  db.prepare('UPDATE ledger_payload_keys SET wrapped_key = ? WHERE principal = ?').run(rewrapped, 'alice');
  assert.ok((await store.getPayload('req-1', 'request'))!.ciphertext.equals(ciphertext), 'the payload ciphertext is untouched');

  // After the rotation the old KEK is gone from the config: the data still opens under the new one alone.
  const after = new PayloadVault(store, new Keyring({ kek: next }), new FixedClock(1));
  assert.equal((await after.get('alice', 'req-1', 'request')).toString(), 'kept across rotation');
  // And a copy of the old wrapped key (a stale backup) does not open without the old KEK.
  await assert.rejects(new Keyring({ kek: next }).unwrapDataKey(wrapped, 'data-key:alice'), /not configured/);
  db.close();
});

test('BYOK: a tenant brings its own KEK; withdrawing it makes its payloads and model keys unreadable, others unaffected', async () => {
  const d = dir();
  const acmeKek = join(d, 'acme-kek.bin');
  createKeyFile(acmeKek);
  const config = { dataDir: d, encryption: { previous: [], tenants: { acme: { file: acmeKek } } } };
  const keyring = keyringFromConfig(config);
  const db = openSqlite(join(d, 'warden.db'));
  const store = new SqlitePayloadStore(db);
  const vault = new PayloadVault(store, keyring, new FixedClock(1));
  const models = new SqliteModelKeyStore(db);

  await vault.put(ACME, 'req-a', 'request', Buffer.from('acme data'));
  await vault.put(GLOBEX, 'req-g', 'request', Buffer.from('globex data'));
  await models.put('dep-acme', await wrapModelKey(keyring, { keyId: 'mk-a', modelId: 'm', tenant: 'acme' }, randomBytes(32)), 1);
  assert.equal(parseWrappedKey((await store.wrappedKey('alice'))!)!.kekId, LocalFileKek.open(acmeKek).id, "acme's data key is under acme's KEK");
  assert.equal(parseWrappedKey((await store.wrappedKey('gina'))!)!.kekId, keyring.kekFor('globex').id, 'globex is under the platform KEK');
  assert.notEqual(keyring.kekFor('acme').id, keyring.kekFor('globex').id);

  // acme withdraws its key (the file is removed): acme's data is unreadable at once, globex still served.
  rmSync(acmeKek);
  await assert.rejects(vault.get('alice', 'req-a', 'request'), KekUnavailable);
  await assert.rejects(unwrapModelKey(keyring, (await models.get('dep-acme'))!), KekUnavailable);
  await assert.rejects(vault.put({ id: 'amos', tenant: 'acme' }, 'req-a2', 'request', Buffer.from('x')), KekUnavailable);
  assert.equal((await vault.get('gina', 'req-g', 'request')).toString(), 'globex data');

  // After a restart the withdrawn tenant key stays withdrawn (Warden starts; that tenant is refused).
  const restarted = keyringFromConfig(config);
  const vault2 = new PayloadVault(store, restarted, new FixedClock(1));
  await assert.rejects(vault2.get('alice', 'req-a', 'request'), (e: unknown) => e instanceof KekUnavailable && /withdrawn:acme/.test(e.message));
  await assert.rejects(unwrapModelKey(restarted, (await models.get('dep-acme'))!), KekUnavailable);
  await assert.rejects(vault2.put({ id: 'amos', tenant: 'acme' }, 'req-a3', 'request', Buffer.from('x')), KekUnavailable);
  assert.equal((await vault2.get('gina', 'req-g', 'request')).toString(), 'globex data');
  db.close();
});

test('BYOK: data keys wrapped by the platform KEK before the tenant brought its own are refused until rewrapped', async () => {
  const d = dir();
  const platform = LocalFileKek.open(join(d, 'data-kek.bin'), { create: true });
  const db = openSqlite(join(d, 'warden.db'));
  const store = new SqlitePayloadStore(db);
  await new PayloadVault(store, new Keyring({ kek: platform }), new FixedClock(1)).put(ACME, 'req-1', 'request', Buffer.from('from before BYOK'));
  const acmeKek = join(d, 'acme.bin');
  createKeyFile(acmeKek);
  const byok = new Keyring({ kek: platform, tenants: new Map([['acme', LocalFileKek.open(acmeKek)]]) });
  const vault = new PayloadVault(store, byok, new FixedClock(1));
  await assert.rejects(vault.get('alice', 'req-1', 'request'), (e: unknown) => e instanceof KekUnavailable && /warden data rewrap/.test(e.message));
  const moved = (await byok.rewrap((await store.wrappedKey('alice'))!, 'data-key:alice'))!;
  db.prepare('UPDATE ledger_payload_keys SET wrapped_key = ? WHERE principal = ?').run(moved, 'alice');
  assert.equal((await vault.get('alice', 'req-1', 'request')).toString(), 'from before BYOK');
  // Another tenant's KEK never opens acme's keys, even if an attacker relabels the record.
  const h = parseWrappedKey(moved)!;
  const asGlobex = Buffer.concat([Buffer.from('WDK1'), Buffer.from([6]), Buffer.from('globex'), Buffer.from([h.kekId.length]), Buffer.from(h.kekId), h.blob]);
  await assert.rejects(byok.unwrapDataKey(asGlobex, 'data-key:alice'), /not configured/);
  db.close();
});
