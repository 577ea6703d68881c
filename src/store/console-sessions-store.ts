// Console sessions (src/console/sessions.ts) behind a small interface, so that every worker and replica sees
// one set: SQLite in the data dir (embedded; `--workers N` share the file) or PostgreSQL with store.postgres
// (console-sessions-postgres.ts). test/store/console-sessions-contract.test.ts runs one suite on both.
// A row holds no usable secret on its own: the handle is SHA-256 of the cookie, and the credential (an API
// key, or whom an IdP named) is sealed under a key derived from the cookie, which only the browser has.
import type { SqliteDb } from './sqlite.js';

export interface ConsoleSessionRow {
  handle: string;
  csrf: string;
  /** The sealed credential (AES-256-GCM under a key derived from the cookie; src/console/sessions.ts). */
  credential: string;
  createdAt: number;
  lastSeenAt: number;
  stepUpAt: number | null;
  /** The one outstanding WebAuthn challenge, as JSON. */
  pendingPasskey: string | null;
  /** For a SAML sign-in: SHA-256 of the IdP issuer and NameID, so an IdP's LogoutRequest finds the session. */
  samlSubject: string | null;
  /** For a SAML sign-in: the assertion's SessionIndex (a LogoutRequest naming one ends only that session). */
  samlSession: string | null;
}

