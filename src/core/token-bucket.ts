// A token bucket on the caller's clock: `rate` tokens per second up to `burst`. take() spends one token and
// returns 0, or returns how many seconds until one is available (nothing spent).
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError('a token bucket needs rate > 0 and burst >= 1');
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return (1 - this.tokens) / this.rate;
    this.tokens -= 1;
    return 0;
  }

  /** Seconds until a token is available (0: one is), spending nothing. */
  peek(now: number): number {
    const tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.at) / 1000) * this.rate);
    return tokens < 1 ? (1 - tokens) / this.rate : 0;
  }
}
