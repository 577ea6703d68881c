// Sealed records in PostgreSQL for replicas that share them: retained payloads with their per-principal data
// keys and erasure marks, and wrapped model keys (the interfaces and what they promise: sealed-store.ts).
// Every write for a principal's payloads takes a transaction-scoped advisory lock on that principal, so an
// erasure through one replica and a retention through another are ordered: nothing is stored after the
// erasure committed, and an erasure removes everything stored before it.
//
// PostgreSQL keeps deleted rows until VACUUM reuses their space (and in its WAL and backups): an erased
// principal's wrapped data key may survive on disk for a while. It stays shredded as long as the KEK is not
// also disclosed; rotating the KEK and rewrapping (docs/data-encryption.md) ends even that.
import type pg from 'pg';
import { connectMigrated, inTransaction, type Migration, type MigrationResult } from './pg-migrate.js';
import type { StoredModelKey } from '../workload/key-release-envelope.js';
import type { ModelKeyStore, PayloadStore, StoredPayload } from './sealed-store.js';
import { toTenantKek, type TenantKekRecord, type TenantKekRow, type TenantKekStore } from './tenant-keks-store.js';
import type { CredentialKeyStore, CredentialKeyTransaction } from '../tools/credential-keys-shared.js';
import { ed25519FromSeed, ed25519Kid, ed25519Seed, toolCredentialKeyContext, type ScheduledKey } from '../tools/credential-keys.js';

export const SEALED_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'ledger_payload_keys, ledger_payload_erasures, ledger_payloads, model_keys',
    sql: `
      CREATE TABLE $PREFIXledger_payload_keys (principal text PRIMARY KEY, wrapped_key bytea NOT NULL, created_ms bigint NOT NULL);
      CREATE TABLE $PREFIXledger_payload_erasures (principal text PRIMARY KEY, erased_ms bigint NOT NULL);
      CREATE TABLE $PREFIXledger_payloads (
        request_id text NOT NULL, kind text NOT NULL, principal text NOT NULL, nonce bytea NOT NULL, ciphertext bytea NOT NULL,
        PRIMARY KEY (request_id, kind));
      CREATE INDEX $PREFIXledger_payloads_principal ON $PREFIXledger_payloads (principal);
      CREATE TABLE $PREFIXmodel_keys (deployment_id text PRIMARY KEY, wrapped jsonb NOT NULL, created_at bigint NOT NULL);
      -- The platform KEK every replica wraps with (one row): a replica with another is refused at start.
      CREATE TABLE $PREFIXsealed_kek (one boolean PRIMARY KEY DEFAULT true CHECK (one), kek_id text NOT NULL, set_at bigint NOT NULL);`,
  },
  {
    version: 2,
    description: 'tenant_keks: BYOK tenants, their KEK ids and withdrawals, shared by replicas',
    sql: `
      CREATE TABLE $PREFIXtenant_keks (
        tenant text PRIMARY KEY, kek_id text NOT NULL, recorded_at bigint NOT NULL,
        withdrawn_at bigint, withdrawn_by text, withdrawn_reason text);`,
  },
  {
    version: 3,
    description: 'ledger_payloads.expires_ms (retention by class)',
    sql: `
      ALTER TABLE $PREFIXledger_payloads ADD COLUMN expires_ms bigint;
      CREATE INDEX $PREFIXledger_payloads_expiry ON $PREFIXledger_payloads (expires_ms) WHERE expires_ms IS NOT NULL;`,
  },
  {
    version: 4,
    description: 'tool_credential_keys: the keys that sign per-call tool credentials, shared by replicas (wrapped)',
    sql: `
      CREATE TABLE $PREFIXtool_credential_keys (kid text PRIMARY KEY, active_from bigint NOT NULL, wrapped_seed bytea NOT NULL, created_at bigint NOT NULL);`,
  },
];

type Opts = { connectionString: string; prefix?: string; poolSize?: number };

export const SHARED_KEK_REQUIRED =
  'store.postgres needs encryption.kek: the replicas share model keys and retained payloads in PostgreSQL, so every one must wrap and open them with the same KEK — name a key file copied to every replica ({ file: PATH }, made with `warden data new-key`) or the same PKCS#11 key ({ pkcs11: {...}, pinEnv }); see docs/cluster.md';