export interface ConsoleSessionStore {
  insert(r: ConsoleSessionRow): Promise<void>;
  get(handle: string): Promise<ConsoleSessionRow | null>;
  /** Moves last_seen_at forward (never back: replicas' clocks and requests race). */
  touch(handle: string, at: number): Promise<void>;
  setStepUp(handle: string, at: number): Promise<void>;
  setPendingPasskey(handle: string, pending: string | null): Promise<void>;
  /** Clears the pending challenge if it is still `pending`: true for exactly one caller (single use across replicas). */
  takePendingPasskey(handle: string, pending: string): Promise<boolean>;
  delete(handle: string): Promise<boolean>;
  /** Deletes sessions created before `createdBefore` or last seen before `seenBefore`; returns how many. */
  deleteExpired(createdBefore: number, seenBefore: number): Promise<number>;
  /** Deletes the sessions of a SAML subject (only the one with `session`'s SessionIndex, when given); returns how many. */
  deleteSaml(subject: string, session: string | null): Promise<number>;
  /** Records a sign-in under way; false (nothing written) when `kind`/`key` is already taken. */
  putPendingSignIn(r: PendingSignInRow): Promise<boolean>;
  /** Deletes and returns the row: of two replicas asking at once, exactly one gets it. */
  takePendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null>;
  /** The row, left in place (node-saml asks whether a request id is ours before it is removed). */
  getPendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null>;
  /** Rows of `kind` created at or after `since`. */
  countPendingSignIns(kind: string, since: number): Promise<number>;
  /** Deletes rows created before `createdBefore`; returns how many. */
  deletePendingSignInsBefore(createdBefore: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A sign-in under way (src/console/pending-sign-ins.ts): the OIDC state with its PKCE verifier, the SAML
 * RelayState with its AuthnRequest id, the AuthnRequest ids node-saml accepts answers to. Kept beside the
 * sessions so a sign-in started through one replica can finish through another.
 */
export interface PendingSignInRow {
  kind: string;
  key: string;
  /** JSON. */
  value: string;
  createdAt: number;
}

type Row = Record<string, unknown>;

export function toSessionRow(r: Row): ConsoleSessionRow {
  return {
    handle: r.handle as string,
    csrf: r.csrf as string,
    credential: r.credential as string,
    createdAt: Number(r.created_at),
    lastSeenAt: Number(r.last_seen_at),
    stepUpAt: r.step_up_at === null || r.step_up_at === undefined ? null : Number(r.step_up_at),
    pendingPasskey: (r.pending_passkey as string | null) ?? null,
    samlSubject: (r.saml_subject as string | null) ?? null,
    samlSession: (r.saml_session as string | null) ?? null,
  };
}

export function toPendingRow(r: Row): PendingSignInRow {
  return { kind: r.kind as string, key: r.key as string, value: r.value as string, createdAt: Number(r.created_at) };
}

export class SqliteConsoleSessionStore implements ConsoleSessionStore {
  private readonly q;

  constructor(db: SqliteDb) {
    // New in this release: created on open (an older data dir simply gets the table).
    db.exec(`CREATE TABLE IF NOT EXISTS console_sessions (
      handle TEXT PRIMARY KEY, csrf TEXT NOT NULL, credential TEXT NOT NULL, created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL, step_up_at INTEGER, pending_passkey TEXT, saml_subject TEXT, saml_session TEXT);
      CREATE INDEX IF NOT EXISTS console_sessions_seen ON console_sessions(last_seen_at);
      CREATE TABLE IF NOT EXISTS console_pending_sign_ins (
      kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (kind, key));
      CREATE INDEX IF NOT EXISTS console_pending_sign_ins_created ON console_pending_sign_ins(created_at);`);
    // A data dir from before SAML single logout: its sessions table gains the two columns.
    const columns = new Set((db.prepare('PRAGMA table_info(console_sessions)').all() as { name: string }[]).map((c) => c.name));
    if (!columns.has('saml_subject')) db.exec('ALTER TABLE console_sessions ADD COLUMN saml_subject TEXT; ALTER TABLE console_sessions ADD COLUMN saml_session TEXT;');
    db.exec('CREATE INDEX IF NOT EXISTS console_sessions_saml ON console_sessions(saml_subject)');
    this.q = {
      insert: db.prepare('INSERT INTO console_sessions (handle, csrf, credential, created_at, last_seen_at, step_up_at, pending_passkey, saml_subject, saml_session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      deleteSaml: db.prepare('DELETE FROM console_sessions WHERE saml_subject = ? AND (? IS NULL OR saml_session = ?)'),
      get: db.prepare('SELECT * FROM console_sessions WHERE handle = ?'),
      touch: db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE handle = ? AND last_seen_at < ?'),
      stepUp: db.prepare('UPDATE console_sessions SET step_up_at = ? WHERE handle = ?'),
      pending: db.prepare('UPDATE console_sessions SET pending_passkey = ? WHERE handle = ?'),
      take: db.prepare('UPDATE console_sessions SET pending_passkey = NULL WHERE handle = ? AND pending_passkey = ?'),
      delete: db.prepare('DELETE FROM console_sessions WHERE handle = ?'),
      expired: db.prepare('DELETE FROM console_sessions WHERE created_at < ? OR last_seen_at < ?'),
      putPending: db.prepare('INSERT INTO console_pending_sign_ins (kind, key, value, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      takePending: db.prepare('DELETE FROM console_pending_sign_ins WHERE kind = ? AND key = ? RETURNING *'),
      getPending: db.prepare('SELECT * FROM console_pending_sign_ins WHERE kind = ? AND key = ?'),
      countPending: db.prepare('SELECT count(*) AS n FROM console_pending_sign_ins WHERE kind = ? AND created_at >= ?'),
      expiredPending: db.prepare('DELETE FROM console_pending_sign_ins WHERE created_at < ?'),
    };
  }

  insert(r: ConsoleSessionRow): Promise<void> {
    this.q.insert.run(r.handle, r.csrf, r.credential, r.createdAt, r.lastSeenAt, r.stepUpAt, r.pendingPasskey, r.samlSubject, r.samlSession);
    return Promise.resolve();
  }
  get(handle: string): Promise<ConsoleSessionRow | null> {
    const r = this.q.get.get(handle) as Row | undefined;
    return Promise.resolve(r ? toSessionRow(r) : null);
  }
  touch(handle: string, at: number): Promise<void> {
    this.q.touch.run(at, handle, at);
    return Promise.resolve();
  }
  setStepUp(handle: string, at: number): Promise<void> {
    this.q.stepUp.run(at, handle);
    return Promise.resolve();
  }
  setPendingPasskey(handle: string, pending: string | null): Promise<void> {
    this.q.pending.run(pending, handle);
    return Promise.resolve();
  }
  takePendingPasskey(handle: string, pending: string): Promise<boolean> {
    return Promise.resolve(this.q.take.run(handle, pending).changes === 1);
  }
  delete(handle: string): Promise<boolean> {
    return Promise.resolve(this.q.delete.run(handle).changes === 1);
  }
  deleteExpired(createdBefore: number, seenBefore: number): Promise<number> {
    return Promise.resolve(this.q.expired.run(createdBefore, seenBefore).changes);
  }
  deleteSaml(subject: string, session: string | null): Promise<number> {
    return Promise.resolve(this.q.deleteSaml.run(subject, session, session).changes);
  }
  putPendingSignIn(r: PendingSignInRow): Promise<boolean> {
    return Promise.resolve(this.q.putPending.run(r.kind, r.key, r.value, r.createdAt).changes === 1);
  }
  takePendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null> {
    const r = this.q.takePending.get(kind, key) as Row | undefined;
    return Promise.resolve(r ? toPendingRow(r) : null);
  }
  getPendingSignIn(kind: string, key: string): Promise<PendingSignInRow | null> {
    const r = this.q.getPending.get(kind, key) as Row | undefined;
    return Promise.resolve(r ? toPendingRow(r) : null);
  }
  countPendingSignIns(kind: string, since: number): Promise<number> {
    return Promise.resolve(Number((this.q.countPending.get(kind, since) as { n: number }).n));
  }
  deletePendingSignInsBefore(createdBefore: number): Promise<number> {
    return Promise.resolve(this.q.expiredPending.run(createdBefore).changes);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
