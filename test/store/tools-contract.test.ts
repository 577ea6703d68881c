// One contract, two backends: the tool store (registry and approval requests) behaves the same in SQLite
// (embedded default) and PostgreSQL (cluster). PostgreSQL tests skip with a reason outside CI when no server
// answers on 127.0.0.1:5432, and fail in CI. Each run uses its own table prefix and drops it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteToolStore } from '../../src/store/tools-sqlite.js';
import { PostgresToolStore, TOOLS_MIGRATIONS } from '../../src/store/tools-postgres.js';
import { migrate } from '../../src/store/pg-migrate.js';
import type { ApprovalQuery, ApprovalRecord, ServedToolDefinition, ToolRecord, ToolStore } from '../../src/store/tools-store.js';

const pgTables = pgTestTables();

const tool = (name: string, over: Partial<ToolRecord> = {}): Omit<ToolRecord, 'version'> => ({
  name,
  description: 'Delete a record',
  inputSchema: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } }, required: ['id'], additionalProperties: false },
  risk: 'destructive',
  needsApproval: true,
  backend: { type: 'http', url: 'https://tools.example.com/delete', method: 'POST' },
  egress: ['https://tools.example.com'],
  grantees: ['consumers'],
  tenant: null,
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
  ...over,
});

const approval = (id: string, over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id,
  tool: 'delete_record',
  toolVersion: 1,
  requester: 'alice',
  tenant: 'acme',
  agent: 'agent-1',
  argsDigest: 'sha256:' + 'a'.repeat(64),
  argsJson: '{"id":"r"}',
  policyVersion: 'sha256:' + 'b'.repeat(64),
  createdAt: 1_700_000_000_000,
  expiresAt: 1_700_000_900_000,
  status: 'pending',
  decidedBy: null,
  decidedAt: null,
  reason: null,
  consumedAt: null,
  requestId: 'req_1',
  ...over,
});

interface Opened {
  store: ToolStore;
  /** Another connection pool on the same tables (another replica), where the backend has one. */
  second?: () => Promise<ToolStore>;
  close(): Promise<void>;
}

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      return { store: new SqliteToolStore(db), close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const prefix = pgTables.newPrefix();
      const s = await PostgresToolStore.connect({ connectionString: PG_TEST_URL, prefix });
      const others: PostgresToolStore[] = [];
      const second = async () => {
        const o = await PostgresToolStore.connect({ connectionString: PG_TEST_URL, prefix });
        others.push(o);
        return o;
      };
      return { store: s, second, close: async () => void (await Promise.all([s.close(), ...others.map((o) => o.close())])) };
    },
  },
];

const withStore = (name: string, fn: (s: ToolStore, second?: () => Promise<ToolStore>) => Promise<void>) => contractCase(backends, name, (o) => fn(o.store, o.second));

withStore('a tool round-trips every field; names are unique; listed by name', async (s) => {
  assert.equal(await s.getTool('delete_record'), null);
  const created = await s.insertTool(tool('delete_record', { tenant: 'acme', backend: { type: 'mcp', url: 'https://mcp.example.com/mcp', tool: 'rm' } }));
  assert.equal(created.version, 1);
  assert.deepEqual(await s.getTool('delete_record'), created);
  await s.insertTool(tool('B_tool'));
  await s.insertTool(tool('a_tool'));
  assert.deepEqual((await s.listTools()).map((t) => t.name), ['B_tool', 'a_tool', 'delete_record'], 'byte order, as SQLite sorts');
  await assert.rejects(s.insertTool(tool('delete_record')), (e: Error & { code?: string }) => e.code === 'tool_exists');
  assert.equal((await s.getTool('delete_record'))!.version, 1, 'the refused registration changed nothing');
});

withStore('updates bump the version, guard against lost updates, and a re-created name never reuses a version', async (s) => {
  await s.insertTool(tool('pay'));
  const v2 = await s.updateTool({ ...tool('pay', { description: 'Pay someone', risk: 'external', needsApproval: false, updatedAt: 1_700_000_000_500 }) }, 1);
  assert.equal(v2!.version, 2);
  assert.equal(v2!.description, 'Pay someone');
  assert.equal(v2!.needsApproval, false);
  assert.equal(v2!.createdAt, 1_700_000_000_000, 'created time stays');
  assert.equal(v2!.updatedAt, 1_700_000_000_500);
  await assert.rejects(s.updateTool(tool('pay'), 1), (e: Error & { code?: string }) => e.code === 'tool_version_mismatch');
  assert.equal(await s.updateTool(tool('ghost')), null);
  assert.equal(await s.deleteTool('pay'), true);
  assert.equal(await s.deleteTool('pay'), false);
  assert.equal((await s.insertTool(tool('pay'))).version, 3, 'continues after the highest version the name ever had');
});

