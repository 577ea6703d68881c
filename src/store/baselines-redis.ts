// The monitor's shared baselines in Redis (used when `store.redis` is configured without `store.postgres`): one
// hash per principal, `<prefix>b:<principal>` = {v: version, s: record}, written by a Lua check-and-set so a
// merge is taken only on top of the version it was computed from (src/monitor/baselines-shared.ts). Kept
// 90 days after the last write: a principal unseen that long starts learning again.
import type { Redis } from 'ioredis';
import type { SharedBaselineStore } from '../monitor/baselines-shared.js';

const TTL_MS = 90 * 86_400_000;

// KEYS[1] the record. ARGV: expected version ('0': absent), record, ttl. 1: written, 0: the version moved.
const CHECK_AND_SET = `
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(v) + 1), 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

export class RedisBaselineStore implements SharedBaselineStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(principal: string): string {
    return `${this.prefix}b:${principal}`;
  }

  async get(principal: string): Promise<{ version: number; record: string } | null> {
    const [v, s] = await this.redis.hmget(this.key(principal), 'v', 's');
    return v && s ? { version: Number(v), record: s } : null;
  }

  async put(principal: string, expected: number, record: string): Promise<boolean> {
    return (await this.redis.eval(CHECK_AND_SET, 1, this.key(principal), String(expected), record, TTL_MS)) === 1;
  }

  async delete(principal: string): Promise<boolean> {
    return (await this.redis.del(this.key(principal))) > 0;
  }
}
