// A replica that cannot announce a change to the others says so (503 change_not_announced) instead of
// reporting a success the other replicas do not know about yet; the change itself is committed, and a peer
// picks it up at its periodic reload. Real SQLite stores, a real PostgreSQL change feed (closed to cut it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { requireService } from '../helpers/services.js';
import { PG_TEST_URL } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { SqliteToolStore } from '../../src/store/tools-sqlite.js';
import { SqlitePolicyStore } from '../../src/store/policy-sqlite.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { PolicyAdmin } from '../../src/policy/policy-admin.js';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { policySetVersion, parsePolicies } from '../../src/policy/policy-set.js';
import { systemClock } from '../../src/core/clock.js';
import { STARTER_DIR } from '../policy/fixtures.js';

const feed = () => PgChangeFeed.connect({ connectionString: PG_TEST_URL, prefix: `t${randomBytes(5).toString('hex')}_` });

test('a tool change that cannot be announced is 503; it is saved, and another replica sees it at its reload', { timeout: 20_000 }, async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const db = openSqlite(':memory:');
  const store = new SqliteToolStore(db);
  const [f1, f2] = [await feed(), await feed()];
  const r1 = new ToolRegistry(store, systemClock, { changes: f1 });
  const r2 = new ToolRegistry(store, systemClock, { changes: f2, reloadMs: 50 });
  t.after(async () => {
    r1.close();
    r2.close();
    await f2.close();
    db.close();
  });
  await f1.close(); // this replica can no longer tell the others
  const def = r1.parse({ name: 'lookup', risk: 'read', backend: { type: 'http', url: 'https://tools.example.com/x' }, egress: ['https://tools.example.com'] });
  await assert.rejects(r1.create(def), { name: 'FailClosed', status: 503, code: 'change_not_announced' });
  assert.equal((await store.getTool('lookup'))?.version, 1, 'the registration itself was committed');
  assert.equal((await r1.get('lookup')).version, 1);
  for (let i = 0; i < 100 && !r2.list().some((x) => x.name === 'lookup'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(r2.peek('lookup').version, 1, 'the peer found it at its periodic reload');
});

test('a policy publish that cannot be announced is 503; it is stored and live here, and a peer loads it at its check', { timeout: 20_000 }, async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const db = openSqlite(':memory:');
  const store = new SqlitePolicyStore(db);
  const [f1, f2] = [await feed(), await feed()];
  const [pdp1, pdp2] = [new PolicyDecisionPoint(), new PolicyDecisionPoint()];
  const a1 = new PolicyAdmin(pdp1, store, { changes: f1 });
  const a2 = new PolicyAdmin(pdp2, store, { changes: f2, reloadMs: 50 });
  t.after(async () => {
    a1.close();
    a2.close();
    await f2.close();
    db.close();
  });
  await a1.boot(STARTER_DIR);
  await a2.boot(STARTER_DIR);
  await f1.close();
  const text = '@id("deny-all") forbid(principal, action, resource);';
  await assert.rejects(a1.publish(text, 'ada'), { name: 'FailClosed', status: 503, code: 'change_not_announced' });
  const version = policySetVersion(parsePolicies(text, 'admin'));
  assert.equal((await store.active())?.version, version, 'stored and activated');
  assert.equal(a1.current().setVersion, version, 'live on this replica');
  for (let i = 0; i < 100 && a2.current().setVersion !== version; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(a2.current().setVersion, version, 'the peer loaded it at its periodic check');
});
