// Per-principal limits shared by every replica (cluster mode): the same three limits as LocalLimiter —
// requests per second (token bucket), concurrent requests, model tokens per minute (sliding window) —
// checked and charged in one Lua script, so replicas never race between reading and writing a counter.
// Time is Redis's own clock (TIME), so replicas with drifting clocks still share one bucket.
//
// A concurrency slot is a lease in a sorted set scored by its expiry: a replica that dies mid-request
// stops renewing its leases and their slots come back after `leaseTtlMs`, instead of leaking forever.
// Redis unreachable → 503 `limits_unavailable` (fail closed: an unchecked limit is no limit).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FailClosed, RateLimited } from '../core/errors.js';
import type { Lease, Limiter, Limits } from './limits.js';

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rps, burst, conc, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lease, ttl = ARGV[5], tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'wstart', 'wtok', 'ptok')
local tokens = tonumber(s[1]) or burst
local at = tonumber(s[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rps)
if tokens < 1 then return {'rate_limited', tostring((1 - tokens) / rps)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= conc then return {'concurrency_limited', '1'} end
local win = now - (now % 60000)
local wstart = tonumber(s[3]) or win
local wtok = tonumber(s[4]) or 0
local ptok = tonumber(s[5]) or 0
if wstart ~= win then
  if win - wstart == 60000 then ptok = wtok else ptok = 0 end
  wtok = 0
  wstart = win
end
if wtok + ptok * (1 - (now - win) / 60000) >= tpm then return {'token_limited', tostring((win + 60000 - now) / 1000)} end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', now, 'wstart', wstart, 'wtok', wtok, 'ptok', ptok)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[7]))
redis.call('ZADD', KEYS[2], now + ttl, lease)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return {'ok', '0'}
`;

const RELEASE = `
redis.call('ZREM', KEYS[2], ARGV[1])
local used = tonumber(ARGV[2])
if used > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local win = now - (now % 60000)
  local s = redis.call('HMGET', KEYS[1], 'wstart', 'wtok')
  local wstart = tonumber(s[1]) or win
  local wtok = tonumber(s[2]) or 0
  if wstart ~= win then
    local ptok = 0
    if win - wstart == 60000 then ptok = wtok end
    redis.call('HSET', KEYS[1], 'wstart', win, 'wtok', used, 'ptok', ptok)
  else
    redis.call('HSET', KEYS[1], 'wtok', wtok + used)
  end
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 1
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
`;

type Scripted = Redis & {
  wardenLimitAcquire(state: string, leases: string, ...args: (string | number)[]): Promise<[string, string]>;
  wardenLimitRelease(state: string, leases: string, ...args: (string | number)[]): Promise<number>;
  wardenLimitRenew(leases: string, id: string, ttlMs: number): Promise<number>;
};

export interface RedisLimiterOptions {
  /** Key prefix; one per deployment. Default `warden:limits:`. */
  prefix?: string;
  /** How long a slot outlives a replica that stopped renewing it. Default 30 s (renewed every third). */
  leaseTtlMs?: number;
  /** A release or renewal that fails is reported here (the lease then expires on its own). */
  onError?: (e: unknown) => void;
}

export class RedisLimiter implements Limiter {
  private readonly r: Scripted;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly onError: (e: unknown) => void;

  constructor(redis: Redis, opts: RedisLimiterOptions = {}) {
    this.prefix = opts.prefix ?? 'warden:limits:';
    this.ttl = opts.leaseTtlMs ?? 30_000;
    this.onError = opts.onError ?? (() => {});
    // defineCommand sends EVALSHA and falls back to EVAL once per connection (ioredis).
    redis.defineCommand('wardenLimitAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('wardenLimitRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('wardenLimitRenew', { numberOfKeys: 1, lua: RENEW });
    this.r = redis as Scripted;
  }

  async acquire(key: string, limits: Limits): Promise<Lease> {
    const state = `${this.prefix}{${key}}:state`;
    const leases = `${this.prefix}{${key}}:leases`;
    const id = randomBytes(9).toString('base64url');
    // Idle state can go once the bucket would have refilled and both token windows have passed.
    const stateTtl = Math.ceil(Math.max(120_000, (limits.burst / Math.max(limits.requestsPerSecond, 1e-9)) * 1000));
    let reply: [string, string];
    try {
      reply = await this.r.wardenLimitAcquire(state, leases, limits.requestsPerSecond, limits.burst, limits.concurrency, limits.tokensPerMinute, id, this.ttl, stateTtl);
    } catch {
      throw new FailClosed('limits_unavailable', 'the shared rate-limit store cannot be reached');
    }
    const [verdict, retry] = reply;
    if (verdict === 'rate_limited') throw new RateLimited('rate_limited', `request rate limit of ${limits.requestsPerSecond}/s exceeded`, Number(retry));
    if (verdict === 'concurrency_limited') throw new RateLimited('concurrency_limited', `concurrent request limit of ${limits.concurrency} reached`, Number(retry));
    if (verdict === 'token_limited') throw new RateLimited('token_limited', `model token limit of ${limits.tokensPerMinute}/min reached`, Number(retry));
    if (verdict !== 'ok') throw new FailClosed('limits_unavailable', `unexpected answer from the rate-limit script: ${verdict}`);
    // Keep the slot while the request runs (a long stream outlives one TTL).
    const renew = setInterval(() => {
      this.r.wardenLimitRenew(leases, id, this.ttl).catch(this.onError);
    }, Math.max(1000, Math.floor(this.ttl / 3)));
    renew.unref();
    let released = false;
    return {
      release: (modelTokens = 0) => {
        if (released) return;
        released = true;
        clearInterval(renew);
        this.r.wardenLimitRelease(state, leases, id, Math.max(0, Math.round(modelTokens)), stateTtl).catch(this.onError);
      },
    };
  }
}
