// The monitor's drift profiles in Redis (used when `store.redis` is configured without `store.postgres`): one hash,
// `<prefix>drift`, holding each profile's version (`v:<key>`) and record (`r:<key>`), written by a Lua
// check-and-set so a merge, an approval or a drift's latch is taken only on top of the version it was computed
// from (src/monitor/drift-shared.ts). No expiry: an approved baseline is an operator's decision, kept until
// relearnt (a Redis flush forgets it: the deployments learn again and wait for approval as configured).
import type { Redis } from 'ioredis';
import type { DriftProfileStore } from '../monitor/drift-shared.js';

// KEYS[1] the hash. ARGV: profile key, expected version ('0': absent), record. 1: written, 0: the version moved.
const CHECK_AND_SET = `
local v = redis.call('HGET', KEYS[1], 'v:' .. ARGV[1]) or '0'
if v ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], tostring(tonumber(v) + 1), 'r:' .. ARGV[1], ARGV[3])
return 1
`;

export class RedisDriftProfileStore implements DriftProfileStore {
  private readonly hash: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.hash = `${prefix}drift`;
  }

  async get(key: string): Promise<{ version: number; record: string } | null> {
    const [v, r] = await this.redis.hmget(this.hash, `v:${key}`, `r:${key}`);
    return v && r !== null && r !== undefined ? { version: Number(v), record: r } : null;
  }

  async put(key: string, expected: number, record: string): Promise<boolean> {
    return (await this.redis.eval(CHECK_AND_SET, 1, this.hash, key, String(expected), record)) === 1;
  }

  async list(): Promise<{ key: string; record: string }[]> {
    const all = await this.redis.hgetall(this.hash);
    return Object.keys(all)
      .filter((f) => f.startsWith('r:'))
      .sort()
      .map((f) => ({ key: f.slice(2), record: all[f]! }));
  }
}
