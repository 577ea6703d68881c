// One contract, two backends: the policy store (every published set by version, and the history of which
// was live) behaves the same in SQLite (embedded default) and PostgreSQL (cluster); a stored set restores
// into a fresh PDP, and one that does not hash to its version is refused on load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqlitePolicyStore } from '../../src/store/policy-sqlite.js';
import { PostgresPolicyStore } from '../../src/store/policy-postgres.js';
import type { PolicyStore } from '../../src/store/policy-store.js';
import { FixedClock } from '../../src/core/clock.js';
import { NotFound } from '../../src/core/errors.js';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { entriesFromStored, loadPolicyDir, parsePolicies, policySetVersion, PolicyVersionMismatch } from '../../src/policy/policy-set.js';
import { STARTER_DIR, MODELS, principal, request } from '../policy/fixtures.js';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';

const pgTables = pgTestTables();

interface Opened {
  store: PolicyStore;
  clock: FixedClock;
  close(): Promise<void>;
}

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      const clock = new FixedClock(1_700_000_000_000);
      return { store: new SqlitePolicyStore(db, clock), clock, close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const clock = new FixedClock(1_700_000_000_000);
      const store = await PostgresPolicyStore.connect({ connectionString: PG_TEST_URL, prefix: pgTables.newPrefix(), clock });
      return { store, clock, close: () => store.close() };
    },
  },
];

contractCase(backends, 'a loaded set is stored by version, activated, and restored into a fresh PDP', async ({ store, clock }) => {
  const entries = [...loadPolicyDir(STARTER_DIR), ...parsePolicies('permit(principal == User::"x", action, resource);', 'admin')];
  const version = policySetVersion(entries);
  assert.equal(await store.save(version, entries, { source: 'dir:policies/starter', note: 'initial' }), true);
  assert.equal(await store.save(version, entries, { source: 'again' }), false, 'same version is stored once');
  await store.activate(version, 'ada');
  clock.advance(1000);

  const active = (await store.active())!;
  assert.equal(active.version, version);
  assert.equal(active.policyCount, entries.length, 'every policy of the starter set and the extra one');
  assert.equal(active.source, 'dir:policies/starter');
  const pdp = new PolicyDecisionPoint();
  const restored = pdp.replacePolicies(entriesFromStored(active.version, active.policies));
  assert.equal(restored.version, version);
  pdp.setEntities(MODELS);
  assert.equal(pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'llama-onprem' })).allow, true);

  assert.deepEqual((await store.list()).map((s) => [s.version, s.policyCount, s.note]), [[version, entries.length, 'initial']]);
  assert.deepEqual(await store.history(), [{ version, activatedAt: 1_700_000_000_000, actor: 'ada' }]);
});

contractCase(backends, 'the last activation is the active set; a rollback is another activation; versions list oldest first', async ({ store, clock }) => {
  const a = parsePolicies('@id("a") permit(principal, action, resource);', 'admin');
  const b = parsePolicies('@id("b") forbid(principal, action, resource);', 'admin');
  const [va, vb] = [policySetVersion(a), policySetVersion(b)];
  await store.save(va, a, { source: 'admin' });
  await store.activate(va, 'ada');
  clock.advance(1000);
  await store.save(vb, b, { source: 'admin', note: 'freeze' });
  await store.activate(vb, 'bob');
  assert.equal((await store.active())!.version, vb);
  clock.advance(1000);
  await store.activate(va, 'ada');
  assert.equal((await store.active())!.version, va);
  assert.deepEqual((await store.history()).map((h) => [h.version, h.actor, h.activatedAt]), [[va, 'ada', 1_700_000_000_000], [vb, 'bob', 1_700_000_001_000], [va, 'ada', 1_700_000_002_000]]);
  assert.deepEqual((await store.list()).map((s) => s.version), [va, vb]);
  assert.equal(await store.get('sha256:none'), null);
});

contractCase(backends, 'activating an unknown version is NotFound; no activation means no active set', async ({ store }) => {
  assert.equal(await store.active(), null);
  await assert.rejects(store.activate('sha256:00', 'ada'), NotFound);
  assert.deepEqual(await store.history(), []);
});

contractCase(backends, 'the shadow candidate: none at first, a stored version once set, none again once cleared; an unknown version is NotFound', async ({ store }) => {
  assert.equal(await store.shadow(), null);
  const entries = loadPolicyDir(STARTER_DIR);
  const version = policySetVersion(entries);
  await assert.rejects(store.setShadow(version, 'ada'), NotFound, 'not stored yet');
  await store.save(version, entries, { source: 'shadow' });
  await store.setShadow(version, 'ada');
  assert.equal(await store.shadow(), version);
  await store.setShadow(null, 'bob');
  assert.equal(await store.shadow(), null);
  assert.equal(await store.active(), null, 'shadowing activates nothing');
});

test('stored policies that do not hash to their version are refused', () => {
  const entries = loadPolicyDir(STARTER_DIR);
  const version = policySetVersion(entries);
  const tampered = entries.map((e) => (e.id === 'admin-needs-recent-mfa' ? { ...e, text: e.text.replace('< 900', '< 90000') } : e));
  assert.throws(() => entriesFromStored(version, tampered), PolicyVersionMismatch);
  const renamed = entries.map((e) => (e.id === 'admin-needs-recent-mfa' ? { ...e, id: 'other' } : e));
  assert.throws(() => entriesFromStored(version, renamed), /annotated @id/);
});
