// Principals, API keys and identity metadata in PostgreSQL, for replicas that share one control plane.
// Same contract as SqliteIdentityStore (test/store/identity-contract.test.ts runs one suite on both).
// Every change a replica must see at once (a key revoked, a principal disabled) is also announced with
// NOTIFY by the service that makes it (src/store/pg-changes.ts); this store only reads and writes rows.
import type { JsonWebKey } from 'node:crypto';
import type pg from 'pg';
import type { ApiKeyRecord, IdentityStore, JitKeyDirectory, PrincipalRecord } from './identity-store.js';
import { connectMigrated, type Migration, type MigrationResult } from './pg-migrate.js';

export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'principals, api_keys, meta',
    sql: `
      CREATE TABLE $PREFIXprincipals (
        id text PRIMARY KEY, kind text NOT NULL, tenant text NOT NULL, groups jsonb NOT NULL, admin boolean NOT NULL,
        source_cidrs jsonb, limits jsonb, created_at bigint NOT NULL, erased_at bigint);
      CREATE TABLE $PREFIXapi_keys (
        id text PRIMARY KEY, principal_id text NOT NULL REFERENCES $PREFIXprincipals(id), hash text NOT NULL UNIQUE,
        hint text NOT NULL, models jsonb NOT NULL, actions jsonb NOT NULL, description text, created_at bigint NOT NULL,
        expires_at bigint, revoked_at bigint, rotated_to text, last_used_at bigint);
      CREATE INDEX $PREFIXapi_keys_principal ON $PREFIXapi_keys (principal_id);
      CREATE TABLE $PREFIXmeta (name text PRIMARY KEY, value text NOT NULL);`,
  },
  {
    version: 2,
    description: 'principals.disabled_at (operators can disable a principal)',
    sql: `ALTER TABLE $PREFIXprincipals ADD COLUMN disabled_at bigint`,
  },
  {
    version: 3,
    description: 'jit_keys (public JIT token keys of every replica, by kid)',
    sql: `CREATE TABLE $PREFIXjit_keys (kid text PRIMARY KEY, jwk jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  },
  {
    version: 4,
    description: 'principals.oidc_issuer (the one issuer whose tokens step a person up)',
    sql: `ALTER TABLE $PREFIXprincipals ADD COLUMN oidc_issuer text`,
  },
];

export interface PostgresStoreOptions {
  /** libpq connection string, e.g. postgres://postgres@127.0.0.1:5432/warden */
  connectionString: string;
  /** Table name prefix; lets several Warden deployments share a database. Default `warden_`. */
  prefix?: string;
  /** Pool size. Default 4. */
  poolSize?: number;
}

type Row = Record<string, unknown>;

/** bigint columns come back as strings from node-postgres; times fit in a double. */
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toPrincipal(r: Row): PrincipalRecord {
  return {
    id: r.id as string,
    kind: r.kind as PrincipalRecord['kind'],
    tenant: r.tenant as string,
    groups: r.groups as string[],
    admin: r.admin as boolean,
    sourceCidrs: (r.source_cidrs as string[] | null) ?? null,
    limits: (r.limits as PrincipalRecord['limits']) ?? null,
    createdAt: Number(r.created_at),
    erasedAt: num(r.erased_at),
    disabledAt: num(r.disabled_at),
    oidcIssuer: (r.oidc_issuer as string | null) ?? null,
  };
}

function toKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    principalId: r.principal_id as string,
    hash: r.hash as string,
    hint: r.hint as string,
    models: r.models as string[],
    actions: r.actions as string[],
    description: (r.description as string | null) ?? null,
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    rotatedTo: (r.rotated_to as string | null) ?? null,
    lastUsedAt: num(r.last_used_at),
  };
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export class PostgresIdentityStore implements IdentityStore, JitKeyDirectory {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { principals: string; keys: string; meta: string; jitKeys: string },
    /** What `connect` found and applied (for `warden migrate` and the start-up log). */
    readonly migration: MigrationResult,
  ) {}

  /** Connects and brings the schema up to date (see pg-migrate.ts). */
  static async connect(opts: PostgresStoreOptions): Promise<PostgresIdentityStore> {
    const { pool, prefix, migration } = await connectMigrated(opts, 'identity', IDENTITY_MIGRATIONS);
    return new PostgresIdentityStore(pool, { principals: `${prefix}principals`, keys: `${prefix}api_keys`, meta: `${prefix}meta`, jitKeys: `${prefix}jit_keys` }, migration);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  async getPrincipal(id: string): Promise<PrincipalRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.principals} WHERE id = $1`, [id]);
    return r ? toPrincipal(r) : null;
  }
  async listPrincipals(): Promise<PrincipalRecord[]> {
    return (await this.rows(`SELECT * FROM ${this.t.principals} ORDER BY created_at, id`)).map(toPrincipal);
  }
  async insertPrincipal(p: PrincipalRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.principals} (id, kind, tenant, groups, admin, source_cidrs, limits, created_at, erased_at, disabled_at, oidc_issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [p.id, p.kind, p.tenant, json(p.groups), p.admin, json(p.sourceCidrs), json(p.limits), p.createdAt, p.erasedAt, p.disabledAt ?? null, p.oidcIssuer ?? null],
    );
  }
  async updatePrincipal(p: PrincipalRecord): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t.principals} SET kind = $2, tenant = $3, groups = $4, admin = $5, source_cidrs = $6, limits = $7, erased_at = $8, disabled_at = $9, oidc_issuer = $10 WHERE id = $1`,
      [p.id, p.kind, p.tenant, json(p.groups), p.admin, json(p.sourceCidrs), json(p.limits), p.erasedAt, p.disabledAt ?? null, p.oidcIssuer ?? null],
    );
  }
  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.keys} WHERE hash = $1`, [hash]);
    return r ? toKey(r) : null;
  }
  async getKey(id: string): Promise<ApiKeyRecord | null> {
    const [r] = await this.rows(`SELECT * FROM ${this.t.keys} WHERE id = $1`, [id]);
    return r ? toKey(r) : null;
  }
  async listKeys(principalId?: string): Promise<ApiKeyRecord[]> {
    const rows = principalId
      ? await this.rows(`SELECT * FROM ${this.t.keys} WHERE principal_id = $1 ORDER BY created_at, id`, [principalId])
      : await this.rows(`SELECT * FROM ${this.t.keys} ORDER BY created_at, id`);
    return rows.map(toKey);
  }
  async insertKey(k: ApiKeyRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.keys} (id, principal_id, hash, hint, models, actions, description, created_at, expires_at, revoked_at, rotated_to, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [k.id, k.principalId, k.hash, k.hint, json(k.models), json(k.actions), k.description, k.createdAt, k.expiresAt, k.revokedAt, k.rotatedTo, k.lastUsedAt],
    );
  }
  async updateKeyState(id: string, s: Pick<ApiKeyRecord, 'expiresAt' | 'revokedAt' | 'rotatedTo'>): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.keys} SET expires_at = $2, revoked_at = $3, rotated_to = $4 WHERE id = $1`, [id, s.expiresAt, s.revokedAt, s.rotatedTo]);
  }
  async touchKeys(lastUsed: Map<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    // One statement for the batch; a later use recorded by another replica is never moved back.
    await this.pool.query(
      `UPDATE ${this.t.keys} AS k SET last_used_at = GREATEST(COALESCE(k.last_used_at, 0), u.t) FROM unnest($1::text[], $2::bigint[]) AS u(id, t) WHERE k.id = u.id`,
      [[...lastUsed.keys()], [...lastUsed.values()]],
    );
  }
  async getMeta(name: string): Promise<string | null> {
    const [r] = await this.rows(`SELECT value FROM ${this.t.meta} WHERE name = $1`, [name]);
    return r ? (r.value as string) : null;
  }
  async setMeta(name: string, value: string): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.meta} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [name, value]);
  }
  /** A session advisory lock on a connection of its own, held while `fn` runs on the pool's others. */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [`warden:${this.t.meta}:${name}`]);
      try {
        return await fn();
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`warden:${this.t.meta}:${name}`]);
      }
    } finally {
      c.release();
    }
  }
  async publishJitKey(kid: string, jwk: JsonWebKey): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.jitKeys} (kid, jwk) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING`, [kid, JSON.stringify(jwk)]);
  }
  async findJitKey(kid: string): Promise<JsonWebKey | null> {
    const [r] = await this.rows(`SELECT jwk FROM ${this.t.jitKeys} WHERE kid = $1`, [kid]);
    return r ? (r.jwk as JsonWebKey) : null;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
