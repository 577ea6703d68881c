// One contract, two backends: the record of tenants' own KEKs (src/store/tenant-keks-store.ts) behaves the same in
// SQLite (embedded default) and PostgreSQL (two store instances on one prefix: two replicas), and what
// TenantKeks (src/data/crypto/tenant-keks.ts) builds on it: a replica configured with another key for a recorded
// tenant is refused, a withdrawal recorded through one replica is applied by the other, a tenant recorded but not
// configured here is refused here, and a record that cannot be read for long makes every BYOK tenant refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { SqliteTenantKekStore, type TenantKekStore } from '../../src/store/tenant-keks-store.js';
import { PostgresTenantKekStore, SEALED_MIGRATIONS } from '../../src/store/sealed-postgres.js';
import { Keyring } from '../../src/data/crypto/keyring.js';
import { LocalFileKek } from '../../src/data/crypto/local-kek.js';
import { KekUnavailable } from '../../src/data/crypto/errors.js';
import { TenantKekMismatch, TenantKeks, TenantKekNotFound } from '../../src/data/crypto/tenant-keks.js';
import { FixedClock, systemClock } from '../../src/core/clock.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { contractCase, olderSchema, PG_TEST_URL, pgTestTables, sqliteAndPostgres } from '../helpers/contract.js';

