// Erasures made after a backup was taken, applied to its restore. The backup still holds the chunks about an erased
// subject and the files it uploaded, but they are sealed under the subject's key, which the erasure destroyed and
// which a backup never holds (the subject-key store stays beside the KEKs): they can no longer be opened. A restore
// reads the store's tombstones and deletes those rows from the restored retrieval.db as erasure does (vectors zeroed,
// secure_delete, WAL cut, then VACUUM), and reports how many there were. Rows sealed before subject keys existed
// (under the tenant's key) are deleted the same way: the tombstone names the subject, whatever sealed them.
import type { SubjectKeyStore } from '../../store/subject-keys-store.js';
import { SqliteRetrievalStore } from '../../store/retrieval-sqlite.js';
import { openSqlite } from '../../store/sqlite.js';

/** The restored store file the erasures apply to. */
export const RETRIEVAL_FILE = 'retrieval.db';

export async function dropErasedSubjects(retrievalDb: string, keys: SubjectKeyStore): Promise<Record<string, number>> {
  const erased = await keys.listErased();
  const counts = { retrievalChunks: 0, retrievalFiles: 0, retrievalUploads: 0 };
  if (!erased.length) return counts;
  const db = openSqlite(retrievalDb);
  try {
    const store = new SqliteRetrievalStore(db);
    // Chunks name their subject in any tenant (as erasure deletes them); uploads are the uploader's, in its tenant.
    for (const subject of new Set(erased.map((e) => e.subject))) {
      const r = await store.eraseSubject(subject);
      counts.retrievalChunks += r.chunks;
      counts.retrievalFiles += r.files;
    }
    for (const e of erased) counts.retrievalUploads += await store.eraseUploadsBy(e.tenant, e.subject);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    return counts;
  } finally {
    db.close();
  }
}