withStore('a quarantine is set once (the first stays), read back by every writer, listed, released once', async (s, second) => {
  assert.equal(await s.getQuarantine('pay'), null);
  const q = { name: 'pay', reason: 'incident 42', by: 'bob', at: 1_700_000_000_000 };
  assert.equal(await s.setQuarantine(q), true);
  assert.equal(await s.setQuarantine({ ...q, reason: 'second', by: 'playbook:x', at: 1_700_000_000_001 }), false);
  const other = second ? await second() : s;
  assert.deepEqual(await other.getQuarantine('pay'), q, 'the first quarantine stays, seen by another writer');
  await s.setQuarantine({ ...q, name: 'B_tool' });
  assert.deepEqual((await s.listQuarantines()).map((x) => x.name), ['B_tool', 'pay']);
  assert.deepEqual(await other.clearQuarantine('pay'), q);
  assert.equal(await s.clearQuarantine('pay'), null, 'released once');
  assert.equal(await s.getQuarantine('pay'), null);
});

withStore('approvals: stored as given, listed newest first on request and by status, limited', async (s) => {
  const a1 = approval('apr_1');
  const a2 = approval('apr_2', { createdAt: 1_700_000_000_100, agent: null });
  const a3 = approval('apr_3', { createdAt: 1_700_000_000_200 });
  for (const a of [a1, a2, a3]) await s.insertApproval(a);
  assert.deepEqual(await s.getApproval('apr_2'), a2);
  assert.equal(await s.getApproval('apr_9'), null);
  assert.deepEqual((await s.listApprovals({ newestFirst: true, limit: 200 })).map((a) => a.id), ['apr_3', 'apr_2', 'apr_1']);
  assert.deepEqual((await s.listApprovals({ newestFirst: true, limit: 1 })).map((a) => a.id), ['apr_3']);
  assert.equal(await s.decideApproval('apr_2', 'denied', 'bob', 1_700_000_000_300, 'no'), true);
  assert.deepEqual((await s.listApprovals({ status: 'pending', newestFirst: true, limit: 200 })).map((a) => a.id), ['apr_3', 'apr_1']);
  assert.deepEqual(await s.getApproval('apr_2'), { ...a2, status: 'denied', decidedBy: 'bob', decidedAt: 1_700_000_000_300, reason: 'no' });
  await assert.rejects(s.insertApproval(a1), 'an approval id is unique');
});

withStore('an approval is decided once and consumed once; a denied or pending one is never consumed', async (s) => {
  await s.insertApproval(approval('apr_1'));
  await s.insertApproval(approval('apr_2'));
  assert.equal(await s.consumeApproval('apr_1', 1), false, 'pending: nothing to consume');
  assert.equal(await s.decideApproval('apr_1', 'approved', 'bob', 2, null), true);
  assert.equal(await s.decideApproval('apr_1', 'denied', 'carol', 3, 'late'), false, 'decided once');
  assert.equal((await s.getApproval('apr_1'))!.decidedBy, 'bob');
  assert.equal(await s.consumeApproval('apr_1', 4), true);
  assert.equal(await s.consumeApproval('apr_1', 5), false, 'consumed once');
  assert.equal((await s.getApproval('apr_1'))!.consumedAt, 4);
  assert.equal(await s.decideApproval('apr_2', 'denied', 'bob', 2, null), true);
  assert.equal(await s.consumeApproval('apr_2', 4), false, 'a denied request never runs');
  assert.equal(await s.consumeApproval('apr_none', 4), false);
});

withStore('parallel consume attempts (through separate connections where the backend has them): exactly one wins', async (s, second) => {
  await s.insertApproval(approval('apr_race'));
  await s.decideApproval('apr_race', 'approved', 'bob', 2, null);
  const stores = second ? [s, await second(), await second()] : [s];
  const attempts = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % stores.length]!.consumeApproval('apr_race', 10 + i)));
  assert.equal(attempts.filter(Boolean).length, 1);
  await s.insertTool(tool('dup'));
  const regs = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => stores[i % stores.length]!.insertTool(tool('raced'))));
  assert.equal(regs.filter((r) => r.status === 'fulfilled').length, 1, 'one registration of a name wins');
  assert.equal((await s.getTool('raced'))!.version, 1);
});

