// Listing held calls: oldest first, paged by an opaque cursor, filtered by status, tool and requester. A flood
// of new held calls must not hide older ones (the reason for paging), nor shift a page under the reader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import type { Principal } from '../../src/core/types.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteToolStore } from '../../src/store/tools-sqlite.js';
import type { ApprovalRecord } from '../../src/store/tools-store.js';
import { ApprovalService, ToolRegistry } from '../../src/tools/index.js';

async function world() {
  const clock = new FixedClock(Date.UTC(2026, 0, 5, 10));
  const store = new SqliteToolStore(openSqlite(':memory:'));
  const registry = new ToolRegistry(store, clock);
  const def = (name: string) =>
    registry.create(registry.parse({ name, risk: 'destructive', grantees: ['consumers'], input_schema: { type: 'object', properties: { n: { type: 'number' } }, additionalProperties: false }, backend: { type: 'http', url: 'https://tools.example.com/x' }, egress: ['https://tools.example.com'] }));
  const tools = { pay: await def('pay_once'), del: await def('delete_record') };
  const approvals = new ApprovalService(store, clock);
  const person = (id: string): Principal => ({ kind: 'user', id, tenant: 'acme', groups: ['consumers'], authn: { method: 'api_key' } }) as Principal;
  // Several held calls share a millisecond: the id breaks the tie, so paging never skips or repeats one.
  const hold = async (tool: keyof typeof tools, who: string, n: number, stepMs = 1000): Promise<ApprovalRecord> => {
    const a = await approvals.hold({ tool: tools[tool], principal: person(who), argsDigest: `d${n}`, argsJson: JSON.stringify({ n }), policyVersion: 'v1', requestId: `req_${n}` });
    clock.advance(stepMs);
    return a;
  };
  return { clock, approvals, hold };
}

const ids = (xs: ApprovalRecord[]) => xs.map((a) => a.id);

test('oldest first; limit and cursor walk every held call once, even while a flood of new ones arrives', async () => {
  const { approvals, hold } = await world();
  // Two of them held in the same millisecond: their ids order them.
  const held: ApprovalRecord[] = [];
  for (let i = 0; i < 5; i++) held.push(await hold('pay', 'alice', i, i === 1 ? 0 : 1000));
  const first = held.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  const p1 = await approvals.list({ limit: 2 });
  assert.deepEqual(ids(p1.data), ids(first.slice(0, 2)));
  assert.ok(p1.nextCursor);
  // 300 new held calls: the older ones are still next, not pushed out.
  for (let i = 0; i < 300; i++) await hold('del', 'mallory', 100 + i, 1);
  const p2 = await approvals.list({ limit: 2, cursor: p1.nextCursor });
  assert.deepEqual(ids(p2.data), ids(first.slice(2, 4)));
  const seen = [...p1.data, ...p2.data];
  let cursor = p2.nextCursor;
  while (cursor) {
    const p = await approvals.list({ limit: 50, cursor });
    seen.push(...p.data);
    cursor = p.nextCursor;
  }
  assert.equal(seen.length, 305);
  assert.equal(new Set(ids(seen)).size, 305);
  assert.deepEqual(ids(seen.slice(0, 5)), ids(first));
  // The last page says so.
  assert.equal((await approvals.list({ limit: 305 })).nextCursor, null);
  assert.equal((await approvals.list({})).data.length, 50, 'default page size');
});

test('filters: status, tool and requester, alone and together; newest first on request', async () => {
  const { approvals, hold } = await world();
  const a0 = await hold('pay', 'alice', 0);
  const b0 = await hold('pay', 'bob', 1);
  const a1 = await hold('del', 'alice', 2);
  const a2 = await hold('pay', 'alice', 3);
  assert.deepEqual(ids((await approvals.list({ requester: 'alice' })).data), [a0.id, a1.id, a2.id]);
  assert.deepEqual(ids((await approvals.list({ tool: 'pay_once' })).data), [a0.id, b0.id, a2.id]);
  assert.deepEqual(ids((await approvals.list({ tool: 'pay_once', requester: 'alice' })).data), [a0.id, a2.id]);
  assert.deepEqual(ids((await approvals.list({ status: 'approved' })).data), []);
  assert.deepEqual(ids((await approvals.list({ status: 'pending', tool: 'delete_record' })).data), [a1.id]);
  const newest = await approvals.list({ order: 'newest', limit: 3 });
  assert.deepEqual(ids(newest.data), [a2.id, a1.id, b0.id]);
  assert.deepEqual(ids((await approvals.list({ order: 'newest', cursor: newest.nextCursor! })).data), [a0.id]);
});

test('a cursor that was not issued, or was issued for the other order, is a 400 naming the cursor', async () => {
  const { approvals, hold } = await world();
  for (let i = 0; i < 3; i++) await hold('pay', 'alice', i);
  const { nextCursor } = await approvals.list({ limit: 1 });
  assert.ok(nextCursor);
  await assert.rejects(approvals.list({ order: 'newest', cursor: nextCursor }), { status: 400, code: 'invalid_field', field: 'cursor', message: /issued for order=oldest/ });
  for (const forged of ['nope', Buffer.from('["oldest","x","y"]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url'), '']) {
    await assert.rejects(approvals.list({ cursor: forged }), { status: 400, code: 'invalid_field', field: 'cursor' });
  }
});
