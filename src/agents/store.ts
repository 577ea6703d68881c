// Registered A2A agents: the endpoint, who may call it, and the pinned agent card (its digest and the card
// itself), plus a changed card waiting for an admin's re-approval (quarantine). SqliteAgentStore keeps them in
// the data dir's SQLite; with store.postgres, PostgresAgentStore (src/store/agents-postgres.ts) in the replicas'
// one table. Also who started each A2A task through Warden (GetTask / CancelTask and follow-up messages are the
// starter's only): shared the same way, so a task started through one replica is continued through any.
// test/store/agents-contract.test.ts runs one contract on both.
import type { SqliteDb } from '../store/sqlite.js';
import { AgentExists, AgentNotFound } from './errors.js';

export interface AgentRecord {
  id: string;
  /** The agent's A2A JSON-RPC endpoint. */
  url: string;
  /** Where its agent card is fetched (default: the endpoint's origin + /.well-known/agent-card.json). */
  cardUrl: string;
  /** Groups granted calls (the AgentSkill entity's `grantees`). */
  grantees: string[];
  /** Origins Warden may reach for this agent (egress guard). */
  egress: string[];
  /** Actions the token minted for the callee carries at most (default callAgent). */
  actions: string[];
  tenant: string | null;
  /** JWKS whose keys must verify the card's signature (A2A card signatures, JWS); null: unsigned cards accepted. */
  cardKeys: { keys: Record<string, unknown>[] } | null;
  card: Record<string, unknown>;
  digest: string;
  pending: { card: Record<string, unknown>; digest: string; at: number } | null;
  createdAt: number;
  updatedAt: number;
  registeredBy: string;
}

export interface Row {
  id: string; url: string; card_url: string; grantees: string; egress: string; actions: string; tenant: string | null; card_keys: string | null;
  card: string; digest: string; pending_card: string | null; pending_digest: string | null; pending_at: number | null;
  created_at: number; updated_at: number; registered_by: string;
}

export function toRecord(r: Row): AgentRecord {
  return {
    id: r.id,
    url: r.url,
    cardUrl: r.card_url,
    grantees: JSON.parse(r.grantees) as string[],
    egress: JSON.parse(r.egress) as string[],
    actions: JSON.parse(r.actions) as string[],
    tenant: r.tenant,
    cardKeys: r.card_keys === null ? null : (JSON.parse(r.card_keys) as AgentRecord['cardKeys']),
    card: JSON.parse(r.card) as Record<string, unknown>,
    digest: r.digest,
    pending: r.pending_card !== null && r.pending_digest !== null ? { card: JSON.parse(r.pending_card) as Record<string, unknown>, digest: r.pending_digest, at: r.pending_at ?? 0 } : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    registeredBy: r.registered_by,
  };
}

/** An A2A task started through Warden: the agent that runs it, who started it, and the skill it was decided on. */
export interface A2ATaskRecord {
  agent: string;
  /** The task id the agent gave it. */
  id: string;
  /** `tenant/kind/id` of the principal who started it. */
  owner: string;
  skill: string;
  createdAt: number;
}

export interface AgentStore {
  list(): Promise<AgentRecord[]>;
  find(id: string): Promise<AgentRecord | null>;
  /** The agent, or AgentNotFound. */
  get(id: string): Promise<AgentRecord>;
  /** Registers an agent; AgentExists when the id is taken. */
  create(a: Omit<AgentRecord, 'pending' | 'createdAt' | 'updatedAt'>, now: number): Promise<AgentRecord>;
  /** AgentNotFound when there is none. */
  remove(id: string): Promise<void>;
  /**
   * A changed card seen at the agent: kept as pending (the agent is quarantined until it is approved), only while
   * the pin is still `pinned` and nothing is pending: the first change any replica saw is the one an admin reviews,
   * and a replica that fetched the card before an approval cannot quarantine the agent again. False otherwise.
   */
  setPending(id: string, card: Record<string, unknown>, digest: string, now: number, pinned: string): Promise<boolean>;
  /** Pins the pending card (the admin's consent) and ends a quarantine, only if the pending digest is still `expected`. */
  approvePending(id: string, expected: string, by: string, now: number): Promise<boolean>;
  /** Records who started a task; the first record of an (agent, task id) stands (false when it already existed). */
  claimTask(t: A2ATaskRecord): Promise<boolean>;
  findTask(agent: string, id: string): Promise<A2ATaskRecord | null>;
  /** Forgets tasks recorded before `before` (ms); how many. */
  pruneTasks(before: number): Promise<number>;
}

