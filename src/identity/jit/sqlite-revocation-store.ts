// The embedded default: revocations persisted in the data dir's SQLite (warden.db), so `warden tokens
// revoke` and a revoked key's cascade survive a restart. One process owns the file in embedded mode, so
// the rows are loaded once and checks are answered from memory; every revocation is written through
// (synchronously, before revoke() resolves) and a write that fails is an error, never a silent "revoked".
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { FailClosed } from '../../core/errors.js';
import type { SqliteDb } from '../../store/sqlite.js';
import { MemoryRevocationStore } from './revocation-store.js';

export class SqliteRevocationStore extends MemoryRevocationStore {
  private readonly upsert;
  private readonly purgeExpired;

  constructor(db: SqliteDb, clock: Clock = systemClock) {
    super(clock);
    db.exec(`CREATE TABLE IF NOT EXISTS jit_revocations (
      id TEXT PRIMARY KEY,
      from_ms INTEGER NOT NULL,
      until_ms INTEGER NOT NULL
    )`);
    this.upsert = db.prepare('INSERT INTO jit_revocations (id, from_ms, until_ms) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET from_ms = excluded.from_ms, until_ms = excluded.until_ms');
    this.purgeExpired = db.prepare('DELETE FROM jit_revocations WHERE until_ms <= ?');
    const now = clock.now();
    this.purgeExpired.run(now);
    for (const r of db.prepare('SELECT id, from_ms, until_ms FROM jit_revocations').all() as { id: string; from_ms: number; until_ms: number }[]) {
      this.spans.set(r.id, { from: r.from_ms, until: r.until_ms });
    }
  }

  override async revoke(id: string, untilMs: number, fromMs?: number): Promise<void> {
    const now = this.clock.now();
    if (untilMs <= now) return; // already over: nothing left to revoke
    const kept = this.remember(id, { from: fromMs ?? 0, until: untilMs });
    try {
      this.upsert.run(id, kept.from, kept.until);
      this.purgeExpired.run(now);
    } catch (e) {
      // Memory already refuses the token here; the caller learns the revocation may not survive a restart.
      throw new FailClosed('revocation_store_unavailable', `the revocation could not be persisted: ${(e as Error).message}`);
    }
  }
}
