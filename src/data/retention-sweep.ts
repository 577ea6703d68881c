// Retention follows the classification (issue 16): retained payloads and retrieval chunks carry the expiry their
// class gives them (placement.classes.<class>.retention) from the moment they are stored, and every read refuses
// them from that moment on. This sweep deletes what has expired, on a timer: it counts first, records one ledger
// entry (`data.retention.expire`) with what goes, and deletes only once the entry is durable, so a deletion the
// ledger does not show never happens (a failed append leaves the data in place, still refused, for the next round).
// Replicas sharing the retained payloads (store.postgres) sweep one at a time (`exclusive`: a PostgreSQL session
// advisory lock held for the whole round), so two replicas never count the same expired payloads and record them
// twice: the second finds them gone. Each replica's own stores (its retrieval.db) are swept in its own rounds.
import type { Logger } from 'pino';
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import { newRequestId } from '../core/ids.js';
import { auditEvent } from '../core/audit-event.js';

/** One kind of expiring data: how much has expired at `nowMs`, and its deletion (both by the same `nowMs`). */
export interface Expiring {
  name: string;
  count(nowMs: number): Promise<Record<string, number>> | Record<string, number>;
  delete(nowMs: number): Promise<Record<string, number>> | Record<string, number>;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export class RetentionSweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly d: {
      kinds: Expiring[];
      audit: AuditSink;
      clock: Clock;
      log: Logger;
      intervalMs: number;
      /** Runs a round while no other replica runs one (cluster stores); absent: this process is the only sweeper. */
      exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep().catch((e: unknown) => this.d.log.error({ err: e }, 'retention sweep failed; expired data stays refused and is retried')), this.d.intervalMs);
    this.timer.unref();
  }

  /** One round (also what the timer runs): returns what was deleted, by kind, or null when nothing had expired. */
  sweep(): Promise<Record<string, Record<string, number>> | null> {
    const exclusive = this.d.exclusive;
    const round = this.running.then(() => (exclusive ? exclusive(() => this.round()) : this.round()));
    this.running = round.catch(() => undefined);
    return round;
  }

  private async round(): Promise<Record<string, Record<string, number>> | null> {
    const nowMs = this.d.clock.now();
    const counts: Record<string, Record<string, number>> = {};
    for (const k of this.d.kinds) counts[k.name] = await k.count(nowMs);
    if (Object.values(counts).every((c) => Object.values(c).every((n) => n === 0))) return null;
    const details: Record<string, number | string> = { expiredAt: new Date(nowMs).toISOString() };
    for (const [kind, c] of Object.entries(counts)) for (const [what, n] of Object.entries(c)) details[`${kind}.${what}`] = n;
    await this.d.audit.append(
      auditEvent({ time: new Date(nowMs).toISOString(), requestId: newRequestId(), kind: 'system', action: 'data.retention.expire', decision: 'allow', status: 200, resource: { type: 'System', id: 'retention' }, details }),
    );
    const deleted: Record<string, Record<string, number>> = {};
    for (const k of this.d.kinds) deleted[k.name] = await k.delete(nowMs);
    return deleted;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
