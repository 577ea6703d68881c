// Warden's just-in-time tokens (RFC 8693 token exchange for `/v1/token`): short-lived EdDSA JWT
// access tokens (RFC 9068 profile, `typ: at+jwt`) narrowed to a subset of the subject's scope,
// audience-bound to Warden, optionally delegated (`act`, RFC 8693 §4.1), revocable before expiry.
// A token lives no longer than its sources: its `exp` is capped at the subject's (and actor's) expiry,
// and it names the API keys it derives from (`src`) and its principals (`sub`, `act`), so revoking or
// rotating out a key, or erasing a principal, revokes every token derived from them (revokeDerived).
import { LRUCache } from 'lru-cache';
import { createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, decodeProtectedHeader, errors, exportJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { systemClock, type Clock } from '../../core/clock.js';
import { BadRequest } from '../../core/errors.js';
import type { Principal, PrincipalKind } from '../../core/types.js';
import { deepFreeze } from '../freeze.js';
import { DEFAULT_REALM, IdentityConfigError, InvalidBearerToken } from '../errors.js';
import { MemoryRevocationStore, type RevocationStore } from './revocation-store.js';
import { narrowScope, ScopeNotGranted, type ScopeRequest } from './scope.js';
import { TOKEN_TYPE_JWT } from './token-exchange-request.js';
import { InvalidDpopProof } from '../dpop.js';

export interface JitTokenServiceOptions {
  /** Ed25519 private key; generated when absent (tokens then die with the process). */
  signingKey?: KeyObject;
  /** `iss` of issued tokens, e.g. `https://warden.acme.example`. */
  issuer: string;
  /** The one audience tokens are bound to (Warden itself), e.g. `https://warden.acme.example`. */
  audience: string;
  defaultTtlSec?: number;
  maxTtlSec?: number;
  revocations?: RevocationStore;
  clock?: Clock;
  realm?: string;
  /** Verified-token cache size; default 10000. Revocation is still checked on every use. */
  cacheMaxEntries?: number;
  /**
   * Cluster: where the other replicas publish their public keys by kid, so their tokens verify here too. A
   * key found there must hash to its kid (RFC 7638), or the token is refused.
   */
  peerKeys?: { findJitKey(kid: string): Promise<JsonWebKey | null> };
}

/** How long a kid nobody published stays unknown before the directory is asked again (a replica may start meanwhile). */
const UNKNOWN_KID_MS = 5_000;

export interface ExchangeInput {
  subject: Principal;
  actor?: Principal;
  requested: ScopeRequest & { ttlSec?: number };
  /** RFC 8693 `audience` values: each must be Warden's audience; default Warden. */
  audience?: string | string[];
  /** RFC 8693 / RFC 8707 `resource` values: each must be on Warden's origin. */
  resource?: string[];
  /** When the subject's own credential expires (epoch ms): the new token never outlives it. */
  subjectExpiresAt?: number;
  /** RFC 9449: the thumbprint of the key whose DPoP proof came with the request; the token is bound to it. */
  bindTo?: string;
}

export interface ExchangeResult {
  access_token: string;
  issued_token_type: typeof TOKEN_TYPE_JWT;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
}

export interface VerifiedJitToken {
  principal: Principal;
  jti: string;
  /** Epoch ms. */
  expiresAt: number;
  /** The one tool this token may call, when it was narrowed to one. */
  tool?: string;
  /** jti of the JIT tokens this one was exchanged from, nearest first. */
  ancestors: string[];
  /** Ids of the API keys this token derives from (its subject's and actor's, through every exchange). */
  sources: string[];
}

/** What derived tokens can be revoked by: an API key they were exchanged from, or a principal they name. */
export type DerivedFrom = { key: string } | { principal: string };

const LIMIT_NAMES = ['requestsPerSecond', 'burst', 'concurrency', 'tokensPerMinute'] as const;

type Actor = NonNullable<Principal['actor']>[number];
interface ActClaim { sub: string; kind: PrincipalKind; tenant: string; act?: ActClaim }

const MAX_ACTOR_CHAIN = 4;
const TYP = 'at+jwt'; // RFC 9068 §2.1: keeps these apart from every other JWT Warden signs
const KINDS: readonly string[] = ['user', 'service', 'agent'];

/** 400 `invalid_target` (RFC 8693 §2.2.2): Warden only issues tokens for itself. */
export class InvalidTarget extends BadRequest {
  constructor() {
    super('invalid_target', 'tokens can only be issued for this gateway\'s audience', 'audience');
  }
}

function actClaim(chain: Actor[]): ActClaim | undefined {
  // Principal.actor is outermost (current) actor first; nested `act` holds the prior ones (§4.1).
  let act: ActClaim | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const a = chain[i]!;
    act = { sub: a.id, kind: a.kind, tenant: a.tenant, ...(act ? { act } : {}) };
  }
  return act;
}

