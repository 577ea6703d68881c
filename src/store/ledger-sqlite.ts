// Ledger storage in the embedded SQLite database (WAL, synchronous=FULL: one fsync per committed batch).
// Entries and tree nodes (leaf hashes = level 0) are kept apart so the committed tree still names each
// leaf if an entry row is later edited. Rows are inserted CHUNK at a time with multi-row statements.
import type { SqliteDb } from './sqlite.js';
import { LedgerStoreConflict, type LedgerBatch, type LedgerNodeId, type LedgerState, type LedgerStore } from './ledger-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
`;

const CHUNK = 32;

function multiInsert(db: SqliteDb, table: string, cols: string, n: number) {
  const row = `(${cols.split(',').map(() => '?').join(',')})`;
  return db.prepare(`INSERT INTO ${table} (${cols}) VALUES ${Array(n).fill(row).join(',')}`);
}

export class SqliteLedgerStore implements LedgerStore {
  private readonly insertEntry;
  private readonly insertEntries;
  private readonly insertNode;
  private readonly insertNodes;
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
    this.insertEntry = multiInsert(db, 'ledger_entries', 'idx,entry', 1);
    this.insertEntries = multiInsert(db, 'ledger_entries', 'idx,entry', CHUNK);
    this.insertNode = multiInsert(db, 'ledger_nodes', 'level,idx,hash', 1);
    this.insertNodes = multiInsert(db, 'ledger_nodes', 'level,idx,hash', CHUNK);
    this.upsertCheckpoint = db.prepare('INSERT INTO ledger_checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note');
    this.selectNode = db.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?').pluck();
    this.selectEntries = db.prepare('SELECT entry FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx').pluck();
    this.selectCheckpoint = db.prepare('SELECT size, note FROM ledger_checkpoint WHERE id = 1');
    this.commitBatch = db.transaction((b: LedgerBatch) => {
      const row = this.selectCheckpoint.get() as { size: number } | undefined;
      const size = row?.size ?? 0;
      if (size !== b.firstIndex) throw new LedgerStoreConflict(`store holds ${size} entries but the batch starts at ${b.firstIndex}: another writer appended`);
      insertRows(b.entries.map((e, i) => [b.firstIndex + i, e]), this.insertEntries, this.insertEntry);
      insertRows(b.nodes.map((n) => [n.level, n.index, n.hash]), this.insertNodes, this.insertNode);
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

function insertRows(rows: unknown[][], many: { run(...a: unknown[]): unknown }, one: { run(...a: unknown[]): unknown }): void {
  let i = 0;
  for (; i + CHUNK <= rows.length; i += CHUNK) many.run(...rows.slice(i, i + CHUNK).flat());
  for (; i < rows.length; i++) one.run(...rows[i]!);
}
