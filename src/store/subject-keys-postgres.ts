// The subject-key store in PostgreSQL (`<prefix>subject_keys`, retrieval migration 3), shared by the replicas that
// share the retrieval store, on its pool (src/store/subject-keys-store.ts says what the store is for). An erasure
// overwrites the wrapped key in place; PostgreSQL keeps the old row version until VACUUM (and in its WAL and in
// backups made with its own tools): docs/data-encryption.md "Erasure".
import type pg from 'pg';
import { inTransaction } from './pg-migrate.js';
import { subjectKeyFromRow, type SubjectKeyRow, type SubjectKeyStore } from './subject-keys-store.js';

type Row = Record<string, unknown>;

export class PostgresSubjectKeyStore implements SubjectKeyStore {
  private readonly table: string;

  /** The pool belongs to the retrieval store: closing this store leaves it open. */
  constructor(
    private readonly pool: pg.Pool,
    prefix: string,
  ) {
    this.table = `${prefix}subject_keys`;
  }

  async get(tenant: string, subject: string): Promise<SubjectKeyRow | null> {
    const r = (await this.pool.query(`SELECT * FROM ${this.table} WHERE tenant = $1 AND subject = $2`, [tenant, subject])).rows[0] as Row | undefined;
    return r ? subjectKeyFromRow(r) : null;
  }

  async putIfAbsent(tenant: string, subject: string, wrapped: Buffer, nowMs: number): Promise<SubjectKeyRow> {
    await this.pool.query(`INSERT INTO ${this.table} (tenant, subject, wrapped, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, subject) DO NOTHING`, [tenant, subject, wrapped, nowMs]);
    return (await this.get(tenant, subject))!;
  }

  async erasedAmong(tenant: string, subjects: readonly string[]): Promise<Set<string>> {
    if (subjects.length === 0) return new Set();
    const r = await this.pool.query(`SELECT subject FROM ${this.table} WHERE tenant = $1 AND subject = ANY($2::text[]) AND erased_at IS NOT NULL`, [tenant, [...new Set(subjects)]]);
    return new Set((r.rows as { subject: string }[]).map((x) => x.subject));
  }

  async listErased(): Promise<{ tenant: string; subject: string; erasedAt: number }[]> {
    const r = await this.pool.query(`SELECT tenant, subject, erased_at FROM ${this.table} WHERE erased_at IS NOT NULL ORDER BY tenant, subject`);
    return (r.rows as Row[]).map((x) => ({ tenant: x.tenant as string, subject: x.subject as string, erasedAt: Number(x.erased_at) }));
  }

  async countLive(subject: string): Promise<number> {
    return this.count(`subject = $1`, subject);
  }

  async erase(subject: string, tenant: string, nowMs: number): Promise<number> {
    return inTransaction(this.pool, async (c) => {
      const destroyed = (await c.query(`UPDATE ${this.table} SET wrapped = NULL, erased_at = $1 WHERE subject = $2 AND erased_at IS NULL`, [nowMs, subject])).rowCount ?? 0;
      await c.query(`INSERT INTO ${this.table} (tenant, subject, wrapped, created_at, erased_at) VALUES ($1, $2, NULL, $3, $3) ON CONFLICT (tenant, subject) DO NOTHING`, [tenant, subject, nowMs]);
      return destroyed;
    });
  }

  async countTenant(tenant: string): Promise<number> {
    return this.count(`tenant = $1`, tenant);
  }

  /** Live keys matching `where` (one parameter). */
  private async count(where: string, arg: string): Promise<number> {
    const r = await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${this.table} WHERE ${where} AND erased_at IS NULL`, [arg]);
    return Number(r.rows[0]!.n);
  }

  async listLive(): Promise<{ tenant: string; subject: string; wrapped: Buffer }[]> {
    return (await this.pool.query<{ tenant: string; subject: string; wrapped: Buffer }>(`SELECT tenant, subject, wrapped FROM ${this.table} WHERE erased_at IS NULL ORDER BY tenant, subject`)).rows;
  }

  async replaceWrapped(tenant: string, subject: string, from: Buffer, to: Buffer): Promise<boolean> {
    return ((await this.pool.query(`UPDATE ${this.table} SET wrapped = $1 WHERE tenant = $2 AND subject = $3 AND wrapped = $4 AND erased_at IS NULL`, [to, tenant, subject, from])).rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {}
}