function actorChain(act: unknown, depth = 0): Actor[] {
  if (act === undefined) return [];
  const a = act as Partial<ActClaim>;
  if (depth >= MAX_ACTOR_CHAIN || typeof a !== 'object' || a === null || typeof a.sub !== 'string' || typeof a.tenant !== 'string' || !KINDS.includes(a.kind as string)) {
    throw new InvalidBearerToken('jit_act_malformed');
  }
  return [{ id: a.sub, kind: a.kind as PrincipalKind, tenant: a.tenant }, ...actorChain(a.act, depth + 1)];
}

function stringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

type Limits = NonNullable<Principal['limits']>;

function limitsClaim(l: Principal['limits']): Limits | undefined {
  if (!l) return undefined;
  const out: Limits = {};
  for (const n of LIMIT_NAMES) if (typeof l[n] === 'number') out[n] = l[n];
  return Object.keys(out).length ? out : undefined;
}

/** The `lim` claim, or null when it is not an object of positive finite numbers with known names. */
function parseLimits(v: unknown): Limits | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const out: Limits = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(k) || typeof x !== 'number' || !Number.isFinite(x) || x <= 0) return null;
    out[k as (typeof LIMIT_NAMES)[number]] = x;
  }
  return out;
}

export class JitTokenService {
  private readonly key: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly defaultTtlSec: number;
  private readonly maxTtlSec: number;
  private readonly revocations: RevocationStore;
  private readonly clock: Clock;
  private readonly realm: string;
  private kid: string | undefined;
  private readonly peerKeys: JitTokenServiceOptions['peerKeys'];
  /** Peer public keys by kid; null for a kid not published (until `retryAt`). */
  private readonly peerKeyCache = new LRUCache<string, { key: KeyObject | null; retryAt: number }>({ max: 1_000 });
  private readonly cache: LRUCache<string, VerifiedJitToken>;
  /** What verify() learnt about the principals it returned, so an exchange of a JIT token can
   * inherit its expiry and lineage without the caller re-stating them. */
  private readonly provenance = new WeakMap<Principal, VerifiedJitToken>();

  constructor(opts: JitTokenServiceOptions) {
    this.key = opts.signingKey ?? generateKeyPairSync('ed25519').privateKey;
    if (this.key.type !== 'private' || this.key.asymmetricKeyType !== 'ed25519') throw new IdentityConfigError('jit: signingKey must be an Ed25519 private key');
    this.publicKey = createPublicKey(this.key);
    if (!opts.issuer || !opts.audience) throw new IdentityConfigError('jit: issuer and audience are required');
    this.issuer = opts.issuer;
    this.audience = opts.audience;
    this.defaultTtlSec = opts.defaultTtlSec ?? 300;
    this.maxTtlSec = opts.maxTtlSec ?? 3600;
    if (!(this.defaultTtlSec > 0 && this.defaultTtlSec <= this.maxTtlSec && this.maxTtlSec <= 86_400)) {
      throw new IdentityConfigError('jit: need 0 < defaultTtlSec <= maxTtlSec <= 86400');
    }
    this.clock = opts.clock ?? systemClock;
    this.revocations = opts.revocations ?? new MemoryRevocationStore(this.clock);
    this.realm = opts.realm ?? DEFAULT_REALM;
    this.cache = new LRUCache({ max: opts.cacheMaxEntries ?? 10_000 });
    this.peerKeys = opts.peerKeys;
  }

