// The KEK in a PKCS#11 token: a real SoftHSM2 token created in a temp dir, an AES-256 key generated inside it
// (sensitive, not extractable). Data keys are wrapped and unwrapped on the token; destroying the key on the
// token withdraws it, and retained payloads, model keys, retrieval chunks and uploads become unreadable; subject
// keys wrapped there are shredded by erasure and withdrawn with the token key. Without SoftHSM2 the tests skip
// with a printed reason; in CI (CI=true) its absence is a failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pkcs11js from 'pkcs11js';
import { FixedClock } from '../../../src/core/clock.js';
import { EnvelopeTampered, KekUnavailable, Keyring, Pkcs11Kek, SubjectErased, SubjectKeys, keyringFromConfig, openBlob, parseWrappedKey, sealBlob, type Pkcs11KekConfig } from '../../../src/data/crypto/index.js';
import { SqliteSubjectKeyStore } from '../../../src/store/subject-keys-store.js';
import { SqliteRetrievalStore } from '../../../src/store/retrieval-sqlite.js';
import { chunkAad, uploadAad } from '../../../src/store/retrieval-store.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { SqliteModelKeyStore } from '../../../src/store/model-keys-sqlite.js';
import { SqlitePayloadStore } from '../../../src/store/ledger-payloads-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { unwrapModelKey, wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { findSoftHsm, initToken, operatorSession } from '../../helpers/softhsm.js';

const { modulePath, util, missing } = findSoftHsm('PKCS#11 KEK tests');

const tmp = mkdtempSync(join(tmpdir(), 'warden-kek-hsm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PIN = '246810';
const TOKEN = 'warden-kek';
const env = { WARDEN_TEST_KEK_PIN: PIN };
const cfg = (keyLabel: string, over: Partial<Pkcs11KekConfig['pkcs11']> = {}): Pkcs11KekConfig => ({ pkcs11: { module: modulePath!, tokenLabel: TOKEN, keyLabel, ...over }, pinEnv: 'WARDEN_TEST_KEK_PIN' });

const operator = () => operatorSession(modulePath!, TOKEN, PIN);

function generateAes(label: string, bytes = 32): Buffer {
  const { p, session } = operator();
  return p.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: bytes },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  ]);
}

function destroy(label: string): void {
  const { p, session } = operator();
  p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
  const found = p.C_FindObjects(session, 10);
  p.C_FindObjectsFinal(session);
  for (const h of found) p.C_DestroyObject(session, h);
}

if (!missing) {
  initToken(util!, tmp, TOKEN, PIN);
  for (const l of ['platform-kek', 'acme-kek', 'short-kek']) generateAes(l, l === 'short-kek' ? 16 : 32);
}

test('the KEK stays on the token: its value cannot be read, data keys are wrapped and unwrapped there', { skip: missing }, async () => {
  const kek = Pkcs11Kek.open(cfg('platform-kek'), env);
  try {
    assert.equal(kek.id, `pkcs11:${TOKEN}/platform-kek`);
    const { p, session } = operator();
    p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'platform-kek' }]);
    const [h] = p.C_FindObjects(session, 1);
    p.C_FindObjectsFinal(session);
    assert.throws(() => p.C_GetAttributeValue(session, h!, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
    const keyring = new Keyring({ kek });
    const { key, wrapped } = await keyring.newDataKey('default', 'ctx-1');
    assert.equal(parseWrappedKey(wrapped)!.kekId, kek.id);
    assert.ok((await keyring.unwrapDataKey(wrapped, 'ctx-1')).key.equals(key));
    await assert.rejects(keyring.unwrapDataKey(wrapped, 'ctx-2'), EnvelopeTampered);
    // The token still works after a refused unwrap (the failed operation ended on the token).
    assert.ok((await keyring.unwrapDataKey(wrapped, 'ctx-1')).key.equals(key));
  } finally {
    kek.close();
  }
});

