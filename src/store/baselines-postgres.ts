// The monitor's shared baselines in PostgreSQL (used whenever `store.postgres` is configured: the baselines are
// durable learnt state, kept with the other durable records and surviving a restart of every replica and of
// Redis). One row per principal; a merge is written by a conditional INSERT/UPDATE on the version it was computed
// from (src/monitor/baselines-shared.ts), so concurrent replicas never overwrite each other's observations.
// Migration 2 adds the drift profiles beside them (src/store/drift-postgres.ts), on the same pool.
import type pg from 'pg';
import type { SharedBaselineStore } from '../monitor/baselines-shared.js';
import { PostgresDriftProfileStore } from './drift-postgres.js';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';

export const BASELINES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'monitor_baselines',
    sql: `CREATE TABLE $PREFIXmonitor_baselines (principal text PRIMARY KEY, version bigint NOT NULL, record text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());`,
  },
  {
    // Each deployment's (and each model's inputs') drift baseline, shared and kept across restarts (src/store/drift-postgres.ts).
    version: 2,
    description: 'monitor_drift_profiles',
    sql: `CREATE TABLE $PREFIXmonitor_drift_profiles (key text PRIMARY KEY, version bigint NOT NULL, record text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());`,
  },
];

export class PostgresBaselineStore implements SharedBaselineStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly prefix: string,
    readonly migration: MigrationResult,
  ) {}

  /** The drift profiles, in the same schema and pool. */
  driftProfiles(): PostgresDriftProfileStore {
    return new PostgresDriftProfileStore(this.pool, `${this.prefix}monitor_drift_profiles`);
  }

  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresBaselineStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 2, ...opts }, 'monitor_baselines', BASELINES_MIGRATIONS);
    return new PostgresBaselineStore(pool, `${prefix}monitor_baselines`, prefix, migration);
  }

  async get(principal: string): Promise<{ version: number; record: string } | null> {
    const r = (await this.pool.query<{ version: string; record: string }>(`SELECT version, record FROM ${this.table} WHERE principal = $1`, [principal])).rows[0];
    return r ? { version: Number(r.version), record: r.record } : null;
  }

  async put(principal: string, expected: number, record: string): Promise<boolean> {
    const r =
      expected === 0
        ? await this.pool.query(`INSERT INTO ${this.table} (principal, version, record) VALUES ($1, 1, $2) ON CONFLICT (principal) DO NOTHING`, [principal, record])
        : await this.pool.query(`UPDATE ${this.table} SET version = version + 1, record = $3, updated_at = now() WHERE principal = $1 AND version = $2`, [principal, expected, record]);
    return r.rowCount === 1;
  }

  async delete(principal: string): Promise<boolean> {
    return ((await this.pool.query(`DELETE FROM ${this.table} WHERE principal = $1`, [principal])).rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
