// Revoked JIT token ids, kept until the token would have expired anyway. Pluggable so a cluster
// can share revocations (Redis SET with PX, or a PostgreSQL table); the gateway needs only these two calls.
// Besides token ids (jti), the ids of what tokens derive from are revoked here too (`key:<id>`,
// `principal:<id>`, see JitTokenService.revokeDerived), so a revocation reaches every derived token.
import { systemClock, type Clock } from '../../core/clock.js';

export interface RevocationStore {
  /**
   * Revokes `id` from `fromMs` (default: at once) until `untilMs`. Revoking an id again keeps the
   * earliest start and the latest end: a revocation is never shortened or postponed.
   */
  revoke(id: string, untilMs: number, fromMs?: number): Promise<void>;
  /** True when any of the ids (a token, its ancestors, its sources) is revoked now. */
  anyRevoked(ids: readonly string[]): Promise<boolean>;
}

export interface RevocationSpan {
  from: number;
  until: number;
}

/** The merge rule every store follows: earliest start, latest end. */
export function mergeSpan(a: RevocationSpan | undefined, b: RevocationSpan): RevocationSpan {
  return a ? { from: Math.min(a.from, b.from), until: Math.max(a.until, b.until) } : b;
}

export class MemoryRevocationStore implements RevocationStore {
  protected readonly spans = new Map<string, RevocationSpan>();

  constructor(protected readonly clock: Clock = systemClock) {}

  async revoke(id: string, untilMs: number, fromMs?: number): Promise<void> {
    this.remember(id, { from: fromMs ?? 0, until: untilMs });
  }

  async anyRevoked(ids: readonly string[]): Promise<boolean> {
    const now = this.clock.now();
    return ids.some((id) => {
      const s = this.spans.get(id);
      return s !== undefined && s.from <= now && now < s.until;
    });
  }

  /** Merges a span into memory and returns what is now kept for `id`. */
  protected remember(id: string, span: RevocationSpan): RevocationSpan {
    this.purge();
    const merged = mergeSpan(this.spans.get(id), span);
    this.spans.set(id, merged);
    return merged;
  }

  private purge(): void {
    const now = this.clock.now();
    for (const [id, s] of this.spans) if (s.until <= now) this.spans.delete(id);
  }
}
