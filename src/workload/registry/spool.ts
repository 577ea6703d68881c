// `warden model` on the data dir (the operator's offline path) spools its registry transitions to
// <data-dir>/registry-audit.jsonl; the gateway moves them into the ledger, in order, on every registry
// refresh (and at start), so every control-plane change ends up in the tamper-evident log. The offset of
// what was moved is kept in warden.db, so nothing is appended twice.
import { existsSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../core/types.js';
import type { AuditSink } from '../../core/audit-sink.js';
import type { SqliteDb } from '../../store/sqlite.js';

export const REGISTRY_SPOOL = 'registry-audit.jsonl';

export function createRegistrySpool(db: SqliteDb, dataDir: string, audit: AuditSink) {
  db.exec('CREATE TABLE IF NOT EXISTS spool_offsets (name TEXT PRIMARY KEY, offset INTEGER NOT NULL)');
  const getOffset = db.prepare('SELECT offset FROM spool_offsets WHERE name = ?');
  const setOffset = db.prepare('INSERT INTO spool_offsets (name, offset) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET offset = excluded.offset');
  const file = join(dataDir, REGISTRY_SPOOL);

  /** Appends every complete spooled line not yet moved; returns how many were moved. */
  return async function ingest(): Promise<number> {
    if (!existsSync(file)) return 0;
    const from = (getOffset.get(REGISTRY_SPOOL) as { offset: number } | undefined)?.offset ?? 0;
    const fd = openSync(file, 'r');
    let text: string;
    try {
      const size = fstatSync(fd).size;
      if (size <= from) return 0;
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
    const end = text.lastIndexOf('\n');
    if (end === -1) return 0; // a line still being written
    let offset = from;
    let moved = 0;
    for (const line of text.slice(0, end).split('\n')) {
      const bytes = Buffer.byteLength(line) + 1;
      if (line.trim() !== '') {
        await audit.append(JSON.parse(line) as AuditEvent);
        moved++;
      }
      offset += bytes;
      setOffset.run(REGISTRY_SPOOL, offset);
    }
    return moved;
  };
}
