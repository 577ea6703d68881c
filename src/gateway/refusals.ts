// Refusals of requests that never had a principal (no or bad credential, unknown route, malformed path):
// one client with a bad key could otherwise make the gateway write and fsync an entry per request (21,771
// in 10 s in an independent test). They are still all accounted for, per source address and window: one
// ledger entry carries the count, the codes, the first and last request ids and a SHA-256 hash chain over
// every refused request (id, code, status), so an auditor can prove how many were refused and check a
// client-supplied list of request ids against the chain (docs/ledger.md, "Refused unauthenticated requests").
// The same table spends a per-source budget: a source whose failed attempts exceed it is refused before any
// other work (429), so credential guessing and floods cost the gateway almost nothing. With store.redis that budget
// is one bucket per source in Redis shared by every replica (RedisFailureBudget): N replicas behind a load
// balancer allow the configured failures once, not N times; Redis unreachable refuses (503 `limits_unavailable`).
// The window entries stay per replica: each replica accounts in its ledger entries for what it refused itself.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditSink } from '../core/audit-sink.js';
import { auditEvent } from '../core/audit-event.js';
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import type { RedisSourceRateLimiter } from '../network/redis-source-limit.js';
import { SourceRateLimiter } from '../network/source-limit.js';

export interface RefusalOptions {
  /** Failed (unauthenticated) requests one source may make, per second and in a burst. */
  perSource: { requestsPerSecond: number; burst: number };
  /** Length of an accounting window; one entry per source and window. */
  windowMs: number;
  /** Sources tracked at once; past this the rest share one `other` row (memory stays bounded). */
  maxSources?: number;
}

interface Tally {
  count: number;
  codes: Map<string, number>;
  /** Operator-facing causes (`jwt_claim_aud`, `key_revoked`, …), bounded to MAX_REASONS distinct values. */
  reasons: Map<string, number>;
  firstAt: number;
  lastAt: number;
  firstRequestId: string;
  lastRequestId: string;
  chain: Buffer;
}

/** The per-source budget of failed attempts. Both answers are in seconds until the source may fail again (0: now). */
export interface FailureBudget {
  /** Spends nothing; throws (503) when it cannot be told. */
  peek(source: string): number | Promise<number>;
  /** Spends one failure of `source`. */
  take(source: string): number | Promise<number>;
}

/** One replica's budget: the bounded in-process table of token buckets the attestation endpoints use too. */
class LocalFailureBudget implements FailureBudget {
  constructor(private readonly buckets: SourceRateLimiter) {}

  peek(source: string): number {
    return this.buckets.wait(source, 'peek');
  }

  take(source: string): number {
    return this.buckets.wait(source, 'take');
  }
}

/** Sources a replica remembers as out of budget (the oldest is forgotten first: Redis still knows). */
const MAX_BLOCKED = 10_000;

/**
 * Every replica's budget: the bucket of each source lives in Redis (RedisSourceRateLimiter, `peek` on every
 * request, `take` on every failure). A source known to be out of budget is refused from memory until its next
 * token is due, since tokens only come back with time: a flood from a blocked address does not reach Redis.
 */
export class RedisFailureBudget implements FailureBudget {
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly shared: RedisSourceRateLimiter,
    private readonly clock: Clock,
  ) {}

  async peek(source: string): Promise<number> {
    const until = this.blockedUntil.get(source);
    const now = this.clock.now();
    if (until !== undefined) {
      if (until > now) return (until - now) / 1000;
      this.blockedUntil.delete(source);
    }
    return this.remember(source, await this.shared.wait(source, 'peek'));
  }

  async take(source: string): Promise<number> {
    return this.remember(source, await this.shared.wait(source, 'take'));
  }

  private remember(source: string, waitS: number): number {
    if (waitS > 0) {
      if (this.blockedUntil.size >= MAX_BLOCKED) this.blockedUntil.delete(this.blockedUntil.keys().next().value!);
      this.blockedUntil.set(source, this.clock.now() + waitS * 1000);
    }
    return waitS;
  }
}

const OTHER = 'other';
/** Distinct reasons kept per window entry: reasons come from a closed set in code, the cap only guards against a bug. */
const MAX_REASONS = 32;

