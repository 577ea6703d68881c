// A witness's state (C2SP tlog-witness): per log origin, the latest checkpoint it cosigned, and the
// submissions it refused although the log's signature was valid (evidence of log misbehaviour).
import type { SqliteDb } from './sqlite.js';

export interface WitnessedState {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** The checkpoint note as submitted (log signature included). */
  note: string;
}

export interface WitnessEvidence {
  origin: string;
  oldSize: number;
  /** Base64 consistency proof lines as submitted. */
  proof: string[];
  note: string;
  reason: string;
  receivedAt: number;
}

export class SqliteWitnessStore {
  private readonly q;
  constructor(private readonly db: SqliteDb) {
    db.exec(`CREATE TABLE IF NOT EXISTS witness_checkpoints (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root_hash BLOB NOT NULL, note TEXT NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS witness_evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, old_size INTEGER NOT NULL, proof TEXT NOT NULL, note TEXT NOT NULL, reason TEXT NOT NULL, received_at INTEGER NOT NULL)`);
    this.q = {
      get: db.prepare('SELECT origin, size, root_hash AS rootHash, note FROM witness_checkpoints WHERE origin = ?'),
      put: db.prepare('INSERT INTO witness_checkpoints (origin, size, root_hash, note, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root_hash = excluded.root_hash, note = excluded.note, updated_at = excluded.updated_at'),
      evidence: db.prepare('INSERT INTO witness_evidence (origin, old_size, proof, note, reason, received_at) VALUES (?, ?, ?, ?, ?, ?)'),
      listEvidence: db.prepare('SELECT origin, old_size AS oldSize, proof, note, reason, received_at AS receivedAt FROM witness_evidence WHERE origin = ? ORDER BY id'),
    };
  }

  latest(origin: string): WitnessedState | null {
    return (this.q.get.get(origin) as WitnessedState | undefined) ?? null;
  }

  /**
   * Reads the latest state for `origin`, lets `decide` check the submission against it (it throws to refuse)
   * and stores what it returns, in one IMMEDIATE transaction: tlog-witness requires the old-size check and the
   * update to be atomic, or two racing submissions could roll the witness back.
   */
  advance(origin: string, decide: (current: WitnessedState | null) => WitnessedState, now: number): WitnessedState {
    const run = this.db.transaction(() => {
      const next = decide(this.latest(origin));
      this.q.put.run(next.origin, next.size, next.rootHash, next.note, now);
      return next;
    });
    return run.immediate();
  }

  recordEvidence(e: WitnessEvidence): void {
    this.q.evidence.run(e.origin, e.oldSize, JSON.stringify(e.proof), e.note, e.reason, e.receivedAt);
  }

  evidence(origin: string): WitnessEvidence[] {
    return (this.q.listEvidence.all(origin) as (Omit<WitnessEvidence, 'proof'> & { proof: string })[]).map((r) => ({ ...r, proof: JSON.parse(r.proof) as string[] }));
  }
}
