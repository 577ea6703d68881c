// Each principal's share of an upstream's connection pool. A stream holds one of the pool's connections for as
// long as it runs, so a few principals with long streams could otherwise take every connection and queue
// everyone else behind them. Two rules, per upstream, in process (the pool is per process too):
//   - a principal holds at most `perPrincipal` of the pool's connections (a fraction, at least one);
//   - a principal that already has a request in flight there never takes one of the last `reserve` free
//     connections: those stay for principals with none, so a newcomer is served while the pool has room.
// A refusal is a 429 `upstream_share_exceeded` with Retry-After, before the ledger's opening entry or any upstream
// byte; a slot is given back exactly once, on completion, abort or error (UpstreamSlot.release is idempotent).
import { RateLimited } from '../core/errors.js';

export interface UpstreamShareLimits {
  /** Fraction (0, 1] of an upstream's connections one principal may hold; default 0.5. */
  perPrincipal: number;
  /** Fraction [0, 1) of an upstream's connections kept for principals with nothing in flight there; default 0.125. */
  reserve: number;
}

export const DEFAULT_UPSTREAM_SHARE: UpstreamShareLimits = { perPrincipal: 0.5, reserve: 0.125 };

export class UpstreamShareExceeded extends RateLimited {
  constructor(upstream: string, why: string) {
    super('upstream_share_exceeded', `this principal's share of upstream ${upstream} is in use (${why}); retry when one of its requests has finished`, 1);
  }
}

export interface UpstreamSlot {
  /** Gives the slot back. Idempotent: a second call does nothing. */
  release(): void;
}

interface PoolState {
  inFlight: number;
  byPrincipal: Map<string, number>;
}

export class UpstreamShare {
  private readonly pools = new Map<string, PoolState>();

  constructor(private readonly limits: UpstreamShareLimits = DEFAULT_UPSTREAM_SHARE) {
    if (!(limits.perPrincipal > 0 && limits.perPrincipal <= 1)) throw new RangeError('upstream share: perPrincipal must be in (0, 1]');
    if (!(limits.reserve >= 0 && limits.reserve < 1)) throw new RangeError('upstream share: reserve must be in [0, 1)');
  }

  /** How many of `connections` one principal may hold, and how many stay free for principals with none. */
  static sizes(connections: number, limits: UpstreamShareLimits): { perPrincipal: number; reserve: number } {
    return { perPrincipal: Math.max(1, Math.floor(connections * limits.perPrincipal)), reserve: Math.ceil(connections * limits.reserve) };
  }

  /** Takes a slot of `upstream` (a pool of `connections`) for `principal`, or throws UpstreamShareExceeded. */
  acquire(upstream: { name: string; connections: number }, principal: string): UpstreamSlot {
    let pool = this.pools.get(upstream.name);
    if (!pool) {
      pool = { inFlight: 0, byPrincipal: new Map() };
      this.pools.set(upstream.name, pool);
    }
    const { perPrincipal, reserve } = UpstreamShare.sizes(upstream.connections, this.limits);
    const held = pool.byPrincipal.get(principal) ?? 0;
    if (held >= perPrincipal) throw new UpstreamShareExceeded(upstream.name, `${held} of at most ${perPrincipal} connections`);
    if (held > 0 && upstream.connections - pool.inFlight <= reserve) throw new UpstreamShareExceeded(upstream.name, `the last ${reserve} free connections are kept for other principals`);
    pool.inFlight += 1;
    pool.byPrincipal.set(principal, held + 1);
    const state = pool;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        state.inFlight -= 1;
        const n = (state.byPrincipal.get(principal) ?? 1) - 1;
        if (n === 0) state.byPrincipal.delete(principal);
        else state.byPrincipal.set(principal, n);
      },
    };
  }

  /** In-flight requests per upstream and principal (metrics, and tests that check nothing leaked). */
  inFlight(upstream: string, principal?: string): number {
    const pool = this.pools.get(upstream);
    if (!pool) return 0;
    return principal === undefined ? pool.inFlight : pool.byPrincipal.get(principal) ?? 0;
  }
}