/** This replica's platform KEK is not the one the shared store's keys are wrapped under. */
export class SharedKekMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SharedKekMismatch';
  }
}

/** A pool of the `sealed` store (schema migrated first), shared by the payload and the model-key store shapes. */
abstract class SealedPostgres {
  protected constructor(
    protected readonly pool: pg.Pool,
    protected readonly prefix: string,
    readonly migration: MigrationResult,
  ) {}

  protected static open(opts: Opts) {
    return connectMigrated({ poolSize: 2, ...opts }, 'sealed', SEALED_MIGRATIONS);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export class PostgresPayloadStore extends SealedPostgres implements PayloadStore {
  static async connect(opts: Opts): Promise<PostgresPayloadStore> {
    const { pool, prefix, migration } = await SealedPostgres.open(opts);
    return new PostgresPayloadStore(pool, prefix, migration);
  }

  private t(name: 'keys' | 'erasures' | 'payloads'): string {
    return `${this.prefix}${name === 'keys' ? 'ledger_payload_keys' : name === 'erasures' ? 'ledger_payload_erasures' : 'ledger_payloads'}`;
  }

  /** Runs `fn` in a transaction holding the principal's lock, with whether the principal is erased. */
  private locked<T>(principal: string, fn: (c: pg.PoolClient, erased: boolean) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`warden-payloads:${this.prefix}${principal}`]);
      const erased = (await c.query(`SELECT 1 FROM ${this.t('erasures')} WHERE principal = $1`, [principal])).rowCount! > 0;
      return fn(c, erased);
    });
  }

  async wrappedKey(principal: string): Promise<Buffer | undefined> {
    return (await this.pool.query<{ wrapped_key: Buffer }>(`SELECT wrapped_key FROM ${this.t('keys')} WHERE principal = $1`, [principal])).rows[0]?.wrapped_key;
  }

  async erasedAt(principal: string): Promise<number | undefined> {
    const r = (await this.pool.query<{ erased_ms: string }>(`SELECT erased_ms FROM ${this.t('erasures')} WHERE principal = $1`, [principal])).rows[0];
    return r ? Number(r.erased_ms) : undefined;
  }

  putKey(principal: string, wrapped: Buffer, nowMs: number): Promise<Buffer | undefined> {
    return this.locked(principal, async (c, erased) => {
      if (erased) return undefined;
      await c.query(`INSERT INTO ${this.t('keys')} (principal, wrapped_key, created_ms) VALUES ($1, $2, $3) ON CONFLICT (principal) DO NOTHING`, [principal, wrapped, nowMs]);
      return (await c.query<{ wrapped_key: Buffer }>(`SELECT wrapped_key FROM ${this.t('keys')} WHERE principal = $1`, [principal])).rows[0]?.wrapped_key;
    });
  }

  putPayload(requestId: string, kind: string, p: StoredPayload): Promise<boolean> {
    return this.locked(p.principal, async (c, erased) => {
      if (erased) return false;
      await c.query(`INSERT INTO ${this.t('payloads')} (request_id, kind, principal, nonce, ciphertext, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)`, [requestId, kind, p.principal, p.nonce, p.ciphertext, p.expiresAt ?? null]);
      return true;
    });
  }

  async getPayload(requestId: string, kind: string): Promise<StoredPayload | undefined> {
    const r = (await this.pool.query<Omit<StoredPayload, 'expiresAt'> & { expires_ms: string | null }>(`SELECT principal, nonce, ciphertext, expires_ms FROM ${this.t('payloads')} WHERE request_id = $1 AND kind = $2`, [requestId, kind])).rows[0];
    return r && { principal: r.principal, nonce: r.nonce, ciphertext: r.ciphertext, expiresAt: r.expires_ms === null ? null : Number(r.expires_ms) };
  }

  async countExpired(nowMs: number): Promise<number> {
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.t('payloads')} WHERE expires_ms <= $1`, [nowMs])).rows[0]!.n);
  }

  async deleteExpired(nowMs: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM ${this.t('payloads')} WHERE expires_ms <= $1`, [nowMs])).rowCount ?? 0;
  }

  async listKeys(): Promise<{ principal: string; wrapped: Buffer }[]> {
    const rows = (await this.pool.query<{ principal: string; wrapped_key: Buffer }>(`SELECT principal, wrapped_key FROM ${this.t('keys')} ORDER BY principal COLLATE "C"`)).rows;
    return rows.map((r) => ({ principal: r.principal, wrapped: r.wrapped_key }));
  }

  async replaceKey(principal: string, from: Buffer, to: Buffer): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${this.t('keys')} SET wrapped_key = $1 WHERE principal = $2 AND wrapped_key = $3`, [to, principal, from])).rowCount === 1;
  }

  async holdings(principal: string): Promise<{ key: boolean; payloads: number }> {
    const r = await this.pool.query<{ key: boolean; payloads: string }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.t('keys')} WHERE principal = $1) AS key, (SELECT count(*) FROM ${this.t('payloads')} WHERE principal = $1) AS payloads`,
      [principal],
    );
    return { key: r.rows[0]!.key, payloads: Number(r.rows[0]!.payloads) };
  }

  destroyKey(principal: string, nowMs: number): Promise<{ keyExisted: boolean; payloads: number }> {
    return this.locked(principal, async (c) => {
      const keyExisted = (await c.query(`DELETE FROM ${this.t('keys')} WHERE principal = $1`, [principal])).rowCount! > 0;
      await c.query(`INSERT INTO ${this.t('erasures')} (principal, erased_ms) VALUES ($1, $2) ON CONFLICT (principal) DO UPDATE SET erased_ms = excluded.erased_ms`, [principal, nowMs]);
      return { keyExisted, payloads: (await c.query(`DELETE FROM ${this.t('payloads')} WHERE principal = $1`, [principal])).rowCount! };
    });
  }

}

