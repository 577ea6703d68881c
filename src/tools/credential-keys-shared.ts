// The tool-credential signing keys of replicas that share one store (store.postgres): every replica signs with
// and publishes (GET /v1/tools/jwks) the same keys, so a credential issued through replica A verifies against the
// JWKS a backend fetched through replica B, and a rotation made by one is the rotation of all.
// - Keys are rows of the shared store, each private key wrapped under the platform KEK (the replicas already
//   share one, docs/cluster.md); every replica holds the opened set in memory and reloads it when a peer
//   announces a change, on every maintenance round, and when the announcements may have been missed.
// - Maintenance (creating the first key, rotating, retiring past the overlap) runs in the store's exclusive
//   section: one replica at a time, the others skip the round. If the store cannot be reached the round is
//   skipped and logged, never run on local state: the keys already loaded keep signing (the schedule publishes a
//   new key `publishAheadMs` before it signs, so a replica that missed it still signs with a published key).
// - Each rotation and retirement is recorded once, by the replica that made it, after its transaction committed.
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import {
  checkSchedule,
  ed25519Kid,
  publishedKeys,
  retireDetails,
  retiredKeys,
  rotateDetails,
  rotationDue,
  signingKey,
  type CredentialKeysOptions,
  type ScheduledKey,
  type SigningKeys,
} from './credential-keys.js';

/** What a maintenance round may do inside the store's exclusive section. */
export interface CredentialKeyTransaction {
  list(): Promise<ScheduledKey[]>;
  add(k: ScheduledKey): Promise<void>;
  /** False when the key was already gone. */
  remove(kid: string): Promise<boolean>;
}

/** The shared keys (the PostgreSQL implementation wraps each private key under the platform KEK). */
export interface CredentialKeyStore {
  /** Every stored key, opened, oldest activation first. */
  list(): Promise<ScheduledKey[]>;
  /**
   * Runs `fn` in one transaction while no other replica runs it. `wait: false` (the timer's rounds): null at once
   * when another replica holds it. Rejects when the store cannot be reached (nothing is done then).
   */
  exclusive<T>(fn: (tx: CredentialKeyTransaction) => Promise<T>, o: { wait: boolean }): Promise<T | null>;
}

export interface SharedCredentialKeysOptions extends Omit<CredentialKeysOptions, 'dir' | 'legacyFile'> {
  store: CredentialKeyStore;
  /** Tells the other replicas to reload (after a round changed the keys). */
  announce: () => Promise<void>;
  /** This replica's key from before the keys were shared: the first key of a fresh store (backends may pin it). */
  firstKey?: () => { key: KeyObject; since: number } | null;
}

export type Round = { rotated: string | null; retired: string[] } | 'skipped';

export class SharedToolCredentialKeys implements SigningKeys {
  private keys: ScheduledKey[] = [];

  private constructor(private readonly o: SharedCredentialKeysOptions) {
    checkSchedule(o);
  }

  /** Loads the shared keys; the first replica of a fresh store creates the first key (the others wait for it). */
  static async start(o: SharedCredentialKeysOptions): Promise<SharedToolCredentialKeys> {
    const k = new SharedToolCredentialKeys(o);
    await o.store.exclusive(async (tx) => {
      if ((await tx.list()).length > 0) return;
      const first = o.firstKey?.() ?? { key: generateKeyPairSync('ed25519').privateKey, since: o.clock.now() };
      await tx.add({ kid: ed25519Kid(first.key), activeFrom: first.since, key: first.key });
    }, { wait: true });
    await k.reload();
    return k;
  }

  /** Reads the shared keys again (a peer rotated or retired one, or announcements may have been missed). */
  async reload(): Promise<void> {
    this.keys = await this.o.store.list();
  }

  signing(): { kid: string; key: KeyObject } {
    return signingKey(this.keys, this.o.clock.now());
  }

  jwks(): JWK[] {
    return publishedKeys(this.keys, this.o.clock.now(), this.o.overlapMs);
  }

  /**
   * One maintenance round: retires keys past their overlap and rotates when the newest is due, while no other
   * replica does; 'skipped' when one does. Rejects (nothing changed, nothing recorded) when the store is down.
   */
  async tick(): Promise<Round> {
    const now = this.o.clock.now();
    const done = await this.o.store.exclusive(async (tx) => {
      const keys = await tx.list();
      const retired: ScheduledKey[] = [];
      for (const k of retiredKeys(keys, now, this.o.overlapMs)) if (await tx.remove(k.kid)) retired.push(k);
      const left = keys.filter((k) => !retired.includes(k));
      let rotated: { next: ScheduledKey; previous: ScheduledKey } | null = null;
      if (rotationDue(left, now, this.o.rotateAfterMs)) {
        const key = generateKeyPairSync('ed25519').privateKey;
        const next = { kid: ed25519Kid(key), activeFrom: now + this.o.publishAheadMs, key };
        await tx.add(next);
        rotated = { next, previous: left.at(-1)! };
      }
      return { retired, rotated };
    }, { wait: false });
    if (done === null) {
      await this.reload();
      return 'skipped';
    }
    // Committed: recorded once, by this replica; then every replica (this one included) reloads.
    for (const k of done.retired) this.o.record('tool_credential_key.retire', retireDetails(k, now));
    if (done.rotated) this.o.record('tool_credential_key.rotate', rotateDetails(done.rotated.next, done.rotated.previous, now, this.o.overlapMs));
    await this.reload();
    if (done.rotated || done.retired.length > 0) await this.o.announce();
    return { rotated: done.rotated?.next.kid ?? null, retired: done.retired.map((k) => k.kid) };
  }
}
