// Per-principal limits, in process (the embedded default): requests per second (token bucket), concurrent
// requests, and model tokens per minute (sliding window over the upstream's reported usage).
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';

export interface Limits {
  requestsPerSecond: number;
  burst: number;
  concurrency: number;
  tokensPerMinute: number;
}

interface State {
  tokens: number;
  refilledAt: number;
  inFlight: number;
  windowStart: number;
  windowTokens: number;
  prevWindowTokens: number;
}

export interface Lease {
  /** Charges model tokens (from the upstream's usage) and ends the concurrency slot. Idempotent. */
  release(modelTokens?: number): void;
}

/** In process (LocalLimiter) or shared by the replicas of a cluster (RedisLimiter). */
export interface Limiter {
  /** A slot and a request charged to `key`, or RateLimited (FailClosed when the limits cannot be checked). */
  acquire(key: string, limits: Limits): Lease | Promise<Lease>;
}

const MINUTE = 60_000;

export class LocalLimiter implements Limiter {
  private readonly states = new Map<string, State>();

  constructor(private readonly clock: Clock) {}

  private state(key: string, limits: Limits, now: number): State {
    let s = this.states.get(key);
    if (!s) {
      s = { tokens: limits.burst, refilledAt: now, inFlight: 0, windowStart: now - (now % MINUTE), windowTokens: 0, prevWindowTokens: 0 };
      this.states.set(key, s);
    }
    return s;
  }

  private rollWindow(s: State, now: number): void {
    const start = now - (now % MINUTE);
    if (start !== s.windowStart) {
      s.prevWindowTokens = start - s.windowStart === MINUTE ? s.windowTokens : 0;
      s.windowTokens = 0;
      s.windowStart = start;
    }
  }

  /** Tokens used in the sliding minute ending now (previous window weighted by its overlap). */
  private usedTokens(s: State, now: number): number {
    const overlap = 1 - (now - s.windowStart) / MINUTE;
    return s.windowTokens + s.prevWindowTokens * overlap;
  }

  acquire(key: string, limits: Limits): Lease {
    const now = this.clock.now();
    const s = this.state(key, limits, now);
    s.tokens = Math.min(limits.burst, s.tokens + ((now - s.refilledAt) / 1000) * limits.requestsPerSecond);
    s.refilledAt = now;
    if (s.tokens < 1) {
      throw new RateLimited('rate_limited', `request rate limit of ${limits.requestsPerSecond}/s exceeded`, (1 - s.tokens) / limits.requestsPerSecond);
    }
    if (s.inFlight >= limits.concurrency) {
      throw new RateLimited('concurrency_limited', `concurrent request limit of ${limits.concurrency} reached`, 1);
    }
    this.rollWindow(s, now);
    if (this.usedTokens(s, now) >= limits.tokensPerMinute) {
      throw new RateLimited('token_limited', `model token limit of ${limits.tokensPerMinute}/min reached`, (s.windowStart + MINUTE - now) / 1000);
    }
    s.tokens -= 1;
    s.inFlight += 1;
    let released = false;
    return {
      release: (modelTokens = 0) => {
        if (released) return;
        released = true;
        s.inFlight -= 1;
        if (modelTokens > 0) {
          this.rollWindow(s, this.clock.now());
          s.windowTokens += modelTokens;
        }
      },
    };
  }
}
