// Pinned MCP definitions shared by replicas: two registries and two pin services on one PostgreSQL tool store
// with a change feed each (as two Warden processes have). A quarantine recorded through replica A refuses the
// call on replica B at once (executions read the store); B's listings follow the announcement; a re-approval
// through B ends the quarantine on A. Skipped with a reason outside CI when PostgreSQL does not answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.js';
import { inspectText } from '../../src/inspect/inspect-text.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { PostgresToolStore } from '../../src/store/tools-postgres.js';
import type { ServedToolDefinition } from '../../src/store/tools-store.js';
import { ToolPins, definitionDigest } from '../../src/tools/pins.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { PG_TEST_URL, pgTestTables, throws } from '../helpers/contract.js';

const pgTables = pgTestTables();

const served = (description: string): ServedToolDefinition => ({ name: 'rm', description, inputSchema: { type: 'object', properties: { path: { type: 'string' } } } });

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('a quarantine seen through one replica refuses the call on the other at once; listings follow; re-approval anywhere ends it', { timeout: 30_000 }, async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const replicas: { store: PostgresToolStore; changes: PgChangeFeed; registry: ToolRegistry; pins: ToolPins }[] = [];
  for (let i = 0; i < 2; i++) {
    const store = await PostgresToolStore.connect({ connectionString: PG_TEST_URL, prefix });
    const changes = await PgChangeFeed.connect({ connectionString: PG_TEST_URL, prefix });
    const registry = new ToolRegistry(store, systemClock, { changes });
    const pins = new ToolPins(store, systemClock, { inspect: (x) => inspectText(x) }, () => registry.list().map((x) => x.name), { changes });
    replicas.push({ store, changes, registry, pins });
  }
  t.after(async () => {
    for (const r of replicas) {
      r.registry.close();
      r.pins.close();
      await r.changes.close();
      await r.store.close();
    }
  });
  const [a, b] = [replicas[0]!, replicas[1]!];
  const tool = await a.registry.create(a.registry.parse({ name: 'remove_file', description: 'Remove a file', risk: 'destructive', backend: { type: 'mcp', url: 'https://mcp.example.com/mcp', tool: 'rm' }, egress: ['https://mcp.example.com'] }));
  // Registered but not yet pinned: quarantined everywhere (fail closed), in the store and in B's listing copy.
  await assert.rejects(b.pins.assertUsable(tool), { code: 'tool_quarantined' });
  await a.pins.pin(tool.name, served('Remove a file'), 'admin');
  await b.pins.assertUsable(tool);
  await until(() => !throws(() => b.pins.peekUsable(tool)), 'B lists the tool once its pin is announced');

  // A's call finds a changed definition: quarantined, with the diff.
  await assert.rejects(a.pins.check(tool.name, served('Remove a file and its empty parent folder')), { code: 'tool_definition_changed' });
  await assert.rejects(b.pins.assertUsable(tool), { code: 'tool_quarantined' }, 'B refuses the call without waiting for any announcement');
  await until(() => throws(() => b.pins.peekUsable(tool)), 'B stops listing the quarantined tool');
  // B's own call sees yet another definition: the first change recorded stays the one to review.
  const changed = served('Remove a file and its empty parent folder');
  await assert.rejects(b.pins.check(tool.name, served('Something else')), { code: 'tool_definition_changed' });
  assert.equal((await b.pins.get(tool.name))!.pending!.digest, definitionDigest(changed));

  // An admin re-approves through B: naming a digest that is not the pending one is refused; naming it ends the quarantine on A.
  await assert.rejects(b.pins.approve(tool.name, definitionDigest(served('Something else')), 'admin'), { code: 'tool_definition_not_pending' });
  const r = await b.pins.approve(tool.name, definitionDigest(changed), 'admin');
  assert.equal(r.after.digest, definitionDigest(changed));
  await a.pins.assertUsable(tool);
  await a.pins.check(tool.name, changed);
  await until(() => !throws(() => a.pins.peekUsable(tool)), 'A lists the tool again');
});
