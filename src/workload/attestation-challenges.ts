// Attestation challenges for model-key release (/v1/attestation/challenge, then /v1/attestation/key): a nonce
// bound to one deployment and an expiry, spent exactly once. Issuing stores nothing (the nonce carries its
// expiry and a MAC over it and the deployment), so an unauthenticated caller cannot fill memory by asking;
// spending records the nonce until it expires.
//
// Two stores behind one interface: LocalChallengeStore (one process: a per-process MAC key, spent nonces in a
// bounded map) and RedisChallengeStore (store.redis: one MAC key in Redis for every replica and worker, each
// nonce spent with one `SET NX PX`, so a challenge issued by any replica is accepted once by any replica).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FailClosed, WardenError } from '../core/errors.js';

const NONCE_VERSION = 1;
const NONCE_BYTES = 56;
/** Spent nonces remembered at most by one process (limits.attestationUsedNonces); beyond it key requests get 503. */
export const MAX_CONSUMED_NONCES = 100_000;

export interface ChallengeStore {
  /** A fresh nonce for `deployment`, valid until `expiresAt` (epoch ms). */
  issue(deployment: string, expiresAt: number): Promise<string>;
  /**
   * Spends `nonce`: true exactly once for a nonce this store's issuer made for `deployment` that has not
   * expired at `now`; false for anything else (unknown, forged, spent, expired, another deployment).
   * Throws a 503 WardenError when it cannot decide (store unreachable, table full): never a guess.
   */
  consume(nonce: string, deployment: string, now: number): Promise<boolean>;
}

/**
 * A stateless challenge: version (1) ‖ expiry, epoch ms (6, big-endian) ‖ random (17) ‖ HMAC-SHA256 over
 * those and the deployment id (32) = 56 bytes, hex on the wire. Nothing is stored when it is issued; the
 * MAC proves on return that Warden issued it for this deployment and when it expires.
 */
export function issueNonce(macKey: Buffer, deployment: string, expiresAt: number): string {
  const head = Buffer.alloc(24);
  head.writeUInt8(NONCE_VERSION, 0);
  head.writeUIntBE(expiresAt, 1, 6);
  randomBytes(17).copy(head, 7);
  return Buffer.concat([head, nonceMac(macKey, head, deployment)]).toString('hex');
}

/** The nonce's expiry if it is well formed and was issued by this key for this deployment; null otherwise. */
export function checkNonce(macKey: Buffer, nonceHex: string, deployment: string): number | null {
  if (!/^[0-9a-f]+$/.test(nonceHex) || nonceHex.length !== NONCE_BYTES * 2) return null;
  const raw = Buffer.from(nonceHex, 'hex');
  if (raw.readUInt8(0) !== NONCE_VERSION) return null;
  const head = raw.subarray(0, 24);
  if (!timingSafeEqual(raw.subarray(24), nonceMac(macKey, head, deployment))) return null;
  return head.readUIntBE(1, 6);
}

function nonceMac(macKey: Buffer, head: Buffer, deployment: string): Buffer {
  return createHmac('sha256', macKey).update(head).update(deployment, 'utf8').digest();
}

/** One process: a restart invalidates open challenges (they live 60 s; the workload asks again). */
export class LocalChallengeStore implements ChallengeStore {
  private readonly macKey = randomBytes(32);
  // Nonces are spent in roughly expiry order (one TTL), so expired ones are dropped from the front; one may
  // outlive its expiry by at most a TTL here (it is refused anyway: checkNonce reads the expiry it carries).
  private readonly consumed = new Map<string, number>();

  constructor(private readonly maxConsumed = MAX_CONSUMED_NONCES) {}

  issue(deployment: string, expiresAt: number): Promise<string> {
    return Promise.resolve(issueNonce(this.macKey, deployment, expiresAt));
  }

  consume(nonce: string, deployment: string, now: number): Promise<boolean> {
    for (const [n, exp] of this.consumed) {
      if (exp > now) break;
      this.consumed.delete(n);
    }
    const expiresAt = checkNonce(this.macKey, nonce, deployment);
    if (expiresAt === null || expiresAt <= now || this.consumed.has(nonce)) return Promise.resolve(false);
    if (this.consumed.size >= this.maxConsumed) return Promise.reject(new WardenError(503, 'unavailable_error', 'too_many_challenges', 'too many attestation challenges in flight; retry shortly'));
    this.consumed.set(nonce, expiresAt);
    return Promise.resolve(true);
  }
}

/**
 * Every replica and worker on one Redis: the MAC key is created once (`SET NX`) under `<prefix>mac-key` and
 * read on every use (so a Redis that lost it gets a new one, and nonces made under the old one are refused
 * rather than a replica keeping a key no other shares); a nonce is spent with `SET <prefix>used:<nonce> NX PX`
 * until its expiry. Redis unreachable → 503 `attestation_challenges_unavailable`.
 *
 * Whoever can read this Redis can make challenges Warden accepts — as they could clear the spent nonces. A
 * challenge only proves freshness: the key still goes only to evidence that verifies and binds the nonce.
 */
export class RedisChallengeStore implements ChallengeStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'warden:attestation:') {}

  async issue(deployment: string, expiresAt: number): Promise<string> {
    return issueNonce(await this.macKey(), deployment, expiresAt);
  }

  async consume(nonce: string, deployment: string, now: number): Promise<boolean> {
    const expiresAt = checkNonce(await this.macKey(), nonce, deployment);
    if (expiresAt === null || expiresAt <= now) return false;
    let reply: string | null;
    try {
      reply = await this.redis.set(`${this.prefix}used:${nonce}`, '1', 'PX', Math.max(1, expiresAt - now), 'NX');
    } catch {
      throw unavailable();
    }
    return reply === 'OK';
  }

  private async macKey(): Promise<Buffer> {
    const name = `${this.prefix}mac-key`;
    let hex: string | null;
    try {
      hex = await this.redis.get(name);
      if (hex === null) {
        await this.redis.set(name, randomBytes(32).toString('hex'), 'NX');
        hex = await this.redis.get(name);
      }
    } catch {
      throw unavailable();
    }
    // Anything but 32 bytes of hex is not a key this code wrote: refuse rather than MAC with it.
    if (hex === null || !/^[0-9a-f]{64}$/.test(hex)) throw new FailClosed('attestation_challenges_unavailable', 'the shared attestation challenge key in Redis is missing or malformed');
    return Buffer.from(hex, 'hex');
  }
}

const unavailable = () => new FailClosed('attestation_challenges_unavailable', 'the attestation challenge store (Redis) cannot be reached');
