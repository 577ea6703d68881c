// One contract, two backends: the identity store (principals, API keys, metadata) behaves the same in
// SQLite (embedded default) and PostgreSQL (cluster). PostgreSQL tests skip with a reason outside CI when
// no server answers on 127.0.0.1:5432, and fail in CI. Each run uses its own table prefix and drops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { contractCase } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteIdentityStore } from '../../src/store/identity-sqlite.js';
import { IDENTITY_MIGRATIONS, PostgresIdentityStore } from '../../src/store/identity-postgres.js';
import { migrate, SchemaTooNew } from '../../src/store/pg-migrate.js';
import type { ApiKeyRecord, IdentityStore, PrincipalRecord } from '../../src/store/identity-store.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';
let pgSkip: string | false = false;
const prefixes: string[] = [];
const newPrefix = () => {
  const p = `t${randomBytes(5).toString('hex')}_`;
  prefixes.push(p);
  return p;
};

before(async () => {
  pgSkip = await requireService('postgres');
});
after(async () => {
  if (pgSkip || prefixes.length === 0) return;
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  for (const p of prefixes) {
    await c.query(`DROP TABLE IF EXISTS ${p}api_keys, ${p}principals, ${p}meta, ${p}schema_migrations CASCADE`);
  }
  await c.end();
});

const principal = (id: string, over: Partial<PrincipalRecord> = {}): PrincipalRecord => ({
  id,
  kind: 'user',
  tenant: 'acme',
  groups: ['consumers', 'analysts'],
  admin: false,
  sourceCidrs: null,
  limits: null,
  createdAt: 1_700_000_000_000,
  erasedAt: null,
  disabledAt: null,
  oidcIssuer: null,
  ...over,
});
const key = (id: string, principalId: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  principalId,
  hash: randomBytes(32).toString('hex'),
  hint: 'wdn_abcdef',
  models: ['demo-chat'],
  actions: ['chat', 'embed'],
  description: null,
  createdAt: 1_700_000_000_000,
  expiresAt: null,
  revokedAt: null,
  rotatedTo: null,
  lastUsedAt: null,
  ...over,
});

const backends: { name: string; open: () => Promise<{ store: IdentityStore; close: () => Promise<void> } | string> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      return { store: new SqliteIdentityStore(db), close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      if (pgSkip) return pgSkip;
      const s = await PostgresIdentityStore.connect({ connectionString: PG, prefix: newPrefix() });
      return { store: s, close: () => s.close() };
    },
  },
];

const withStore = (name: string, fn: (s: IdentityStore) => Promise<void>) => contractCase(backends, name, (o) => fn(o.store));

