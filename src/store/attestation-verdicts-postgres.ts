// Shared attestation verdicts in PostgreSQL (`<prefix>attestation_verdicts`, registry migration 2): one row per
// deployment, written by the replica that challenged it. A round holds a transaction-scoped advisory lock on the
// deployment, taken with `pg_try_advisory_xact_lock` by the scheduler's rounds so a replica finding it held
// skips (the same one-at-a-time as the tool-credential key rotation, sealed-postgres.ts). Its own small pool: a
// round keeps its transaction open while the deployment answers the challenge.
import type pg from 'pg';
import { connectMigrated, inTransaction, type MigrationResult } from './pg-migrate.js';
import { REGISTRY_MIGRATIONS } from './registry-postgres.js';
import type { AttestationVerdictStore, SharedVerdict } from '../workload/attestation/shared-verdicts.js';

interface VerdictRow {
  deployment_id: string;
  reference_digest: string;
  trusted: boolean;
  evidence_digest: string | null;
  measurements: string | null;
  code: string | null;
  reason: string | null;
  verified_at: string | null;
  expires_at: string | null;
  checked_at: string;
  replica: string;
  revision: string;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function toVerdict(r: VerdictRow): SharedVerdict {
  return {
    deploymentId: r.deployment_id,
    referenceDigest: r.reference_digest,
    trusted: r.trusted,
    evidenceDigest: r.evidence_digest,
    measurements: r.measurements === null ? null : (JSON.parse(r.measurements) as Record<string, string>),
    code: r.code,
    reason: r.reason,
    verifiedAt: num(r.verified_at),
    expiresAt: num(r.expires_at),
    checkedAt: Number(r.checked_at),
    replica: r.replica,
    revision: Number(r.revision),
  };
}

export class PostgresAttestationVerdictStore implements AttestationVerdictStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    readonly migration: MigrationResult,
  ) {}

  static async connect(opts: { connectionString: string; prefix?: string; poolSize?: number }): Promise<PostgresAttestationVerdictStore> {
    const { pool, prefix, migration } = await connectMigrated({ poolSize: 4, ...opts }, 'registry', REGISTRY_MIGRATIONS);
    return new PostgresAttestationVerdictStore(pool, prefix, migration);
  }

  private get table(): string {
    return `${this.prefix}attestation_verdicts`;
  }

  async get(deploymentId: string): Promise<SharedVerdict | null> {
    const r = (await this.pool.query<VerdictRow>(`SELECT * FROM ${this.table} WHERE deployment_id = $1`, [deploymentId])).rows[0];
    return r ? toVerdict(r) : null;
  }

  async list(): Promise<SharedVerdict[]> {
    return (await this.pool.query<VerdictRow>(`SELECT * FROM ${this.table} ORDER BY deployment_id COLLATE "C"`)).rows.map(toVerdict);
  }

  round(deploymentId: string, fn: (current: SharedVerdict | null) => Promise<Omit<SharedVerdict, 'revision'> | null>, o: { wait: boolean }): Promise<{ stored: SharedVerdict | null } | null> {
    return inTransaction(this.pool, async (c) => {
      const lock = `warden-attestation:${this.prefix}${deploymentId}`;
      if (o.wait) await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock]);
      else if (!(await c.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got', [lock])).rows[0]!.got) return null;
      const row = (await c.query<VerdictRow>(`SELECT * FROM ${this.table} WHERE deployment_id = $1`, [deploymentId])).rows[0];
      const current = row ? toVerdict(row) : null;
      const next = await fn(current);
      if (!next) return { stored: null };
      const v: SharedVerdict = { ...next, revision: (current?.revision ?? 0) + 1 };
      await c.query(
        `INSERT INTO ${this.table} (deployment_id, reference_digest, trusted, evidence_digest, measurements, code, reason, verified_at, expires_at, checked_at, replica, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (deployment_id) DO UPDATE SET reference_digest = EXCLUDED.reference_digest, trusted = EXCLUDED.trusted,
           evidence_digest = EXCLUDED.evidence_digest, measurements = EXCLUDED.measurements, code = EXCLUDED.code, reason = EXCLUDED.reason,
           verified_at = EXCLUDED.verified_at, expires_at = EXCLUDED.expires_at, checked_at = EXCLUDED.checked_at, replica = EXCLUDED.replica, revision = EXCLUDED.revision`,
        [v.deploymentId, v.referenceDigest, v.trusted, v.evidenceDigest, v.measurements === null ? null : JSON.stringify(v.measurements), v.code, v.reason, v.verifiedAt, v.expiresAt, v.checkedAt, v.replica, v.revision],
      );
      return { stored: v };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
