// Sign-ins under way, kept in the console's store (SQLite in the data dir, or PostgreSQL with store.postgres)
// rather than in one process: behind a load balancer the IdP's answer may reach another replica than the one
// that sent the person there. Each entry is taken once (a delete that returns the row: of two replicas racing,
// one wins) and lives PENDING_MS; beyond `max` entries under way, a new sign-in is refused, not an old one evicted.
import { RateLimited } from '../core/errors.js';
import type { ConsoleSessionStore } from '../store/console-sessions-store.js';

export const PENDING_MS = 10 * 60_000;
/** Sign-ins under way at once per kind: starting one needs no credential, so the table is bounded. */
export const MAX_PENDING = 10_000;

export class PendingSignIns {
  constructor(
    private readonly store: ConsoleSessionStore,
    readonly now: () => number,
    private readonly max: number = MAX_PENDING,
  ) {}

  /**
   * Records `value` under kind/key: false (nothing written) when the key is already taken; refused with 429
   * `busyCode` when `max` of this kind are under way.
   */
  async add(kind: string, key: string, value: unknown, busyCode: string): Promise<boolean> {
    const now = this.now();
    await this.store.deletePendingSignInsBefore(now - PENDING_MS);
    if ((await this.store.countPendingSignIns(kind, now - PENDING_MS)) >= this.max) throw new RateLimited(busyCode, 'too many sign-ins under way: try again in a minute', 60);
    return this.store.putPendingSignIn({ kind, key, value: JSON.stringify(value), createdAt: now });
  }

  /** The entry, removed; null when unknown, already taken, or expired. */
  async take<T>(kind: string, key: string): Promise<T | null> {
    const r = await this.store.takePendingSignIn(kind, key);
    return r && this.now() - r.createdAt <= PENDING_MS ? (JSON.parse(r.value) as T) : null;
  }

  /** The entry, left in place; null when unknown or expired. */
  async get<T>(kind: string, key: string): Promise<T | null> {
    const r = await this.store.getPendingSignIn(kind, key);
    return r && this.now() - r.createdAt <= PENDING_MS ? (JSON.parse(r.value) as T) : null;
  }
}
