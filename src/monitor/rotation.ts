// API keys on a cadence: each `tick` (a timer in the running gateway, the test's fake clock here) rotates
// every active key older than `rotateAfterDays` with an overlap (the old key works `overlapDays` more), hands
// the new secret to the configured channel (a file, mode 0600, for a secret manager to pick up, or a signed
// webhook: secret-delivery.ts), reminds ahead of expiry, and disables (revokes) keys unused for
// `disableUnusedAfterDays`. A secret that cannot be delivered leaves the old key as it was (its overlap does not
// start) and the successor revoked; the next tick tries again. Every act is a ledger entry.
// The bootstrap key is never touched (it may be the only way in).
import type { Clock } from '../core/clock.js';
import type { ApiKeyRecord } from '../store/identity-store.js';
import { fileChannel, type SecretChannel } from './secret-delivery.js';

const DAY = 86_400_000;

export interface RotationKeys {
  list(): Promise<ApiKeyRecord[]>;
  /** `deliver` runs before the old key's overlap starts; when it throws, the old key is left as it was. */
  rotate(id: string, graceMs: number, deliver: (created: { key: string; record: ApiKeyRecord }) => Promise<void>): Promise<{ key: string; record: ApiKeyRecord }>;
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
  /** Where new secrets go: `<dir>/<principal>.<keyId>.key`, mode 0600 (unless `channel` is given). */
  deliverDir: string;
  /** Another channel for new secrets (a webhook). */
  channel?: SecretChannel;
  /** Never rotated or disabled (the bootstrap key). */
  exempt: (keyId: string) => boolean;
  record: (action: 'key.rotate' | 'key.expiry_reminder' | 'key.disable_unused', ok: boolean, details: Record<string, string | number | boolean | null>) => void;
}

export interface TickReport {
  /** `file`: where the secret went (a path, or the webhook's URL). */
  rotated: { from: string; to: string; file: string | null }[];
  /** Keys whose successor's secret could not be delivered: still valid, rotated again at the next tick. */
  undelivered?: string[];
  reminded: string[];
  disabled: string[];
}

export class KeyRotation {
  private readonly reminded = new Set<string>();
  private readonly channel: SecretChannel;

  constructor(private readonly o: RotationOptions) {
    if (!(o.rotateAfterDays > 0 && o.overlapDays >= 0 && o.remindDaysBefore >= 0)) throw new Error('monitor.rotation: rotateAfterDays must be > 0, overlapDays and remindDaysBefore ≥ 0');
    this.channel = o.channel ?? fileChannel(o.deliverDir);
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
        let where: string | null = null;
        try {
          const created = await this.o.keys.rotate(k.id, this.o.overlapDays * DAY, async (c) => {
            where = await this.channel.deliver({ principal: k.principalId, key: c.record.id, previous: k.id, secret: c.key, overlapDays: this.o.overlapDays });
          });
          this.o.record('key.rotate', true, { key: k.id, successor: created.record.id, principal: k.principalId, overlapDays: this.o.overlapDays, delivered: true, channel: this.channel.kind });
          out.rotated.push({ from: k.id, to: created.record.id, file: where });
        } catch (e) {
          // Not handed over: the successor is revoked and the old key stays valid, without an overlap clock.
          const successor = (e as { successor?: string }).successor ?? null;
          this.o.record('key.rotate', false, { key: k.id, successor, principal: k.principalId, delivered: false, channel: this.channel.kind, error: ((e as { why?: string }).why ?? (e as Error).message).slice(0, 300) });
          (out.undelivered ??= []).push(k.id);
        }
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
