// Wrapped model data keys (AES-256-GCM under the local KEK), one per deployment.
import type { SqliteDb } from './sqlite.js';
import type { WrappedModelKey } from '../workload/key-release-envelope.js';

export class SqliteModelKeyStore {
  private readonly q;
  constructor(db: SqliteDb) {
    db.exec('CREATE TABLE IF NOT EXISTS model_keys (deployment_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, created_at INTEGER NOT NULL)');
    this.q = {
      put: db.prepare('INSERT INTO model_keys (deployment_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT(deployment_id) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at'),
      get: db.prepare('SELECT wrapped FROM model_keys WHERE deployment_id = ?'),
    };
  }
  put(deploymentId: string, w: WrappedModelKey, now: number): void {
    this.q.put.run(deploymentId, JSON.stringify(w), now);
  }
  get(deploymentId: string): WrappedModelKey | null {
    const r = this.q.get.get(deploymentId) as { wrapped: string } | undefined;
    return r ? (JSON.parse(r.wrapped) as WrappedModelKey) : null;
  }
}
