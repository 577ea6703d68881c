// Registered A2A agents in PostgreSQL, for replicas that share one registry (the interface and what it promises:
// src/agents/store.ts; test/store/agents-contract.test.ts runs one suite on SQLite and here). Every call and
// admin read asks the table, so an agent registered, re-approved or removed through one replica is what every
// other serves next; approving a pending card is one conditional UPDATE (of two admins approving through two
// replicas the one whose reviewed digest is still pending wins).
import type pg from 'pg';
import { AgentExists, AgentNotFound } from '../agents/errors.js';
import { toRecord, toTask, type A2ATaskRecord, type AgentRecord, type AgentStore, type Row } from '../agents/store.js';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';

export const AGENTS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'a2a_agents',
    sql: `
      CREATE TABLE $PREFIXa2a_agents (
        id text PRIMARY KEY, url text NOT NULL, card_url text NOT NULL, grantees text NOT NULL, egress text NOT NULL,
        actions text NOT NULL, tenant text, card_keys text, card text NOT NULL, digest text NOT NULL,
        pending_card text, pending_digest text, pending_at bigint,
        created_at bigint NOT NULL, updated_at bigint NOT NULL, registered_by text NOT NULL);`,
  },
  {
    version: 2,
    description: 'a2a_tasks: who started each task, shared by replicas',
    sql: `
      CREATE TABLE $PREFIXa2a_tasks (
        agent text NOT NULL, id text NOT NULL, owner text NOT NULL, skill text NOT NULL, created_at bigint NOT NULL,
        PRIMARY KEY (agent, id));
      CREATE INDEX $PREFIXa2a_tasks_created ON $PREFIXa2a_tasks (created_at);`,
  },
];

/** bigint columns come back as strings from node-postgres; the record has numbers. */
const row = (r: Record<string, unknown>): Row =>
  ({ ...r, pending_at: r.pending_at === null ? null : Number(r.pending_at), created_at: Number(r.created_at), updated_at: Number(r.updated_at) }) as unknown as Row;

export class PostgresAgentStore implements AgentStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly tasks: string,
    readonly migration: MigrationResult,
  ) {}

  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresAgentStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 2, ...opts }, 'agents', AGENTS_MIGRATIONS);
    return new PostgresAgentStore(pool, `${prefix}a2a_agents`, `${prefix}a2a_tasks`, migration);
  }

  async list(): Promise<AgentRecord[]> {
    return (await this.pool.query(`SELECT * FROM ${this.table} ORDER BY id COLLATE "C"`)).rows.map((r: Record<string, unknown>) => toRecord(row(r)));
  }

  async find(id: string): Promise<AgentRecord | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.table} WHERE id = $1`, [id])).rows[0] as Record<string, unknown> | undefined;
    return r ? toRecord(row(r)) : null;
  }

  async get(id: string): Promise<AgentRecord> {
    const r = await this.find(id);
    if (!r) throw new AgentNotFound(id);
    return r;
  }

  async create(a: Omit<AgentRecord, 'pending' | 'createdAt' | 'updatedAt'>, now: number): Promise<AgentRecord> {
    const inserted = await this.pool.query(
      `INSERT INTO ${this.table} (id, url, card_url, grantees, egress, actions, tenant, card_keys, card, digest, created_at, updated_at, registered_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) ON CONFLICT (id) DO NOTHING`,
      [a.id, a.url, a.cardUrl, JSON.stringify(a.grantees), JSON.stringify(a.egress), JSON.stringify(a.actions), a.tenant, a.cardKeys === null ? null : JSON.stringify(a.cardKeys), JSON.stringify(a.card), a.digest, now, a.registeredBy],
    );
    if (inserted.rowCount === 0) throw new AgentExists(a.id);
    return this.get(a.id);
  }

  async remove(id: string): Promise<void> {
    // One statement: the agent and the tasks started on it go together.
    const r = await this.pool.query(`WITH t AS (DELETE FROM ${this.tasks} WHERE agent = $1) DELETE FROM ${this.table} WHERE id = $1`, [id]);
    if (r.rowCount === 0) throw new AgentNotFound(id);
  }

  async setPending(id: string, card: Record<string, unknown>, digest: string, now: number, pinned: string): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.table} SET pending_card = $1, pending_digest = $2, pending_at = $3 WHERE id = $4 AND digest = $5 AND pending_digest IS NULL`, [JSON.stringify(card), digest, now, id, pinned]);
    return r.rowCount === 1;
  }

  async approvePending(id: string, expected: string, by: string, now: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE ${this.table} SET card = pending_card, digest = pending_digest, pending_card = NULL, pending_digest = NULL, pending_at = NULL, updated_at = $1, registered_by = $2
       WHERE id = $3 AND pending_digest = $4`,
      [now, by, id, expected],
    );
    return r.rowCount === 1;
  }

  async claimTask(t: A2ATaskRecord): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO ${this.tasks} (agent, id, owner, skill, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [t.agent, t.id, t.owner, t.skill, t.createdAt]);
    return r.rowCount === 1;
  }

  async findTask(agent: string, id: string): Promise<A2ATaskRecord | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.tasks} WHERE agent = $1 AND id = $2`, [agent, id])).rows[0] as Parameters<typeof toTask>[0] | undefined;
    return r ? toTask(r) : null;
  }

  async pruneTasks(before: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.tasks} WHERE created_at < $1`, [before])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
