// Ledger storage in PostgreSQL for cluster mode. Exactly one sequencer appends: the store holds a
// session-level advisory lock on a dedicated connection for its whole life and writes only through that
// connection, so losing the connection loses the lock and every later write fails (fail closed).
// Reads (proofs, tiles) go through a separate pool and never wait behind a commit.
import pg from 'pg';
import { LedgerStoreConflict, type LedgerBatch, type LedgerNodeId, type LedgerState, type LedgerStore } from './ledger-store.js';

/** Another replica holds the sequencer lock for this ledger. */
export class LedgerSequencerBusy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerSequencerBusy';
  }
}

export interface PostgresLedgerOptions {
  /** libpq connection string, e.g. postgres://postgres@127.0.0.1:5432/test */
  connectionString: string;
  /** Table name prefix (letters, digits, underscore); lets several ledgers share a database. Default `ledger_`. */
  prefix?: string;
  /** Size of the read pool. Default 4. */
  readPoolSize?: number;
}

export class PostgresLedgerStore implements LedgerStore {
  private broken: Error | null = null;

  private constructor(
    private readonly writer: pg.Client,
    private readonly readers: pg.Pool,
    private readonly t: { entries: string; nodes: string; checkpoint: string },
  ) {
    // A dropped sequencer connection means the advisory lock is gone: refuse every later write.
    writer.on('error', (e) => (this.broken = e));
    writer.on('end', () => (this.broken ??= new Error('sequencer connection closed')));
  }

  /** Connects, takes the sequencer lock (or throws LedgerSequencerBusy) and creates the tables. */
  static async connect(opts: PostgresLedgerOptions): Promise<PostgresLedgerStore> {
    const prefix = opts.prefix ?? 'ledger_';
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new RangeError(`bad table prefix ${JSON.stringify(prefix)}`);
    const writer = new pg.Client({ connectionString: opts.connectionString });
    await writer.connect();
    try {
      const lock = await writer.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`warden-ledger:${prefix}`]);
      if (!lock.rows[0]?.ok) throw new LedgerSequencerBusy(`another process is the sequencer for ledger tables ${prefix}*`);
      const t = { entries: `${prefix}entries`, nodes: `${prefix}nodes`, checkpoint: `${prefix}checkpoint` };
      await writer.query(`
        CREATE TABLE IF NOT EXISTS ${t.entries} (idx bigint PRIMARY KEY, entry bytea NOT NULL);
        CREATE TABLE IF NOT EXISTS ${t.nodes} (level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
        CREATE TABLE IF NOT EXISTS ${t.checkpoint} (id integer PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, note text NOT NULL);`);
      // COMMIT must wait for the WAL flush, or an acknowledged entry could be lost in a crash.
      const sc = await writer.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      if (sc.rows[0]?.synchronous_commit === 'off') throw new LedgerStoreConflict('synchronous_commit is off; the ledger needs durable commits');
      const readers = new pg.Pool({ connectionString: opts.connectionString, max: opts.readPoolSize ?? 4 });
      return new PostgresLedgerStore(writer, readers, t);
    } catch (e) {
      await writer.end().catch(() => undefined);
      throw e;
    }
  }

  async load(): Promise<LedgerState> {
    const r = await this.writer.query<{ size: string; note: string }>(`SELECT size, note FROM ${this.t.checkpoint} WHERE id = 1`);
    const row = r.rows[0];
    return row ? { size: Number(row.size), checkpoint: row.note } : { size: 0, checkpoint: null };
  }

  async appendBatch(b: LedgerBatch): Promise<void> {
    if (this.broken) throw new LedgerStoreConflict(`sequencer connection lost (${this.broken.message}); not appending without the lock`);
    const w = this.writer;
    await w.query('BEGIN');
    try {
      const r = await w.query<{ size: string }>(`SELECT size FROM ${this.t.checkpoint} WHERE id = 1 FOR UPDATE`);
      const size = r.rows[0] ? Number(r.rows[0].size) : 0;
      if (size !== b.firstIndex) throw new LedgerStoreConflict(`store holds ${size} entries but the batch starts at ${b.firstIndex}: another writer appended`);
      await w.query(`INSERT INTO ${this.t.entries} (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, [b.entries.map((_, i) => b.firstIndex + i), b.entries]);
      await w.query(`INSERT INTO ${this.t.nodes} (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])`, [b.nodes.map((n) => n.level), b.nodes.map((n) => n.index), b.nodes.map((n) => n.hash)]);
      await w.query(`INSERT INTO ${this.t.checkpoint} (id, size, note) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note`, [b.checkpoint.size, b.checkpoint.note]);
      await w.query('COMMIT');
    } catch (e) {
      await w.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
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

  /** Releases the sequencer lock (by closing its session) and the read pool. */
  async close(): Promise<void> {
    await Promise.allSettled([this.writer.end(), this.readers.end()]);
  }
}
