// Export of lineage events to an OpenLineage endpoint (config `data.lineage`), OpenLineage's HTTP transport: each
// RunEvent POSTed as JSON, with a bearer token when one is configured; any 2xx is the acknowledgement.
// Every event is first stored (with its dataset, and its digest in a ledger entry) and put in an outbox; the push
// only drains the outbox. A push is tried a bounded number of times; when the endpoint still fails, the failure
// is a ledger entry (data.lineage.push, deny) and the event stays in the outbox for the next sweep, so an endpoint
// that is down loses nothing and holds up no admin request. Delivery is at least once: two replicas may both push
// an event (OpenLineage consumers key events by run id and event type).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../../core/clock.js';
import type { AuditEvent } from '../../core/types.js';
import type { DatasetsStore } from '../../store/datasets-store.js';
import { dataEvent } from '../datasets/audit.js';

export interface LineagePushConfig {
  /** The URL each event is POSTed to, e.g. `http://marquez:5000/api/v1/lineage`. */
  endpoint: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** PEM of the CA that issued an https endpoint's certificate (else the system's). */
  caPem?: string;
  /** Tries per event in one drain (at least 1), with a doubling pause from `retryDelayMs` between them. */
  attempts: number;
  retryDelayMs: number;
  /** How often the outbox is swept for events whose push failed. */
  sweepIntervalMs: number;
  timeoutMs: number;
}

type Outbox = Pick<DatasetsStore, 'enqueueLineagePush' | 'pendingLineagePushes' | 'markLineagePushed' | 'lineagePushFailed' | 'pruneLineagePushed'>;

const BATCH = 100;
/** How long a pushed event stays in the outbox (it lives on in the ledger and the dataset's lineage). */
export const PUSHED_KEEP_MS = 7 * 86_400_000;

/** One POST of one event; resolves on a 2xx, rejects with what went wrong. */
function post(c: LineagePushConfig, body: string): Promise<void> {
  const url = new URL(c.endpoint);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
      timeout: c.timeoutMs,
      ...(c.caPem ? { ca: c.caPem } : {}),
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${c.timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? resolve() : reject(new Error(`answered HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.end(body);
  });
}

export class LineagePusher {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly d: { config: LineagePushConfig; outbox: Outbox; audit: (e: AuditEvent) => Promise<void>; clock: Clock; onError?: (e: Error) => void }) {}

  /** Puts a stored, ledger-chained event in the outbox and starts a drain (not awaited by the caller's request). */
  async enqueue(digest: string, event: unknown): Promise<void> {
    await this.d.outbox.enqueueLineagePush({ digest, event, at: this.d.clock.now() });
    void this.drain();
  }

  start(): void {
    this.timer = setInterval(() => void this.drain().then(() => this.prune()), this.d.config.sweepIntervalMs);
    this.timer.unref();
  }

  /** Drops events pushed more than PUSHED_KEEP_MS ago, so the outbox does not grow with every event ever sent. */
  async prune(): Promise<number> {
    try {
      return await this.d.outbox.pruneLineagePushed(this.d.clock.now() - PUSHED_KEEP_MS);
    } catch (e) {
      this.d.onError?.(e as Error);
      return 0;
    }
  }

  /** Pushes what the outbox holds, oldest first; stops at the first event the endpoint refuses after every try. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again && !this.closed);
      } catch (e) {
        this.d.onError?.(e as Error);
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    const c = this.d.config;
    for (;;) {
      const pending = await this.d.outbox.pendingLineagePushes(BATCH);
      for (const p of pending) {
        if (this.closed) return;
        let error: Error | null = null;
        for (let i = 0; i < c.attempts; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, c.retryDelayMs * 2 ** (i - 1)));
          try {
            await post(c, JSON.stringify(p.event));
            error = null;
            break;
          } catch (e) {
            error = e as Error;
          }
        }
        if (error === null) {
          await this.d.outbox.markLineagePushed(p.digest, this.d.clock.now());
          continue;
        }
        // Recorded, kept: the event stays in the outbox (and the dataset's lineage) for the next sweep.
        await this.d.outbox.lineagePushFailed(p.digest, error.message, this.d.clock.now());
        await this.d.audit(dataEvent({
          at: this.d.clock.now(), principal: null, action: 'data.lineage.push', resource: { type: 'System', id: 'openlineage' }, decision: 'deny', status: 502,
          errorCode: 'lineage_push_failed', details: { lineageEvent: p.digest, endpoint: c.endpoint, attempts: p.attempts + 1, tries: c.attempts, reason: error.message },
        }));
        return;
      }
      if (pending.length < BATCH) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
  }
}