test('retained payloads, model keys, retrieval chunks and uploads are unreadable once the token KEK is destroyed; BYOK on the token too', { skip: missing }, async () => {
  const d = join(tmp, 'data');
  mkdirSync(d);
  generateAes('doomed-kek');
  const keyring = keyringFromConfig({ dataDir: d, encryption: { kek: { pkcs11: cfg('doomed-kek').pkcs11, pinEnv: 'WARDEN_TEST_KEK_PIN' }, previous: [], tenants: { acme: cfg('acme-kek') } } }, env);
  assert.equal(existsSync(join(d, 'data-kek.bin')), false, 'no key file when the KEK is on a token');
  const db = openSqlite(join(d, 'warden.db'));
  const vault = new PayloadVault(new SqlitePayloadStore(db), keyring, new FixedClock(1));
  const models = new SqliteModelKeyStore(db);
  await vault.put({ id: 'gina', tenant: 'globex' }, 'req-g', 'request', Buffer.from('globex prompt'));
  await vault.put({ id: 'alice', tenant: 'acme' }, 'req-a', 'request', Buffer.from('acme prompt'));
  const mk = randomBytes(32);
  await models.put('dep-g', await wrapModelKey(keyring, { keyId: 'mk-g', modelId: 'm', tenant: 'globex' }, mk), 1);
  await models.put('dep-a', await wrapModelKey(keyring, { keyId: 'mk-a', modelId: 'm', tenant: 'acme' }, mk), 1);
  // A chunk and an upload per tenant, sealed and read back as the retrieval plane does (sealBlob / openBlob with their AAD).
  const retrieval = new SqliteRetrievalStore(openSqlite(join(d, 'retrieval.db')), { index: 'exact-scan' });
  for (const tenant of ['globex', 'acme']) {
    const storeId = `vs_${tenant}`;
    await retrieval.createStore({ id: storeId, tenant, name: storeId, classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 1, dims: null });
    const sealed = await sealBlob(keyring, tenant, chunkAad(storeId, `f-${tenant}`, 0), Buffer.from(`${tenant} chunk text`));
    await retrieval.addFile({ id: `f-${tenant}`, storeId, tenant, filename: 'f', datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'internal', access: [], subject: null, chunks: 1, createdBy: 'w', createdAt: 1, expiresAt: null }, [{ embedding: Float32Array.from([1, 0]), position: 0, sealed, classification: 'internal', rank: 1, expiresAt: null, findings: { injectionScore: 0, injectionSignals: [], types: [] } }]);
    const u = `file-${tenant}`;
    await retrieval.putUpload({ id: u, tenant, filename: 'u.txt', purpose: 'assistants', bytes: 11, createdBy: 'w', createdAt: 1, expiresAt: 10 }, await sealBlob(keyring, tenant, uploadAad(u), Buffer.from(`${tenant} upload text`)));
  }
  const chunkOf = async (tenant: string) => {
    const [c] = await retrieval.nearest({ tenant, storeId: `vs_${tenant}`, maxRank: 3, embedding: Float32Array.from([1, 0]), limit: 1, nowMs: 1 });
    const rec = (await retrieval.chunks([c!.chunkId], 1)).get(c!.chunkId)!;
    return (await openBlob(keyring, chunkAad(rec.storeId, rec.fileId, rec.position), rec.sealed)).toString();
  };
  const uploadOf = async (tenant: string) => {
    const u = (await retrieval.getUpload(`file-${tenant}`, 1))!;
    return (await openBlob(keyring, uploadAad(u.id), u.sealed)).toString();
  };
  assert.equal(await chunkOf('globex'), 'globex chunk text');
  assert.equal(await uploadOf('acme'), 'acme upload text');

  assert.equal(readFileSync(join(d, 'warden.db')).includes(Buffer.from('prompt')), false);
  assert.equal((await vault.get('gina', 'req-g', 'request')).toString(), 'globex prompt');
  assert.ok((await unwrapModelKey(keyring, (await models.get('dep-a'))!)).equals(mk));

  // The platform key is destroyed on the token: platform-wrapped data is gone at once; acme's own key still works.
  destroy('doomed-kek');
  await assert.rejects(vault.get('gina', 'req-g', 'request'), (e: unknown) => e instanceof KekUnavailable && /no longer on the token/.test(e.message));
  await assert.rejects(unwrapModelKey(keyring, (await models.get('dep-g'))!), KekUnavailable);
  await assert.rejects(chunkOf('globex'), KekUnavailable);
  await assert.rejects(uploadOf('globex'), KekUnavailable);
  assert.equal((await vault.get('alice', 'req-a', 'request')).toString(), 'acme prompt');
  assert.equal(await chunkOf('acme'), 'acme chunk text');

  // acme withdraws its key from the token: its payloads and model key are unreadable too.
  destroy('acme-kek');
  await assert.rejects(vault.get('alice', 'req-a', 'request'), KekUnavailable);
  await assert.rejects(unwrapModelKey(keyring, (await models.get('dep-a'))!), KekUnavailable);
  await assert.rejects(chunkOf('acme'), KekUnavailable);
  await assert.rejects(uploadOf('acme'), KekUnavailable);
  await retrieval.close();
  keyring.close();

  // A restart: the platform KEK must open or Warden does not start; a withdrawn tenant key only stops that tenant.
  assert.throws(() => keyringFromConfig({ dataDir: d, encryption: { kek: cfg('doomed-kek'), previous: [], tenants: {} } }, env), /no AES secret key labelled "doomed-kek"/);
  const restarted = keyringFromConfig({ dataDir: d, encryption: { kek: cfg('platform-kek'), previous: [], tenants: { acme: cfg('acme-kek') } } }, env);
  await assert.rejects(new PayloadVault(new SqlitePayloadStore(db), restarted, new FixedClock(1)).get('alice', 'req-a', 'request'), /withdrawn:acme/);
  restarted.close();
  db.close();
});

