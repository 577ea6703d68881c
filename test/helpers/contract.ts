// One contract suite, every store backend (hono's adapter contract tests): each case is defined once per
// backend; a backend whose service is not reachable here skips with the reason (requireService fails in
// CI instead). PostgreSQL cases get table prefixes of their own, dropped when the file's tests end.
import { test, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { requireService } from './services.js';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite.js';
import { migrate, type Migration } from '../../src/store/pg-migrate.js';

export const PG_TEST_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface StoreBackend<O extends { close(): Promise<void> }> {
  name: string;
  /** The opened store, or why this backend cannot run here. */
  open: () => Promise<O | string>;
}

/** Registers before/after hooks: whether PostgreSQL answers, and the cleanup of every prefix handed out. */
export function pgTestTables(): { skip: () => string | false; newPrefix: () => string } {
  let skip: string | false = false;
  const prefixes: string[] = [];
  before(async () => {
    skip = await requireService('postgres');
  });
  after(async () => {
    if (skip || prefixes.length === 0) return;
    const c = new pg.Client({ connectionString: PG_TEST_URL });
    await c.connect();
    for (const p of prefixes) {
      const tables = await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${p.replaceAll('_', '\\_')}%`]);
      for (const { tablename } of tables.rows) await c.query(`DROP TABLE IF EXISTS ${tablename} CASCADE`);
    }
    await c.end();
  });
  return {
    skip: () => skip,
    newPrefix: () => {
      const p = `t${randomBytes(5).toString('hex')}_`;
      prefixes.push(p);
      return p;
    },
  };
}

/**
 * Registers before/after hooks: whether Redis answers, one connected client for the file, and the deletion of the
 * keys under every prefix handed out (`<tag>_<random>:`).
 */
export function redisTestPrefixes(tag: string): { skip: () => string | false; redis: Redis; newPrefix: () => string } {
  let skip: string | false = false;
  const redis = new Redis({ lazyConnect: true });
  const prefixes: string[] = [];
  before(async () => {
    skip = await requireService('redis');
    if (!skip) await redis.connect();
  });
  after(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  return {
    skip: () => skip,
    redis,
    newPrefix: () => {
      const p = `${tag}_${randomBytes(4).toString('hex')}:`;
      prefixes.push(p);
      return p;
    },
  };
}

/** Defines one case per backend, each on a freshly opened store that is closed afterwards. */
export function contractCase<O extends { close(): Promise<void> }>(backends: readonly StoreBackend<O>[], name: string, fn: (opened: O) => Promise<void>): void {
  for (const b of backends) {
    test(`${b.name}: ${name}`, async (t) => {
      const opened = await b.open();
      if (typeof opened === 'string') return t.skip(opened);
      try {
        await fn(opened);
      } finally {
        await opened.close();
      }
    });
  }
}

/** Two handles on one store: the same one for SQLite, two replicas' pools for PostgreSQL. */
export interface TwoHandles<S> {
  a: S;
  b: S;
  close(): Promise<void>;
}

/** The usual pair of backends: an in-memory SQLite store, and two PostgreSQL store instances on one fresh prefix. */
export function sqliteAndPostgres<S>(
  pgTables: ReturnType<typeof pgTestTables>,
  onSqlite: (db: SqliteDb) => S,
  connectPg: (o: { connectionString: string; prefix: string }) => Promise<S & { close(): Promise<void> }>,
): StoreBackend<TwoHandles<S>>[] {
  return [
    {
      name: 'SQLite',
      open: async () => {
        const db = openSqlite(':memory:');
        const s = onSqlite(db);
        return { a: s, b: s, close: async () => void db.close() };
      },
    },
    {
      name: 'PostgreSQL',
      open: async () => {
        const skip = pgTables.skip();
        if (skip) return skip;
        const o = { connectionString: PG_TEST_URL, prefix: pgTables.newPrefix() };
        const [a, b] = [await connectPg(o), await connectPg(o)];
        return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
      },
    },
  ];
}

/** A fresh prefix holding what an earlier release wrote: `store`'s first `upTo` migrations, then `seed`. */
export async function olderSchema(pgTables: ReturnType<typeof pgTestTables>, store: string, migrations: readonly Migration[], upTo: number, seed: (c: pg.Client, prefix: string) => Promise<void> = async () => {}): Promise<string> {
  const prefix = pgTables.newPrefix();
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    await migrate(c, store, prefix, migrations.slice(0, upTo));
    await seed(c, prefix);
  } finally {
    await c.end();
  }
  return prefix;
}

/** Whether `f` throws (for checks on synchronous paths that refuse by throwing). */
export const throws = (f: () => void): boolean => {
  try {
    f();
    return false;
  } catch {
    return true;
  }
};

/** Handles on one shared store, each its own connection, as separate replicas (or processes) hold them. */
export interface SharedHandles<T> {
  handle(): Promise<T>;
  close(): Promise<void>;
}

/**
 * A contract backend whose handles are fresh connections on one prefix: `connect` opens one, `view` is the store
 * under test on it, `disconnect` closes it. `skip` and `newPrefix` come from pgTestTables or redisTestPrefixes.
 */
export function sharedHandlesBackend<C, T>(
  name: string,
  keys: { skip: () => string | false; newPrefix: () => string },
  connect: (prefix: string) => Promise<C>,
  view: (c: C, prefix: string) => T,
  disconnect: (c: C) => unknown,
): StoreBackend<SharedHandles<T>> {
  return {
    name,
    open: async () => {
      const skip = keys.skip();
      if (skip) return skip;
      const prefix = keys.newPrefix();
      const open: C[] = [];
      return {
        handle: async () => {
          const c = await connect(prefix);
          open.push(c);
          return view(c, prefix);
        },
        close: async () => void (await Promise.all(open.map((c) => disconnect(c)))),
      };
    },
  };
}
