// The tool registry and the approval requests in the embedded SQLite store. Plain records only:
// validation of definitions and every approval rule live in src/tools; this file holds the SQL and
// makes the two state changes that must be atomic (decide once, consume once) single UPDATEs.
import { Conflict } from '../core/errors.js';
import type { SqliteDb } from './sqlite.js';
import type { ApprovalQuery, ApprovalRecord, ApprovalStatus, ServedToolDefinition, ToolBackend, ToolPinRecord, ToolQuarantineRecord, ToolRecord, ToolRisk, ToolStore } from './tools-store.js';

interface ToolRow {
  name: string; description: string; input_schema: string; risk: ToolRisk; needs_approval: number; backend: string;
  egress: string; grantees: string; tenant: string | null; created_at: number; updated_at: number; version: number;
}
interface ApprovalRow {
  id: string; tool: string; tool_version: number; requester: string; tenant: string; agent: string | null; args_digest: string;
  args_json: string; policy_version: string; created_at: number; expires_at: number; status: ApprovalStatus;
  decided_by: string | null; decided_at: number | null; reason: string | null; consumed_at: number | null; request_id: string;
}

function toTool(r: ToolRow): ToolRecord {
  return {
    name: r.name,
    description: r.description,
    inputSchema: JSON.parse(r.input_schema) as Record<string, unknown>,
    risk: r.risk,
    needsApproval: r.needs_approval === 1,
    backend: JSON.parse(r.backend) as ToolBackend,
    egress: JSON.parse(r.egress) as string[],
    grantees: JSON.parse(r.grantees) as string[],
    tenant: r.tenant,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  };
}

function toApproval(r: ApprovalRow): ApprovalRecord {
  return {
    id: r.id, tool: r.tool, toolVersion: r.tool_version, requester: r.requester, tenant: r.tenant, agent: r.agent, argsDigest: r.args_digest,
    argsJson: r.args_json, policyVersion: r.policy_version, createdAt: r.created_at, expiresAt: r.expires_at, status: r.status,
    decidedBy: r.decided_by, decidedAt: r.decided_at, reason: r.reason, consumedAt: r.consumed_at, requestId: r.request_id,
  };
}

