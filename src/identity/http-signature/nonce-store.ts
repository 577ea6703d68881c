// Replay protection for signed requests: a nonce may be used once per key within the freshness
// window. The contract is one atomic "record if unseen" so that a shared backend (Redis
// `SET key 1 NX PX ttl`) gives the same guarantee across gateway replicas.
import { systemClock, type Clock } from '../../core/clock.js';
import { FailClosed } from '../../core/errors.js';

export interface NonceStore {
  /** Records `key` for `ttlMs`; resolves false when it was already recorded and not yet expired. */
  checkAndRecord(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * In-process store with bounded memory. Entries leave only by expiring — never by eviction, which
 * would reopen the replay window for the evicted nonce. When full of live nonces it refuses new
 * ones (503): an outage beats a replay. Filling it takes validly signed requests, i.e. a registered
 * client, which the per-principal rate limits bound.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly expiries = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000, private readonly clock: Clock = systemClock) {}

  get size(): number {
    return this.expiries.size;
  }

  async checkAndRecord(key: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    this.purge(now);
    const until = this.expiries.get(key);
    if (until !== undefined && until > now) return false;
    if (this.expiries.size >= this.maxEntries) {
      throw new FailClosed('replay_cache_full', 'the signed-request replay cache is full; try again shortly');
    }
    this.expiries.delete(key); // re-insert at the tail so insertion order stays expiry order
    this.expiries.set(key, now + ttlMs);
    return true;
  }

  /** Map iteration is insertion order; with one TTL per verifier that is expiry order too, so
   * purging stops at the first live entry. (A shorter TTL behind a longer one just waits a bit.) */
  private purge(now: number): void {
    for (const [key, until] of this.expiries) {
      if (until > now) break;
      this.expiries.delete(key);
    }
  }
}
