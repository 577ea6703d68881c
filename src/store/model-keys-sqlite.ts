// Wrapped model data keys (src/data/crypto envelopes, or legacy records awaiting `warden data migrate`), one per deployment.
import type { SqliteDb } from './sqlite.js';
import type { StoredModelKey } from '../workload/key-release-envelope.js';

export class SqliteModelKeyStore {
  private readonly q;
  constructor(db: SqliteDb) {
    db.exec('CREATE TABLE IF NOT EXISTS model_keys (deployment_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, created_at INTEGER NOT NULL)');
    this.q = {
      put: db.prepare('INSERT INTO model_keys (deployment_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT(deployment_id) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at'),
      get: db.prepare('SELECT wrapped FROM model_keys WHERE deployment_id = ?'),
      list: db.prepare('SELECT deployment_id, wrapped FROM model_keys ORDER BY deployment_id'),
    };
  }
  put(deploymentId: string, w: StoredModelKey, now: number): void {
    this.q.put.run(deploymentId, JSON.stringify(w), now);
  }
  get(deploymentId: string): StoredModelKey | null {
    const r = this.q.get.get(deploymentId) as { wrapped: string } | undefined;
    return r ? (JSON.parse(r.wrapped) as StoredModelKey) : null;
  }
  /** Every stored key (for `warden data migrate|rewrap`). */
  list(): { deploymentId: string; wrapped: StoredModelKey }[] {
    return (this.q.list.all() as { deployment_id: string; wrapped: string }[]).map((r) => ({ deploymentId: r.deployment_id, wrapped: JSON.parse(r.wrapped) as StoredModelKey }));
  }
}
