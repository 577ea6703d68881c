// RFC 9449 DPoP: sender-constrained Warden tokens. A client that asks /v1/token with a `DPoP` proof gets a
// token bound to its key (`cnf.jkt`, RFC 7638 thumbprint); every later use must come as
// `Authorization: DPoP <token>` with a fresh proof signed by that key for that request (htm, htu, ath), so a
// stolen token alone is useless. Signatures are checked by jose; the checks of §4.3 are here.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, errors, jwtVerify, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/clock.js';
import { Unauthenticated } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { NonceStore } from './http-signature/nonce-store.js';

/** Asymmetric algorithms accepted for proofs (§4.3 step 5: no `none`, no MACs). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];
const CHALLENGE = `DPoP algs="${DPOP_ALGORITHMS.join(' ')}"`;

export interface DpopExpectation {
  /** The request's method (`htm`). */
  method: string;
  /** The request's URI as this server is reached (`htu`, compared without query and fragment). */
  url: string;
  /** The access token presented with the proof: the proof must carry `ath` = its SHA-256 (resource requests). */
  accessToken?: string;
}

/**
 * A refused DPoP proof. The client is told only that the proof is missing or invalid; which check failed
 * (`reason`, and `detail` for the operator) goes to the log and the ledger entry, never to the body.
 */
export class InvalidDpopProof extends Unauthenticated {
  declare reason: string;
  readonly detail: string;
  constructor(reason: string, detail: string) {
    super('invalid_dpop_proof', 'the DPoP proof is missing or invalid', `${CHALLENGE}, error="invalid_dpop_proof"`, `dpop_${reason}`);
    this.detail = detail;
  }
}

export interface DpopVerifierOptions {
  clock: Clock;
  /** How old (by `iat`) a proof may be; RFC 9449 leaves it to the server. Default 60 s. */
  maxAgeSec?: number;
  /** How far in the future `iat` may be. Default 5 s. */
  skewSec?: number;
  /** Remembered proof ids (jti), for replay detection within the window. Default 100,000. */
  maxRemembered?: number;
  /** Shared replay cache (RedisNonceStore) for replicas; without it proofs are remembered in this process. */
  nonceStore?: NonceStore;
}

function comparableUri(u: string): string | null {
  try {
    const url = new URL(u); // origin: scheme and host lower-cased, default port dropped (§4.3 step 9)
    return `${url.origin}${url.pathname}`;
  } catch {
    return null;
  }
}

export class DpopVerifier {
  private readonly clock: Clock;
  private readonly maxAgeSec: number;
  private readonly skewSec: number;
  private readonly seen: LRUCache<string, true>;
  private readonly nonces: NonceStore | null;
  private readonly keys = new LRUCache<string, { key: KeyObject; jkt: string }>({ max: 10_000 });

  constructor(o: DpopVerifierOptions) {
    this.clock = o.clock;
    this.maxAgeSec = o.maxAgeSec ?? 60;
    this.skewSec = o.skewSec ?? 5;
    this.seen = new LRUCache({ max: o.maxRemembered ?? 100_000, ttl: (this.maxAgeSec + this.skewSec) * 1000, ttlAutopurge: false });
    this.nonces = o.nonceStore ?? null;
  }

  /**
   * The client's key and its RFC 7638 thumbprint, imported once per distinct jwk header: a client signs
   * every request with the same key, and importing plus hashing it each time cost more than the signature
   * check itself (bench/results/identity.md).
   */
  private async holderKey(jwk: JWK): Promise<{ key: KeyObject; jkt: string }> {
    const id = JSON.stringify(jwk);
    const hit = this.keys.get(id);
    if (hit) return hit;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw new InvalidDpopProof('jwk', 'the jwk header is not a usable public key');
    }
    const holder = { key, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
    this.keys.set(id, holder);
    return holder;
  }

