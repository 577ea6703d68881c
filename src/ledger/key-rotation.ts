// Rotating the ledger key in a running Warden: on demand (`warden ledger key rotate`, POST
// /admin/v1/ledger/key/rotate, manageKeys on System::"ledger-key") and on a cadence (`ledger.keyRotation`).
// The rotation is recorded in the ledger before the key changes, so the entry that announces the new key is
// signed by the old one; from the next batch the new key signs and, during the overlap, the old one co-signs,
// so auditors, witnesses and receipt holders that pinned it keep verifying while they learn the new key from
// /audit/v1/keys. When the overlap ends the old private key is deleted; its public half stays published.
//
// Refused (409): a key held in a PKCS#11 token (make a new key on the token, configure it, and list the old one
// in `ledger.previousKeys`), and a log shared by replicas (they must all switch at once: rotate one data dir
// offline with `warden ledger key rotate --data-dir` and copy the key files to every replica; docs/ledger.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { BadRequest, Conflict } from '../core/errors.js';
import { sendJson } from '../http/respond.js';
import { endOverlap, ringVerifiers, rotateLedgerKey, type LedgerKeyRing, type PreviousLedgerKey } from './key-ring.js';
import type { Ledger } from './ledger.js';

const DAY = 86_400_000;
export const LEDGER_KEY_ROTATE_PATH = '/admin/v1/ledger/key/rotate';

export interface LedgerKeyRotationOptions {
  ledger: Ledger;
  ring: LedgerKeyRing;
  /** The data dir holding the key files; null when the key is not a file (a PKCS#11 token). */
  dataDir: string | null;
  /** Replicas append to this log: rotation here alone would split their keys. */
  shared: boolean;
  clock: Clock;
  /** Rotate when the current key is older than this (null: only on demand). */
  rotateAfterMs: number | null;
  /** Default overlap of a rotation. */
  overlapMs: number;
  /** Records a step in the ledger; resolves once durable. */
  record: (action: 'ledger.key.rotate' | 'ledger.key.rotate_failed' | 'ledger.key.overlap_end', details: Record<string, string | number | boolean | null>) => Promise<void>;
}

export interface RotationResult {
  previous: string;
  current: string;
  overlapUntil: string;
}

export class LedgerKeyRotation {
  private ring: LedgerKeyRing;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: LedgerKeyRotationOptions) {
    if (o.rotateAfterMs !== null && !(o.rotateAfterMs > 0)) throw new RangeError('ledger.keyRotation.rotateAfterDays must be > 0');
    if (!(o.overlapMs >= 0)) throw new RangeError('ledger.keyRotation.overlapDays must be >= 0');
    this.ring = o.ring;
  }

  /** The keys the current one replaced (newest first), for /audit/v1/keys. */
  previous(): readonly PreviousLedgerKey[] {
    return this.ring.previous;
  }

  /** When the current key began signing (ms). */
  since(): number {
    return this.ring.since;
  }

  /** Why this Warden cannot rotate its key here, or null. */
  refusal(): Conflict | null {
    if (this.o.dataDir === null) return new Conflict('ledger_key_on_token', 'the ledger key is held in a PKCS#11 token: create a new key on the token, configure ledger.signingKey with it and list the old key in ledger.previousKeys (docs/ledger.md, "Rotating the ledger key")');
    if (this.o.shared) return new Conflict('ledger_key_shared', 'replicas append to this log with one key and must switch together: stop them, run `warden ledger key rotate --data-dir DIR` on one data dir and copy ledger-key.pem, ledger-key.previous.pem and ledger-keys.json to the others (docs/ledger.md, "Rotating the ledger key")');
    return null;
  }

  /** Rotates now; one rotation at a time. */
  rotate(by: string | null, overlapMs: number = this.o.overlapMs, reason: string | null = null): Promise<RotationResult> {
    const run = this.busy.then(() => this.rotateNow(by, overlapMs, reason));
    this.busy = run.catch(() => {});
    return run;
  }

  private async rotateNow(by: string | null, overlapMs: number, reason: string | null): Promise<RotationResult> {
    const refused = this.refusal();
    if (refused) throw refused;
    const now = this.o.clock.now();
    const old = this.ring.current.vkey;
    // Durable before it takes effect: if the ledger cannot record the rotation, the key does not change.
    await this.o.record('ledger.key.rotate', { previous: old, by, reason, overlapUntil: new Date(now + overlapMs).toISOString(), scheduled: by === null });
    try {
      this.ring = rotateLedgerKey(this.o.dataDir!, this.ring, now, overlapMs, this.ring.current.name);
    } catch (e) {
      // The announced rotation did not happen (the key files could not be written): say so in the ledger too.
      await this.o.record('ledger.key.rotate_failed', { previous: old, by, error: (e as Error).message });
      throw e;
    }
    this.o.ledger.useKey(this.ring.current, this.ring.cosigners, ringVerifiers(this.ring).slice(1));
    return { previous: old, current: this.ring.current.vkey, overlapUntil: new Date(now + overlapMs).toISOString() };
  }

  /**
   * The cadence: ends an overlap that is over (the old key stops co-signing; its private half is deleted) and
   * rotates a key older than `rotateAfterMs`. Returns what it did.
   */
  async tick(): Promise<'rotated' | 'overlap_ended' | 'nothing'> {
    const now = this.o.clock.now();
    let did: 'rotated' | 'overlap_ended' | 'nothing' = 'nothing';
    if (this.ring.cosigners.length > 0 && this.o.dataDir !== null) {
      const ended = endOverlap(this.o.dataDir, this.ring, now);
      if (ended !== this.ring) {
        this.ring = ended;
        this.o.ledger.useKey(ended.current, [], ringVerifiers(ended).slice(1));
        await this.o.record('ledger.key.overlap_end', { previous: ended.previous[0]!.vkey, current: ended.current.vkey });
        did = 'overlap_ended';
      }
    }
    if (this.o.rotateAfterMs !== null && now - this.ring.since >= this.o.rotateAfterMs && this.refusal() === null) {
      await this.rotate(null, this.o.overlapMs, `key older than ${Math.round(this.o.rotateAfterMs / DAY)} days`);
      did = 'rotated';
    }
    return did;
  }

  /** POST /admin/v1/ledger/key/rotate {overlap?: "7d", reason?}. */
  async adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    if (ar.path !== LEDGER_KEY_ROTATE_PATH || req.method !== 'POST') return false;
    const b = await ar.body();
    for (const k of Object.keys(b)) if (k !== 'overlap' && k !== 'reason') throw new BadRequest('invalid_field', `unknown field ${k}`, k);
    if (b.overlap !== undefined && typeof b.overlap !== 'string') throw new BadRequest('invalid_field', 'overlap must be a duration like 7d or 0s', 'overlap');
    if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 500)) throw new BadRequest('invalid_field', 'reason must be a string of at most 500 characters', 'reason');
    const overlapMs = b.overlap === undefined ? this.o.overlapMs : parseDuration(b.overlap, 'overlap');
    const refused = this.refusal();
    if (refused) {
      await ar.record('ledger.key.rotate', { type: 'System', id: 'ledger-key' }, { reason: (b.reason as string | undefined) ?? null }, refused);
      throw refused;
    }
    const r = await this.rotate(ar.principal.id, overlapMs, (b.reason as string | undefined) ?? null);
    sendJson(res, 200, r, { 'x-request-id': ar.requestId });
    return true;
  }
}
