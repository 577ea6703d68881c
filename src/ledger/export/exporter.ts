// Ships committed ledger entries to a SIEM destination, at least once, in order, resuming after a restart.
// The queue is the ledger itself: requests append to it and never wait for an export, and the exporter holds
// at most one batch in memory, so a slow or absent destination only grows the lag (warden_siem_export_lag).
//
// Delivery: a batch counts as delivered when the destination acknowledges it (an HTTP 2xx) or, for a
// destination without acknowledgements (syslog over TLS, RFC 5425), when its connection has stayed up for
// `settleMs` after the batch was written. Only delivered batches move the persisted cursor; after a failure,
// a reconnection or a crash, everything after the cursor is sent again. A receiver can therefore see an entry
// twice (never zero times): each record carries its ledger index and leaf hash to deduplicate on.
import type { Logger } from 'pino';
import type { ExportCursor } from './cursor.js';
import { exportRecord, type ExportRecord } from './record.js';

export interface ExportDestination {
  readonly name: string;
  /**
   * Sends records in order. Resolves when they are acknowledged, or (settleMs > 0) written to a connection
   * whose `connection` number then identifies it; rejects if they could not be sent.
   */
  send(records: ExportRecord[]): Promise<void>;
  /** How long a written batch must go without its connection failing before it counts as delivered (0: acknowledged). */
  readonly settleMs: number;
  /** The current connection: changes when the connection failed or was replaced (null: none is up). */
  readonly connection: number | null;
  /** Ends the connection, waiting for what was written to be taken; true if it ended cleanly (all was read). */
  close(): Promise<boolean>;
}

/** A destination that acknowledges each batch (an HTTP 2xx, an fsync): delivered as soon as send() resolves. */
export abstract class AcknowledgedDestination implements ExportDestination {
  abstract readonly name: string;
  readonly settleMs = 0;
  readonly connection = null;
  abstract send(records: ExportRecord[]): Promise<void>;
  async close(): Promise<boolean> {
    return false;
  }
}

/** POSTs one batch; anything but a 2xx (or no answer within timeoutMs) fails it. */
export async function postBatch(url: string, contentType: string, body: string, timeoutMs: number): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

export interface LogSource {
  readonly size: number;
  readEntries(from: number, count: number): Promise<Buffer[]>;
}

export interface ExporterOptions {
  log: LogSource;
  destination: ExportDestination;
  cursor: ExportCursor;
  intervalMs: number;
  batchSize: number;
  logger: Logger;
  now(): number;
  onLag?(name: string, lag: number): void;
  onFailure?(name: string): void;
}

const MAX_BACKOFF_MS = 30_000;

export class LedgerExporter {
  /** Persisted: every entry below it was delivered. */
  private delivered = 0;
  /** In memory: every entry below it was sent (delivered or settling). */
  private next = 0;
  private settling: { end: number; at: number; connection: number | null }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private failures = 0;

  constructor(private readonly o: ExporterOptions) {}

  async start(): Promise<void> {
    this.delivered = this.next = await this.o.cursor.load();
    if (this.delivered > this.o.log.size) {
      throw new Error(`ledger.export ${this.o.destination.name}: the cursor (${this.delivered}) is past the end of the log (${this.o.log.size}); this data dir's cursor belongs to another ledger`);
    }
    this.schedule(0);
  }

  /** One export round now (tests, and close). */
  async runOnce(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.round().finally(() => (this.running = null));
    return this.running;
  }

  get lag(): number {
    return this.o.log.size - this.delivered;
  }

  /** Sends what is committed, waits for it to be taken, persists the cursor. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      // A last round, bounded: a collector that does not take it gets it after the next start.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.runOnce(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the last export round did not finish within 10 s')), 10_000)))]).finally(() => clearTimeout(timer));
    } catch (e) {
      this.o.logger.warn({ err: e, destination: this.o.destination.name }, 'could not export the last entries before closing; they are sent after the next start');
    }
    const live = this.o.destination.connection;
    const clean = await this.o.destination.close();
    // A clean close means the receiver read all that was written on that connection.
    if (clean && live !== null && this.settling.every((s) => s.connection === live)) this.settling = this.settling.map((s) => ({ ...s, at: -Infinity }));
    await this.settle();
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.runOnce().then(
        () => {
          this.failures = 0;
          this.schedule(this.o.intervalMs);
        },
        (e: unknown) => {
          this.failures++;
          this.o.onFailure?.(this.o.destination.name);
          const backoff = Math.min(MAX_BACKOFF_MS, this.o.intervalMs * 2 ** Math.min(this.failures, 10));
          this.o.logger.error({ err: e, destination: this.o.destination.name, resumeAt: this.delivered, retryInMs: backoff }, 'SIEM export failed; will resend from the last delivered entry');
          this.schedule(backoff);
        },
      );
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const d = this.o.destination;
    try {
      await this.settle();
      const end = this.o.log.size;
      while (this.next < end) {
        const raw = await this.o.log.readEntries(this.next, Math.min(this.o.batchSize, end - this.next));
        if (raw.length === 0) break;
        const records = raw.map((r, i) => exportRecord(this.next + i, r));
        await d.send(records);
        this.next += raw.length;
        this.settling.push({ end: this.next, at: this.o.now(), connection: d.connection });
        await this.settle();
      }
    } catch (e) {
      // What was sent but not delivered goes again, from the cursor.
      this.next = this.delivered;
      this.settling = [];
      throw e;
    } finally {
      this.o.onLag?.(d.name, this.lag);
    }
  }

  /** Batches acknowledged, or written to a connection that has stayed up settleMs since, move the cursor. */
  private async settle(): Promise<void> {
    const d = this.o.destination;
    let moved = false;
    while (this.settling.length > 0) {
      const s = this.settling[0]!;
      if (d.settleMs > 0 && s.at !== -Infinity) {
        if (s.connection === null || s.connection !== d.connection) {
          // The connection it went out on failed: it may not have arrived.
          this.next = this.delivered;
          this.settling = [];
          break;
        }
        if (this.o.now() - s.at < d.settleMs) break;
      }
      this.delivered = s.end;
      this.settling.shift();
      moved = true;
    }
    if (moved) await this.o.cursor.save(this.delivered);
  }
}
