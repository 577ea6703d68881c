// Cluster-wide JIT token revocation: one key per revoked jti with a TTL until the token's expiry,
// checked with a single MGET for a token and its ancestors. Unreachable Redis is a 503, never "not revoked".
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../core/clock.js';
import { FailClosed } from '../../core/errors.js';
import type { RevocationStore } from './revocation-store.js';

export class RedisRevocationStore implements RevocationStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'warden:revoked:', private readonly clock: Clock = systemClock) {}

  async revoke(jti: string, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - this.clock.now());
    if (ttl <= 0) return; // already expired: nothing left to revoke
    try {
      await this.redis.set(this.prefix + jti, '1', 'PX', ttl);
    } catch {
      throw new FailClosed('revocation_store_unavailable', 'the revocation store cannot be reached');
    }
  }

  async anyRevoked(jtis: readonly string[]): Promise<boolean> {
    if (jtis.length === 0) return false;
    let replies: (string | null)[];
    try {
      replies = await this.redis.mget(...jtis.map((j) => this.prefix + j));
    } catch {
      throw new FailClosed('revocation_store_unavailable', 'the revocation store cannot be reached');
    }
    return replies.some((r) => r !== null);
  }
}
