// Wrapped model data keys (src/data/crypto envelopes, or legacy records awaiting `warden data migrate`), one per deployment.
import type { SqliteDb } from './sqlite.js';
import type { StoredModelKey } from '../workload/key-release-envelope.js';
import type { ModelKeyStore } from './sealed-store.js';

export class SqliteModelKeyStore implements ModelKeyStore {
  private readonly q;
  constructor(db: SqliteDb) {
    db.exec('CREATE TABLE IF NOT EXISTS model_keys (deployment_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, created_at INTEGER NOT NULL)');
    this.q = {
      put: db.prepare('INSERT INTO model_keys (deployment_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT(deployment_id) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at'),
      get: db.prepare('SELECT wrapped FROM model_keys WHERE deployment_id = ?'),
      list: db.prepare('SELECT deployment_id, wrapped FROM model_keys ORDER BY deployment_id'),
    };
  }
  async put(deploymentId: string, w: StoredModelKey, now: number): Promise<void> {
    this.q.put.run(deploymentId, JSON.stringify(w), now);
  }
  async get(deploymentId: string): Promise<StoredModelKey | null> {
    const r = this.q.get.get(deploymentId) as { wrapped: string } | undefined;
    return r ? (JSON.parse(r.wrapped) as StoredModelKey) : null;
  }
  async list(): Promise<{ deploymentId: string; wrapped: StoredModelKey }[]> {
    return (this.q.list.all() as { deployment_id: string; wrapped: string }[]).map((r) => ({ deploymentId: r.deployment_id, wrapped: JSON.parse(r.wrapped) as StoredModelKey }));
  }
}
