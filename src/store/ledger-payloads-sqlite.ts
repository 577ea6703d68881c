// Storage for retained payloads (encrypted) and their per-principal data keys, kept apart from the
// Merkle tree so that erasing a principal never touches the log. secure_delete overwrites freed pages.
import type { SqliteDb } from './sqlite.js';
import type { PayloadStore, StoredPayload } from './sealed-store.js';

export type { StoredPayload } from './sealed-store.js';

export class SqlitePayloadStore implements PayloadStore {
  private readonly q;

  constructor(private readonly db: SqliteDb) {
    db.pragma('secure_delete = ON');
    db.exec(`
      CREATE TABLE IF NOT EXISTS ledger_payload_keys (principal TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, created_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ledger_payload_erasures (principal TEXT PRIMARY KEY, erased_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ledger_payloads (request_id TEXT NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, expires_ms INTEGER, PRIMARY KEY (request_id, kind)) WITHOUT ROWID;`);
    // Data dirs from before retention by class: their payloads have no expiry (kept, as they were promised).
    if (!(db.prepare("SELECT name FROM pragma_table_info('ledger_payloads')").pluck().all() as string[]).includes('expires_ms')) db.exec('ALTER TABLE ledger_payloads ADD COLUMN expires_ms INTEGER');
    db.exec('CREATE INDEX IF NOT EXISTS ledger_payloads_expiry ON ledger_payloads(expires_ms) WHERE expires_ms IS NOT NULL');
    // Each write checks the erasure mark in the same statement: nothing is stored for an erased principal, even
    // when the erasure happened while the caller was wrapping a key or sealing a payload.
    const notErased = 'WHERE NOT EXISTS (SELECT 1 FROM ledger_payload_erasures WHERE principal = ?)';
    this.q = {
      getKey: db.prepare('SELECT wrapped_key FROM ledger_payload_keys WHERE principal = ?').pluck(),
      putKey: db.prepare(`INSERT INTO ledger_payload_keys (principal, wrapped_key, created_ms) SELECT ?, ?, ? ${notErased} ON CONFLICT (principal) DO NOTHING`),
      delKey: db.prepare('DELETE FROM ledger_payload_keys WHERE principal = ?'),
      erased: db.prepare('SELECT erased_ms FROM ledger_payload_erasures WHERE principal = ?').pluck(),
      markErased: db.prepare('INSERT INTO ledger_payload_erasures (principal, erased_ms) VALUES (?, ?) ON CONFLICT (principal) DO UPDATE SET erased_ms = excluded.erased_ms'),
      putPayload: db.prepare(`INSERT INTO ledger_payloads (request_id, kind, principal, nonce, ciphertext, expires_ms) SELECT ?, ?, ?, ?, ?, ? ${notErased}`),
      getPayload: db.prepare('SELECT principal, nonce, ciphertext, expires_ms AS expiresAt FROM ledger_payloads WHERE request_id = ? AND kind = ?'),
      countExpired: db.prepare('SELECT count(*) FROM ledger_payloads WHERE expires_ms <= ?').pluck(),
      delExpired: db.prepare('DELETE FROM ledger_payloads WHERE expires_ms <= ?'),
      countPayloads: db.prepare('SELECT count(*) FROM ledger_payloads WHERE principal = ?').pluck(),
      delPayloads: db.prepare('DELETE FROM ledger_payloads WHERE principal = ?'),
      listKeys: db.prepare('SELECT principal, wrapped_key FROM ledger_payload_keys ORDER BY principal'),
      replaceKey: db.prepare('UPDATE ledger_payload_keys SET wrapped_key = ? WHERE principal = ? AND wrapped_key = ?'),
    };
  }

  async wrappedKey(principal: string): Promise<Buffer | undefined> {
    return this.q.getKey.get(principal) as Buffer | undefined;
  }
  async erasedAt(principal: string): Promise<number | undefined> {
    return this.q.erased.get(principal) as number | undefined;
  }
  async putKey(principal: string, wrapped: Buffer, nowMs: number): Promise<Buffer | undefined> {
    return this.db.transaction(() => {
      this.q.putKey.run(principal, wrapped, nowMs, principal);
      return this.q.getKey.get(principal) as Buffer | undefined;
    })();
  }
  async putPayload(requestId: string, kind: string, p: StoredPayload): Promise<boolean> {
    return this.q.putPayload.run(requestId, kind, p.principal, p.nonce, p.ciphertext, p.expiresAt ?? null, p.principal).changes === 1;
  }
  async getPayload(requestId: string, kind: string): Promise<StoredPayload | undefined> {
    return this.q.getPayload.get(requestId, kind) as StoredPayload | undefined;
  }
  async listKeys(): Promise<{ principal: string; wrapped: Buffer }[]> {
    return (this.q.listKeys.all() as { principal: string; wrapped_key: Buffer }[]).map((r) => ({ principal: r.principal, wrapped: r.wrapped_key }));
  }
  async replaceKey(principal: string, from: Buffer, to: Buffer): Promise<boolean> {
    return this.q.replaceKey.run(to, principal, from).changes === 1;
  }
  async countExpired(nowMs: number): Promise<number> {
    return this.q.countExpired.get(nowMs) as number;
  }
  /** Expired payloads are overwritten (secure_delete) and the WAL that still holds them is folded in and cut. */
  async deleteExpired(nowMs: number): Promise<number> {
    const n = this.q.delExpired.run(nowMs).changes;
    if (n > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }
  async holdings(principal: string): Promise<{ key: boolean; payloads: number }> {
    return { key: this.q.getKey.get(principal) !== undefined, payloads: this.q.countPayloads.get(principal) as number };
  }
  /**
   * Deletes the key and the payloads and records the erasure in one transaction, then flushes the WAL so the old
   * pages are gone (secure_delete overwrote them). Copies this cannot reach (backups) stay shredded: no key opens them.
   */
  async destroyKey(principal: string, nowMs: number): Promise<{ keyExisted: boolean; payloads: number }> {
    const r = this.db.transaction(() => {
      const keyExisted = this.q.delKey.run(principal).changes > 0;
      this.q.markErased.run(principal, nowMs);
      return { keyExisted, payloads: this.q.delPayloads.run(principal).changes };
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return r;
  }
  /** The database is the caller's (it opened it). */
  async close(): Promise<void> {}
}
