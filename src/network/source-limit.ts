// A token bucket per source address for endpoints that answer before any credential is checked (the
// attestation challenge and key release: the evidence is the credential). The table is bounded: when it is
// full the least recently seen source is forgotten, so a flood of addresses costs memory once, not forever.
// With store.redis the buckets are shared by every replica instead (RedisSourceRateLimiter,
// src/network/redis-source-limit.ts): N replicas then allow the configured rate once, not N times.
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';
import { TokenBucket } from '../core/token-bucket.js';

export interface SourceRate {
  requestsPerSecond: number;
  burst: number;
}

/** What the per-source endpoints ask: one token for this source, or a refusal (429, or 503 when it cannot be told). */
export interface SourceLimiter {
  take(source: string): Promise<void>;
}

export class SourceRateLimiter implements SourceLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly clock: Clock,
    private readonly rate: SourceRate,
    private readonly maxSources = 10_000,
  ) {
    checkSourceRate(rate);
  }

  /** Takes one token for `source`, or throws 429 rate_limited with Retry-After. */
  async take(source: string): Promise<void> {
    const wait = this.wait(source, 'take');
    if (wait > 0) throw sourceLimited(this.rate, wait);
  }

  /** Seconds until `source` has a token (0: it has one, and `take` spent it; `peek` spends nothing), as TokenBucket answers. */
  wait(source: string, mode: 'take' | 'peek'): number {
    const now = this.clock.now();
    let b = this.buckets.get(source);
    if (mode === 'peek') return b?.peek(now) ?? 0;
    if (b) this.buckets.delete(source); // re-inserted below: Map order is recency order
    else {
      b = new TokenBucket(this.rate.requestsPerSecond, this.rate.burst, now);
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(source, b);
    return b.take(now);
  }

  get size(): number {
    return this.buckets.size;
  }
}

export function checkSourceRate(rate: SourceRate): SourceRate {
  if (!(rate.requestsPerSecond > 0) || !(rate.burst >= 1)) throw new Error('a source rate needs requestsPerSecond > 0 and burst >= 1');
  return rate;
}

export function sourceLimited(rate: SourceRate, waitS: number): RateLimited {
  return new RateLimited('rate_limited', `at most ${rate.requestsPerSecond} request(s)/s from one source address on this endpoint`, waitS);
}