  /** Verifies one proof for one request; returns the thumbprint (jkt) of the key that signed it. */
  async verify(proof: string | undefined, expect: DpopExpectation): Promise<string> {
    if (!proof) throw new InvalidDpopProof('missing', 'the request needs a DPoP header');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw new InvalidDpopProof('malformed', 'the DPoP header is not a JWS');
    }
    if (header.typ !== 'dpop+jwt') throw new InvalidDpopProof('typ', 'typ must be dpop+jwt');
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object') throw new InvalidDpopProof('jwk', 'the proof carries no jwk header');
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new InvalidDpopProof('jwk', 'the jwk header must be a public key');
    const now = this.clock.now();
    const holder = await this.holderKey(jwk);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = (await jwtVerify(proof, holder.key, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS, currentDate: new Date(now) })) as { payload: Record<string, unknown> });
    } catch (e) {
      if (e instanceof errors.JOSEAlgNotAllowed) throw new InvalidDpopProof('alg', `alg must be one of ${DPOP_ALGORITHMS.join(', ')}`);
      if (e instanceof errors.JWSSignatureVerificationFailed) throw new InvalidDpopProof('signature', 'the signature does not verify under the jwk header');
      throw new InvalidDpopProof('malformed', (e as Error).message);
    }
    const { htm, htu, iat, jti, ath } = payload;
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) throw new InvalidDpopProof('jti', 'jti must be a unique string');
    if (htm !== expect.method) throw new InvalidDpopProof('htm', `htm must be ${expect.method}`);
    const want = comparableUri(expect.url);
    if (typeof htu !== 'string' || want === null || comparableUri(htu) !== want) throw new InvalidDpopProof('htu', `htu must be ${want ?? expect.url}`);
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidDpopProof('iat', 'iat is required');
    const nowSec = now / 1000;
    if (iat > nowSec + this.skewSec) throw new InvalidDpopProof('iat', 'the proof is from the future');
    if (iat < nowSec - this.maxAgeSec) throw new InvalidDpopProof('iat', `the proof is older than ${this.maxAgeSec} s`);
    if (expect.accessToken !== undefined) {
      const want = createHash('sha256').update(expect.accessToken, 'ascii').digest('base64url');
      if (ath !== want) throw new InvalidDpopProof('ath', 'ath must be the base64url SHA-256 of the access token');
    }
    const jkt = holder.jkt;
    // §11.1: a proof is single use within its window.
    const key = `${jkt}:${jti}`;
    if (this.nonces) {
      // One atomic record-if-unseen across replicas (a Redis error is a 503, never "unseen").
      if (!(await this.nonces.checkAndRecord(`dpop:${key}`, (this.maxAgeSec + this.skewSec) * 1000))) throw new InvalidDpopProof('replay', 'this proof was already used');
      return jkt;
    }
    if (this.seen.has(key)) throw new InvalidDpopProof('replay', 'this proof was already used');
    this.seen.set(key, true);
    return jkt;
  }
}

/**
 * RFC 9449 §7.1 on a resource request: a sender-constrained token must come with the DPoP scheme and a proof
 * by its key for this request; the DPoP scheme with a token that is not bound is refused too (never downgraded).
 */
export async function checkSenderBinding(
  dpop: DpopVerifier,
  principal: Principal,
  token: string,
  presented: { scheme: 'bearer' | 'dpop'; proof: string | undefined; method: string; url: string },
): Promise<void> {
  const bound = principal.authn.boundKey;
  if (bound === undefined) {
    if (presented.scheme === 'dpop') throw new Unauthenticated('invalid_token', 'this token is not sender-constrained: present it with the Bearer scheme', `${CHALLENGE}, error="invalid_token"`, 'dpop_scheme_unbound_token');
    return;
  }
  if (presented.scheme !== 'dpop') throw new Unauthenticated('invalid_token', 'this token is bound to a key (DPoP): present it as "Authorization: DPoP <token>" with a DPoP proof', `${CHALLENGE}, error="invalid_token"`, 'dpop_bound_token_as_bearer');
  const jkt = await dpop.verify(presented.proof, { method: presented.method, url: presented.url, accessToken: token });
  if (jkt !== bound) throw new InvalidDpopProof('key', 'the proof is signed by another key than the one the token is bound to');
}
