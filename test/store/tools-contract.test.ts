// One contract, two backends: the tool store (registry and approval requests) behaves the same in SQLite
// (embedded default) and PostgreSQL (cluster). PostgreSQL tests skip with a reason outside CI when no server
// answers on 127.0.0.1:5432, and fail in CI. Each run uses its own table prefix and drops it.
import assert from 'node:assert/strict';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteToolStore } from '../../src/store/tools-sqlite.js';
import { PostgresToolStore } from '../../src/store/tools-postgres.js';
import type { ApprovalRecord, ToolRecord, ToolStore } from '../../src/store/tools-store.js';

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

withStore('approvals: stored as given, listed newest first and by status, limited', async (s) => {
  const a1 = approval('apr_1');
  const a2 = approval('apr_2', { createdAt: 1_700_000_000_100, agent: null });
  const a3 = approval('apr_3', { createdAt: 1_700_000_000_200 });
  for (const a of [a1, a2, a3]) await s.insertApproval(a);
  assert.deepEqual(await s.getApproval('apr_2'), a2);
  assert.equal(await s.getApproval('apr_9'), null);
  assert.deepEqual((await s.listApprovals()).map((a) => a.id), ['apr_3', 'apr_2', 'apr_1']);
  assert.deepEqual((await s.listApprovals({ limit: 1 })).map((a) => a.id), ['apr_3']);
  assert.equal(await s.decideApproval('apr_2', 'denied', 'bob', 1_700_000_000_300, 'no'), true);
  assert.deepEqual((await s.listApprovals({ status: 'pending' })).map((a) => a.id), ['apr_3', 'apr_1']);
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