export class SqliteToolStore implements ToolStore {
  constructor(private readonly db: SqliteDb) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS tools (
        name           TEXT PRIMARY KEY,
        description    TEXT NOT NULL,
        input_schema   TEXT NOT NULL,
        risk           TEXT NOT NULL CHECK (risk IN ('read','write','destructive','external')),
        needs_approval INTEGER NOT NULL,
        backend        TEXT NOT NULL,
        egress         TEXT NOT NULL,
        grantees       TEXT NOT NULL,
        tenant         TEXT,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        version        INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS tool_approvals (
        id             TEXT PRIMARY KEY,
        tool           TEXT NOT NULL,
        tool_version   INTEGER NOT NULL,
        requester      TEXT NOT NULL,
        tenant         TEXT NOT NULL,
        agent          TEXT,
        args_digest    TEXT NOT NULL,
        args_json      TEXT NOT NULL,
        policy_version TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending','approved','denied','consumed')),
        decided_by     TEXT,
        decided_at     INTEGER,
        reason         TEXT,
        consumed_at    INTEGER,
        request_id     TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS tool_approvals_status ON tool_approvals (status, created_at);
      -- The highest version a tool name has ever had, kept when the tool is deleted: a re-created tool
      -- continues after it, so an approval bound to (name, version) can never match a different definition.
      CREATE TABLE IF NOT EXISTS tool_version_high (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
      -- The definition an MCP server gave for a tool when an admin registered or re-approved it, and the
      -- different one it gave later (the tool is quarantined while pending_digest is set).
      CREATE TABLE IF NOT EXISTS tool_pins (
        name               TEXT PRIMARY KEY,
        digest             TEXT NOT NULL,
        definition         TEXT NOT NULL,
        pinned_at          INTEGER NOT NULL,
        pinned_by          TEXT NOT NULL,
        pending_digest     TEXT,
        pending_definition TEXT,
        pending_at         INTEGER
      );
      -- Tools taken out of service by an operator or a response playbook, by name, until released.
      CREATE TABLE IF NOT EXISTS tool_quarantines (
        name   TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        quarantined_by TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
      );
    `);
    // Stores written before the table existed: the live tools and every version an approval names.
    db.exec(`
      INSERT INTO tool_version_high (name, version)
        SELECT name, MAX(v) FROM (SELECT name, version AS v FROM tools UNION ALL SELECT tool, tool_version FROM tool_approvals) GROUP BY name
      ON CONFLICT (name) DO UPDATE SET version = MAX(version, excluded.version);
    `);
  }

  private bumpVersion(name: string, version: number): void {
    this.db.prepare('INSERT INTO tool_version_high (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = MAX(version, excluded.version)').run(name, version);
  }

  /** Registers a new tool at the version after the highest its name ever had (1 for a name never used). */
  async insertTool(t: Omit<ToolRecord, 'version'>): Promise<ToolRecord> {
    return this.db.transaction(() => {
      const high = this.db.prepare('SELECT version FROM tool_version_high WHERE name = ?').pluck().get(t.name) as number | undefined;
      const version = (high ?? 0) + 1;
      const r = this.db
        .prepare(
          `INSERT OR IGNORE INTO tools (name, description, input_schema, risk, needs_approval, backend, egress, grantees, tenant, created_at, updated_at, version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(t.name, t.description, JSON.stringify(t.inputSchema), t.risk, t.needsApproval ? 1 : 0, JSON.stringify(t.backend), JSON.stringify(t.egress), JSON.stringify(t.grantees), t.tenant, t.createdAt, t.updatedAt, version);
      if (r.changes !== 1) throw new Conflict('tool_exists', `a tool named ${t.name} is already registered`);
      this.bumpVersion(t.name, version);
      return { ...t, version };
    })();
  }

  /** Replaces a definition; `expectedVersion` guards against lost updates. Returns null when absent. */
  async updateTool(t: Omit<ToolRecord, 'version' | 'createdAt'>, expectedVersion?: number): Promise<ToolRecord | null> {
    const cur = await this.getTool(t.name);
    if (!cur) return null;
    if (expectedVersion !== undefined && expectedVersion !== cur.version) throw new Conflict('tool_version_mismatch', `tool ${t.name} is at version ${cur.version}, not ${expectedVersion}`);
    const r = this.db
      .prepare(
        `UPDATE tools SET description = ?, input_schema = ?, risk = ?, needs_approval = ?, backend = ?, egress = ?, grantees = ?, tenant = ?, updated_at = ?, version = version + 1
         WHERE name = ? AND version = ?`,
      )
      .run(t.description, JSON.stringify(t.inputSchema), t.risk, t.needsApproval ? 1 : 0, JSON.stringify(t.backend), JSON.stringify(t.egress), JSON.stringify(t.grantees), t.tenant, t.updatedAt, t.name, cur.version);
    if (r.changes !== 1) throw new Conflict('tool_version_mismatch', `tool ${t.name} changed concurrently`);
    this.bumpVersion(t.name, cur.version + 1);
    return this.getTool(t.name);
  }

  async getTool(name: string): Promise<ToolRecord | null> {
    const r = this.db.prepare('SELECT * FROM tools WHERE name = ?').get(name) as ToolRow | undefined;
    return r ? toTool(r) : null;
  }

  async listTools(): Promise<ToolRecord[]> {
    return (this.db.prepare('SELECT * FROM tools ORDER BY name').all() as ToolRow[]).map(toTool);
  }

  async deleteTool(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM tools WHERE name = ?').run(name).changes === 1;
  }

  /** Pins (or re-pins, clearing any quarantine) the served definition of a tool. */
  async setPin(name: string, digest: string, definition: ServedToolDefinition, at: number, by: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO tool_pins (name, digest, definition, pinned_at, pinned_by) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, definition = excluded.definition, pinned_at = excluded.pinned_at,
           pinned_by = excluded.pinned_by, pending_digest = NULL, pending_definition = NULL, pending_at = NULL`,
      )
      .run(name, digest, JSON.stringify(definition), at, by);
  }

  /** Records a changed served definition (quarantine). The first change seen stays until an admin decides. */
  async setPending(name: string, digest: string, definition: ServedToolDefinition, at: number): Promise<void> {
    this.db.prepare('UPDATE tool_pins SET pending_digest = ?, pending_definition = ?, pending_at = ? WHERE name = ? AND pending_digest IS NULL').run(digest, JSON.stringify(definition), at, name);
  }

  async getPin(name: string): Promise<ToolPinRecord | null> {
    const r = this.db.prepare('SELECT * FROM tool_pins WHERE name = ?').get(name) as
      | { name: string; digest: string; definition: string; pinned_at: number; pinned_by: string; pending_digest: string | null; pending_definition: string | null; pending_at: number | null }
      | undefined;
    if (!r) return null;
    return {
      name: r.name,
      digest: r.digest,
      definition: JSON.parse(r.definition) as ServedToolDefinition,
      pinnedAt: r.pinned_at,
      pinnedBy: r.pinned_by,
      pending: r.pending_digest !== null ? { digest: r.pending_digest, definition: JSON.parse(r.pending_definition!) as ServedToolDefinition, at: r.pending_at! } : null,
    };
  }

  async deletePin(name: string): Promise<void> {
    this.db.prepare('DELETE FROM tool_pins WHERE name = ?').run(name);
  }

  async setQuarantine(q: ToolQuarantineRecord): Promise<boolean> {
    return this.db.prepare('INSERT INTO tool_quarantines (name, reason, quarantined_by, quarantined_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING').run(q.name, q.reason, q.by, q.at).changes === 1;
  }

  async clearQuarantine(name: string): Promise<ToolQuarantineRecord | null> {
    return (this.db.prepare('DELETE FROM tool_quarantines WHERE name = ? RETURNING name, reason, quarantined_by AS by, quarantined_at AS at').get(name) as ToolQuarantineRecord | undefined) ?? null;
  }

  async getQuarantine(name: string): Promise<ToolQuarantineRecord | null> {
    return (this.db.prepare('SELECT name, reason, quarantined_by AS by, quarantined_at AS at FROM tool_quarantines WHERE name = ?').get(name) as ToolQuarantineRecord | undefined) ?? null;
  }

  async listQuarantines(): Promise<ToolQuarantineRecord[]> {
    return this.db.prepare('SELECT name, reason, quarantined_by AS by, quarantined_at AS at FROM tool_quarantines ORDER BY name').all() as ToolQuarantineRecord[];
  }

  async insertApproval(a: ApprovalRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO tool_approvals (id, tool, tool_version, requester, tenant, agent, args_digest, args_json, policy_version, created_at, expires_at, status, decided_by, decided_at, reason, consumed_at, request_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.id, a.tool, a.toolVersion, a.requester, a.tenant, a.agent, a.argsDigest, a.argsJson, a.policyVersion, a.createdAt, a.expiresAt, a.status, a.decidedBy, a.decidedAt, a.reason, a.consumedAt, a.requestId);
  }

  async getApproval(id: string): Promise<ApprovalRecord | null> {
    const r = this.db.prepare('SELECT * FROM tool_approvals WHERE id = ?').get(id) as ApprovalRow | undefined;
    return r ? toApproval(r) : null;
  }

  /**
   * One page of approvals in (created_at, id) order, after the `after` position (keyset paging: a flood of new
   * held calls cannot push older ones off the list or shift a page under the reader).
   */
  async listApprovals(q: ApprovalQuery): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const and = (clause: string, ...values: (string | number)[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (q.status) and('status = ?', q.status);
    if (q.tool) and('tool = ?', q.tool);
    if (q.requester) and('requester = ?', q.requester);
    if (q.after) and(`(created_at, id) ${q.newestFirst ? '<' : '>'} (?, ?)`, q.after.createdAt, q.after.id);
    const dir = q.newestFirst ? 'DESC' : 'ASC';
    const sql = `SELECT * FROM tool_approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at ${dir}, id ${dir} LIMIT ?`;
    return (this.db.prepare(sql).all(...params, q.limit) as ApprovalRow[]).map(toApproval);
  }

  /** pending → approved | denied, once. Returns false when the request was no longer pending. */
  async decideApproval(id: string, status: 'approved' | 'denied', by: string, at: number, reason: string | null): Promise<boolean> {
    return this.db
      .prepare(`UPDATE tool_approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND status = 'pending'`)
      .run(status, by, at, reason, id).changes === 1;
  }

  /** approved → consumed, once: the approved call executes a single time. */
  async consumeApproval(id: string, at: number): Promise<boolean> {
    return this.db.prepare(`UPDATE tool_approvals SET status = 'consumed', consumed_at = ? WHERE id = ? AND status = 'approved'`).run(at, id).changes === 1;
  }
}
