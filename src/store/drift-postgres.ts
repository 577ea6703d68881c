// The monitor's drift profiles in PostgreSQL (with `store.postgres`; table `<prefix>monitor_drift_profiles`, the
// `monitor_baselines` schema's migration 2): one row per profile, written by a conditional INSERT/UPDATE on the
// version it was computed from (src/monitor/drift-shared.ts), so replicas never overwrite each other's learning.
import type pg from 'pg';
import type { DriftProfileStore } from '../monitor/drift-shared.js';

export class PostgresDriftProfileStore implements DriftProfileStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  async get(key: string): Promise<{ version: number; record: string } | null> {
    const r = (await this.pool.query<{ version: string; record: string }>(`SELECT version, record FROM ${this.table} WHERE key = $1`, [key])).rows[0];
    return r ? { version: Number(r.version), record: r.record } : null;
  }

  async put(key: string, expected: number, record: string): Promise<boolean> {
    const r =
      expected === 0
        ? await this.pool.query(`INSERT INTO ${this.table} (key, version, record) VALUES ($1, 1, $2) ON CONFLICT (key) DO NOTHING`, [key, record])
        : await this.pool.query(`UPDATE ${this.table} SET version = version + 1, record = $3, updated_at = now() WHERE key = $1 AND version = $2`, [key, expected, record]);
    return r.rowCount === 1;
  }

  async list(): Promise<{ key: string; record: string }[]> {
    return (await this.pool.query<{ key: string; record: string }>(`SELECT key, record FROM ${this.table} ORDER BY key`)).rows;
  }
}
