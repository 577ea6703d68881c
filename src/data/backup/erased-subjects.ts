// Erasures made after a backup was taken, applied to its restore. The backup still holds the chunks about an erased
// subject and the files it uploaded, but they are sealed under the subject's key, which the erasure destroyed and
// which a backup never holds (the subject-key store stays beside the KEKs): they can no longer be opened. A restore
// reads the store's tombstones (every erasure leaves one) and deletes, from the restored files, as erasure does:
//   retrieval.db  the chunks and files about each erased subject and the files it uploaded (vectors zeroed,
//                 secure_delete), whatever sealed them (rows from before subject keys are under the tenant's key);
//   payloads.db   the subject's retained payloads and its payload data key, which the backup does hold, with the
//                 erasure mark, so they answer 410 payload_erased as they did before the restore;
//   warden.db     the principal record is marked erased again (its API keys no longer authenticate).
// Then each file is rewritten without free pages (VACUUM). The counts are what the restore reports.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SubjectKeyStore } from '../../store/subject-keys-store.js';
import { SqlitePayloadStore } from '../../store/ledger-payloads-sqlite.js';
import { SqliteRetrievalStore } from '../../store/retrieval-sqlite.js';
import { openSqlite, type SqliteDb } from '../../store/sqlite.js';

const RETRIEVAL_FILE = 'retrieval.db';
const PAYLOADS_FILE = 'payloads.db';
const MAIN_FILE = 'warden.db';
/** The restored store files the erasures apply to. */
export const ERASABLE_FILES = [RETRIEVAL_FILE, PAYLOADS_FILE, MAIN_FILE];

type Erased = { tenant: string; subject: string; erasedAt: number }[];

async function inFile(file: string, fn: (db: SqliteDb) => Promise<void>): Promise<void> {
  if (!existsSync(file)) return;
  const db = openSqlite(file);
  try {
    await fn(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
  } finally {
    db.close();
  }
}

export async function dropErasedSubjects(dataDir: string, keys: SubjectKeyStore): Promise<Record<string, number>> {
  const erased: Erased = await keys.listErased();
  const counts = { retrievalChunks: 0, retrievalFiles: 0, retrievalUploads: 0, payloadKeys: 0, payloads: 0, principals: 0 };
  if (!erased.length) return counts;
  const subjects = new Map<string, number>();
  for (const e of erased) subjects.set(e.subject, Math.min(e.erasedAt, subjects.get(e.subject) ?? Infinity));
  await inFile(join(dataDir, RETRIEVAL_FILE), async (db) => {
    const store = new SqliteRetrievalStore(db);
    // Chunks name their subject in any tenant (as erasure deletes them); uploads are the uploader's, in its tenant.
    for (const subject of subjects.keys()) {
      const r = await store.eraseSubject(subject);
      counts.retrievalChunks += r.chunks;
      counts.retrievalFiles += r.files;
    }
    for (const e of erased) counts.retrievalUploads += await store.eraseUploadsBy(e.tenant, e.subject);
  });
  await inFile(join(dataDir, PAYLOADS_FILE), async (db) => {
    const store = new SqlitePayloadStore(db);
    for (const [subject, at] of subjects) {
      const r = await store.destroyKey(subject, at);
      counts.payloadKeys += r.keyExisted ? 1 : 0;
      counts.payloads += r.payloads;
    }
  });
  await inFile(join(dataDir, MAIN_FILE), async (db) => {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'principals'").get()) return;
    const mark = db.prepare('UPDATE principals SET erased_at = ? WHERE id = ? AND erased_at IS NULL');
    for (const [subject, at] of subjects) counts.principals += mark.run(at, subject).changes;
  });
  return counts;
}
