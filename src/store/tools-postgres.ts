// The tool registry and the approval requests in PostgreSQL, for replicas that share one control plane.
// Same contract as SqliteToolStore (test/store/tools-contract.test.ts runs one suite on both). Deciding and
// consuming an approval are single conditional UPDATEs, so of parallel attempts on any number of replicas
// exactly one succeeds; a tool's versions are numbered under a row lock on its high-water mark.
import type pg from 'pg';
import { Conflict } from '../core/errors.js';
import { connectMigrated, inTransaction, type Migration, type MigrationResult } from './pg-migrate.js';
import type { ApprovalQuery, ApprovalRecord, ApprovalStatus, ServedToolDefinition, ToolBackend, ToolPinRecord, ToolQuarantineRecord, ToolRecord, ToolStore } from './tools-store.js';

export const TOOLS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tools, tool_version_high, tool_approvals',
    sql: `
      CREATE TABLE $PREFIXtools (
        name text PRIMARY KEY, description text NOT NULL, input_schema jsonb NOT NULL,
        risk text NOT NULL CHECK (risk IN ('read','write','destructive','external')), needs_approval boolean NOT NULL,
        backend jsonb NOT NULL, egress jsonb NOT NULL, grantees jsonb NOT NULL, tenant text,
        created_at bigint NOT NULL, updated_at bigint NOT NULL, version integer NOT NULL);
      -- The highest version a name ever had, kept when the tool is deleted: a re-created tool continues
      -- after it, so an approval bound to (name, version) never matches a different definition.
      CREATE TABLE $PREFIXtool_version_high (name text PRIMARY KEY, version integer NOT NULL);
      CREATE TABLE $PREFIXtool_approvals (
        id text PRIMARY KEY, tool text NOT NULL, tool_version integer NOT NULL, requester text NOT NULL,
        tenant text NOT NULL, agent text, args_digest text NOT NULL, args_json text NOT NULL,
        policy_version text NOT NULL, created_at bigint NOT NULL, expires_at bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('pending','approved','denied','consumed')),
        decided_by text, decided_at bigint, reason text, consumed_at bigint, request_id text NOT NULL);
      CREATE INDEX $PREFIXtool_approvals_status ON $PREFIXtool_approvals (status, created_at);`,
  },
  {
    version: 2,
    description: 'tool_pins; approvals paged by (created_at, id)',
    sql: `
      -- The definition an MCP server gave for a tool when an admin registered or re-approved it, and the
      -- different one it gave later (the tool is quarantined while pending_digest is set).
      CREATE TABLE $PREFIXtool_pins (
        name text PRIMARY KEY, digest text NOT NULL, definition jsonb NOT NULL, pinned_at bigint NOT NULL,
        pinned_by text NOT NULL, pending_digest text, pending_definition jsonb, pending_at bigint);
      -- Keyset paging walks (created_at, id) in byte order of id, as SQLite compares it.
      CREATE INDEX $PREFIXtool_approvals_page ON $PREFIXtool_approvals (created_at, id COLLATE "C");
      CREATE INDEX $PREFIXtool_approvals_status_page ON $PREFIXtool_approvals (status, created_at, id COLLATE "C");`,
  },
  {
    version: 3,
    description: 'tool_quarantines',
    sql: `
      -- Tools taken out of service by an operator or a response playbook, by name, until released.
      CREATE TABLE $PREFIXtool_quarantines (name text PRIMARY KEY, reason text NOT NULL, quarantined_by text NOT NULL, quarantined_at bigint NOT NULL);`,
  },
];

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toTool(r: Row): ToolRecord {
  return {
    name: r.name as string,
    description: r.description as string,
    inputSchema: r.input_schema as Record<string, unknown>,
    risk: r.risk as ToolRecord['risk'],
    needsApproval: r.needs_approval as boolean,
    backend: r.backend as ToolBackend,
    egress: r.egress as string[],
    grantees: r.grantees as string[],
    tenant: (r.tenant as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    version: Number(r.version),
  };
}

function toApproval(r: Row): ApprovalRecord {
  return {
    id: r.id as string,
    tool: r.tool as string,
    toolVersion: Number(r.tool_version),
    requester: r.requester as string,
    tenant: r.tenant as string,
    agent: (r.agent as string | null) ?? null,
    argsDigest: r.args_digest as string,
    argsJson: r.args_json as string,
    policyVersion: r.policy_version as string,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    status: r.status as ApprovalStatus,
    decidedBy: (r.decided_by as string | null) ?? null,
    decidedAt: num(r.decided_at),
    reason: (r.reason as string | null) ?? null,
    consumedAt: num(r.consumed_at),
    requestId: r.request_id as string,
  };
}

const json = (v: unknown) => JSON.stringify(v);

function toQuarantine(r: Row): ToolQuarantineRecord {
  return { name: r.name as string, reason: r.reason as string, by: r.quarantined_by as string, at: Number(r.quarantined_at) };
}

export class PostgresToolStore implements ToolStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { tools: string; high: string; approvals: string; pins: string; quarantines: string },
    readonly migration: MigrationResult,
  ) {}

  /** Connects and brings the schema up to date (see pg-migrate.ts). */
  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresToolStore> {
    const { pool, prefix, migration } = await connectMigrated(opts, 'tools', TOOLS_MIGRATIONS);
    return new PostgresToolStore(pool, { tools: `${prefix}tools`, high: `${prefix}tool_version_high`, approvals: `${prefix}tool_approvals`, pins: `${prefix}tool_pins`, quarantines: `${prefix}tool_quarantines` }, migration);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  async insertTool(t: Omit<ToolRecord, 'version'>): Promise<ToolRecord> {
    return this.tx(async (c) => {
      // The high-water row is created if absent and locked, so two registrations of a name number in turn.
      await c.query(`INSERT INTO ${this.t.high} (name, version) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`, [t.name]);
      const high = Number((await c.query<{ version: number }>(`SELECT version FROM ${this.t.high} WHERE name = $1 FOR UPDATE`, [t.name])).rows[0]!.version);
      const version = high + 1;
      const r = await c.query(
        `INSERT INTO ${this.t.tools} (name, description, input_schema, risk, needs_approval, backend, egress, grantees, tenant, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (name) DO NOTHING`,
        [t.name, t.description, json(t.inputSchema), t.risk, t.needsApproval, json(t.backend), json(t.egress), json(t.grantees), t.tenant, t.createdAt, t.updatedAt, version],
      );
      if (r.rowCount !== 1) throw new Conflict('tool_exists', `a tool named ${t.name} is already registered`);
      await c.query(`UPDATE ${this.t.high} SET version = $2 WHERE name = $1`, [t.name, version]);
      return { ...t, version };
    });
  }

  async updateTool(t: Omit<ToolRecord, 'version' | 'createdAt'>, expectedVersion?: number): Promise<ToolRecord | null> {
    const cur = await this.getTool(t.name);
    if (!cur) return null;
    if (expectedVersion !== undefined && expectedVersion !== cur.version) throw new Conflict('tool_version_mismatch', `tool ${t.name} is at version ${cur.version}, not ${expectedVersion}`);
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE ${this.t.tools} SET description = $2, input_schema = $3, risk = $4, needs_approval = $5, backend = $6, egress = $7, grantees = $8, tenant = $9, updated_at = $10, version = version + 1
         WHERE name = $1 AND version = $11 RETURNING *`,
        [t.name, t.description, json(t.inputSchema), t.risk, t.needsApproval, json(t.backend), json(t.egress), json(t.grantees), t.tenant, t.updatedAt, cur.version],
      );
      if (r.rowCount !== 1) throw new Conflict('tool_version_mismatch', `tool ${t.name} changed concurrently`);
      await c.query(`UPDATE ${this.t.high} SET version = GREATEST(version, $2) WHERE name = $1`, [t.name, cur.version + 1]);
      return toTool(r.rows[0] as Row);
    });
  }

  async getTool(name: string): Promise<ToolRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.tools} WHERE name = $1`, [name]);
    return r ? toTool(r) : null;
  }

  async listTools(): Promise<ToolRecord[]> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    return (await this.rows(`SELECT * FROM ${this.t.tools} ORDER BY name COLLATE "C"`)).map(toTool);
  }

  async deleteTool(name: string): Promise<boolean> {
    return (await this.pool.query(`DELETE FROM ${this.t.tools} WHERE name = $1`, [name])).rowCount === 1;
  }

  async setPin(name: string, digest: string, definition: ServedToolDefinition, at: number, by: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.pins} (name, digest, definition, pinned_at, pinned_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, definition = excluded.definition, pinned_at = excluded.pinned_at,
         pinned_by = excluded.pinned_by, pending_digest = NULL, pending_definition = NULL, pending_at = NULL`,
      [name, digest, json(definition), at, by],
    );
  }

  async setPending(name: string, digest: string, definition: ServedToolDefinition, at: number): Promise<void> {
    // Conditional on no pending change: of replicas seeing different changes at once, the first one recorded stays.
    await this.pool.query(`UPDATE ${this.t.pins} SET pending_digest = $2, pending_definition = $3, pending_at = $4 WHERE name = $1 AND pending_digest IS NULL`, [name, digest, json(definition), at]);
  }

  async getPin(name: string): Promise<ToolPinRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.pins} WHERE name = $1`, [name]);
    if (!r) return null;
    return {
      name: r.name as string,
      digest: r.digest as string,
      definition: r.definition as ServedToolDefinition,
      pinnedAt: Number(r.pinned_at),
      pinnedBy: r.pinned_by as string,
      pending: r.pending_digest !== null ? { digest: r.pending_digest as string, definition: r.pending_definition as ServedToolDefinition, at: Number(r.pending_at) } : null,
    };
  }

  async deletePin(name: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.t.pins} WHERE name = $1`, [name]);
  }

  async setQuarantine(q: ToolQuarantineRecord): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO ${this.t.quarantines} (name, reason, quarantined_by, quarantined_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`, [q.name, q.reason, q.by, q.at]);
    return r.rowCount === 1;
  }

  async clearQuarantine(name: string): Promise<ToolQuarantineRecord | null> {
    const [r] = await this.rows(`DELETE FROM ${this.t.quarantines} WHERE name = $1 RETURNING *`, [name]);
    return r ? toQuarantine(r) : null;
  }

  async getQuarantine(name: string): Promise<ToolQuarantineRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.quarantines} WHERE name = $1`, [name]);
    return r ? toQuarantine(r) : null;
  }

  async listQuarantines(): Promise<ToolQuarantineRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.quarantines} ORDER BY name COLLATE "C"`, [])).map(toQuarantine);
  }

  async insertApproval(a: ApprovalRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.approvals} (id, tool, tool_version, requester, tenant, agent, args_digest, args_json, policy_version, created_at, expires_at, status, decided_by, decided_at, reason, consumed_at, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [a.id, a.tool, a.toolVersion, a.requester, a.tenant, a.agent, a.argsDigest, a.argsJson, a.policyVersion, a.createdAt, a.expiresAt, a.status, a.decidedBy, a.decidedAt, a.reason, a.consumedAt, a.requestId],
    );
  }

  async getApproval(id: string): Promise<ApprovalRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.approvals} WHERE id = $1`, [id]);
    return r ? toApproval(r) : null;
  }

  async listApprovals(q: ApprovalQuery): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const and = (clause: (n: number) => string, ...values: (string | number)[]) => {
      where.push(clause(params.length + 1));
      params.push(...values);
    };
    if (q.status) and((n) => `status = $${n}`, q.status);
    if (q.tool) and((n) => `tool = $${n}`, q.tool);
    if (q.requester) and((n) => `requester = $${n}`, q.requester);
    if (q.after) and((n) => `(created_at, id COLLATE "C") ${q.newestFirst ? '<' : '>'} ($${n}, $${n + 1})`, q.after.createdAt, q.after.id);
    const dir = q.newestFirst ? 'DESC' : 'ASC';
    params.push(q.limit);
    const sql = `SELECT * FROM ${this.t.approvals} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at ${dir}, id COLLATE "C" ${dir} LIMIT $${params.length}`;
    return (await this.rows(sql, params)).map(toApproval);
  }

  async decideApproval(id: string, status: 'approved' | 'denied', by: string, at: number, reason: string | null): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.t.approvals} SET status = $2, decided_by = $3, decided_at = $4, reason = $5 WHERE id = $1 AND status = 'pending'`, [id, status, by, at, reason]);
    return r.rowCount === 1;
  }

  async consumeApproval(id: string, at: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.t.approvals} SET status = 'consumed', consumed_at = $2 WHERE id = $1 AND status = 'approved'`, [id, at]);
    return r.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
