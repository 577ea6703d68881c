// One contract, two backends: the sealed stores (retained payloads with their per-principal data keys and
// erasure marks; wrapped model keys) behave the same in SQLite (embedded default) and PostgreSQL (replicas
// sharing one store). On PostgreSQL each case runs two store instances on one prefix (two replicas): a data key
// raced by both is stored once and both use it; an erasure through one is never outlived by a payload stored
// through the other; the PayloadVault on top seals through one replica and opens through the other.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqlitePayloadStore } from '../../src/store/ledger-payloads-sqlite.js';
import { SqliteModelKeyStore } from '../../src/store/model-keys-sqlite.js';
import { PostgresModelKeyStore, PostgresPayloadStore } from '../../src/store/sealed-postgres.js';
import type { ModelKeyStore, PayloadStore } from '../../src/store/sealed-store.js';
import { PayloadVault } from '../../src/ledger/retention.js';
import { Keyring } from '../../src/data/crypto/keyring.js';
import { LocalFileKek } from '../../src/data/crypto/local-kek.js';
import { wrapModelKey, unwrapModelKey } from '../../src/workload/key-release-envelope.js';
import { FixedClock } from '../../src/core/clock.js';
import type { WardenError } from '../../src/core/errors.js';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';

const pgTables = pgTestTables();
const kekDir = mkdtempSync(join(tmpdir(), 'warden-sealed-'));
after(() => rmSync(kekDir, { recursive: true, force: true }));
// One KEK for both "replicas" (as store.postgres requires).
const kek = LocalFileKek.open(join(kekDir, 'kek.bin'), { create: true });
const keyring = new Keyring({ kek });

interface Opened {
  /** Two handles on one store: the same one for SQLite, two replicas' pools for PostgreSQL. */
  payloads: [PayloadStore, PayloadStore];
  models: [ModelKeyStore, ModelKeyStore];
  close(): Promise<void>;
}

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      const p = new SqlitePayloadStore(db);
      const m = new SqliteModelKeyStore(db);
      return { payloads: [p, p], models: [m, m], close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const o = { connectionString: PG_TEST_URL, prefix: pgTables.newPrefix() };
      const [p1, p2, m1, m2] = [await PostgresPayloadStore.connect(o), await PostgresPayloadStore.connect(o), await PostgresModelKeyStore.connect(o), await PostgresModelKeyStore.connect(o)];
      return { payloads: [p1, p2], models: [m1, m2], close: async () => void (await Promise.all([p1.close(), p2.close(), m1.close(), m2.close()])) };
    },
  },
];

const sealed = (principal: string) => ({ principal, nonce: randomBytes(12), ciphertext: randomBytes(40) });

contractCase(backends, 'a data key is stored once; payloads round-trip; a wrapped key is swapped only from what it was', async ({ payloads: [a, b] }) => {
  const k1 = randomBytes(60);
  assert.ok((await a.putKey('alice', k1, 1))!.equals(k1));
  // The second writer gets the stored key back, not its own.
  assert.ok((await b.putKey('alice', randomBytes(60), 2))!.equals(k1));
  assert.ok((await b.wrappedKey('alice'))!.equals(k1));
  assert.equal(await a.wrappedKey('nobody'), undefined);
  const p = sealed('alice');
  assert.equal(await a.putPayload('req-1', 'request', p), true);
  const got = (await b.getPayload('req-1', 'request'))!;
  assert.equal(got.principal, 'alice');
  assert.ok(Buffer.from(got.nonce).equals(p.nonce) && Buffer.from(got.ciphertext).equals(p.ciphertext));
  assert.equal(await b.getPayload('req-1', 'response'), undefined);
  assert.deepEqual(await b.holdings('alice'), { key: true, payloads: 1 });
  assert.deepEqual(await b.holdings('bob'), { key: false, payloads: 0 });
  await a.putKey('Bob', randomBytes(60), 3);
  assert.deepEqual((await b.listKeys()).map((r) => r.principal), ['Bob', 'alice'], 'byte order');
  const k2 = randomBytes(60);
  assert.equal(await b.replaceKey('alice', randomBytes(60), k2), false, 'not from what it is');
  assert.equal(await b.replaceKey('alice', k1, k2), true);
  assert.ok((await a.wrappedKey('alice'))!.equals(k2));
});

contractCase(backends, 'erasure: key and payloads gone, recorded, and nothing stored for the principal afterwards', async ({ payloads: [a, b] }) => {
  await a.putKey('carol', randomBytes(60), 1);
  await a.putPayload('r1', 'request', sealed('carol'));
  await a.putPayload('r1', 'response', sealed('carol'));
  await a.putPayload('r2', 'request', sealed('dave'));
  assert.equal(await b.erasedAt('carol'), undefined);
  assert.deepEqual(await b.destroyKey('carol', 1234), { keyExisted: true, payloads: 2 });
  assert.equal(await a.erasedAt('carol'), 1234);
  assert.equal(await a.wrappedKey('carol'), undefined);
  assert.equal(await a.getPayload('r1', 'request'), undefined);
  assert.ok(await a.getPayload('r2', 'request'), "another principal's payload stays");
  assert.equal(await a.putKey('carol', randomBytes(60), 2), undefined, 'no new key after the erasure');
  assert.equal(await a.putPayload('r3', 'request', sealed('carol')), false, 'no new payload after the erasure');
  assert.deepEqual(await a.holdings('carol'), { key: false, payloads: 0 });
  assert.deepEqual(await a.destroyKey('carol', 5678), { keyExisted: false, payloads: 0 }, 'erasing again is harmless');
});

