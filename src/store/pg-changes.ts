// Change announcements between replicas that share a PostgreSQL store: LISTEN/NOTIFY on one channel per
// deployment (the table prefix). A replica that changes something a peer may hold in a cache (a key revoked
// or rotated, a principal disabled, erased or edited, a tool changed) or wait for (an approval decided)
// publishes it; every replica, itself included, drops what it cached or wakes what waited. Notifications are lost while a listener is disconnected, so a listener that is not
// connected reports itself unhealthy (callers stop trusting their caches and read the store) and, once it
// is back, tells every subscriber to resynchronise (drop everything) before it reports healthy again.
import pg from 'pg';
import { checkPrefix } from './pg-migrate.js';

export type StoreChange =
  | { type: 'key'; hash: string }
  | { type: 'principal'; id: string }
  /** A tool registered, changed or deleted: replicas reload it into their registry mirror. */
  | { type: 'tool'; name: string }
  /** A policy set published, promoted or rolled back: replicas load the stored active set. */
  | { type: 'policy'; version: string }
  /** A model deployment registered or moved (promoted, quarantined, retired…): replicas reload their routing snapshot. */
  | { type: 'model'; id: string }
  /** An approval decided: a call held on any replica (`Prefer: wait`) wakes and reads the decision. */
  | { type: 'approval'; id: string }
  /** A tenant's own KEK withdrawn or reinstated: replicas re-read the tenant KEK records. */
  | { type: 'tenant_kek'; tenant: string }
  /** The shared tool-credential signing keys rotated or retired: replicas reload them. */
  | { type: 'tool_credential_keys' }
  /** A deployment's shared attestation verdict was written: replicas re-read it (routing follows it). */
  | { type: 'attestation'; deployment: string }
    /** Notifications may have been missed: drop every cached record. */
  | { type: 'resync' };

export interface ChangeFeed {
  publish(change: StoreChange): Promise<void>;
  subscribe(fn: (change: StoreChange) => void): () => void;
  /** False while changes could be missed; caches must not be trusted then. */
  readonly healthy: boolean;
  close(): Promise<void>;
}

export interface PgChangeFeedOptions {
  connectionString: string;
  prefix?: string;
  /** Delay before reconnecting a lost listener. Default 500 ms. */
  reconnectMs?: number;
  onError?: (e: unknown) => void;
}

const MAX_PAYLOAD = 7000; // NOTIFY payloads must stay under 8000 bytes

export class PgChangeFeed implements ChangeFeed {
  private listener: pg.Client | null = null;
  private readonly subscribers = new Set<(c: StoreChange) => void>();
  private closed = false;
  private connected = false;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly opts: PgChangeFeedOptions,
    private readonly channel: string,
    private readonly publisher: pg.Pool,
  ) {}

  static async connect(opts: PgChangeFeedOptions): Promise<PgChangeFeed> {
    const channel = `${checkPrefix(opts.prefix ?? 'warden_')}changes`;
    const publisher = new pg.Pool({ connectionString: opts.connectionString, max: 2 });
    publisher.on('error', () => undefined);
    const feed = new PgChangeFeed(opts, channel, publisher);
    try {
      await feed.listen();
    } catch (e) {
      await publisher.end().catch(() => undefined);
      throw e;
    }
    return feed;
  }

  get healthy(): boolean {
    return this.connected && !this.closed;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: 'warden-changes' });
    const lost = (e?: unknown) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.connected = false;
      if (e) this.opts.onError?.(e);
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (m) => {
      if (m.channel !== this.channel || !m.payload) return;
      let change: StoreChange;
      try {
        change = JSON.parse(m.payload) as StoreChange;
      } catch {
        change = { type: 'resync' }; // an unreadable announcement: assume the worst
      }
      this.emit(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      // Closed while this listener was connecting: do not leave it open.
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    // Anything announced while no listener was connected was missed.
    this.emit({ type: 'resync' });
    this.connected = true;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.listen().catch((e) => {
        this.opts.onError?.(e);
        this.scheduleReconnect();
      });
    }, this.opts.reconnectMs ?? 500);
    this.timer.unref();
  }

  private emit(change: StoreChange): void {
    for (const fn of this.subscribers) {
      try {
        fn(change);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

  /** Announces a change to every replica (this one included, through its own listener). */
  async publish(change: StoreChange): Promise<void> {
    const payload = JSON.stringify(change);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) throw new RangeError('change announcement too large for NOTIFY');
    await this.publisher.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
  }

  subscribe(fn: (change: StoreChange) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.timer) clearTimeout(this.timer);
    const l = this.listener;
    this.listener = null;
    await Promise.allSettled([l?.end(), this.publisher.end()]);
  }
}
