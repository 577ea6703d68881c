// Policy set versions in the embedded SQLite store (the contract is src/store/policy-store.ts).
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { NotFound } from '../core/errors.js';
import type { PolicyActivation, PolicySetRecord, PolicySetSummary, PolicyStore, StoredPolicy } from './policy-store.js';
import type { SqliteDb } from './sqlite.js';

export class SqlitePolicyStore implements PolicyStore {
  constructor(
    private readonly db: SqliteDb,
    private readonly clock: Clock = systemClock,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS policy_sets (
        version     TEXT PRIMARY KEY,
        created_at  INTEGER NOT NULL,
        source      TEXT NOT NULL,
        note        TEXT,
        policies    TEXT NOT NULL          -- JSON array of {id, text, source}
      );
      CREATE TABLE IF NOT EXISTS policy_activations (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        version      TEXT NOT NULL REFERENCES policy_sets(version),
        activated_at INTEGER NOT NULL,
        actor        TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS policy_shadow (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        version  TEXT REFERENCES policy_sets(version),
        actor    TEXT NOT NULL,
        set_at   INTEGER NOT NULL
      );
    `);
  }

  async shadow(): Promise<string | null> {
    const row = this.db.prepare('SELECT version FROM policy_shadow WHERE id = 1').get() as { version: string | null } | undefined;
    return row?.version ?? null;
  }

  async setShadow(version: string | null, actor: string): Promise<void> {
    if (version !== null && !(await this.get(version))) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
    this.db
      .prepare('INSERT INTO policy_shadow (id, version, actor, set_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, actor = excluded.actor, set_at = excluded.set_at')
      .run(version, actor, this.clock.now());
  }

  async save(version: string, policies: readonly StoredPolicy[], meta: { source: string; note?: string }): Promise<boolean> {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO policy_sets (version, created_at, source, note, policies) VALUES (?, ?, ?, ?, ?)')
      .run(version, this.clock.now(), meta.source, meta.note ?? null, JSON.stringify(policies.map((p) => ({ id: p.id, text: p.text, source: p.source }))));
    return r.changes === 1;
  }

  async get(version: string): Promise<PolicySetRecord | null> {
    const row = this.db.prepare('SELECT version, created_at, source, note, policies FROM policy_sets WHERE version = ?').get(version) as
      | { version: string; created_at: number; source: string; note: string | null; policies: string }
      | undefined;
    if (!row) return null;
    const policies = JSON.parse(row.policies) as StoredPolicy[];
    return { version: row.version, createdAt: row.created_at, source: row.source, note: row.note, policyCount: policies.length, policies };
  }

  async list(): Promise<PolicySetSummary[]> {
    const rows = this.db.prepare('SELECT version, created_at, source, note, json_array_length(policies) AS n FROM policy_sets ORDER BY created_at, version').all() as {
      version: string;
      created_at: number;
      source: string;
      note: string | null;
      n: number;
    }[];
    return rows.map((r) => ({ version: r.version, createdAt: r.created_at, source: r.source, note: r.note, policyCount: r.n }));
  }

  async activate(version: string, actor: string): Promise<void> {
    const exists = this.db.prepare('SELECT 1 FROM policy_sets WHERE version = ?').get(version);
    if (!exists) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
    this.db.prepare('INSERT INTO policy_activations (version, activated_at, actor) VALUES (?, ?, ?)').run(version, this.clock.now(), actor);
  }

  async active(): Promise<PolicySetRecord | null> {
    const row = this.db.prepare('SELECT version FROM policy_activations ORDER BY seq DESC LIMIT 1').get() as { version: string } | undefined;
    return row ? this.get(row.version) : null;
  }

  async history(): Promise<PolicyActivation[]> {
    const rows = this.db.prepare('SELECT version, activated_at, actor FROM policy_activations ORDER BY seq').all() as { version: string; activated_at: number; actor: string }[];
    return rows.map((r) => ({ version: r.version, activatedAt: r.activated_at, actor: r.actor }));
  }
}
