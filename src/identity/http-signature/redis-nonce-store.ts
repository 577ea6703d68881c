// Cluster-wide replay protection: one atomic `SET key 1 NX PX ttl` per signed request, so a nonce
// accepted by one gateway replica is refused by all the others. Redis errors propagate as a 503:
// without the replay check the request cannot be accepted.
import type { Redis } from 'ioredis';
import { FailClosed } from '../../core/errors.js';
import type { NonceStore } from './nonce-store.js';

export class RedisNonceStore implements NonceStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'warden:nonce:') {}

  async checkAndRecord(key: string, ttlMs: number): Promise<boolean> {
    let reply: string | null;
    try {
      reply = await this.redis.set(this.prefix + key, '1', 'PX', Math.ceil(ttlMs), 'NX');
    } catch {
      throw new FailClosed('replay_cache_unavailable', 'the signed-request replay cache cannot be reached');
    }
    return reply === 'OK';
  }
}
