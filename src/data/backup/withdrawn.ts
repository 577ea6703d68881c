// A tenant whose own KEK is withdrawn (`warden data kek withdraw`) has its content left out of a backup: its
// wrapped data opens nowhere while withdrawn, and a copy would carry it out of the withdrawal's reach (restorable
// wherever the KEK turned up again). Its rows are deleted from the backup's copies of the stores, by the stores'
// own deletion (vectors zeroed, secure_delete) and then VACUUM, so no freed page of the copy still holds them:
//   payloads.db   the data keys wrapped for the tenant and every payload of those principals (and of the
//                 tenant's principals, whatever their key's header says);
//   warden.db     model keys wrapped for the tenant (or, in the old format, of a deployment of the tenant);
//   retrieval.db  the tenant's vector stores, files and chunks.
// The same deletion runs over a restored data dir, so a restore never brings any of it back.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { parseWrappedKey } from '../crypto/keyring.js';
import { openSqlite, type SqliteDb } from '../../store/sqlite.js';
import { SqliteRetrievalStore } from '../../store/retrieval-sqlite.js';

/** A withdrawn tenant left out of a backup, with its withdrawal as the record states it. */
export interface ExcludedTenant {
  tenant: string;
  withdrawn: string;
}

type Counts = Record<string, number>;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The ids of the principals of `tenants` in a warden.db (the live one while backing up, the restored one after). */
export function principalsOf(wardenDb: string, tenants: readonly string[]): string[] {
  if (!tenants.length || !existsSync(wardenDb)) return [];
  const db = new Database(wardenDb, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'principals'").get();
    return has ? (db.prepare(`SELECT id FROM principals WHERE tenant IN (${placeholders(tenants.length)})`).all(...tenants) as { id: string }[]).map((r) => r.id) : [];
  } finally {
    db.close();
  }
}

const hasTable = (db: SqliteDb, name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

function dropPayloads(db: SqliteDb, tenants: Set<string>, principals: readonly string[]): Counts {
  if (!hasTable(db, 'ledger_payload_keys')) return {};
  db.pragma('secure_delete = ON');
  const owners = new Set(principals);
  for (const r of db.prepare('SELECT principal, wrapped_key FROM ledger_payload_keys').all() as { principal: string; wrapped_key: Buffer }[]) {
    const h = parseWrappedKey(r.wrapped_key);
    if (h && tenants.has(h.tenant)) owners.add(r.principal);
  }
  return db.transaction(() => {
    let payloadKeys = 0;
    let payloads = 0;
    for (const p of owners) {
      payloadKeys += db.prepare('DELETE FROM ledger_payload_keys WHERE principal = ?').run(p).changes;
      payloads += db.prepare('DELETE FROM ledger_payloads WHERE principal = ?').run(p).changes;
    }
    return { payloadKeys, payloads };
  })();
}

function dropModelKeys(db: SqliteDb, tenants: Set<string>): Counts {
  if (!hasTable(db, 'model_keys')) return {};
  db.pragma('secure_delete = ON');
  const deploymentTenant = hasTable(db, 'model_deployments') ? db.prepare('SELECT tenant FROM model_deployments WHERE id = ?') : null;
  const gone = (db.prepare('SELECT deployment_id, wrapped FROM model_keys').all() as { deployment_id: string; wrapped: string }[]).filter((r) => {
    let tenant: unknown;
    try {
      tenant = (JSON.parse(r.wrapped) as { tenant?: unknown }).tenant;
    } catch {
      tenant = undefined;
    }
    if (typeof tenant !== 'string') tenant = (deploymentTenant?.get(r.deployment_id) as { tenant: string } | undefined)?.tenant;
    return typeof tenant === 'string' && tenants.has(tenant);
  });
  const del = db.prepare('DELETE FROM model_keys WHERE deployment_id = ?');
  return { modelKeys: db.transaction(() => gone.reduce((n, r) => n + del.run(r.deployment_id).changes, 0))() };
}

function dropRetrieval(db: SqliteDb, tenants: Set<string>): Counts {
  if (!hasTable(db, 'retrieval_chunks')) return {};
  const store = new SqliteRetrievalStore(db);
  const c: Counts = { retrievalStores: 0, retrievalFiles: 0, retrievalChunks: 0, retrievalUploads: 0 };
  for (const t of tenants) {
    const r = store.deleteTenant(t);
    c.retrievalStores! += r.stores;
    c.retrievalFiles! += r.files;
    c.retrievalChunks! += r.chunks;
    c.retrievalUploads! += r.uploads;
  }
  return c;
}

const DROPS: Record<string, (db: SqliteDb, tenants: Set<string>, principals: readonly string[]) => Counts> = {
  'payloads.db': dropPayloads,
  'warden.db': (db, tenants) => dropModelKeys(db, tenants),
  'retrieval.db': (db, tenants) => dropRetrieval(db, tenants),
};

/**
 * Deletes the withdrawn tenants' content from `file` (a backup's copy, or a restored store, named `name`) and
 * rewrites the file without free pages; what went, by kind. Stores that hold no tenant content are left alone.
 */
export function dropWithdrawnTenants(name: string, file: string, tenants: readonly string[], principals: readonly string[]): Counts {
  const drop = DROPS[name];
  if (!drop || !tenants.length) return {};
  const db = openSqlite(file);
  try {
    const counts = drop(db, new Set(tenants), principals);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    return counts;
  } finally {
    db.close();
  }
}

/** The stores of a restored data dir that can hold tenant content, for `dropWithdrawnTenants` after a restore. */
export const TENANT_CONTENT_STORES = Object.keys(DROPS);
