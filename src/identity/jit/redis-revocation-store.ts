// Cluster-wide JIT token revocation: one key per revoked id holding the time the revocation starts, with a
// TTL until it ends, checked with a single MGET for a token, its ancestors and its sources. Unreachable
// Redis is a 503, never "not revoked".
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../core/clock.js';
import { FailClosed } from '../../core/errors.js';
import type { RevocationStore } from './revocation-store.js';

// Earliest start, latest end (mergeSpan), atomically: a revocation is never shortened or postponed.
const REVOKE = `
local from = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur then
  local f = tonumber(cur)
  if f and f < from then from = f end
  local left = redis.call('PTTL', KEYS[1])
  if left > ttl then ttl = left end
end
redis.call('SET', KEYS[1], tostring(from), 'PX', ttl)
return 1`;

export class RedisRevocationStore implements RevocationStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'warden:revoked:', private readonly clock: Clock = systemClock) {}

  async revoke(id: string, untilMs: number, fromMs = 0): Promise<void> {
    const ttl = Math.ceil(untilMs - this.clock.now());
    if (ttl <= 0) return; // already expired: nothing left to revoke
    try {
      await this.redis.eval(REVOKE, 1, this.prefix + id, String(fromMs), String(ttl));
    } catch {
      throw new FailClosed('revocation_store_unavailable', 'the revocation store cannot be reached');
    }
  }

  async anyRevoked(ids: readonly string[]): Promise<boolean> {
    if (ids.length === 0) return false;
    let replies: (string | null)[];
    try {
      replies = await this.redis.mget(...ids.map((j) => this.prefix + j));
    } catch {
      throw new FailClosed('revocation_store_unavailable', 'the revocation store cannot be reached');
    }
    const now = this.clock.now();
    // A value that is not a start time (an entry written by an older Warden) counts as revoked.
    return replies.some((r) => r !== null && !(Number(r) > now));
  }
}
