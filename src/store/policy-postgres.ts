// Policy set versions in PostgreSQL, for replicas that share one control plane (the contract is
// src/store/policy-store.ts; test/store/policy-contract.test.ts runs one suite on SQLite and PostgreSQL).
// The live set is the last activation, so a publish or rollback through any replica is what every replica
// loads when the change feed tells it (src/policy/policy-admin.ts).
import type pg from 'pg';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { NotFound } from '../core/errors.js';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';
import type { PolicyActivation, PolicySetRecord, PolicySetSummary, PolicyStore, StoredPolicy } from './policy-store.js';

export const POLICY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'policy_sets, policy_activations',
    sql: `
      CREATE TABLE $PREFIXpolicy_sets (
        version text PRIMARY KEY, created_at bigint NOT NULL, source text NOT NULL, note text,
        policies jsonb NOT NULL);
      CREATE TABLE $PREFIXpolicy_activations (
        seq bigserial PRIMARY KEY, version text NOT NULL REFERENCES $PREFIXpolicy_sets(version),
        activated_at bigint NOT NULL, actor text NOT NULL);`,
  },
  {
    version: 2,
    description: 'policy_shadow (the shadow candidate every replica evaluates)',
    sql: `
      CREATE TABLE $PREFIXpolicy_shadow (
        id int PRIMARY KEY CHECK (id = 1), version text REFERENCES $PREFIXpolicy_sets(version),
        actor text NOT NULL, set_at bigint NOT NULL);`,
  },
];

type Row = Record<string, unknown>;

export class PostgresPolicyStore implements PolicyStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { sets: string; activations: string; shadow: string },
    private readonly clock: Clock,
    readonly migration: MigrationResult,
  ) {}

  /** Connects and brings the schema up to date (see pg-migrate.ts). */
  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number; clock?: Clock }): Promise<PostgresPolicyStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 2, ...opts }, 'policies', POLICY_MIGRATIONS);
    return new PostgresPolicyStore(pool, { sets: `${prefix}policy_sets`, activations: `${prefix}policy_activations`, shadow: `${prefix}policy_shadow` }, opts.clock ?? systemClock, migration);
  }

  async save(version: string, policies: readonly StoredPolicy[], meta: { source: string; note?: string }): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO ${this.t.sets} (version, created_at, source, note, policies) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING`, [
      version,
      this.clock.now(),
      meta.source,
      meta.note ?? null,
      JSON.stringify(policies.map((p) => ({ id: p.id, text: p.text, source: p.source }))),
    ]);
    return r.rowCount === 1;
  }

  async get(version: string): Promise<PolicySetRecord | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.t.sets} WHERE version = $1`, [version])).rows[0] as Row | undefined;
    if (!r) return null;
    const policies = r.policies as StoredPolicy[];
    return { version: r.version as string, createdAt: Number(r.created_at), source: r.source as string, note: (r.note as string | null) ?? null, policyCount: policies.length, policies };
  }

  async shadow(): Promise<string | null> {
    const r = (await this.pool.query(`SELECT version FROM ${this.t.shadow} WHERE id = 1`)).rows[0] as Row | undefined;
    return (r?.version as string | null | undefined) ?? null;
  }

  async setShadow(version: string | null, actor: string): Promise<void> {
    if (version !== null && !(await this.get(version))) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
    await this.pool.query(
      `INSERT INTO ${this.t.shadow} (id, version, actor, set_at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET version = excluded.version, actor = excluded.actor, set_at = excluded.set_at`,
      [version, actor, this.clock.now()],
    );
  }

  async list(): Promise<PolicySetSummary[]> {
    const rows = (await this.pool.query(`SELECT version, created_at, source, note, jsonb_array_length(policies) AS n FROM ${this.t.sets} ORDER BY created_at, version COLLATE "C"`)).rows as Row[];
    return rows.map((r) => ({ version: r.version as string, createdAt: Number(r.created_at), source: r.source as string, note: (r.note as string | null) ?? null, policyCount: Number(r.n) }));
  }

  async activate(version: string, actor: string): Promise<void> {
    const r = await this.pool.query(`INSERT INTO ${this.t.activations} (version, activated_at, actor) SELECT version, $2, $3 FROM ${this.t.sets} WHERE version = $1`, [version, this.clock.now(), actor]);
    if (r.rowCount !== 1) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
  }

  async active(): Promise<PolicySetRecord | null> {
    const r = (await this.pool.query(`SELECT version FROM ${this.t.activations} ORDER BY seq DESC LIMIT 1`)).rows[0] as Row | undefined;
    return r ? this.get(r.version as string) : null;
  }

  async history(): Promise<PolicyActivation[]> {
    const rows = (await this.pool.query(`SELECT version, activated_at, actor FROM ${this.t.activations} ORDER BY seq`)).rows as Row[];
    return rows.map((r) => ({ version: r.version as string, activatedAt: Number(r.activated_at), actor: r.actor as string }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
