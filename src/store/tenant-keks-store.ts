// Which tenants brought their own KEK (BYOK), under which key id, and whether it is withdrawn — recorded where
// every replica reads it (the data dir's SQLite in embedded mode; PostgreSQL `<prefix>tenant_keks`, migration 2
// of the sealed store, with store.postgres). A replica configured with another key for a recorded tenant is
// refused at start, and a withdrawal made through one replica is applied by all (src/data/crypto/tenant-keks.ts).
// test/store/tenant-keks-contract.test.ts runs one contract on SQLite and PostgreSQL.
import type { SqliteDb } from './sqlite.js';

export interface TenantKekRecord {
  tenant: string;
  kekId: string;
  recordedAt: number;
  withdrawn: { at: number; by: string; reason: string | null } | null;
}

export interface TenantKekStore {
  list(): Promise<TenantKekRecord[]>;
  /** Records `tenant`'s KEK id unless one is recorded; returns the record as it stands (maybe another id). */
  record(tenant: string, kekId: string, now: number): Promise<TenantKekRecord>;
  /** Marks the recorded tenant withdrawn (or, with null, no longer); false when no KEK is recorded for it. */
  setWithdrawn(tenant: string, w: TenantKekRecord['withdrawn']): Promise<boolean>;
  /** Deletes the record of `tenant` if it is still withdrawn (compare-and-delete); false otherwise. */
  forgetWithdrawn(tenant: string): Promise<boolean>;
}

export interface TenantKekRow {
  tenant: string;
  kek_id: string;
  recorded_at: number | string;
  withdrawn_at: number | string | null;
  withdrawn_by: string | null;
  withdrawn_reason: string | null;
}

export const toTenantKek = (r: TenantKekRow): TenantKekRecord => ({
  tenant: r.tenant,
  kekId: r.kek_id,
  recordedAt: Number(r.recorded_at),
  withdrawn: r.withdrawn_at === null ? null : { at: Number(r.withdrawn_at), by: r.withdrawn_by ?? '', reason: r.withdrawn_reason },
});

export class SqliteTenantKekStore implements TenantKekStore {
  constructor(private readonly db: SqliteDb) {
    db.exec(`CREATE TABLE IF NOT EXISTS tenant_keks (
      tenant TEXT PRIMARY KEY, kek_id TEXT NOT NULL, recorded_at INTEGER NOT NULL,
      withdrawn_at INTEGER, withdrawn_by TEXT, withdrawn_reason TEXT)`);
  }

  async list(): Promise<TenantKekRecord[]> {
    return (this.db.prepare('SELECT * FROM tenant_keks ORDER BY tenant').all() as TenantKekRow[]).map(toTenantKek);
  }

  async record(tenant: string, kekId: string, now: number): Promise<TenantKekRecord> {
    this.db.prepare('INSERT INTO tenant_keks (tenant, kek_id, recorded_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(tenant, kekId, now);
    return toTenantKek(this.db.prepare('SELECT * FROM tenant_keks WHERE tenant = ?').get(tenant) as TenantKekRow);
  }

  async setWithdrawn(tenant: string, w: TenantKekRecord['withdrawn']): Promise<boolean> {
    return this.db.prepare('UPDATE tenant_keks SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ? WHERE tenant = ?').run(w?.at ?? null, w?.by ?? null, w?.reason ?? null, tenant).changes === 1;
  }

  async forgetWithdrawn(tenant: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM tenant_keks WHERE tenant = ? AND withdrawn_at IS NOT NULL').run(tenant).changes === 1;
  }
}