  /** The public key as a JWK (with kid, alg, use) for Warden's own JWKS document. */
  async publicJwk(): Promise<JWK> {
    return { ...(await exportJWK(this.publicKey)), kid: await this.keyId(), alg: 'EdDSA', use: 'sig' };
  }

  async exchange(input: ExchangeInput): Promise<ExchangeResult> {
    const { subject, actor, requested } = input;
    this.checkTargets(input);
    if (actor && actor.tenant !== subject.tenant) throw new ScopeNotGranted('an actor may only act for a subject of its own tenant');
    if (actor?.actor?.length) throw new BadRequest('invalid_request', 'the actor token must not itself be a delegated token', 'actor_token');
    const chain: Actor[] = [...(actor ? [{ id: actor.id, kind: actor.kind, tenant: actor.tenant }] : []), ...(subject.actor ?? [])];
    if (chain.length > MAX_ACTOR_CHAIN) throw new BadRequest('invalid_request', 'the delegation chain is too long', 'actor_token');

    const ttlSec = requested.ttlSec ?? this.defaultTtlSec;
    if (!(Number.isInteger(ttlSec) && ttlSec > 0 && ttlSec <= this.maxTtlSec)) {
      throw new BadRequest('invalid_request', `expires_in must be between 1 and ${this.maxTtlSec} seconds`, 'expires_in');
    }
    const scope = narrowScope(requested, actor ? [subject.scope, actor.scope] : [subject.scope]);
    const toolClaim = scope.tools === undefined ? {} : scope.tools.length === 1 ? { tool: scope.tools[0]! } : { tools: scope.tools };
    // A sender-constrained token is exchanged only by its key holder, and what it yields stays bound.
    for (const p of actor ? [subject, actor] : [subject]) {
      if (p.authn.boundKey !== undefined && p.authn.boundKey !== input.bindTo) {
        throw new InvalidDpopProof('key', 'a sender-constrained token can only be exchanged with a DPoP proof by the key it is bound to');
      }
    }

    // A JIT subject (or actor) passes its expiry, lineage and sources on; without them (a copied
    // Principal) we cannot bound the new token, so refuse rather than mint one that outlives its parent.
    const ancestors: string[] = [];
    const sources: string[] = [];
    let notAfter = input.subjectExpiresAt ?? Number.POSITIVE_INFINITY;
    const holders = [{ p: subject, role: 'subject' }, ...(actor ? [{ p: actor, role: 'actor' }] : [])] as const;
    for (const { p, role } of holders) {
      if (p.authn.expiresAt !== undefined) notAfter = Math.min(notAfter, p.authn.expiresAt);
      if (p.authn.method === 'jit_token') {
        const parent = this.provenance.get(p);
        if (!parent) throw new BadRequest('invalid_request', `the ${role} token must be verified by this service before it is exchanged`, `${role}_token`);
        ancestors.push(parent.jti, ...parent.ancestors);
        sources.push(...parent.sources);
        notAfter = Math.min(notAfter, parent.expiresAt);
      } else if (p.authn.method === 'api_key' || p.authn.method === 'bootstrap') {
        sources.push(p.authn.credentialId);
      }
    }
    const limits = limitsClaim(subject.limits);
    const nowSec = Math.floor(this.clock.now() / 1000);
    const exp = Math.min(nowSec + ttlSec, Math.floor(notAfter / 1000));
    if (exp <= nowSec) throw new BadRequest('invalid_request', 'the subject credential has expired', 'subject_token');

    const claims: JWTPayload = {
      tenant: subject.tenant,
      kind: subject.kind,
      groups: subject.groups,
      models: scope.models,
      scope: scope.actions.join(' '), // RFC 8693 §4.2: space-separated
      ...toolClaim,
      ...(scope.datasets !== undefined ? { datasets: scope.datasets } : {}),
      ...(chain.length ? { act: actClaim(chain) } : {}),
      ...(ancestors.length ? { anc: [...new Set(ancestors)] } : {}),
      ...(sources.length ? { src: [...new Set(sources)] } : {}),
      ...(limits ? { lim: limits } : {}),
      ...(subject.authn.mfaAt !== undefined ? { auth_time: Math.floor(subject.authn.mfaAt / 1000), amr: ['mfa'] } : {}),
      ...(subject.sourceCidrs?.length ? { cidrs: subject.sourceCidrs } : {}),
      ...(input.bindTo !== undefined ? { cnf: { jkt: input.bindTo } } : {}),
    };
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: TYP, kid: await this.keyId() })
      .setIssuer(this.issuer)
      .setSubject(subject.id)
      .setAudience(this.audience)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.key);
    return { access_token: accessToken, issued_token_type: TOKEN_TYPE_JWT, token_type: input.bindTo !== undefined ? 'DPoP' : 'Bearer', expires_in: exp - nowSec };
  }

  /** RFC 8693 §2.2.2: a target Warden will not issue for is `invalid_target` — never silently dropped. */
  private checkTargets(input: ExchangeInput): void {
    const audiences = input.audience === undefined ? [] : Array.isArray(input.audience) ? input.audience : [input.audience];
    if (audiences.some((a) => a !== this.audience)) throw new InvalidTarget();
    if (!input.resource?.length) return;
    let origin: string | undefined;
    try {
      origin = new URL(this.audience).origin;
    } catch {
      origin = undefined; // a non-URL audience cannot own resource URIs
    }
    for (const r of input.resource) {
      let ro: string | undefined;
      try {
        ro = new URL(r).origin;
      } catch {
        ro = undefined;
      }
      if (origin === undefined || ro !== origin) throw new InvalidTarget();
    }
  }

  /** Revokes a token (and so every token exchanged from it) until it would have expired anyway. */
  async revoke(jti: string, expiresAt?: number): Promise<void> {
    const until = expiresAt ?? this.clock.now() + (this.maxTtlSec + 60) * 1000;
    await this.revocations.revoke(jti, until);
  }

  /**
   * Revokes every token derived from an API key or naming a principal, from `fromMs` (default: now; a
   * rotated key's tokens die when its grace ends). Kept until the last token issued before then has expired.
   */
  async revokeDerived(from: DerivedFrom, fromMs?: number): Promise<void> {
    const start = fromMs ?? this.clock.now();
    const until = Math.max(start, this.clock.now()) + (this.maxTtlSec + 60) * 1000;
    await this.revocations.revoke('key' in from ? `key:${from.key}` : `principal:${from.principal}`, until, fromMs);
  }

  async verify(token: string): Promise<Principal> {
    return (await this.verifyDetailed(token)).principal;
  }

  async verifyDetailed(token: string): Promise<VerifiedJitToken> {
    const now = this.clock.now();
    let v = this.cache.get(token);
    if (v && now >= v.expiresAt) {
      this.cache.delete(token);
      v = undefined;
    }
    if (!v) {
      v = await this.verifyJwt(token, now);
      this.cache.set(token, v);
      this.provenance.set(v.principal, v);
    }
    const principals = [v.principal.id, ...(v.principal.actor ?? []).map((a) => a.id)];
    const ids = [v.jti, ...v.ancestors, ...v.sources.map((k) => `key:${k}`), ...principals.map((p) => `principal:${p}`)];
    if (await this.revocations.anyRevoked(ids)) throw this.invalid('jit_revoked');
    return v;
  }

  /** This replica's key, or (cluster) the published key of the replica whose kid the token names. */
  private async verificationKey(token: string, now: number): Promise<KeyObject> {
    if (!this.peerKeys) return this.publicKey;
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw this.invalid('jwt_malformed');
    }
    if (typeof kid !== 'string' || kid === (await this.keyId())) return this.publicKey;
    const cached = this.peerKeyCache.get(kid);
    if (cached && (cached.key || now < cached.retryAt)) {
      if (!cached.key) throw this.invalid('jwt_unknown_kid');
      return cached.key;
    }
    const jwk = await this.peerKeys.findJitKey(kid);
    let key: KeyObject | null = null;
    if (jwk) {
      // The directory is a lookup, not an authority on its own: the key must be an Ed25519 key whose thumbprint is the kid.
      if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || (await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x })) !== kid) {
        throw this.invalid('jwt_peer_key_mismatch', 'the key published for this token\'s kid does not match it');
      }
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    }
    this.peerKeyCache.set(kid, { key, retryAt: now + UNKNOWN_KID_MS });
    if (!key) throw this.invalid('jwt_unknown_kid');
    return key;
  }

  private async verifyJwt(token: string, now: number): Promise<VerifiedJitToken> {
    let payload: JWTPayload;
    const key = await this.verificationKey(token, now);
    try {
      ({ payload } = await jwtVerify(token, key, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['EdDSA'],
        typ: TYP,
        currentDate: new Date(now),
        clockTolerance: 5, // issued by this gateway (or a replica on the same clock source)
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw this.invalid('jwt_expired', 'the access token expired');
      if (e instanceof errors.JWTClaimValidationFailed) throw this.invalid(`jwt_claim_${e.claim}`);
      if (e instanceof errors.JWSSignatureVerificationFailed) throw this.invalid('jwt_signature_invalid');
      if (e instanceof errors.JOSEAlgNotAllowed) throw this.invalid('jwt_alg_not_allowed');
      throw this.invalid('jwt_malformed');
    }
    const { sub, jti, tenant, kind, groups, models, scope, tool, tools, datasets, act, anc, src, lim, auth_time: authTime, cidrs, cnf } = payload as Record<string, unknown>;
    let boundKey: string | undefined;
    if (cnf !== undefined) {
      const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
      if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) throw this.invalid('jit_cnf_malformed');
      boundKey = jkt;
    }
    if (typeof tenant !== 'string' || !KINDS.includes(kind as string) || !stringArray(groups) || !stringArray(models) || typeof scope !== 'string') {
      throw this.invalid('jit_claims_malformed');
    }
    if ((tool !== undefined && typeof tool !== 'string') || (anc !== undefined && !stringArray(anc)) || (cidrs !== undefined && !stringArray(cidrs))) {
      throw this.invalid('jit_claims_malformed');
    }
    if ((tools !== undefined && (!stringArray(tools) || tool !== undefined)) || (src !== undefined && !stringArray(src))) throw this.invalid('jit_claims_malformed');
    if (datasets !== undefined && !stringArray(datasets)) throw this.invalid('jit_claims_malformed');
    const limits = lim === undefined ? undefined : parseLimits(lim);
    if (limits === null) throw this.invalid('jit_claims_malformed');
    const narrowedTools = tool !== undefined ? [tool as string] : tools !== undefined ? [...(tools as string[])] : undefined;
    const chain = actorChain(act);
    const principal: Principal = {
      kind: kind as PrincipalKind,
      id: sub as string,
      tenant,
      groups: [...groups],
      authn: {
        method: 'jit_token',
        credentialId: jti as string,
        issuer: this.issuer,
        expiresAt: (payload.exp as number) * 1000,
        ...(typeof authTime === 'number' ? { mfaAt: authTime * 1000 } : {}),
        ...(boundKey ? { boundKey } : {}),
      },
      // A token narrowed to tools carries them in its scope, so every route that checks scope.tools sees it.
      scope: { models: [...models], actions: scope.split(' '), ...(narrowedTools !== undefined ? { tools: narrowedTools } : {}), ...(datasets !== undefined ? { datasets: [...(datasets as string[])] } : {}) },
      ...(chain.length ? { actor: chain } : {}),
      ...(cidrs ? { sourceCidrs: [...cidrs] } : {}),
      // The subject's limits hold through its tokens (the limiter keys on the principal, not the credential).
      ...(limits ? { limits } : {}),
    };
    deepFreeze(principal);
    return {
      principal,
      jti: jti as string,
      expiresAt: (payload.exp as number) * 1000,
      ancestors: anc ?? [],
      sources: src ? [...(src as string[])] : [],
      ...(narrowedTools?.length === 1 ? { tool: narrowedTools[0]! } : {}),
    };
  }

  private async keyId(): Promise<string> {
    this.kid ??= await calculateJwkThumbprint(await exportJWK(this.publicKey)); // RFC 7638
    return this.kid;
  }

  private invalid(reason: string, message?: string): InvalidBearerToken {
    return new InvalidBearerToken(reason, this.realm, message);
  }
}

