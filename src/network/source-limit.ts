// A token bucket per source address for endpoints that answer before any credential is checked (the
// attestation challenge and key release: the evidence is the credential). The table is bounded: when it is
// full the least recently seen source is forgotten, so a flood of addresses costs memory once, not forever.
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';

export interface SourceRate {
  requestsPerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    private readonly rate: SourceRate,
    private readonly maxSources = 10_000,
  ) {
    if (!(rate.requestsPerSecond > 0) || !(rate.burst >= 1)) throw new Error('a source rate needs requestsPerSecond > 0 and burst >= 1');
  }

  /** Takes one token for `source`, or throws 429 rate_limited with Retry-After. */
  take(source: string): void {
    const now = this.clock.now();
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source); // re-inserted below: Map order is recency order
      b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.requestsPerSecond);
      b.at = now;
    } else {
      b = { tokens: this.rate.burst, at: now };
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) {
      throw new RateLimited('rate_limited', `at most ${this.rate.requestsPerSecond} request(s)/s from one source address on this endpoint`, (1 - b.tokens) / this.rate.requestsPerSecond);
    }
    b.tokens -= 1;
  }

  get size(): number {
    return this.buckets.size;
  }
}
