// API keys on a cadence: each `tick` (a timer in the running gateway, the test's fake clock here) rotates
// every active key older than `rotateAfterDays` with an overlap (the old key works `overlapDays` more), hands
// the new secret to the configured channel (a file, mode 0600, for a secret manager to pick up), reminds ahead
// of expiry, and disables (revokes) keys unused for `disableUnusedAfterDays`. Every act is a ledger entry.
// The bootstrap key is never touched (it may be the only way in).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { ApiKeyRecord } from '../store/identity-store.js';

const DAY = 86_400_000;

export interface RotationKeys {
  list(): Promise<ApiKeyRecord[]>;
  rotate(id: string, graceMs: number): Promise<{ key: string; record: ApiKeyRecord }>;
  revoke(id: string): Promise<ApiKeyRecord>;
}

export interface RotationOptions {
  clock: Clock;
  keys: RotationKeys;
  rotateAfterDays: number;
  overlapDays: number;
  remindDaysBefore: number;
  /** null: unused keys are left alone. */
  disableUnusedAfterDays: number | null;
  /** Where new secrets go: `<dir>/<principal>.<keyId>.key`, mode 0600. */
  deliverDir: string;
  /** Never rotated or disabled (the bootstrap key). */
  exempt: (keyId: string) => boolean;
  record: (action: 'key.rotate' | 'key.expiry_reminder' | 'key.disable_unused', ok: boolean, details: Record<string, string | number | boolean | null>) => void;
}

export interface TickReport {
  rotated: { from: string; to: string; file: string | null }[];
  reminded: string[];
  disabled: string[];
}

export class KeyRotation {
  private readonly reminded = new Set<string>();

  constructor(private readonly o: RotationOptions) {
    if (!(o.rotateAfterDays > 0 && o.overlapDays >= 0 && o.remindDaysBefore >= 0)) throw new Error('monitor.rotation: rotateAfterDays must be > 0, overlapDays and remindDaysBefore ≥ 0');
  }

  async tick(): Promise<TickReport> {
    const now = this.o.clock.now();
    const out: TickReport = { rotated: [], reminded: [], disabled: [] };
    for (const k of await this.o.keys.list()) {
      const active = k.revokedAt === null && k.rotatedTo === null && (k.expiresAt === null || k.expiresAt > now);
      if (!active || this.o.exempt(k.id)) continue;
      const idle = now - (k.lastUsedAt ?? k.createdAt);
      if (this.o.disableUnusedAfterDays !== null && idle > this.o.disableUnusedAfterDays * DAY) {
        await this.o.keys.revoke(k.id);
        this.o.record('key.disable_unused', true, { key: k.id, principal: k.principalId, idleDays: Math.floor(idle / DAY) });
        out.disabled.push(k.id);
        continue;
      }
      if (now - k.createdAt > this.o.rotateAfterDays * DAY) {
        const created = await this.o.keys.rotate(k.id, this.o.overlapDays * DAY);
        let file: string | null = null;
        try {
          mkdirSync(this.o.deliverDir, { recursive: true, mode: 0o700 });
          file = join(this.o.deliverDir, `${k.principalId}.${created.record.id}.key`);
          writeFileSync(file, created.key + '\n', { mode: 0o600, flag: 'wx' });
        } catch {
          // The successor exists but its secret could not be handed over: the entry says so, and the operator
          // has the overlap to issue one by hand before the old key stops.
          file = null;
        }
        this.o.record('key.rotate', file !== null, { key: k.id, successor: created.record.id, principal: k.principalId, overlapDays: this.o.overlapDays, delivered: file !== null });
        out.rotated.push({ from: k.id, to: created.record.id, file });
        continue;
      }
      if (k.expiresAt !== null && k.expiresAt - now <= this.o.remindDaysBefore * DAY && !this.reminded.has(k.id)) {
        this.reminded.add(k.id);
        this.o.record('key.expiry_reminder', true, { key: k.id, principal: k.principalId, expiresAt: new Date(k.expiresAt).toISOString() });
        out.reminded.push(k.id);
      }
    }
    return out;
  }
}