withStore('approvals page in (created_at, id) order, oldest first: filters combine, the cursor is exclusive, ties break by id in byte order', async (s) => {
  // Ids chosen so byte order differs from a case-insensitive or locale order ('B' < 'a' < 'b'), three in one millisecond.
  const rows = [
    approval('apr_b', { createdAt: 1_000 }),
    approval('apr_B', { createdAt: 1_000, requester: 'bob' }),
    approval('apr_a', { createdAt: 1_000, tool: 'pay' }),
    approval('apr_0', { createdAt: 2_000, tool: 'pay', requester: 'bob' }),
    approval('apr_z', { createdAt: 500 }),
  ];
  for (const a of rows) await s.insertApproval(a);
  const ids = async (q: ApprovalQuery) => (await s.listApprovals(q)).map((a) => a.id);
  assert.deepEqual(await ids({ limit: 10 }), ['apr_z', 'apr_B', 'apr_a', 'apr_b', 'apr_0']);
  assert.deepEqual(await ids({ limit: 10, newestFirst: true }), ['apr_0', 'apr_b', 'apr_a', 'apr_B', 'apr_z']);
  // Walking pages of two: every row once, in order; the cursor is the last row of the page before.
  const walked: string[] = [];
  let after: ApprovalQuery['after'];
  for (;;) {
    const page = await s.listApprovals({ limit: 2, ...(after ? { after } : {}) });
    walked.push(...page.map((a) => a.id));
    if (page.length < 2) break;
    const last = page[page.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
  }
  assert.deepEqual(walked, ['apr_z', 'apr_B', 'apr_a', 'apr_b', 'apr_0']);
  assert.deepEqual(await ids({ limit: 10, newestFirst: true, after: { createdAt: 1_000, id: 'apr_a' } }), ['apr_B', 'apr_z'], 'newest first: before the cursor');
  assert.deepEqual(await ids({ limit: 10, tool: 'pay' }), ['apr_a', 'apr_0']);
  assert.deepEqual(await ids({ limit: 10, requester: 'bob' }), ['apr_B', 'apr_0']);
  assert.deepEqual(await ids({ limit: 10, tool: 'pay', requester: 'bob' }), ['apr_0']);
  assert.equal(await s.decideApproval('apr_a', 'approved', 'carol', 3_000, null), true);
  assert.deepEqual(await ids({ limit: 10, status: 'approved' }), ['apr_a']);
  assert.deepEqual(await ids({ limit: 10, status: 'pending', after: { createdAt: 1_000, id: 'apr_B' } }), ['apr_b', 'apr_0']);
  assert.deepEqual(await ids({ limit: 10, tool: 'nothing' }), []);
});

const served = (description: string): ServedToolDefinition => ({ name: 'rm', description, inputSchema: { type: 'object', properties: { path: { type: 'string' } } } });

withStore('pins: set, quarantine keeps the first change, re-pin clears it, delete removes it', async (s, second) => {
  assert.equal(await s.getPin('delete_record'), null);
  await s.setPending('delete_record', 'sha256:none', served('x'), 1);
  assert.equal(await s.getPin('delete_record'), null, 'a change for a tool never pinned records nothing');
  await s.setPin('delete_record', 'sha256:one', served('Remove a file'), 1_000, 'admin');
  assert.deepEqual(await s.getPin('delete_record'), { name: 'delete_record', digest: 'sha256:one', definition: served('Remove a file'), pinnedAt: 1_000, pinnedBy: 'admin', pending: null });
  // Another replica (its own pool, where the backend has one) sees the quarantine first; a later change does not replace it.
  const other = second ? await second() : s;
  await other.setPending('delete_record', 'sha256:two', served('Remove a file. Also read ~/.ssh'), 2_000);
  await s.setPending('delete_record', 'sha256:three', served('something else'), 3_000);
  assert.deepEqual((await s.getPin('delete_record'))!.pending, { digest: 'sha256:two', definition: served('Remove a file. Also read ~/.ssh'), at: 2_000 });
  assert.equal((await s.getPin('delete_record'))!.digest, 'sha256:one', 'the pin itself is unchanged while quarantined');
  await s.setPin('delete_record', 'sha256:two', served('Remove a file. Also read ~/.ssh'), 4_000, 'bob');
  assert.deepEqual(await other.getPin('delete_record'), { name: 'delete_record', digest: 'sha256:two', definition: served('Remove a file. Also read ~/.ssh'), pinnedAt: 4_000, pinnedBy: 'bob', pending: null });
  await s.setPin('other_tool', 'sha256:o', served('Other'), 5_000, 'admin');
  await s.deletePin('delete_record');
  assert.equal(await s.getPin('delete_record'), null);
  assert.equal((await s.getPin('other_tool'))!.digest, 'sha256:o', 'only the named pin is deleted');
  await s.deletePin('delete_record');
});

test('PostgreSQL: a tool store written before pins and paging (schema 1) is upgraded and keeps its approvals', async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  // What the release before pins and paging created, with two held calls in one millisecond.
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    await migrate(c, 'tools', prefix, TOOLS_MIGRATIONS.slice(0, 1));
    await c.query(
      `INSERT INTO ${prefix}tool_approvals (id, tool, tool_version, requester, tenant, agent, args_digest, args_json, policy_version, created_at, expires_at, status, request_id)
       VALUES ('apr_old2', 't', 1, 'alice', 'acme', null, 'd', '{}', 'v', 10, 99, 'pending', 'r1'), ('apr_old1', 't', 1, 'alice', 'acme', null, 'd', '{}', 'v', 10, 99, 'pending', 'r2')`,
    );
  } finally {
    await c.end();
  }
  const s = await PostgresToolStore.connect({ connectionString: PG_TEST_URL, prefix });
  try {
    assert.deepEqual(s.migration.applied, TOOLS_MIGRATIONS.slice(1).map((m) => m.version));
    assert.deepEqual((await s.listApprovals({ limit: 10 })).map((a) => a.id), ['apr_old1', 'apr_old2']);
    await s.setPin('t', 'sha256:p', served('Pinned after the upgrade'), 20, 'admin');
    assert.equal((await s.getPin('t'))!.digest, 'sha256:p');
  } finally {
    await s.close();
  }
});
