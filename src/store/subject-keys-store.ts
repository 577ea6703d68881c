// Per-subject data keys (src/data/crypto/subject-keys.ts): one AES-256 key per (tenant, data subject), stored only
// wrapped by the tenant's KEK, under which the retrieval chunks about the subject and the files it uploaded are
// sealed. Erasure destroys the key and keeps a tombstone (who, when): every copy of that content the delete cannot
// reach (a backup taken before, a PostgreSQL page not yet vacuumed) no longer opens, and a restore reads the
// tombstones to drop it.
//
// The embedded store is its own SQLite file (`encryption.subjectKeys`, default <dataDir>/subject-keys.db), kept
// beside the KEKs: `warden backup create` never copies it, so a backup cannot bring a destroyed key back. With
// store.postgres it is `<prefix>subject_keys` (retrieval migration 3), shared by the replicas.
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openSqlite, type SqliteDb } from './sqlite.js';

export interface SubjectKeyRow {
  tenant: string;
  subject: string;
  /** The key wrapped by the tenant's KEK; null once erased (the row is then a tombstone). */
  wrapped: Buffer | null;
  createdAt: number;
  erasedAt: number | null;
}

export interface SubjectKeyStore {
  /** The key row of (tenant, subject), or null when it has none. */
  get(tenant: string, subject: string): Promise<SubjectKeyRow | null>;
  /** Stores `wrapped` unless (tenant, subject) has a row; returns the row as it stands (two writers racing keep one key). */
  putIfAbsent(tenant: string, subject: string, wrapped: Buffer, nowMs: number): Promise<SubjectKeyRow>;
  /** Of `subjects` (in `tenant`), the ones erased. */
  erasedAmong(tenant: string, subjects: readonly string[]): Promise<Set<string>>;
  /** Every erased subject (any tenant): what a restore drops from a backup taken before. */
  listErased(): Promise<{ tenant: string; subject: string; erasedAt: number }[]>;
  /** How many live keys `subject` has (any tenant): what an erasure will destroy. */
  countLive(subject: string): Promise<number>;
  /**
   * Destroys every live key of `subject` (any tenant) and leaves a tombstone for it in `tenant` even when it had no
   * key (content sealed before subject keys is then refused too); returns how many keys were destroyed.
   */
  erase(subject: string, tenant: string, nowMs: number): Promise<number>;
  /** How many keys (live) a tenant's KEK wraps here (before its KEK record may be forgotten). */
  countTenant(tenant: string): Promise<number>;
  /** Every live key, for `warden data rewrap`. */
  listLive(): Promise<{ tenant: string; subject: string; wrapped: Buffer }[]>;
  /** Replaces a live key's wrapping if it is still `from` (compare-and-set: an erasure meanwhile wins). */
  replaceWrapped(tenant: string, subject: string, from: Buffer, to: Buffer): Promise<boolean>;
  close(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subject_keys (
  tenant TEXT NOT NULL, subject TEXT NOT NULL, wrapped BLOB, created_at INTEGER NOT NULL, erased_at INTEGER,
  PRIMARY KEY (tenant, subject)
);
CREATE INDEX IF NOT EXISTS subject_keys_subject ON subject_keys(subject);
`;

type Row = Record<string, unknown>;

export const subjectKeyFromRow = (r: Row): SubjectKeyRow => ({
  tenant: r.tenant as string,
  subject: r.subject as string,
  wrapped: (r.wrapped as Buffer | null) ?? null,
  createdAt: Number(r.created_at),
  erasedAt: r.erased_at === null || r.erased_at === undefined ? null : Number(r.erased_at),
});

export class SqliteSubjectKeyStore implements SubjectKeyStore {
  constructor(private readonly db: SqliteDb) {
    db.exec(SCHEMA);
    // A destroyed key is overwritten in the file, not just unlinked from the b-tree.
    db.pragma('secure_delete = ON');
  }

  /** Opens (creating, mode 0600) the store file; `mustExist` refuses a missing one (a restore checking tombstones). */
  static open(file: string, o: { mustExist?: boolean } = {}): SqliteSubjectKeyStore {
    if (o.mustExist && !existsSync(file)) throw new Error(`the subject-key store ${file} does not exist`);
    const fresh = !existsSync(file);
    const db = o.mustExist ? new Database(file, { fileMustExist: true }) : openSqlite(file);
    if (fresh && file !== ':memory:') chmodSync(file, 0o600);
    try {
      return new SqliteSubjectKeyStore(db);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  async get(tenant: string, subject: string): Promise<SubjectKeyRow | null> {
    const r = this.db.prepare('SELECT * FROM subject_keys WHERE tenant = ? AND subject = ?').get(tenant, subject) as Row | undefined;
    return r ? subjectKeyFromRow(r) : null;
  }

  async putIfAbsent(tenant: string, subject: string, wrapped: Buffer, nowMs: number): Promise<SubjectKeyRow> {
    this.db.prepare('INSERT INTO subject_keys (tenant, subject, wrapped, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (tenant, subject) DO NOTHING').run(tenant, subject, wrapped, nowMs);
    return (await this.get(tenant, subject))!;
  }

  async erasedAmong(tenant: string, subjects: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const q = this.db.prepare('SELECT 1 FROM subject_keys WHERE tenant = ? AND subject = ? AND erased_at IS NOT NULL');
    for (const s of new Set(subjects)) if (q.get(tenant, s)) out.add(s);
    return out;
  }

  async listErased(): Promise<{ tenant: string; subject: string; erasedAt: number }[]> {
    return (this.db.prepare('SELECT tenant, subject, erased_at FROM subject_keys WHERE erased_at IS NOT NULL ORDER BY tenant, subject').all() as Row[]).map((r) => ({ tenant: r.tenant as string, subject: r.subject as string, erasedAt: Number(r.erased_at) }));
  }

  async countLive(subject: string): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM subject_keys WHERE subject = ? AND erased_at IS NULL').get(subject) as { n: number }).n;
  }

  async erase(subject: string, tenant: string, nowMs: number): Promise<number> {
    const n = this.db.transaction(() => {
      const destroyed = this.db.prepare('UPDATE subject_keys SET wrapped = NULL, erased_at = ? WHERE subject = ? AND erased_at IS NULL').run(nowMs, subject).changes;
      this.db.prepare('INSERT INTO subject_keys (tenant, subject, wrapped, created_at, erased_at) VALUES (?, ?, NULL, ?, ?) ON CONFLICT (tenant, subject) DO NOTHING').run(tenant, subject, nowMs, nowMs);
      return destroyed;
    })();
    // secure_delete overwrote the old wrapped key's page; the WAL that still holds it is folded in and cut.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  async countTenant(tenant: string): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM subject_keys WHERE tenant = ? AND erased_at IS NULL').get(tenant) as { n: number }).n;
  }

  async listLive(): Promise<{ tenant: string; subject: string; wrapped: Buffer }[]> {
    return this.db.prepare('SELECT tenant, subject, wrapped FROM subject_keys WHERE erased_at IS NULL ORDER BY tenant, subject').all() as { tenant: string; subject: string; wrapped: Buffer }[];
  }

  async replaceWrapped(tenant: string, subject: string, from: Buffer, to: Buffer): Promise<boolean> {
    return this.db.prepare('UPDATE subject_keys SET wrapped = ? WHERE tenant = ? AND subject = ? AND wrapped = ? AND erased_at IS NULL').run(to, tenant, subject, from).changes > 0;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
