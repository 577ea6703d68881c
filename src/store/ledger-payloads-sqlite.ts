// Storage for retained payloads (encrypted) and their per-principal data keys, kept apart from the
// Merkle tree so that erasing a principal never touches the log. secure_delete overwrites freed pages.
import type { SqliteDb } from './sqlite.js';

export interface StoredPayload {
  principal: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

export class SqlitePayloadStore {
  private readonly q;

  constructor(private readonly db: SqliteDb) {
    db.pragma('secure_delete = ON');
    db.exec(`
      CREATE TABLE IF NOT EXISTS ledger_payload_keys (principal TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, created_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ledger_payload_erasures (principal TEXT PRIMARY KEY, erased_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ledger_payloads (request_id TEXT NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, PRIMARY KEY (request_id, kind)) WITHOUT ROWID;`);
    this.q = {
      getKey: db.prepare('SELECT wrapped_key FROM ledger_payload_keys WHERE principal = ?').pluck(),
      putKey: db.prepare('INSERT INTO ledger_payload_keys (principal, wrapped_key, created_ms) VALUES (?, ?, ?)'),
      delKey: db.prepare('DELETE FROM ledger_payload_keys WHERE principal = ?'),
      erased: db.prepare('SELECT erased_ms FROM ledger_payload_erasures WHERE principal = ?').pluck(),
      markErased: db.prepare('INSERT INTO ledger_payload_erasures (principal, erased_ms) VALUES (?, ?) ON CONFLICT (principal) DO UPDATE SET erased_ms = excluded.erased_ms'),
      putPayload: db.prepare('INSERT INTO ledger_payloads (request_id, kind, principal, nonce, ciphertext) VALUES (?, ?, ?, ?, ?)'),
      getPayload: db.prepare('SELECT principal, nonce, ciphertext FROM ledger_payloads WHERE request_id = ? AND kind = ?'),
      countPayloads: db.prepare('SELECT count(*) FROM ledger_payloads WHERE principal = ?').pluck(),
      delPayloads: db.prepare('DELETE FROM ledger_payloads WHERE principal = ?'),
      listKeys: db.prepare('SELECT principal, wrapped_key FROM ledger_payload_keys ORDER BY principal'),
      replaceKey: db.prepare('UPDATE ledger_payload_keys SET wrapped_key = ? WHERE principal = ? AND wrapped_key = ?'),
    };
  }

  wrappedKey(principal: string): Buffer | undefined {
    return this.q.getKey.get(principal) as Buffer | undefined;
  }
  erasedAt(principal: string): number | undefined {
    return this.q.erased.get(principal) as number | undefined;
  }
  putKey(principal: string, wrapped: Buffer, nowMs: number): void {
    this.q.putKey.run(principal, wrapped, nowMs);
  }
  putPayload(requestId: string, kind: string, p: StoredPayload): void {
    this.q.putPayload.run(requestId, kind, p.principal, p.nonce, p.ciphertext);
  }
  getPayload(requestId: string, kind: string): StoredPayload | undefined {
    return this.q.getPayload.get(requestId, kind) as StoredPayload | undefined;
  }
  /** Every principal's wrapped data key (for `warden data migrate|rewrap`). */
  listKeys(): { principal: string; wrapped: Buffer }[] {
    return (this.q.listKeys.all() as { principal: string; wrapped_key: Buffer }[]).map((r) => ({ principal: r.principal, wrapped: r.wrapped_key }));
  }
  /** Swaps a wrapped key for its rewrapped form; false if it changed (or was erased) meanwhile. */
  replaceKey(principal: string, from: Buffer, to: Buffer): boolean {
    return this.q.replaceKey.run(to, principal, from).changes === 1;
  }
  /** What an erasure of `principal` would remove now (recorded in the ledger before it happens). */
  holdings(principal: string): { key: boolean; payloads: number } {
    return { key: this.q.getKey.get(principal) !== undefined, payloads: this.q.countPayloads.get(principal) as number };
  }
  /**
   * Deletes the key and the payloads and records the erasure in one transaction, then flushes the WAL so the old
   * pages are gone (secure_delete overwrote them). Copies this cannot reach (backups) stay shredded: no key opens them.
   */
  destroyKey(principal: string, nowMs: number): { keyExisted: boolean; payloads: number } {
    const r = this.db.transaction(() => {
      const keyExisted = this.q.delKey.run(principal).changes > 0;
      this.q.markErased.run(principal, nowMs);
      return { keyExisted, payloads: this.q.delPayloads.run(principal).changes };
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return r;
  }
}
