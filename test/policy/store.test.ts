import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqlitePolicyStore } from '../../src/store/policy-sqlite.js';
import { FixedClock } from '../../src/core/clock.js';
import { NotFound } from '../../src/core/errors.js';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { entriesFromStored, loadPolicyDir, parsePolicies, policySetVersion, PolicyVersionMismatch } from '../../src/policy/policy-set.js';
import { STARTER_DIR, MODELS, principal, request } from './fixtures.js';

test('a loaded set is stored by version, activated, and restored into a fresh PDP', () => {
  const db = openSqlite(':memory:');
  const clock = new FixedClock(1_700_000_000_000);
  const store = new SqlitePolicyStore(db, clock);
  const entries = [...loadPolicyDir(STARTER_DIR), ...parsePolicies('permit(principal == User::"x", action, resource);', 'admin')];
  const version = policySetVersion(entries);
  assert.equal(store.save(version, entries, { source: 'dir:policies/starter', note: 'initial' }), true);
  assert.equal(store.save(version, entries, { source: 'again' }), false, 'same version is stored once');
  store.activate(version, 'ada');
  clock.advance(1000);

  const active = store.active()!;
  assert.equal(active.version, version);
  assert.equal(active.policyCount, 23);
  const pdp = new PolicyDecisionPoint();
  const restored = pdp.replacePolicies(entriesFromStored(active.version, active.policies));
  assert.equal(restored.version, version);
  pdp.setEntities(MODELS);
  assert.equal(pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'llama-onprem' })).allow, true);

  assert.deepEqual(store.list().map((s) => [s.version, s.policyCount, s.note]), [[version, 23, 'initial']]);
  assert.deepEqual(store.history(), [{ version, activatedAt: 1_700_000_000_000, actor: 'ada' }]);
  db.close();
});

test('activating an unknown version is NotFound; no activation means no active set', () => {
  const store = new SqlitePolicyStore(openSqlite(':memory:'));
  assert.equal(store.active(), null);
  assert.throws(() => store.activate('sha256:00', 'ada'), NotFound);
});

test('stored policies that do not hash to their version are refused', () => {
  const entries = loadPolicyDir(STARTER_DIR);
  const version = policySetVersion(entries);
  const tampered = entries.map((e) => (e.id === 'admin-needs-recent-mfa' ? { ...e, text: e.text.replace('< 900', '< 90000') } : e));
  assert.throws(() => entriesFromStored(version, tampered), PolicyVersionMismatch);
  const renamed = entries.map((e) => (e.id === 'admin-needs-recent-mfa' ? { ...e, id: 'other' } : e));
  assert.throws(() => entriesFromStored(version, renamed), /annotated @id/);
});