export class UnauthenticatedRefusals {
  private readonly budget: FailureBudget;
  private tallies = new Map<string, Tally>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxSources: number;

  constructor(
    private readonly o: RefusalOptions,
    private readonly d: { clock: Clock; audit: AuditSink; log: Logger; budget?: FailureBudget },
  ) {
    this.maxSources = o.maxSources ?? 10_000;
    this.budget = d.budget ?? new LocalFailureBudget(new SourceRateLimiter(d.clock, o.perSource, this.maxSources));
    this.timer = setInterval(() => void this.flush(), o.windowMs);
    this.timer.unref();
  }

  /**
   * Before identity: a source that spent its failed-attempt budget is turned away (429, Retry-After); a shared
   * budget that cannot be read refuses too (503). Synchronous when the budget is in process.
   */
  admit(source: string): void | Promise<void> {
    const wait = this.budget.peek(source);
    if (typeof wait === 'number') return exhausted(wait);
    return wait.then(exhausted);
  }

  /**
   * Accounts for one refused request that had no principal, and spends one unit of its source's budget (a
   * promise to await before answering when the budget is shared, so the next request sees the spend).
   */
  record(source: string, requestId: string, code: string, status: number, reason?: string): void | Promise<void> {
    const now = this.d.clock.now();
    const spent = this.budget.take(source);
    const key = this.tallies.has(source) || this.tallies.size < this.maxSources ? source : OTHER;
    let t = this.tallies.get(key);
    if (!t) {
      t = { count: 0, codes: new Map(), reasons: new Map(), firstAt: now, lastAt: now, firstRequestId: requestId, lastRequestId: requestId, chain: Buffer.alloc(32) };
      this.tallies.set(key, t);
    }
    t.count++;
    t.codes.set(code, (t.codes.get(code) ?? 0) + 1);
    if (reason !== undefined && (t.reasons.has(reason) || t.reasons.size < MAX_REASONS)) t.reasons.set(reason, (t.reasons.get(reason) ?? 0) + 1);
    t.lastAt = now;
    t.lastRequestId = requestId;
    // chain_n = SHA-256(chain_{n-1} || requestId "\n" code "\n" status)
    t.chain = createHash('sha256').update(t.chain).update(`${requestId}\n${code}\n${status}`).digest();
    if (typeof spent === 'number') return;
    // The request is refused either way; a spend Redis did not take is logged (the next admit fails closed).
    return spent.then(
      () => undefined,
      (e: unknown) => this.d.log.error({ err: e, source }, 'could not spend the failed-attempt budget of a source'),
    );
  }

  /** Writes one entry per source for the window that ends now. A ledger that cannot commit is logged, not fatal. */
  async flush(): Promise<void> {
    if (this.tallies.size === 0) return;
    const window = this.tallies;
    this.tallies = new Map();
    await Promise.all(
      [...window].map(async ([source, t]) => {
        const event = auditEvent({
          time: new Date(this.d.clock.now()).toISOString(),
          requestId: newRequestId(),
          kind: 'system',
          action: 'refused.unauthenticated',
          decision: 'deny',
          status: 0,
          stage: 'identity',
          details: {
            source,
            count: t.count,
            codes: [...t.codes].map(([c, n]) => `${c}:${n}`).join(','),
            reasons: [...t.reasons].map(([c, n]) => `${c}:${n}`).join(','),
            firstAt: new Date(t.firstAt).toISOString(),
            lastAt: new Date(t.lastAt).toISOString(),
            firstRequestId: t.firstRequestId,
            lastRequestId: t.lastRequestId,
            chain: 'sha256:' + t.chain.toString('hex'),
          },
        });
        // The operator's line: which causes, from where, how often (the entry id ties it to the ledger).
        this.d.log.info({ source, count: t.count, codes: event.details?.codes, reasons: event.details?.reasons, entry: event.requestId }, 'refused unauthenticated requests');
        try {
          await this.d.audit.append(event);
        } catch (e) {
          this.d.log.error({ err: e, source, count: t.count }, 'could not record refused unauthenticated requests in the ledger');
        }
      }),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function exhausted(waitS: number): void {
  if (waitS > 0) throw new RateLimited('too_many_failed_requests', 'too many unauthenticated requests from this address; slow down', waitS);
}
