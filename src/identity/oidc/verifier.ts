// OIDC bearer-token verification: picks the configured issuer by the token's `iss`, verifies the
// JWS with that issuer's keys and algorithm allowlist, checks iss/aud/exp/nbf with bounded skew,
// and maps the claims to a Principal. Verified tokens are cached until `exp` (bounded LRU) so a
// busy client costs one Map lookup per request instead of a signature verification.
import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../../core/clock.js';
import { FailClosed } from '../../core/errors.js';
import type { Principal } from '../../core/types.js';
import { deepFreeze } from '../freeze.js';
import { DEFAULT_REALM, IdentityConfigError, InvalidBearerToken } from '../errors.js';
import { principalFromClaims } from './claims.js';
import { resolveIssuerConfig, type OidcIssuerConfig, type ResolvedIssuerConfig } from './config.js';
import { createKeySource, KeySourceUnavailable, type KeySource } from './key-source.js';

export interface OidcVerifierOptions {
  issuers: OidcIssuerConfig[];
  clock?: Clock;
  /** Verified-token cache size; default 10000. */
  cacheMaxEntries?: number;
  realm?: string;
}

/** Larger than any sane ID/access token; refusing early bounds parsing work per request. */
const MAX_TOKEN_BYTES = 16 * 1024;

interface Issuer {
  cfg: ResolvedIssuerConfig;
  keys: KeySource;
}

interface CachedPrincipal {
  principal: Principal;
  expMs: number;
}


export class OidcVerifier {
  private readonly issuers = new Map<string, Issuer>();
  private readonly clock: Clock;
  private readonly realm: string;
  private readonly cache: LRUCache<string, CachedPrincipal>;

  constructor(opts: OidcVerifierOptions) {
    if (!opts.issuers?.length) throw new IdentityConfigError('oidc: at least one issuer is required');
    for (const c of opts.issuers) {
      const cfg = resolveIssuerConfig(c);
      if (this.issuers.has(cfg.issuer)) throw new IdentityConfigError(`oidc: issuer ${cfg.issuer} configured twice`);
      this.issuers.set(cfg.issuer, { cfg, keys: createKeySource(cfg) });
    }
    this.clock = opts.clock ?? systemClock;
    this.realm = opts.realm ?? DEFAULT_REALM;
    this.cache = new LRUCache({ max: opts.cacheMaxEntries ?? 10_000 });
  }

  /** True when the (unverified) token names one of the configured issuers: lets the gateway route
   * a Bearer JWT to this verifier or to the JIT-token verifier without trying both. */
  knowsIssuer(token: string): boolean {
    const iss = this.peekIssuer(token);
    return iss !== undefined && this.issuers.has(iss);
  }

  /** Returns a frozen Principal, or throws InvalidBearerToken (401) / FailClosed (503, keys unavailable). */
  async verify(token: string): Promise<Principal> {
    const now = this.clock.now();
    const hit = this.cache.get(token);
    if (hit) {
      if (now < hit.expMs) return hit.principal;
      this.cache.delete(token);
    }
    if (token.length > MAX_TOKEN_BYTES) throw this.invalid('jwt_too_large');
    const iss = this.peekIssuer(token);
    if (iss === undefined) throw this.invalid('jwt_malformed');
    const issuer = this.issuers.get(iss);
    if (!issuer) throw this.invalid('jwt_issuer_unknown');
    const payload = await this.verifyJws(token, issuer, now);
    const principal = deepFreeze(principalFromClaims(payload, token, issuer.cfg));
    // exp is required (jwtVerify requiredClaims), so every cache entry has a finite lifetime.
    this.cache.set(token, { principal, expMs: (payload.exp as number) * 1000 });
    return principal;
  }

  async close(): Promise<void> {
    await Promise.all([...this.issuers.values()].map((i) => i.keys.close()));
  }

  private peekIssuer(token: string): string | undefined {
    try {
      const iss = decodeJwt(token).iss;
      return typeof iss === 'string' ? iss : undefined;
    } catch {
      return undefined;
    }
  }

  private async verifyJws(token: string, { cfg, keys }: Issuer, now: number): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, keys.getKey, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        clockTolerance: cfg.clockSkewSec,
        currentDate: new Date(now),
        requiredClaims: ['exp'],
        // RFC 9068 §4: the JOSE header says what the token is, so an ID token cannot pass as an access token.
        ...(cfg.requireAccessTokenTyp ? { typ: 'at+jwt' } : {}),
      });
      if (payload.typ === 'ID') throw this.invalid('jwt_is_id_token');
      return payload;
    } catch (e) {
      throw this.translate(e);
    }
  }

  private translate(e: unknown): Error {
    if (e instanceof KeySourceUnavailable) {
      const err = new FailClosed('jwks_unavailable', 'the token issuer\'s signing keys cannot be obtained; try again later');
      err.reason = `oidc_fetch_failed: ${e.detail}`;
      return err;
    }
    // RFC 6750 §3 shows "The access token expired" as an allowed description; nothing finer is said.
    if (e instanceof errors.JWTExpired) return this.invalid('jwt_expired', 'the access token expired');
    if (e instanceof InvalidBearerToken) return e;
    if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'typ') return this.invalid('jwt_not_access_token');
    if (e instanceof errors.JWTClaimValidationFailed) return this.invalid(`jwt_claim_${e.claim}`);
    if (e instanceof errors.JWSSignatureVerificationFailed) return this.invalid('jwt_signature_invalid');
    if (e instanceof errors.JOSEAlgNotAllowed) return this.invalid('jwt_alg_not_allowed');
    if (e instanceof errors.JWKSNoMatchingKey) return this.invalid('jwt_kid_unknown');
    if (e instanceof errors.JWKSMultipleMatchingKeys) return this.invalid('jwt_kid_ambiguous');
    if (e instanceof errors.JOSENotSupported) return this.invalid('jwt_alg_not_supported');
    return this.invalid('jwt_malformed');
  }

  private invalid(reason: string, message?: string): InvalidBearerToken {
    return new InvalidBearerToken(reason, this.realm, message);
  }
}
