// One contract, two backends: the A2A agents registry (src/agents/store.ts) behaves the same in SQLite
// (embedded default) and PostgreSQL (replicas sharing one registry; two store instances on one prefix here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteAgentStore, type AgentRecord, type AgentStore } from '../../src/agents/store.js';
import { AGENTS_MIGRATIONS, PostgresAgentStore } from '../../src/store/agents-postgres.js';
import { AgentExists, AgentNotFound } from '../../src/agents/errors.js';
import { contractCase, olderSchema, PG_TEST_URL, pgTestTables, sqliteAndPostgres } from '../helpers/contract.js';

const pgTables = pgTestTables();

const backends = sqliteAndPostgres<AgentStore>(pgTables, (db) => new SqliteAgentStore(db), (o) => PostgresAgentStore.connect(o));

const T0 = 1_700_000_000_000;
const card = (v: string) => ({ name: 'Researcher', version: v, skills: [{ id: 'search', name: 'Search' }], url: 'https://agents.test/a2a' });

function agent(id: string, extra: Partial<AgentRecord> = {}): Omit<AgentRecord, 'pending' | 'createdAt' | 'updatedAt'> {
  return {
    id, url: 'https://agents.test/a2a', cardUrl: 'https://agents.test/.well-known/agent-card.json', grantees: ['consumers'], egress: ['https://agents.test'],
    actions: ['callAgent'], tenant: 'acme', cardKeys: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] }, card: card('1'), digest: 'sha256:aaa', registeredBy: 'admin', ...extra,
  };
}

contractCase(backends, 'register, read through another replica, list in byte order, refuse a taken id, remove', async ({ a, b }) => {
  const created = await a.create(agent('researcher'), T0);
  assert.deepEqual(created, { ...agent('researcher'), pending: null, createdAt: T0, updatedAt: T0 });
  assert.deepEqual(await b.get('researcher'), created);
  assert.equal(await b.find('nobody'), null);
  await assert.rejects(b.get('nobody'), AgentNotFound);
  await assert.rejects(b.create(agent('researcher', { url: 'https://other.test/a2a' }), T0 + 1), AgentExists);
  await b.create(agent('Writer', { tenant: null, cardKeys: null }), T0 + 2);
  assert.deepEqual((await a.list()).map((x) => [x.id, x.tenant, x.cardKeys]), [['Writer', null, null], ['researcher', 'acme', { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] }]]);
  await a.remove('Writer');
  await assert.rejects(b.remove('Writer'), AgentNotFound);
  assert.deepEqual((await b.list()).map((x) => x.id), ['researcher']);
});

contractCase(backends, 'a changed card quarantines the agent everywhere; approval pins it only for the digest reviewed', async ({ a, b }) => {
  await a.create(agent('researcher'), T0);
  assert.equal(await a.setPending('researcher', card('2'), 'sha256:bbb', T0 + 10, 'sha256:aaa'), true);
  assert.deepEqual((await b.get('researcher')).pending, { card: card('2'), digest: 'sha256:bbb', at: T0 + 10 });
  // Another replica seeing yet another card: the first change recorded stands (that is what an admin reviews).
  assert.equal(await b.setPending('researcher', card('3'), 'sha256:ddd', T0 + 11, 'sha256:aaa'), false);
  assert.equal((await a.get('researcher')).pending!.digest, 'sha256:bbb');
  assert.equal(await b.approvePending('researcher', 'sha256:ccc', 'ann', T0 + 20), false, 'not the digest waiting');
  // Two admins approving through two replicas: exactly one succeeds.
  const raced = await Promise.all([a.approvePending('researcher', 'sha256:bbb', 'ann', T0 + 30), b.approvePending('researcher', 'sha256:bbb', 'bob', T0 + 30)]);
  assert.deepEqual(raced.filter(Boolean).length, 1);
  const after = await a.get('researcher');
  assert.equal(after.digest, 'sha256:bbb');
  assert.deepEqual(after.card, card('2'));
  assert.equal(after.pending, null);
  assert.equal(after.updatedAt, T0 + 30);
  assert.ok(['ann', 'bob'].includes(after.registeredBy));
  assert.equal(after.createdAt, T0);
  // A replica that read the old pin and fetched the card before the approval does not quarantine the agent again.
  assert.equal(await b.setPending('researcher', card('2'), 'sha256:bbb', T0 + 31, 'sha256:aaa'), false);
  assert.equal((await a.get('researcher')).pending, null);
});

contractCase(backends, 'a task started through one replica is found through another; the first owner stands; removal and age forget it', async ({ a, b }) => {
  await a.create(agent('researcher'), T0);
  await a.create(agent('writer'), T0);
  const task = { agent: 'researcher', id: 'task-1', owner: 'acme/user/alice', skill: 'search', createdAt: T0 + 5 };
  assert.equal(await a.claimTask(task), true);
  assert.deepEqual(await b.findTask('researcher', 'task-1'), task);
  // Another caller (or another replica racing) naming the same task id does not take it over.
  const raced = await Promise.all([b.claimTask({ ...task, owner: 'acme/user/mallory' }), a.claimTask({ ...task, owner: 'acme/user/bob' })]);
  assert.deepEqual(raced, [false, false]);
  assert.equal((await a.findTask('researcher', 'task-1'))!.owner, 'acme/user/alice');
  // Task ids are the agent's: the same id on another agent is another task.
  assert.equal(await b.findTask('writer', 'task-1'), null);
  assert.equal(await b.claimTask({ ...task, agent: 'writer', owner: 'acme/user/bob', createdAt: T0 + 100 }), true);
  assert.equal((await a.findTask('writer', 'task-1'))!.owner, 'acme/user/bob');
  // Old tasks are forgotten; newer ones stay.
  assert.equal(await b.pruneTasks(T0 + 50), 1);
  assert.equal(await a.findTask('researcher', 'task-1'), null);
  assert.ok(await a.findTask('writer', 'task-1'));
  // Removing the agent forgets its tasks.
  await b.remove('writer');
  assert.equal(await a.findTask('writer', 'task-1'), null);
});

test('PostgreSQL: an agents store written before shared tasks (schema 1) is upgraded and keeps its agents', async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  // What the release before shared tasks created, with one agent registered.
  const prefix = await olderSchema(pgTables, 'agents', AGENTS_MIGRATIONS, 1, (c, p) =>
    c.query(
      `INSERT INTO ${p}a2a_agents (id, url, card_url, grantees, egress, actions, tenant, card_keys, card, digest, created_at, updated_at, registered_by)
       VALUES ('old', 'https://agents.test/a2a', 'https://agents.test/.well-known/agent-card.json', '["consumers"]', '["https://agents.test"]', '["callAgent"]', 'acme', null, $1, 'sha256:aaa', 1, 1, 'admin')`,
      [JSON.stringify(card('1'))],
    ).then(() => undefined),
  );
  const s = await PostgresAgentStore.connect({ connectionString: PG_TEST_URL, prefix });
  try {
    assert.deepEqual(s.migration.applied, AGENTS_MIGRATIONS.slice(1).map((m) => m.version));
    assert.equal((await s.get('old')).digest, 'sha256:aaa');
    assert.equal(await s.claimTask({ agent: 'old', id: 't1', owner: 'acme/user/alice', skill: 'search', createdAt: 2 }), true);
    assert.equal((await s.findTask('old', 't1'))!.owner, 'acme/user/alice');
  } finally {
    await s.close();
  }
});
