// Tenants' own KEKs (BYOK) kept consistent across replicas. Each replica holds its own copy of a tenant's key (a
// file, or a handle on a shared token), so withdrawing it by removing one copy would leave the others serving.
// Instead the tenant KEKs are recorded in the store every replica reads (src/store/tenant-keks-store.ts):
// - at start each configured tenant's KEK id is recorded, or checked against the one recorded: a replica with
//   another key for a tenant is refused (its data keys would not open elsewhere, and the reverse);
// - a withdrawal (admin API, `warden data kek withdraw`) is recorded, announced, and applied by every replica:
//   the tenant's data neither opens nor is sealed there (503 kek_unavailable) until it is reinstated;
// - a tenant recorded by another replica but not configured here is refused here too (never sealed under the
//   platform KEK instead);
// - with a shared store the record is re-read every second besides the announcements, and while it cannot be
//   read for longer than `staleAfterMs` every BYOK tenant is refused (fail closed: a withdrawal may be unseen).
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { Conflict, NotFound } from '../../core/errors.js';
import type { ChangeFeed } from '../../store/pg-changes.js';
import type { TenantKekRecord, TenantKekStore } from '../../store/tenant-keks-store.js';
import type { Keyring } from './keyring.js';

/** A tenant's KEK configured here is not the one its data keys are recorded under. */
export class TenantKekMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantKekMismatch';
  }
}

export class TenantKekNotFound extends NotFound {
  constructor(tenant: string) {
    super('tenant_kek_not_found', `no own KEK is recorded for tenant ${JSON.stringify(tenant)}`);
  }
}

/** Forgetting a tenant's KEK record is refused while it could still matter; the code says why. */
export class TenantKekForgetRefused extends Conflict {
  constructor(code: 'tenant_kek_in_use' | 'tenant_kek_still_configured' | 'tenant_kek_still_wraps_data', message: string) {
    super(code, message);
  }
}

/** Data still wrapped under a tenant's keys, by kind (what must be gone before its KEK record is forgotten). */
export type TenantHoldings = (tenant: string) => Promise<Record<string, number>>;

/** Why a withdrawn tenant's data is refused, as the ledger's record states it. */
export function withdrawal(r: TenantKekRecord & { withdrawn: NonNullable<TenantKekRecord['withdrawn']> }): string {
  return `withdrawn by ${r.withdrawn.by} at ${new Date(r.withdrawn.at).toISOString()}${r.withdrawn.reason ? ` (${r.withdrawn.reason})` : ''}`;
}

/**
 * Applies the recorded tenant KEKs to a keyring: a withdrawn tenant, and one recorded but not configured here, are
 * refused by it (KekUnavailable naming the tenant). Replicas apply it on every change; the offline commands that
 * move or copy data keys (`warden data rewrap`, `warden backup create`) apply it before they start.
 */
export function applyTenantKekRecords(keyring: Keyring, records: TenantKekRecord[]): void {
  const here = keyring.tenantKekIds();
  for (const r of records) {
    if (r.withdrawn) keyring.setWithdrawn(r.tenant, withdrawal({ ...r, withdrawn: r.withdrawn }));
    else if (!here.has(r.tenant)) keyring.setWithdrawn(r.tenant, `its KEK ${r.kekId} is recorded for the replicas but not configured on this one (encryption.tenants)`);
    else keyring.setWithdrawn(r.tenant, null);
  }
}

export interface TenantKeksDeps {
  keyring: Keyring;
  store: TenantKekStore;
  clock: Clock;
  log: Logger;
  /** With a shared store: announcements of withdrawals, and the periodic re-read. */
  changes?: ChangeFeed | null;
  pollMs?: number;
  staleAfterMs?: number;
}

export class TenantKeks {
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: () => void = () => {};
  private syncedAt: number;

  private constructor(private readonly d: TenantKeksDeps) {
    this.syncedAt = d.clock.now();
  }