/**
 * Pins the platform KEK of the replicas sharing this store: the first start records its KEK id; a replica whose
 * KEK is another is refused (it would wrap keys the others cannot open, and could open none of theirs). A
 * replica that names the recorded KEK under encryption.previous and a new one as encryption.kek moves the pin
 * (a rotation); replicas still on the old KEK are then refused at their next start, and until restarted
 * answer 503 kek_unavailable for keys wrapped under the new one — rotate every replica together.
 */
export async function pinSharedKek(opts: Opts, ids: { current: string; previous: string[] }, now: number): Promise<{ pinned: string; moved: boolean }> {
  const { pool, prefix } = await connectMigrated({ ...opts, poolSize: 1 }, 'sealed', SEALED_MIGRATIONS);
  try {
    return await inTransaction(pool, async (c) => {
      const table = `${prefix}sealed_kek`;
      await c.query(`INSERT INTO ${table} (kek_id, set_at) VALUES ($1, $2) ON CONFLICT (one) DO NOTHING`, [ids.current, now]);
      const pinned = (await c.query<{ kek_id: string }>(`SELECT kek_id FROM ${table} FOR UPDATE`)).rows[0]!.kek_id;
      if (pinned === ids.current) return { pinned, moved: false };
      if (ids.previous.includes(pinned)) {
        await c.query(`UPDATE ${table} SET kek_id = $1, set_at = $2`, [ids.current, now]);
        return { pinned: ids.current, moved: true };
      }
      throw new SharedKekMismatch(
        `the shared store's keys are wrapped under KEK ${pinned}, this replica's encryption.kek is ${ids.current}: every replica on one store.postgres must use the same KEK (copy one key file to every replica, or name the same PKCS#11 key)`,
      );
    });
  } finally {
    await pool.end();
  }
}

export class PostgresModelKeyStore extends SealedPostgres implements ModelKeyStore {
  static async connect(opts: Opts): Promise<PostgresModelKeyStore> {
    const { pool, prefix, migration } = await SealedPostgres.open(opts);
    return new PostgresModelKeyStore(pool, prefix, migration);
  }

  private get table(): string {
    return `${this.prefix}model_keys`;
  }

