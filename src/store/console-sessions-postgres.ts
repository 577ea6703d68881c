// Console sessions in PostgreSQL (store.postgres): every replica reads the same rows, so a session made through
// one is honoured by all, and signing out through any deletes it for all (the interface and its contract:
// console-sessions-store.ts). Each request asks the table: there is no per-replica cache to outlive a sign-out.
import type pg from 'pg';
import { toPendingRow, toSessionRow, type ConsoleSessionRow, type ConsoleSessionStore, type PendingSignInRow } from './console-sessions-store.js';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';

export const CONSOLE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'console_sessions (browser sessions shared by every replica)',
    sql: `
      CREATE TABLE $PREFIXconsole_sessions (
        handle text PRIMARY KEY, csrf text NOT NULL, credential text NOT NULL, created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL, step_up_at bigint, pending_passkey text);
      CREATE INDEX $PREFIXconsole_sessions_seen ON $PREFIXconsole_sessions (last_seen_at);`,
  },
  {
    version: 2,
    description: 'console_pending_sign_ins (OIDC state + PKCE verifier, SAML RelayState + request ids: a sign-in begun on one replica ends on another)',
    sql: `
      CREATE TABLE $PREFIXconsole_pending_sign_ins (
        kind text NOT NULL, key text NOT NULL, value text NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (kind, key));
      CREATE INDEX $PREFIXconsole_pending_sign_ins_created ON $PREFIXconsole_pending_sign_ins (created_at);`,
  },
  {
    version: 3,
    description: 'console_sessions.saml_subject, saml_session (an IdP-initiated SAML LogoutRequest finds the sessions it ends)',
    sql: `
      ALTER TABLE $PREFIXconsole_sessions ADD COLUMN saml_subject text, ADD COLUMN saml_session text;
      CREATE INDEX $PREFIXconsole_sessions_saml ON $PREFIXconsole_sessions (saml_subject);`,
  },
];

export class PostgresConsoleSessionStore implements ConsoleSessionStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly pendingTable: string,
    readonly migration: MigrationResult,
  ) {}

  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresConsoleSessionStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 2, ...opts }, 'console', CONSOLE_MIGRATIONS);
    return new PostgresConsoleSessionStore(pool, `${prefix}console_sessions`, `${prefix}console_pending_sign_ins`, migration);
  }

  async insert(r: ConsoleSessionRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (handle, csrf, credential, created_at, last_seen_at, step_up_at, pending_passkey, saml_subject, saml_session) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.handle, r.csrf, r.credential, r.createdAt, r.lastSeenAt, r.stepUpAt, r.pendingPasskey, r.samlSubject, r.samlSession],
    );
  }

  async get(handle: string): Promise<ConsoleSessionRow | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.table} WHERE handle = $1`, [handle])).rows[0] as Record<string, unknown> | undefined;
    return r ? toSessionRow(r) : null;
  }

  async touch(handle: string, at: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET last_seen_at = $2 WHERE handle = $1 AND last_seen_at < $2`, [handle, at]);
  }

  async setStepUp(handle: string, at: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET step_up_at = $2 WHERE handle = $1`, [handle, at]);
  }

  async setPendingPasskey(handle: string, pending: string | null): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET pending_passkey = $2 WHERE handle = $1`, [handle, pending]);
  }

  async takePendingPasskey(handle: string, pending: string): Promise<boolean> {
    return ((await this.pool.query(`UPDATE ${this.table} SET pending_passkey = NULL WHERE handle = $1 AND pending_passkey = $2`, [handle, pending])).rowCount ?? 0) === 1;
  }

  async delete(handle: string): Promise<boolean> {
    return ((await this.pool.query(`DELETE FROM ${this.table} WHERE handle = $1`, [handle])).rowCount ?? 0) === 1;
  }

  async deleteExpired(createdBefore: number, seenBefore: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.table} WHERE created_at < $1 OR last_seen_at < $2`, [createdBefore, seenBefore])).rowCount ?? 0;
  }

  async deleteSaml(subject: string, session: string | null): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.table} WHERE saml_subject = $1 AND ($2::text IS NULL OR saml_session = $2)`, [subject, session])).rowCount ?? 0;
  }

  async putPendingSignIn(r: PendingSignInRow): Promise<boolean> {
    return ((await this.pool.query(`INSERT INTO ${this.pendingTable} (kind, key, value, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [r.kind, r.key, r.value, r.createdAt])).rowCount ?? 0) === 1;
  }

  async takePendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null> {
    const r = (await this.pool.query(`DELETE FROM ${this.pendingTable} WHERE kind = $1 AND key = $2 RETURNING *`, [kind, key])).rows[0] as Record<string, unknown> | undefined;
    return r ? toPendingRow(r) : null;
  }

  async getPendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.pendingTable} WHERE kind = $1 AND key = $2`, [kind, key])).rows[0] as Record<string, unknown> | undefined;
    return r ? toPendingRow(r) : null;
  }

  async countPendingSignIns(kind: string, since: number): Promise<number> {
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.pendingTable} WHERE kind = $1 AND created_at >= $2`, [kind, since])).rows[0]!.n);
  }

  async deletePendingSignInsBefore(createdBefore: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.pendingTable} WHERE created_at < $1`, [createdBefore])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
