import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqlitePolicyStore } from '../../src/store/policy-sqlite.js';
import { NotFound } from '../../src/core/errors.js';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { PolicyAdmin } from '../../src/policy/policy-admin.js';
import { PolicyValidationFailed } from '../../src/policy/errors.js';
import { MODELS, STARTER_DIR, principal, request } from './fixtures.js';

function setup() {
  const db = openSqlite(':memory:');
  const pdp = new PolicyDecisionPoint();
  pdp.setEntities(MODELS);
  const store = new SqlitePolicyStore(db);
  return { db, pdp, store, admin: new PolicyAdmin(pdp, store) };
}
const chat = () => request(principal(), 'chat', { type: 'Model', id: 'llama-onprem' });

test('boot publishes the directory once, then restores the active stored version', async () => {
  const { db, pdp, store, admin } = setup();
  const first = await admin.boot(STARTER_DIR);
  assert.equal(first.policyCount, 38);
  assert.equal(pdp.decide(chat()).allow, true);
  await admin.publish('@id("deny-all") forbid(principal, action, resource);', 'ada', 'freeze');
  // a restart: new PDP, same database
  const pdp2 = new PolicyDecisionPoint();
  pdp2.setEntities(MODELS);
  const again = (await new PolicyAdmin(pdp2, store).boot(STARTER_DIR));
  assert.equal(again.policyCount, 1);
  assert.equal(pdp2.decide(chat()).allow, false);
  db.close();
});

test('a rejected publish is neither stored nor live', async () => {
  const { pdp, admin } = setup();
  (await admin.boot(STARTER_DIR));
  const before = await admin.versions();
  await assert.rejects(async () => admin.publish('permit(principal, action, resource) when { resource.colour == "red" };', 'ada'), PolicyValidationFailed);
  assert.deepEqual((await admin.versions()), before);
  assert.equal(pdp.decide(chat()).allow, true);
});

test('a set refused by the gate (check or commit) is neither stored nor live, so it cannot be rolled back to', async () => {
  const { pdp, admin } = setup();
  const v1 = (await admin.boot(STARTER_DIR)).setVersion;
  const before = await admin.versions();
  const denyAll = '@id("deny-all") forbid(principal, action, resource);';
  let seenLive: boolean | null = null;
  await assert.rejects(
    admin.publish(denyAll, 'ada', undefined, {
      check: () => {
        seenLive = pdp.decide(chat()).allow;
        throw new Error('refused by check');
      },
    }),
    /refused by check/,
  );
  assert.equal(seenLive, false, 'the check ran with the candidate live');
  assert.deepEqual((await admin.versions()), before);
  assert.equal(pdp.decide(chat()).allow, true);
  let liveDuringCommit: boolean | null = null;
  await assert.rejects(
    admin.publish(denyAll, 'ada', undefined, {
      commit: async () => {
        liveDuringCommit = pdp.decide(chat()).allow;
        throw new Error('ledger down');
      },
    }),
    /ledger down/,
  );
  assert.equal(liveDuringCommit, true, 'while the outcome is recorded, requests still see the previous set');
  assert.deepEqual((await admin.versions()), before);
  assert.equal(admin.current().setVersion, v1);
});

test('shadow, promote, roll back; versions list the active one', async () => {
  const { pdp, admin } = setup();
  const v1 = (await admin.boot(STARTER_DIR)).setVersion;
  const text = readFileSync(join(STARTER_DIR, 'roles.cedar'), 'utf8');
  const shadow = await admin.shadow(text, 'ada');
  assert.equal(shadow.policyCount, 8);
  assert.equal(pdp.decide(chat()).allow, true);
  const promoted = await admin.promote('ada', 'roles only');
  assert.equal(promoted.setVersion, shadow.setVersion);
  assert.equal(admin.current().setVersion, shadow.setVersion);
  assert.deepEqual((await admin.versions()).filter((v) => v.active).map((v) => v.version), [shadow.setVersion]);
  await admin.rollback(v1, 'ada');
  assert.equal(admin.current().setVersion, v1);
  await assert.rejects(admin.rollback('sha256:nope', 'ada'), NotFound);
  await assert.rejects(admin.promote('ada'), NotFound);
});

test('the shadow candidate is kept in the store: a restart (a fresh admin on the same store) shadows it again; stopping clears it', async () => {
  const { admin, store } = setup();
  await admin.boot(STARTER_DIR);
  const text = readFileSync(join(STARTER_DIR, 'roles.cedar'), 'utf8');
  const shadow = await admin.shadow(text, 'ada');
  assert.equal(await store.shadow(), shadow.setVersion);
  const pdp2 = new PolicyDecisionPoint();
  const again = new PolicyAdmin(pdp2, store);
  await again.boot(STARTER_DIR);
  assert.equal(pdp2.shadowBasePolicies()?.length, 8, 'the restarted PDP shadows the stored candidate');
  await again.stopShadow('ada');
  assert.equal(await store.shadow(), null);
  assert.equal(pdp2.shadowBasePolicies(), null);
  await assert.rejects(store.setShadow('sha256:not-stored', 'ada'), NotFound);
});

test('stored versions exclude generated key-scope policies; the live version includes them', async () => {
  const { pdp, admin } = setup();
  const r = await admin.boot(STARTER_DIR);
  pdp.setKeyScope('key_1', { kind: 'service', id: 'svc' }, { models: ['*'], actions: ['chat'] });
  const cur = admin.current();
  assert.equal(cur.setVersion, r.setVersion);
  assert.notEqual(cur.liveVersion, r.liveVersion);
  assert.equal(cur.policies.some((p) => p.id.startsWith('key:')), false);
});