test('a wrong PIN, an unset PIN variable, a missing or short key, a missing token or module refuse with a clear error', { skip: missing }, () => {
  assert.throws(() => Pkcs11Kek.open(cfg('platform-kek'), { WARDEN_TEST_KEK_PIN: '000000' }), (e: unknown) => e instanceof KekUnavailable && /the PIN in WARDEN_TEST_KEK_PIN was refused by token "warden-kek"/.test(e.message));
  assert.throws(() => Pkcs11Kek.open(cfg('platform-kek'), {}), /the token PIN variable WARDEN_TEST_KEK_PIN is not set/);
  assert.throws(() => Pkcs11Kek.open(cfg('no-such-key'), env), /token "warden-kek" has no AES secret key labelled "no-such-key"/);
  assert.throws(() => Pkcs11Kek.open(cfg('short-kek'), env), /is not AES-256/);
  assert.throws(() => Pkcs11Kek.open(cfg('platform-kek', { tokenLabel: 'no-such-token' }), env), /no PKCS#11 token labelled "no-such-token"/);
  assert.throws(() => Pkcs11Kek.open(cfg('platform-kek', { module: join(tmp, 'missing.so') }), env), /cannot load the PKCS#11 module/);
});

test('subject keys wrapped on the token: erasure shreds a copy of the subject\'s chunk; destroying the token key leaves every subject unreadable', { skip: missing }, async () => {
  generateAes('subject-kek');
  const keyring = new Keyring({ kek: Pkcs11Kek.open(cfg('subject-kek'), env) });
  const store = SqliteSubjectKeyStore.open(join(tmp, 'subject-keys.db'));
  const keys = new SubjectKeys(keyring, store, () => 1);
  const hers = await keys.seal('acme', 'hana', chunkAad('vs', 'f1', 0), Buffer.from('Hana lives on Birch Road'));
  const his = await keys.seal('acme', 'ivan', uploadAad('file-ivan'), Buffer.from('Ivan uploaded this'));
  // The wrapped subject key was made on the token: it names the token's key, and opens only there.
  assert.equal(parseWrappedKey((await store.get('acme', 'hana'))!.wrapped!)?.kekId, 'pkcs11:warden-kek/subject-kek');
  const backupCopy = Buffer.from(hers);
  assert.equal((await keys.open(chunkAad('vs', 'f1', 0), backupCopy)).toString(), 'Hana lives on Birch Road');
  assert.equal(await keys.erase('hana', 'acme'), 1);
  await assert.rejects(keys.open(chunkAad('vs', 'f1', 0), backupCopy), SubjectErased);
  assert.equal((await keys.open(uploadAad('file-ivan'), his)).toString(), 'Ivan uploaded this');
  destroy('subject-kek');
  await assert.rejects(keys.open(uploadAad('file-ivan'), his), KekUnavailable);
  await store.close();
  keyring.close();
});
