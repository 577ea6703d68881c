// Tool quarantine shared by replicas: two quarantine services (and mediators' checks) on one PostgreSQL tool store
// with a change feed each, as two Warden processes have. A quarantine through replica A refuses the execution on B
// at once (executions read the store); B's listings follow the announcement; a release through B ends it on A.
// Skipped with a reason outside CI when PostgreSQL does not answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { PostgresToolStore } from '../../src/store/tools-postgres.js';
import { ToolQuarantines } from '../../src/tools/quarantine.js';
import { PG_TEST_URL, pgTestTables, throws } from '../helpers/contract.js';

const pgTables = pgTestTables();

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

const usable = (q: ToolQuarantines, name: string): boolean => !throws(() => q.peekUsable(name));

test('a quarantine through one replica refuses the call on the other at once; listings follow; a release anywhere ends it', { timeout: 30_000 }, async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const replicas: { store: PostgresToolStore; changes: PgChangeFeed; q: ToolQuarantines }[] = [];
  for (let i = 0; i < 2; i++) {
    const store = await PostgresToolStore.connect({ connectionString: PG_TEST_URL, prefix });
    const changes = await PgChangeFeed.connect({ connectionString: PG_TEST_URL, prefix });
    const q = new ToolQuarantines(store, systemClock, { changes });
    await q.load();
    replicas.push({ store, changes, q });
  }
  t.after(async () => {
    for (const r of replicas) {
      r.q.close();
      await r.changes.close();
      await r.store.close();
    }
  });
  const [a, b] = [replicas[0]!.q, replicas[1]!.q];
  await b.assertUsable('search');
  await a.quarantine('search', 'incident 7', 'bob');
  await assert.rejects(b.assertUsable('search'), { code: 'tool_quarantined' }, 'B refuses without waiting for any announcement');
  await until(() => !usable(b, 'search'), 'B stops listing the tool');
  await assert.rejects(b.quarantine('search', 'again', 'carol'), { code: 'tool_already_quarantined' });
  assert.equal((await a.get('search'))!.by, 'bob', 'the first quarantine stays');
  const lifted = await b.release('search');
  assert.equal(lifted.reason, 'incident 7');
  await a.assertUsable('search');
  await until(() => usable(a, 'search'), 'A lists the tool again');
  await assert.rejects(a.release('search'), { code: 'tool_not_quarantined' });
});