  async put(deploymentId: string, w: StoredModelKey, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (deployment_id, wrapped, created_at) VALUES ($1, $2, $3) ON CONFLICT (deployment_id) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at`,
      [deploymentId, JSON.stringify(w), now],
    );
  }

  async get(deploymentId: string): Promise<StoredModelKey | null> {
    return (await this.pool.query<{ wrapped: StoredModelKey }>(`SELECT wrapped FROM ${this.table} WHERE deployment_id = $1`, [deploymentId])).rows[0]?.wrapped ?? null;
  }

  async list(): Promise<{ deploymentId: string; wrapped: StoredModelKey }[]> {
    const rows = (await this.pool.query<{ deployment_id: string; wrapped: StoredModelKey }>(`SELECT deployment_id, wrapped FROM ${this.table} ORDER BY deployment_id COLLATE "C"`)).rows;
    return rows.map((r) => ({ deploymentId: r.deployment_id, wrapped: r.wrapped }));
  }

}

export class PostgresTenantKekStore extends SealedPostgres implements TenantKekStore {
  static async connect(opts: Opts): Promise<PostgresTenantKekStore> {
    const { pool, prefix, migration } = await SealedPostgres.open(opts);
    return new PostgresTenantKekStore(pool, prefix, migration);
  }

  private get table(): string {
    return `${this.prefix}tenant_keks`;
  }

  async list(): Promise<TenantKekRecord[]> {
    return (await this.pool.query<TenantKekRow>(`SELECT * FROM ${this.table} ORDER BY tenant COLLATE "C"`)).rows.map(toTenantKek);
  }

  async record(tenant: string, kekId: string, now: number): Promise<TenantKekRecord> {
    // Of two replicas recording at once the first id stands; the SELECT (a new snapshot) reads whichever it was.
    await this.pool.query(`INSERT INTO ${this.table} (tenant, kek_id, recorded_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [tenant, kekId, now]);
    return toTenantKek((await this.pool.query<TenantKekRow>(`SELECT * FROM ${this.table} WHERE tenant = $1`, [tenant])).rows[0]!);
  }

