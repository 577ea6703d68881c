// Versioned, idempotent schema migrations for the PostgreSQL stores. Each store names its migrations
// (an ordered list); `migrate` applies the ones not yet recorded, in one transaction holding an advisory
// lock per store, so replicas starting together do not race and a half-applied step never commits.
import pg from 'pg';

export interface Migration {
  /** 1, 2, 3, …: applied in order, each once. */
  version: number;
  description: string;
  sql: string;
}

/** A store written by a newer Warden than this one: refusing beats guessing at a schema we do not know. */
export class SchemaTooNew extends Error {
  constructor(
    readonly store: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(`the ${store} tables are at schema version ${found}; this Warden knows up to ${known} (upgrade Warden, do not downgrade a store)`);
    this.name = 'SchemaTooNew';
  }
}

export interface MigrationResult {
  store: string;
  from: number;
  to: number;
  applied: number[];
}

/** Table names are built from a configured prefix: only lower-case letters, digits and underscore. */
export function checkPrefix(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new RangeError(`bad table prefix ${JSON.stringify(prefix)}: use a-z, 0-9 and _ (at most 41 characters, not starting with a digit)`);
  return prefix;
}

/**
 * Applies `migrations` (sorted by version, starting at 1, no gaps) for `store` on `client`. The versions
 * applied are recorded in `<prefix>schema_migrations`; `$PREFIX` in a migration's SQL is replaced by the prefix.
 */
export async function migrate(client: pg.ClientBase, store: string, prefix: string, migrations: readonly Migration[]): Promise<MigrationResult> {
  checkPrefix(prefix);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${store} migrations must be numbered 1..n without gaps (found ${m.version} at position ${i + 1})`);
  });
  const table = `${prefix}schema_migrations`;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`warden-migrate:${prefix}${store}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (store text NOT NULL, version integer NOT NULL, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store, version))`);
    const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${table} WHERE store = $1`, [store]);
    const from = r.rows[0]?.v ?? 0;
    if (from > migrations.length) throw new SchemaTooNew(store, from, migrations.length);
    const applied: number[] = [];
    for (const m of migrations.slice(from)) {
      await client.query(m.sql.replaceAll('$PREFIX', prefix));
      await client.query(`INSERT INTO ${table} (store, version, description) VALUES ($1, $2, $3)`, [store, m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return { store, from, to: migrations.length, applied };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * A pool for one store, its schema brought up to date first (the pool is closed again if that fails). An idle
 * client losing its connection must not crash the process: the next query reports it.
 */
export async function connectMigrated(
  opts: { connectionString: string; prefix?: string; poolSize?: number },
  store: string,
  migrations: readonly Migration[],
): Promise<{ pool: pg.Pool; prefix: string; migration: MigrationResult }> {
  const prefix = checkPrefix(opts.prefix ?? 'warden_');
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.poolSize ?? 4 });
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      return { pool, prefix, migration: await migrate(client, store, prefix, migrations) };
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}

/** Runs `fn` in one transaction on a client of `pool`: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}
