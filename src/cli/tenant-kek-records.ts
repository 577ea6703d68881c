// The recorded tenant KEKs (BYOK) for the offline data commands: where a running Warden reads them (PostgreSQL
// with store.postgres, else the data dir's warden.db), so `warden data rewrap` and `warden backup create` honour a
// withdrawal made through any replica (`warden data kek withdraw`) exactly as the replicas do.
import { join } from 'node:path';
import type { WardenConfig } from '../config/config.js';
import { PostgresTenantKekStore } from '../store/sealed-postgres.js';
import { readSqliteFile } from '../store/sqlite.js';
import { SqliteTenantKekStore, type TenantKekRecord } from '../store/tenant-keks-store.js';
import { CliError } from './admin-client.js';

export async function readTenantKekRecords(config: WardenConfig): Promise<TenantKekRecord[]> {
  if (config.store.postgres) {
    let store: PostgresTenantKekStore | null = null;
    try {
      store = await PostgresTenantKekStore.connect(config.store.postgres);
      return await store.list();
    } catch (e) {
      // Fail closed: without the record a withdrawal cannot be ruled out.
      throw new CliError(`cannot read the recorded tenant KEKs from store.postgres: ${(e as Error).message}`, 1);
    } finally {
      await store?.close();
    }
  }
  return readSqliteFile(join(config.dataDir, 'warden.db'), [], (db) => new SqliteTenantKekStore(db).list());
}
