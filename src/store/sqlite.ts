// The embedded default store: one SQLite file in the data dir, WAL mode.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDb = Database.Database;

export function openSqlite(file: string): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Reads a SQLite file that may not exist (`absent` then), closing it afterwards. */
export async function readSqliteFile<T>(file: string, absent: T, read: (db: SqliteDb) => Promise<T>): Promise<T> {
  if (!existsSync(file)) return absent;
  const db = openSqlite(file);
  try {
    return await read(db);
  } finally {
    db.close();
  }
}