contractCase(backends, 'parallel writers: one data key for a principal; an erasure is never outlived by a payload', async ({ payloads: [a, b] }) => {
  const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).putKey('erin', randomBytes(60), i)));
  assert.equal(new Set(keys.map((k) => k!.toString('hex'))).size, 1, 'every writer got the one stored key');
  // Retention through one replica while the principal is erased through the other.
  const writes = Array.from({ length: 30 }, (_, i) => a.putPayload(`q${i}`, 'request', sealed('erin')));
  const erased = b.destroyKey('erin', 99);
  const stored = await Promise.all(writes);
  await erased;
  const left = await a.holdings('erin');
  assert.equal(left.payloads, 0, `${stored.filter(Boolean).length} payloads were stored, none outlived the erasure`);
  assert.equal(left.key, false);
});

contractCase(backends, 'model keys: stored per deployment, replaced, listed, opened by any replica with the shared KEK', async ({ models: [a, b] }) => {
  const key = randomBytes(32);
  const w = await wrapModelKey(keyring, { keyId: 'mk_1', modelId: 'secret-llm', tenant: 'acme' }, key);
  await a.put('dep_b', w, 1);
  assert.deepEqual(await b.get('dep_b'), w);
  assert.ok((await unwrapModelKey(keyring, (await b.get('dep_b'))!)).equals(key));
  assert.equal(await b.get('dep_none'), null);
  const w2 = await wrapModelKey(keyring, { keyId: 'mk_2', modelId: 'secret-llm', tenant: 'acme' }, randomBytes(32));
  await b.put('dep_b', w2, 2);
  await b.put('dep_A', w, 3);
  assert.deepEqual((await a.list()).map((r) => [r.deploymentId, (r.wrapped as { keyId: string }).keyId]), [['dep_A', 'mk_1'], ['dep_b', 'mk_2']]);
});

contractCase(backends, 'the payload vault on top: sealed through one replica, opened through the other, shredded for both', async ({ payloads: [a, b] }) => {
  const clock = new FixedClock(1_700_000_000_000);
  const [va, vb] = [new PayloadVault(a, keyring, clock), new PayloadVault(b, keyring, clock)];
  await va.put({ id: 'fay', tenant: 'acme' }, 'req-9', 'request', Buffer.from('the prompt'));
  await vb.put({ id: 'fay', tenant: 'acme' }, 'req-9', 'response', Buffer.from('the answer'));
  assert.equal((await vb.get('fay', 'req-9', 'request')).toString(), 'the prompt');
  assert.equal((await va.get('fay', 'req-9', 'response')).toString(), 'the answer');
  assert.deepEqual(await vb.erase('fay'), { keyDestroyed: true, payloadsUnreadable: 2 });
  const gone = (e: WardenError) => e.status === 410 && e.code === 'payload_erased';
  await assert.rejects(va.get('fay', 'req-9', 'request'), gone);
  await assert.rejects(va.put({ id: 'fay', tenant: 'acme' }, 'req-10', 'request', Buffer.from('x')), gone);
});

contractCase(backends, 'retention by class: an expiry round-trips, expired payloads are counted, refused by the vault and deleted', async ({ payloads: [a, b] }) => {
  const clock = new FixedClock(1_000);
  const [va, vb] = [new PayloadVault(a, keyring, clock), new PayloadVault(b, keyring, clock)];
  await va.put({ id: 'gus', tenant: 'acme' }, 'short', 'request', Buffer.from('brief'), 2_000);
  await va.put({ id: 'gus', tenant: 'acme' }, 'long', 'request', Buffer.from('kept'), 5_000);
  await va.put({ id: 'gus', tenant: 'acme' }, 'ever', 'request', Buffer.from('for ever'));
  assert.equal((await b.getPayload('short', 'request'))!.expiresAt, 2_000);
  assert.equal((await b.getPayload('ever', 'request'))!.expiresAt, null);
  assert.equal(await b.countExpired(1_999), 0);
  clock.set(2_000);
  await assert.rejects(vb.get('gus', 'short', 'request'), (e: WardenError) => e.status === 410 && e.code === 'payload_expired');
  assert.equal((await vb.get('gus', 'long', 'request')).toString(), 'kept');
  assert.equal(await b.countExpired(2_000), 1);
  assert.equal(await a.deleteExpired(2_000), 1);
  assert.equal(await b.getPayload('short', 'request'), undefined);
  assert.equal(await b.deleteExpired(10_000), 1, 'the next one, once it expires');
  clock.set(10_000_000);
  assert.equal((await vb.get('gus', 'ever', 'request')).toString(), 'for ever');
});