withStore('a principal round-trips every field, including nulls, lists and limits', async (s) => {
  assert.equal(await s.getPrincipal('alice'), null);
  const a = principal('alice', { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'], limits: { requestsPerSecond: 0.2, burst: 1, tokensPerMinute: 1000 } });
  const bob = principal('bob', { kind: 'service', admin: true, groups: [], createdAt: 1_700_000_000_001 });
  await s.insertPrincipal(a);
  await s.insertPrincipal(bob);
  assert.deepEqual(await s.getPrincipal('alice'), a);
  assert.deepEqual(await s.getPrincipal('bob'), bob);
  assert.deepEqual((await s.listPrincipals()).map((p) => p.id), ['alice', 'bob'], 'listed in creation order');
  await assert.rejects(s.insertPrincipal(principal('alice')), 'a principal id is unique');
});

withStore('updating a principal changes it (disable, erase, groups) and nothing else', async (s) => {
  await s.insertPrincipal(principal('alice'));
  await s.insertPrincipal(principal('bob'));
  const changed = principal('alice', { groups: ['admins'], disabledAt: 1_700_000_000_500, erasedAt: 1_700_000_000_900, oidcIssuer: 'https://idp.example.com' });
  await s.updatePrincipal(changed);
  assert.deepEqual(await s.getPrincipal('alice'), changed);
  assert.deepEqual(await s.getPrincipal('bob'), principal('bob'));
});

withStore('keys are found by hash and id, listed per principal, and their state changes', async (s) => {
  await s.insertPrincipal(principal('alice'));
  await s.insertPrincipal(principal('bob'));
  const k1 = key('key_1', 'alice', { expiresAt: 1_700_000_060_000, description: 'ci' });
  const k2 = key('key_2', 'bob', { createdAt: 1_700_000_000_001 });
  await s.insertKey(k1);
  await s.insertKey(k2);
  assert.deepEqual(await s.findKeyByHash(k1.hash), k1);
  assert.equal(await s.findKeyByHash('0'.repeat(64)), null);
  assert.deepEqual(await s.getKey('key_2'), k2);
  assert.equal(await s.getKey('key_3'), null);
  assert.deepEqual((await s.listKeys()).map((k) => k.id), ['key_1', 'key_2']);
  assert.deepEqual((await s.listKeys('bob')).map((k) => k.id), ['key_2']);
  assert.deepEqual(await s.listKeys('nobody'), []);
  await s.updateKeyState('key_1', { expiresAt: 1_700_000_001_000, revokedAt: 1_700_000_000_700, rotatedTo: 'key_2' });
  assert.deepEqual(await s.getKey('key_1'), { ...k1, expiresAt: 1_700_000_001_000, revokedAt: 1_700_000_000_700, rotatedTo: 'key_2' });
  assert.deepEqual(await s.getKey('key_2'), k2, 'the other key is untouched');
});

withStore('a key needs an existing principal and a unique hash', async (s) => {
  await s.insertPrincipal(principal('alice'));
  await assert.rejects(s.insertKey(key('key_x', 'ghost')), 'a key of an unknown principal is refused');
  const k = key('key_1', 'alice');
  await s.insertKey(k);
  await assert.rejects(s.insertKey(key('key_2', 'alice', { hash: k.hash })), 'two keys cannot share a hash');
});

withStore('last-used times are batched and never move backwards', async (s) => {
  await s.insertPrincipal(principal('alice'));
  await s.insertKey(key('key_1', 'alice'));
  await s.insertKey(key('key_2', 'alice'));
  await s.touchKeys(new Map([['key_1', 2000], ['key_2', 3000], ['key_unknown', 4000]]));
  await s.touchKeys(new Map([['key_1', 1000]]));
  assert.equal((await s.getKey('key_1'))!.lastUsedAt, 2000);
  assert.equal((await s.getKey('key_2'))!.lastUsedAt, 3000);
  await s.touchKeys(new Map());
});

withStore('metadata is set, overwritten and read back', async (s) => {
  assert.equal(await s.getMeta('bootstrap'), null);
  await s.setMeta('bootstrap', 'key_1');
  await s.setMeta('bootstrap', 'key_2');
  assert.equal(await s.getMeta('bootstrap'), 'key_2');
});

// ---- PostgreSQL schema versions -------------------------------------------------------------------------

test('PostgreSQL: migrations apply once, in order, and a second start applies nothing', async (t) => {
  if (pgSkip) return t.skip(pgSkip);
  const prefix = newPrefix();
  const first = await PostgresIdentityStore.connect({ connectionString: PG, prefix });
  assert.deepEqual(first.migration, { store: 'identity', from: 0, to: IDENTITY_MIGRATIONS.length, applied: IDENTITY_MIGRATIONS.map((m) => m.version) });
  await first.close();
  const again = await PostgresIdentityStore.connect({ connectionString: PG, prefix });
  assert.deepEqual(again.migration.applied, []);
  await again.close();
});

test('PostgreSQL: a store written by the previous release (schema 1) is upgraded and keeps its records', async (t) => {
  if (pgSkip) return t.skip(pgSkip);
  const prefix = newPrefix();
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  try {
    // What the release before `disabled_at` created, with a principal and a key in it.
    await migrate(c, 'identity', prefix, IDENTITY_MIGRATIONS.slice(0, 1));
    await c.query(`INSERT INTO ${prefix}principals (id, kind, tenant, groups, admin, created_at) VALUES ('old', 'user', 'acme', '["consumers"]', false, 5)`);
    await c.query(`INSERT INTO ${prefix}api_keys (id, principal_id, hash, hint, models, actions, created_at) VALUES ('key_old', 'old', 'h', 'wdn_x', '["*"]', '["chat"]', 6)`);
  } finally {
    await c.end();
  }
  const s = await PostgresIdentityStore.connect({ connectionString: PG, prefix });
  try {
    assert.deepEqual(s.migration.applied, IDENTITY_MIGRATIONS.slice(1).map((m) => m.version));
    assert.deepEqual(await s.getPrincipal('old'), principal('old', { groups: ['consumers'], createdAt: 5 }));
    assert.equal((await s.findKeyByHash('h'))!.id, 'key_old');
    await s.updatePrincipal(principal('old', { groups: ['consumers'], createdAt: 5, disabledAt: 7 }));
    assert.equal((await s.getPrincipal('old'))!.disabledAt, 7);
    await s.updatePrincipal(principal('old', { groups: ['consumers'], createdAt: 5, oidcIssuer: 'https://idp.example.com' }));
    assert.equal((await s.getPrincipal('old'))!.oidcIssuer, 'https://idp.example.com');
  } finally {
    await s.close();
  }
});

test('PostgreSQL: replicas starting together migrate once; a newer schema is refused, not guessed at', async (t) => {
  if (pgSkip) return t.skip(pgSkip);
  const prefix = newPrefix();
  const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresIdentityStore.connect({ connectionString: PG, prefix })));
  try {
    const applied = stores.map((s) => s.migration.applied.length);
    assert.deepEqual(applied.sort(), [0, 0, 0, 0, IDENTITY_MIGRATIONS.length], 'exactly one replica applied the migrations');
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  await c.query(`INSERT INTO ${prefix}schema_migrations (store, version, description) VALUES ('identity', ${IDENTITY_MIGRATIONS.length + 1}, 'from the future')`);
  await c.end();
  await assert.rejects(PostgresIdentityStore.connect({ connectionString: PG, prefix }), (e: unknown) => e instanceof SchemaTooNew && e.found === IDENTITY_MIGRATIONS.length + 1 && /upgrade Warden/.test(e.message));
});
