// Revoked JIT token ids, kept until the token would have expired anyway. Pluggable so a cluster
// can share revocations (Redis SET with PX, or a PostgreSQL table); the gateway needs only these two calls.
import { systemClock, type Clock } from '../../core/clock.js';

export interface RevocationStore {
  revoke(jti: string, untilMs: number): Promise<void>;
  /** True when any of the ids (a token and its ancestors) is revoked. */
  anyRevoked(jtis: readonly string[]): Promise<boolean>;
}

export class MemoryRevocationStore implements RevocationStore {
  private readonly until = new Map<string, number>();

  constructor(private readonly clock: Clock = systemClock) {}

  async revoke(jti: string, untilMs: number): Promise<void> {
    this.purge();
    this.until.set(jti, Math.max(untilMs, this.until.get(jti) ?? 0));
  }

  async anyRevoked(jtis: readonly string[]): Promise<boolean> {
    const now = this.clock.now();
    return jtis.some((j) => (this.until.get(j) ?? 0) > now);
  }

  private purge(): void {
    const now = this.clock.now();
    for (const [jti, until] of this.until) if (until <= now) this.until.delete(jti);
  }
}
