// Ledger storage in the embedded SQLite database (WAL, synchronous=FULL: one fsync per committed batch).
import type { SqliteDb } from './sqlite.js';
import { LedgerStoreConflict, type LedgerBatch, type LedgerNodeId, type LedgerState, type LedgerStore } from './ledger-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
`;

export class SqliteLedgerStore implements LedgerStore {
  private readonly insertEntry;
  private readonly insertNode;
  private readonly upsertCheckpoint;
  private readonly selectNode;
  private readonly selectEntries;
  private readonly selectCheckpoint;
  private readonly commitBatch;

  /** Takes a database from openSqlite (src/store/sqlite.ts), which sets WAL and synchronous=FULL. */
  constructor(private readonly db: SqliteDb) {
    const sync = db.pragma('synchronous', { simple: true }) as number;
    // 2 = FULL, 3 = EXTRA. Anything less would let an acknowledged entry vanish in a power cut.
    if (sync < 2) throw new LedgerStoreConflict(`SQLite synchronous=${sync}; the ledger needs FULL (2) or EXTRA (3)`);
    db.exec(SCHEMA);
    this.insertEntry = db.prepare('INSERT INTO ledger_entries (idx, entry) VALUES (?, ?)');
    this.insertNode = db.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.upsertCheckpoint = db.prepare('INSERT INTO ledger_checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note');
    this.selectNode = db.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?').pluck();
    this.selectEntries = db.prepare('SELECT entry FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx').pluck();
    this.selectCheckpoint = db.prepare('SELECT size, note FROM ledger_checkpoint WHERE id = 1');
    this.commitBatch = db.transaction((b: LedgerBatch) => {
      const row = this.selectCheckpoint.get() as { size: number } | undefined;
      const size = row?.size ?? 0;
      if (size !== b.firstIndex) throw new LedgerStoreConflict(`store holds ${size} entries but the batch starts at ${b.firstIndex}: another writer appended`);
      for (let i = 0; i < b.entries.length; i++) this.insertEntry.run(b.firstIndex + i, b.entries[i]);
      for (const n of b.nodes) this.insertNode.run(n.level, n.index, n.hash);
      this.upsertCheckpoint.run(b.checkpoint.size, b.checkpoint.note);
    });
  }

  async load(): Promise<LedgerState> {
    const row = this.selectCheckpoint.get() as { size: number; note: string } | undefined;
    return row ? { size: row.size, checkpoint: row.note } : { size: 0, checkpoint: null };
  }

  async appendBatch(batch: LedgerBatch): Promise<void> {
    // better-sqlite3 runs the transaction synchronously; COMMIT fsyncs the WAL (synchronous=FULL).
    this.commitBatch.immediate(batch);
  }

  async readNodes(ids: readonly LedgerNodeId[]): Promise<Buffer[]> {
    return ids.map(({ level, index }) => {
      const h = this.selectNode.get(level, index) as Buffer | undefined;
      if (!h) throw new LedgerStoreConflict(`tree node level ${level} index ${index} is missing from the store`);
      return h;
    });
  }

  async readEntries(from: number, count: number): Promise<Buffer[]> {
    return this.selectEntries.all(from, from + count) as Buffer[];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