const pgTables = pgTestTables();
const dir = mkdtempSync(join(tmpdir(), 'warden-tenant-keks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const platform = LocalFileKek.open(join(dir, 'platform.bin'), { create: true });
const acme = LocalFileKek.open(join(dir, 'acme.bin'), { create: true });
const otherAcme = LocalFileKek.open(join(dir, 'acme-other.bin'), { create: true });
const log = pino({ level: 'silent' });

const backends = sqliteAndPostgres<TenantKekStore>(pgTables, (db) => new SqliteTenantKekStore(db), (o) => PostgresTenantKekStore.connect(o));

const T0 = 1_700_000_000_000;

contractCase(backends, 'the first KEK id recorded for a tenant stands; withdrawal and reinstatement are seen through another replica', async ({ a, b }) => {
  const raced = await Promise.all([a.record('acme', 'kek-1', T0), b.record('acme', 'kek-2', T0 + 1)]);
  assert.equal(raced[0].kekId, raced[1].kekId, 'both replicas read back the one id recorded');
  const id = raced[0].kekId;
  assert.deepEqual(await b.record('acme', 'kek-3', T0 + 2), { tenant: 'acme', kekId: id, recordedAt: raced[0].recordedAt, withdrawn: null });
  await a.record('Globex', 'kek-g', T0 + 3);
  assert.deepEqual((await b.list()).map((r) => r.tenant), ['Globex', 'acme'], 'byte order');
  assert.equal(await a.setWithdrawn('acme', { at: T0 + 10, by: 'ann', reason: 'contract ended' }), true);
  assert.deepEqual((await b.list()).find((r) => r.tenant === 'acme')!.withdrawn, { at: T0 + 10, by: 'ann', reason: 'contract ended' });
  assert.equal(await b.setWithdrawn('acme', null), true);
  assert.equal((await a.list()).find((r) => r.tenant === 'acme')!.withdrawn, null);
  assert.equal(await a.setWithdrawn('nobody', { at: T0, by: 'ann', reason: null }), false, 'no record: nothing to withdraw');
  // Forgetting deletes only a withdrawn record (compare-and-delete), seen through the other replica.
  assert.equal(await a.forgetWithdrawn('acme'), false, 'in use: not forgotten');
  assert.equal(await a.setWithdrawn('acme', { at: T0 + 20, by: 'ann', reason: null }), true);
  assert.equal(await b.forgetWithdrawn('acme'), true);
  assert.equal(await a.forgetWithdrawn('acme'), false, 'already forgotten');
  assert.deepEqual((await a.list()).map((r) => r.tenant), ['Globex']);
});

contractCase(backends, 'TenantKeks: another key for a recorded tenant is refused; a withdrawal through one replica is applied by the other; unconfigured tenants are refused', async ({ a, b }) => {
  const clock = new FixedClock(T0);
  const ringA = new Keyring({ kek: platform, tenants: new Map([['acme', acme]]) });
  const ringB = new Keyring({ kek: platform, tenants: new Map([['acme', acme]]) });
  const keksA = await TenantKeks.start({ keyring: ringA, store: a, clock, log });
  const keksB = await TenantKeks.start({ keyring: ringB, store: b, clock, log });
  // A replica given another key for acme is refused at start.
  await assert.rejects(TenantKeks.start({ keyring: new Keyring({ kek: platform, tenants: new Map([['acme', otherAcme]]) }), store: b, clock, log }), TenantKekMismatch);
  const sealed = await ringA.newDataKey('acme', 'data-key:alice');
  assert.ok((await ringB.unwrapDataKey(sealed.wrapped, 'data-key:alice')).key.equals(sealed.key));
  // Withdrawn through A: B refuses once it has read the record (the announcement or the poll does this in Warden).
  await keksA.set('acme', { by: 'ann', reason: 'test' });
  await assert.rejects(ringA.unwrapDataKey(sealed.wrapped, 'data-key:alice'), KekUnavailable);
  await keksB.refresh();
  await assert.rejects(ringB.unwrapDataKey(sealed.wrapped, 'data-key:alice'), (e: unknown) => e instanceof KekUnavailable && /withdrawn by ann/.test(e.message));
  await assert.rejects(ringB.newDataKey('acme', 'data-key:bob'), KekUnavailable, 'nothing new is sealed for the tenant either');
  await ringB.newDataKey('globex', 'data-key:gina'); // other tenants are served
  await assert.rejects(keksB.set('nobody', { by: 'ann', reason: null }), TenantKekNotFound);
  // Reinstated through B: A opens again after its next read.
  await keksB.set('acme', null);
  await keksA.refresh();
  assert.ok((await ringA.unwrapDataKey(sealed.wrapped, 'data-key:alice')).key.equals(sealed.key));
  // A replica that does not configure acme refuses its data rather than sealing it under the platform KEK.
  const ringC = new Keyring({ kek: platform });
  const keksC = await TenantKeks.start({ keyring: ringC, store: b, clock, log });
  await assert.rejects(ringC.newDataKey('acme', 'data-key:carol'), (e: unknown) => e instanceof KekUnavailable && /not configured on this one/.test(e.message));
  // While the record cannot be confirmed, BYOK tenants are refused; others are served.
  ringA.setUnconfirmed('the record is unreadable');
  await assert.rejects(ringA.unwrapDataKey(sealed.wrapped, 'data-key:alice'), KekUnavailable);
  await ringA.newDataKey('globex', 'data-key:gina');
  await keksA.refresh();
  assert.ok((await ringA.unwrapDataKey(sealed.wrapped, 'data-key:alice')).key.equals(sealed.key), 'a successful read confirms it again');
  for (const k of [keksA, keksB, keksC]) k.close();
});

test('PostgreSQL: a sealed store written before tenant KEK records (schema 1) is upgraded and keeps its pinned KEK', async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = await olderSchema(pgTables, 'sealed', SEALED_MIGRATIONS, 1, (c, p) => c.query(`INSERT INTO ${p}sealed_kek (kek_id, set_at) VALUES ('kek-old', 1)`).then(() => undefined));
  const s = await PostgresTenantKekStore.connect({ connectionString: PG_TEST_URL, prefix });
  try {
    assert.deepEqual(s.migration.applied, SEALED_MIGRATIONS.slice(1).map((m) => m.version));
    assert.equal((await s.record('acme', 'kek-a', 5)).kekId, 'kek-a');
    const c2 = new pg.Client({ connectionString: PG_TEST_URL });
    await c2.connect();
    assert.equal((await c2.query(`SELECT kek_id FROM ${prefix}sealed_kek`)).rows[0].kek_id, 'kek-old');
    await c2.end();
  } finally {
    await s.close();
  }
});

test('PostgreSQL: a replica that cannot read the tenant KEK record for longer than staleAfterMs refuses BYOK tenants until it can', async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const store = await PostgresTenantKekStore.connect({ connectionString: PG_TEST_URL, prefix });
  const changes = await PgChangeFeed.connect({ connectionString: PG_TEST_URL, prefix });
  const ring = new Keyring({ kek: platform, tenants: new Map([['acme', acme]]) });
  const keks = await TenantKeks.start({ keyring: ring, store, clock: systemClock, log, changes, pollMs: 50, staleAfterMs: 300 });
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  t.after(async () => {
    keks.close();
    await c.end();
    await changes.close();
    await store.close();
  });
  const sealed = await ring.newDataKey('acme', 'data-key:alice');
  const opens = () => ring.unwrapDataKey(sealed.wrapped, 'data-key:alice').then(() => true, (e: unknown) => (e instanceof KekUnavailable ? false : Promise.reject(e)));
  await c.query(`ALTER TABLE ${prefix}tenant_keks RENAME TO ${prefix}tenant_keks_away`);
  try {
    const since = Date.now();
    while ((await opens()) && Date.now() - since < 3000) await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(ring.unwrapDataKey(sealed.wrapped, 'data-key:alice'), (e: unknown) => e instanceof KekUnavailable && /cannot be confirmed/.test(e.message));
    await ring.newDataKey('globex', 'data-key:gina'); // tenants on the platform KEK are served
  } finally {
    await c.query(`ALTER TABLE ${prefix}tenant_keks_away RENAME TO ${prefix}tenant_keks`);
  }
  const since = Date.now();
  while (!(await opens()) && Date.now() - since < 3000) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await opens(), 'readable again once the record can be read');
});