interface TaskRow { agent: string; id: string; owner: string; skill: string; created_at: number | string }
export const toTask = (r: TaskRow): A2ATaskRecord => ({ agent: r.agent, id: r.id, owner: r.owner, skill: r.skill, createdAt: Number(r.created_at) });

export class SqliteAgentStore implements AgentStore {
  constructor(private readonly db: SqliteDb) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS a2a_agents (
        id             TEXT PRIMARY KEY,
        url            TEXT NOT NULL,
        card_url       TEXT NOT NULL,
        grantees       TEXT NOT NULL,
        egress         TEXT NOT NULL,
        actions        TEXT NOT NULL,
        tenant         TEXT,
        card_keys      TEXT,
        card           TEXT NOT NULL,
        digest         TEXT NOT NULL,
        pending_card   TEXT,
        pending_digest TEXT,
        pending_at     INTEGER,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        registered_by  TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS a2a_tasks (
        agent      TEXT NOT NULL,
        id         TEXT NOT NULL,
        owner      TEXT NOT NULL,
        skill      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (agent, id)
      );
      CREATE INDEX IF NOT EXISTS a2a_tasks_created ON a2a_tasks (created_at);`);
  }

  async list(): Promise<AgentRecord[]> {
    return (this.db.prepare('SELECT * FROM a2a_agents ORDER BY id').all() as Row[]).map(toRecord);
  }

  async find(id: string): Promise<AgentRecord | null> {
    const r = this.db.prepare('SELECT * FROM a2a_agents WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  async get(id: string): Promise<AgentRecord> {
    const r = await this.find(id);
    if (!r) throw new AgentNotFound(id);
    return r;
  }

  async create(a: Omit<AgentRecord, 'pending' | 'createdAt' | 'updatedAt'>, now: number): Promise<AgentRecord> {
    if (await this.find(a.id)) throw new AgentExists(a.id);
    this.db
      .prepare(`INSERT INTO a2a_agents (id, url, card_url, grantees, egress, actions, tenant, card_keys, card, digest, created_at, updated_at, registered_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(a.id, a.url, a.cardUrl, JSON.stringify(a.grantees), JSON.stringify(a.egress), JSON.stringify(a.actions), a.tenant, a.cardKeys === null ? null : JSON.stringify(a.cardKeys), JSON.stringify(a.card), a.digest, now, now, a.registeredBy);
    return this.get(a.id);
  }

  async remove(id: string): Promise<void> {
    if (this.db.prepare('DELETE FROM a2a_agents WHERE id = ?').run(id).changes === 0) throw new AgentNotFound(id);
    this.db.prepare('DELETE FROM a2a_tasks WHERE agent = ?').run(id);
  }

  async setPending(id: string, card: Record<string, unknown>, digest: string, now: number, pinned: string): Promise<boolean> {
    return this.db.prepare('UPDATE a2a_agents SET pending_card = ?, pending_digest = ?, pending_at = ? WHERE id = ? AND digest = ? AND pending_digest IS NULL').run(JSON.stringify(card), digest, now, id, pinned).changes === 1;
  }

  async approvePending(id: string, expected: string, by: string, now: number): Promise<boolean> {
    return (
      this.db
        .prepare('UPDATE a2a_agents SET card = pending_card, digest = pending_digest, pending_card = NULL, pending_digest = NULL, pending_at = NULL, updated_at = ?, registered_by = ? WHERE id = ? AND pending_digest = ?')
        .run(now, by, id, expected).changes === 1
    );
  }

  async claimTask(t: A2ATaskRecord): Promise<boolean> {
    return this.db.prepare('INSERT INTO a2a_tasks (agent, id, owner, skill, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(t.agent, t.id, t.owner, t.skill, t.createdAt).changes === 1;
  }

  async findTask(agent: string, id: string): Promise<A2ATaskRecord | null> {
    const r = this.db.prepare('SELECT * FROM a2a_tasks WHERE agent = ? AND id = ?').get(agent, id) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  async pruneTasks(before: number): Promise<number> {
    return Number(this.db.prepare('DELETE FROM a2a_tasks WHERE created_at < ?').run(before).changes);
  }
}
