// The per-source token bucket of the attestation endpoints (src/network/source-limit.ts), shared by every replica
// through Redis: one bucket per source address whichever replica the request lands on, taken in one Lua script on
// Redis's clock (TIME), so replicas neither race between reading and writing it nor disagree about time. A bucket
// expires once it would have refilled, so a flood of addresses costs Redis memory for that long only.
// Redis unreachable → 503 `limits_unavailable` (fail closed: these endpoints answer before any credential).
// The same bucket, read without spending (`peek`), is the failed-attempt budget of unauthenticated refusals
// (src/gateway/refusals.ts): every request asks whether its source may still fail, only failures spend.
import type { Redis } from 'ioredis';
import { FailClosed } from '../core/errors.js';
import { checkSourceRate, sourceLimited, type SourceLimiter, type SourceRate } from './source-limit.js';

const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rps, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1]) or burst
local at = tonumber(s[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rps)
if tokens < 1 then return tostring((1 - tokens) / rps) end
if ARGV[4] == 'peek' then return '0' end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return '0'
`;

type Scripted = Redis & { wardenSourceTake(key: string, rps: number, burst: number, ttlMs: number, mode: 'take' | 'peek'): Promise<string> };

/**
 * A token bucket in Redis under `key` (`rps` tokens per second up to `burst`, on Redis's clock): seconds until a
 * token is available, 0 when one was (and, with `take`, spent). Idle for `ttlMs`, the bucket is forgotten (full).
 * Throws whatever Redis throws, and on an answer that is not a number: the caller fails closed.
 */
export async function redisBucketWait(redis: Redis, key: string, rps: number, burst: number, ttlMs: number, mode: 'take' | 'peek'): Promise<number> {
  const r = redis as Scripted;
  if (typeof r.wardenSourceTake !== 'function') redis.defineCommand('wardenSourceTake', { numberOfKeys: 1, lua: TAKE });
  const wait = Number(await r.wardenSourceTake(key, rps, burst, ttlMs, mode));
  if (!Number.isFinite(wait)) throw new Error('unexpected answer from the rate-limit script');
  return wait;
}

export class RedisSourceRateLimiter implements SourceLimiter {
  private readonly ttlMs: number;

  /** `prefix` names this deployment and endpoint group, e.g. `warden:attestation:source:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly rate: SourceRate,
  ) {
    checkSourceRate(rate);
    // A bucket idle this long is full again: forgetting it changes nothing.
    this.ttlMs = Math.max(1000, Math.ceil((rate.burst / rate.requestsPerSecond) * 1000));
  }

  async take(source: string): Promise<void> {
    const wait = await this.wait(source, 'take');
    if (wait > 0) throw sourceLimited(this.rate, wait);
  }

  /**
   * Seconds until `source` has a token (0: it has one, and `take` spent it; `peek` spends nothing), as
   * TokenBucket.take and .peek answer them; 503 `limits_unavailable` when Redis cannot say.
   */
  async wait(source: string, mode: 'take' | 'peek'): Promise<number> {
    try {
      return await redisBucketWait(this.redis, `${this.prefix}${source}`, this.rate.requestsPerSecond, this.rate.burst, this.ttlMs, mode);
    } catch {
      throw new FailClosed('limits_unavailable', 'the shared rate-limit store cannot be reached');
    }
  }
}
