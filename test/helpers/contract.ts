// One contract suite, every store backend (hono's adapter contract tests): each case is defined once per
// backend; a backend whose service is not reachable here skips with the reason (requireService fails in
// CI instead). PostgreSQL cases get table prefixes of their own, dropped when the file's tests end.
import { test, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { requireService } from './services.js';

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
