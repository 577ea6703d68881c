// Ledger storage in PostgreSQL for cluster mode: one log, many writers. Every replica appends through
// beginAppend, which takes a transaction-level advisory lock for the log and reads the committed checkpoint
// under it; the replica's ledger rebuilds its batch on that state (catching up on what others appended) and
// commits, which releases the lock. Losing the connection mid-batch aborts the transaction in the server
// (nothing half-written, the lock released); the next batch reconnects and re-reads the state under the lock.
// Reads (proofs, tiles, catch-up) go through a separate pool and never wait behind a commit.
import pg from 'pg';
import { LedgerStoreConflict, type LedgerAppend, type LedgerBatch, type LedgerNodeId, type LedgerState, type LedgerStore } from './ledger-store.js';

export interface PostgresLedgerOptions {
  /** libpq connection string, e.g. postgres://postgres@127.0.0.1:5432/test */
  connectionString: string;
  /** Table name prefix (letters, digits, underscore); lets several ledgers share a database. Default `ledger_`. */
  prefix?: string;
  /** Size of the read pool. Default 4. */
  readPoolSize?: number;
  /** How long a batch waits for the log's write lock before failing (ms). Default 5000. */
  lockTimeoutMs?: number;
}

// A replica frozen inside a batch (SIGSTOP, a stalled VM) must not hold every other replica's appends
// for ever: the server aborts its transaction, and with it the lock, after this long idle.
const IDLE_IN_TRANSACTION_MS = 10_000;

export class PostgresLedgerStore implements LedgerStore {
  private writer: pg.Client | null = null;
  private writerLost: Error | null = null;
  private open: LedgerAppend | null = null;
  private closed = false;

  private constructor(
    private readonly opts: PostgresLedgerOptions,
    private readonly readers: pg.Pool,
    private readonly t: { entries: string; nodes: string; checkpoint: string; lock: string },
  ) {}