  async setWithdrawn(tenant: string, w: TenantKekRecord['withdrawn']): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.table} SET withdrawn_at = $1, withdrawn_by = $2, withdrawn_reason = $3 WHERE tenant = $4`, [w?.at ?? null, w?.by ?? null, w?.reason ?? null, tenant]);
    return r.rowCount === 1;
  }

  async forgetWithdrawn(tenant: string): Promise<boolean> {
    return (await this.pool.query(`DELETE FROM ${this.table} WHERE tenant = $1 AND withdrawn_at IS NOT NULL`, [tenant])).rowCount === 1;
  }
}

/** Wraps and opens an Ed25519 seed under the platform KEK, bound to the key's kid. */
export interface SeedSeal {
  wrap(seed: Buffer, kid: string): Promise<Buffer>;
  open(wrapped: Buffer, kid: string): Promise<Buffer>;
}

/** The seal of the shared tool-credential keys: the keyring's platform KEK, each seed bound to its kid. */
export function platformSeedSeal(keyring: {
  wrapDataKey(key: Buffer, tenant: string, context: string): Promise<Buffer>;
  unwrapDataKey(wrapped: Buffer, context: string): Promise<{ key: Buffer }>;
}, platformTenant: string): SeedSeal {
  return {
    wrap: (seed, kid) => keyring.wrapDataKey(seed, platformTenant, toolCredentialKeyContext(kid)),
    open: async (wrapped, kid) => (await keyring.unwrapDataKey(wrapped, toolCredentialKeyContext(kid))).key,
  };
}

/**
 * The tool-credential signing keys every replica signs with and publishes (tools/credential-keys-shared.ts):
 * each private key's seed wrapped under the platform KEK; maintenance in a transaction holding an advisory lock,
 * taken with `pg_try_advisory_xact_lock` by the timer's rounds so a replica finding it held skips the round.
 */
export class PostgresToolCredentialKeyStore extends SealedPostgres implements CredentialKeyStore {
  private seal: SeedSeal | null = null;

  static async connect(opts: Opts): Promise<PostgresToolCredentialKeyStore> {
    const { pool, prefix, migration } = await SealedPostgres.open(opts);
    return new PostgresToolCredentialKeyStore(pool, prefix, migration);
  }

  /** The KEK that wraps and opens the keys (set before the first use). */
  sealWith(seal: SeedSeal): this {
    this.seal = seal;
    return this;
  }

  private get table(): string {
    return `${this.prefix}tool_credential_keys`;
  }

  private async read(q: pg.Pool | pg.PoolClient): Promise<ScheduledKey[]> {
    const rows = (await q.query<{ kid: string; active_from: string; wrapped_seed: Buffer }>(`SELECT kid, active_from, wrapped_seed FROM ${this.table} ORDER BY active_from, kid COLLATE "C"`)).rows;
    const out: ScheduledKey[] = [];
    for (const r of rows) {
      const seed = await this.sealed().open(r.wrapped_seed, r.kid);
      try {
        const key = ed25519FromSeed(seed);
        // A row whose key is not the one its kid names is refused (fail closed), as a key file is.
        if (ed25519Kid(key) !== r.kid) throw new Error(`tool credential key ${r.kid} in ${this.table} is not the key its kid names`);
        out.push({ kid: r.kid, activeFrom: Number(r.active_from), key });
      } finally {
        seed.fill(0);
      }
    }
    return out;
  }

  private sealed(): SeedSeal {
    if (!this.seal) throw new Error('tool credential keys: no KEK to open them with');
    return this.seal;
  }

  list(): Promise<ScheduledKey[]> {
    return this.read(this.pool);
  }

  /** The wrapped seeds as stored (`warden data rewrap` moves them to the current KEK without a seal). */
  async listWrapped(): Promise<{ kid: string; wrapped: Buffer }[]> {
    return (await this.pool.query<{ kid: string; wrapped_seed: Buffer }>(`SELECT kid, wrapped_seed FROM ${this.table} ORDER BY kid COLLATE "C"`)).rows.map((r) => ({ kid: r.kid, wrapped: r.wrapped_seed }));
  }

  /** Replaces a wrapped seed only if it is still `from` (a concurrent rewrap or retirement wins). */
  async replaceWrapped(kid: string, from: Buffer, to: Buffer): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${this.table} SET wrapped_seed = $1 WHERE kid = $2 AND wrapped_seed = $3`, [to, kid, from])).rowCount === 1;
  }

  exclusive<T>(fn: (tx: CredentialKeyTransaction) => Promise<T>, o: { wait: boolean }): Promise<T | null> {
    return inTransaction(this.pool, async (c) => {
      const lock = `warden-tool-credential-keys:${this.prefix}`;
      if (o.wait) await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock]);
      else if (!(await c.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got', [lock])).rows[0]!.got) return null;
      return fn({
        list: () => this.read(c),
        add: async (k) => {
          const seed = ed25519Seed(k.key);
          await c.query(`INSERT INTO ${this.table} (kid, active_from, wrapped_seed, created_at) VALUES ($1, $2, $3, $4)`, [k.kid, k.activeFrom, await this.sealed().wrap(seed, k.kid), Date.now()]);
        },
        remove: async (kid) => (await c.query(`DELETE FROM ${this.table} WHERE kid = $1`, [kid])).rowCount === 1,
      });
    });
  }
}

/**
 * The sealed stores of a replica on store.postgres: the KEK pinned first (pinSharedKek), then model keys,
 * retained payloads when retention is on, and the tenants' own KEKs.
 */
export async function openSharedSealedStores(
  opts: Opts,
  kek: { current: string; previous: string[] },
  o: { payloads: boolean; now: number },
): Promise<{ modelKeys: PostgresModelKeyStore; payloads: PostgresPayloadStore | null; tenantKeks: PostgresTenantKekStore; toolCredentialKeys: PostgresToolCredentialKeyStore; close(): Promise<void> }> {
  await pinSharedKek(opts, kek, o.now);
  const modelKeys = await PostgresModelKeyStore.connect(opts);
  let payloads: PostgresPayloadStore | null = null;
  let tenantKeks: PostgresTenantKekStore | undefined;
  let toolCredentialKeys: PostgresToolCredentialKeyStore;
  try {
    payloads = o.payloads ? await PostgresPayloadStore.connect(opts) : null;
    tenantKeks = await PostgresTenantKekStore.connect(opts);
    toolCredentialKeys = await PostgresToolCredentialKeyStore.connect(opts);
  } catch (e) {
    await Promise.allSettled([modelKeys.close(), payloads?.close(), tenantKeks?.close()]);
    throw e;
  }
  const all = [modelKeys, payloads, tenantKeks, toolCredentialKeys];
  return { modelKeys, payloads, tenantKeks, toolCredentialKeys, close: async () => void (await Promise.allSettled(all.map((s) => s?.close()))) };
}
