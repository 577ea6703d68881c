// The monitor's drift profiles in the embedded SQLite store (warden.db in the data dir; src/monitor/drift-shared.ts):
// one row per profile, written by compare-and-set on its version, so two gateways on one data dir (or a restarted
// one) judge against the same approved baselines.
import type { DriftProfileStore } from '../monitor/drift-shared.js';
import type { SqliteDb } from './sqlite.js';

export class SqliteDriftProfileStore implements DriftProfileStore {
  constructor(private readonly db: SqliteDb) {
    db.exec(`CREATE TABLE IF NOT EXISTS monitor_drift_profiles (
      key        TEXT PRIMARY KEY,
      version    INTEGER NOT NULL,
      record     TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  }

  async get(key: string): Promise<{ version: number; record: string } | null> {
    return (this.db.prepare('SELECT version, record FROM monitor_drift_profiles WHERE key = ?').get(key) as { version: number; record: string } | undefined) ?? null;
  }

  async put(key: string, expected: number, record: string): Promise<boolean> {
    const r =
      expected === 0
        ? this.db.prepare('INSERT INTO monitor_drift_profiles (key, version, record, updated_at) VALUES (?, 1, ?, ?) ON CONFLICT (key) DO NOTHING').run(key, record, Date.now())
        : this.db.prepare('UPDATE monitor_drift_profiles SET version = version + 1, record = ?, updated_at = ? WHERE key = ? AND version = ?').run(record, Date.now(), key, expected);
    return r.changes === 1;
  }

  async list(): Promise<{ key: string; record: string }[]> {
    return this.db.prepare('SELECT key, record FROM monitor_drift_profiles ORDER BY key').all() as { key: string; record: string }[];
  }
}