  /** Records or checks every configured tenant's KEK id (TenantKekMismatch: refuse the start), then applies the record. */
  static async start(d: TenantKeksDeps): Promise<TenantKeks> {
    const now = d.clock.now();
    for (const [tenant, id] of d.keyring.tenantKekIds()) {
      if (id === null) continue; // could not be opened here: withdrawn on this replica already
      const r = await d.store.record(tenant, id, now);
      if (r.kekId !== id) {
        throw new TenantKekMismatch(
          `tenant ${tenant}'s data keys are recorded under its KEK ${r.kekId}, this replica's encryption.tenants.${tenant} is ${id}: every replica must be given the same key for a tenant (rotating a tenant's own KEK is not supported)`,
        );
      }
    }
    const t = new TenantKeks(d);
    await t.refresh();
    if (d.changes) {
      t.unsubscribe = d.changes.subscribe((c) => {
        if (c.type === 'tenant_kek' || c.type === 'resync') t.refresh().catch((e: unknown) => d.log.error({ err: e }, 're-reading tenant KEKs after an announcement failed'));
      });
      t.timer = setInterval(() => void t.poll(), d.pollMs ?? 1000);
      t.timer.unref();
    }
    return t;
  }

  private async poll(): Promise<void> {
    try {
      await this.refresh();
    } catch (e) {
      const stale = this.d.clock.now() - this.syncedAt;
      if (stale > (this.d.staleAfterMs ?? 5000)) this.d.keyring.setUnconfirmed(`the tenant KEK record has not been readable for ${Math.round(stale / 1000)} s`);
      this.d.log.error({ err: e }, 'reading tenant KEKs failed');
    }
  }

  /** Reads the record and applies it to the keyring. */
  async refresh(): Promise<void> {
    applyTenantKekRecords(this.d.keyring, await this.d.store.list());
    this.syncedAt = this.d.clock.now();
    this.d.keyring.setUnconfirmed(null);
  }

  list(): Promise<TenantKekRecord[]> {
    return this.d.store.list();
  }

  /** Withdraws (reason given) or reinstates (null) a recorded tenant's KEK on every replica. */
  async set(tenant: string, w: { by: string; reason: string | null } | null): Promise<TenantKekRecord> {
    if (!(await this.d.store.setWithdrawn(tenant, w ? { at: this.d.clock.now(), ...w } : null))) throw new TenantKekNotFound(tenant);
    await this.d.changes?.publish({ type: 'tenant_kek', tenant });
    await this.refresh();
    return (await this.d.store.list()).find((r) => r.tenant === tenant)!;
  }

  /**
   * Checks that `tenant`'s KEK record may be forgotten (TenantKekNotFound, TenantKekForgetRefused): it is
   * withdrawn, this replica is not configured with the key, and no data of the tenant is still wrapped under it.
   * Returns what was checked, for the ledger entry written before `forget`.
   */
  async checkForget(tenant: string, holdings: TenantHoldings): Promise<{ record: TenantKekRecord; holdings: Record<string, number> }> {
    const record = (await this.d.store.list()).find((r) => r.tenant === tenant);
    if (!record) throw new TenantKekNotFound(tenant);
    if (!record.withdrawn) throw new TenantKekForgetRefused('tenant_kek_in_use', `tenant ${tenant}'s KEK ${record.kekId} is in use: withdraw it first (warden data kek withdraw ${tenant})`);
    if (this.d.keyring.tenantKekIds().has(tenant)) {
      throw new TenantKekForgetRefused('tenant_kek_still_configured', `this replica is still configured with tenant ${tenant}'s KEK (encryption.tenants.${tenant}): remove it from every replica's config first, or a restart would record it again`);
    }
    const held = await holdings(tenant);
    const left = Object.entries(held).filter(([, n]) => n > 0);
    if (left.length) {
      throw new TenantKekForgetRefused('tenant_kek_still_wraps_data', `tenant ${tenant} still has data wrapped under its keys (${left.map(([k, n]) => `${n} ${k}`).join(', ')}): erase it first (warden erase SUBJECT, or delete its vector stores and uploaded files)`);
    }
    return { record, holdings: held };
  }

  /** Deletes a withdrawn tenant's record on every replica (checkForget first); false when it changed meanwhile. */
  async forget(tenant: string): Promise<boolean> {
    if (!(await this.d.store.forgetWithdrawn(tenant))) return false;
    await this.d.changes?.publish({ type: 'tenant_kek', tenant });
    await this.refresh();
    return true;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe();
  }
}
