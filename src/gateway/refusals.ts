// Refusals of requests that never had a principal (no or bad credential, unknown route, malformed path):
// one client with a bad key could otherwise make the gateway write and fsync an entry per request (21,771
// in 10 s in an independent test). They are still all accounted for, per source address and window: one
// ledger entry carries the count, the codes, the first and last request ids and a SHA-256 hash chain over
// every refused request (id, code, status), so an auditor can prove how many were refused and check a
// client-supplied list of request ids against the chain (docs/ledger.md, "Refused unauthenticated requests").
// The same table spends a per-source budget: a source whose failed attempts exceed it is refused before any
// other work (429), so credential guessing and floods cost the gateway almost nothing.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditSink } from '../core/audit-sink.js';
import { auditEvent } from '../core/audit-event.js';
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import { TokenBucket } from '../core/token-bucket.js';

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

const OTHER = 'other';
/** Distinct reasons kept per window entry: reasons come from a closed set in code, the cap only guards against a bug. */
const MAX_REASONS = 32;

export class UnauthenticatedRefusals {
  private readonly budgets = new Map<string, TokenBucket>();
  private tallies = new Map<string, Tally>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxSources: number;

  constructor(
    private readonly o: RefusalOptions,
    private readonly d: { clock: Clock; audit: AuditSink; log: Logger },
  ) {
    this.maxSources = o.maxSources ?? 10_000;
    this.timer = setInterval(() => void this.flush(), o.windowMs);
    this.timer.unref();
  }

  /** Before identity: a source that spent its failed-attempt budget is turned away (429, Retry-After). */
  admit(source: string): void {
    const b = this.budgets.get(source);
    if (!b) return;
    const wait = b.peek(this.d.clock.now());
    if (wait > 0) throw new RateLimited('too_many_failed_requests', 'too many unauthenticated requests from this address; slow down', wait);
  }

  /** Accounts for one refused request that had no principal, and spends one unit of its source's budget. */
  record(source: string, requestId: string, code: string, status: number, reason?: string): void {
    const now = this.d.clock.now();
    let b = this.budgets.get(source);
    if (!b) {
      if (this.budgets.size >= this.maxSources) this.budgets.delete(this.budgets.keys().next().value!);
      b = new TokenBucket(this.o.perSource.requestsPerSecond, this.o.perSource.burst, now);
      this.budgets.set(source, b);
    }
    b.take(now);
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