  /** Connects, creates the tables and checks commits are durable. Any number of replicas may connect. */
  static async connect(opts: PostgresLedgerOptions): Promise<PostgresLedgerStore> {
    const prefix = opts.prefix ?? 'ledger_';
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new RangeError(`bad table prefix ${JSON.stringify(prefix)}`);
    const t = { entries: `${prefix}entries`, nodes: `${prefix}nodes`, checkpoint: `${prefix}checkpoint`, lock: `warden-ledger:${prefix}` };
    const readers = new pg.Pool({ connectionString: opts.connectionString, max: opts.readPoolSize ?? 4 });
    // An idle pooled connection that the server drops emits 'error' on the pool; the next query reconnects.
    readers.on('error', () => undefined);
    const store = new PostgresLedgerStore(opts, readers, t);
    try {
      const w = await store.writerClient();
      // Replicas starting together: the lock makes one of them create the tables, the others see them.
      await w.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('${t.lock}'));
        CREATE TABLE IF NOT EXISTS ${t.entries} (idx bigint PRIMARY KEY, entry bytea NOT NULL);
        CREATE TABLE IF NOT EXISTS ${t.nodes} (level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
        CREATE TABLE IF NOT EXISTS ${t.checkpoint} (id integer PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, note text NOT NULL);
        COMMIT;`);
      // COMMIT must wait for the WAL flush, or an acknowledged entry could be lost in a crash.
      const sc = await w.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      if (sc.rows[0]?.synchronous_commit === 'off') throw new LedgerStoreConflict('synchronous_commit is off; the ledger needs durable commits');
      return store;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** The write connection, reconnected after a loss (safe: every batch re-reads the state under the lock). */
  private async writerClient(): Promise<pg.Client> {
    if (this.closed) throw new LedgerStoreConflict('the ledger store is closed');
    if (this.writer && !this.writerLost) return this.writer;
    if (this.writer) void this.writer.end().catch(() => undefined);
    this.writer = null;
    this.writerLost = null;
    const lockTimeout = this.opts.lockTimeoutMs ?? 5000;
    const c = new pg.Client({ connectionString: this.opts.connectionString, options: `-c lock_timeout=${lockTimeout} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}` });
    c.on('error', (e) => {
      if (this.writer === c) this.writerLost = e;
    });
    c.on('end', () => {
      if (this.writer === c) this.writerLost ??= new Error('connection closed');
    });
    this.writer = c;
    try {
      await c.connect();
    } catch (e) {
      this.writerLost = e as Error;
      throw e;
    }
    return c;
  }

  async load(): Promise<LedgerState> {
    const r = await this.readers.query<{ size: string; note: string }>(`SELECT size, note FROM ${this.t.checkpoint} WHERE id = 1`);
    return toState(r.rows[0]);
  }

  /** Takes the log's write lock (waits for a replica that holds it) and reads what is committed, in one round trip. */
  async beginAppend(): Promise<LedgerAppend> {
    if (this.open) throw new LedgerStoreConflict('an append is already open on this store; the ledger commits one batch at a time');
    const w = await this.writerClient();
    let results: pg.QueryResult[];
    try {
      results = (await w.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('${this.t.lock}')); SELECT size, note FROM ${this.t.checkpoint} WHERE id = 1`)) as unknown as pg.QueryResult[];
    } catch (e) {
      await w.query('ROLLBACK').catch(() => undefined);
      throw this.described(e);
    }
    const state = toState(results[2]!.rows[0] as { size: string; note: string } | undefined);
    let done = false;
    const finish = () => {
      done = true;
      this.open = null;
    };
    const append: LedgerAppend = {
      state,
      commit: async (b: LedgerBatch) => {
        if (done) throw new LedgerStoreConflict('this append is already finished');
        try {
          if (b.firstIndex !== state.size) throw new LedgerStoreConflict(`store holds ${state.size} entries but the batch starts at ${b.firstIndex}: it was not built on the committed tree`);
          await w.query(
            `WITH e AS (INSERT INTO ${this.t.entries} (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])),
                  n AS (INSERT INTO ${this.t.nodes} (level, idx, hash) SELECT * FROM unnest($3::int[], $4::bigint[], $5::bytea[]))
             INSERT INTO ${this.t.checkpoint} (id, size, note) VALUES (1, $6, $7) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note`,
            [b.entries.map((_, i) => b.firstIndex + i), b.entries, b.nodes.map((n) => n.level), b.nodes.map((n) => n.index), b.nodes.map((n) => n.hash), b.checkpoint.size, b.checkpoint.note],
          );
          await w.query('COMMIT');
        } catch (e) {
          await w.query('ROLLBACK').catch(() => undefined);
          throw this.described(e);
        } finally {
          finish();
        }
      },
      abort: async () => {
        if (done) return;
        finish();
        await w.query('ROLLBACK').catch(() => undefined);
      },
    };
    this.open = append;
    return append;
  }

  /** For a caller that built the batch on its own view: refused unless nobody appended since. */
  async appendBatch(b: LedgerBatch): Promise<void> {
    const a = await this.beginAppend();
    if (a.state.size !== b.firstIndex) {
      await a.abort();
      throw new LedgerStoreConflict(`store holds ${a.state.size} entries but the batch starts at ${b.firstIndex}: another writer appended`);
    }
    await a.commit(b);
  }

  private described(e: unknown): Error {
    if (this.writerLost) return new LedgerStoreConflict(`ledger write connection lost (${this.writerLost.message}); the batch was rolled back`);
    return e as Error;
  }

  async readNodes(ids: readonly LedgerNodeId[]): Promise<Buffer[]> {
    if (ids.length === 0) return [];
    const r = await this.readers.query<{ level: number; idx: string; hash: Buffer }>(
      `SELECT n.level, n.idx, n.hash FROM ${this.t.nodes} n JOIN unnest($1::int[], $2::bigint[]) AS q(level, idx) ON n.level = q.level AND n.idx = q.idx`,
      [ids.map((i) => i.level), ids.map((i) => i.index)],
    );
    const found = new Map(r.rows.map((row) => [`${row.level}/${row.idx}`, row.hash]));
    return ids.map(({ level, index }) => {
      const h = found.get(`${level}/${index}`);
      if (!h) throw new LedgerStoreConflict(`tree node level ${level} index ${index} is missing from the store`);
      return h;
    });
  }

  async readEntries(from: number, count: number): Promise<Buffer[]> {
    const r = await this.readers.query<{ entry: Buffer }>(`SELECT entry FROM ${this.t.entries} WHERE idx >= $1 AND idx < $2 ORDER BY idx`, [from, from + count]);
    return r.rows.map((row) => row.entry);
  }

  /** Closes the write connection (an open transaction is rolled back by the server) and the read pool. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.writer?.end(), this.readers.end()]);
  }
}

function toState(row: { size: string; note: string } | undefined): LedgerState {
  return row ? { size: Number(row.size), checkpoint: row.note } : { size: 0, checkpoint: null };
}
