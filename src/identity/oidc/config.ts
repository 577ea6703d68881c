// OIDC issuer configuration: what an operator writes, checked once at construction so that a
// dangerous setting (alg "none", an HMAC algorithm for a public-key issuer, plain-HTTP key
// discovery) is refused before any token is seen.
import type { PrincipalKind, Scope } from '../../core/types.js';
import { IdentityConfigError } from '../errors.js';

/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037). HS* are absent on purpose: an issuer
 * verified with a JWKS is a public-key issuer, and accepting HS256 there is the classic
 * RS/HS key-confusion attack (the public key becomes the HMAC secret). */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: AsymmetricAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

export type ClaimOrFixed<T extends string> = { claim: string } | { fixed: T };

export interface OidcClaimsMapping {
  /** Claim holding the principal id; default `sub`. */
  subject?: string;
  /** Claim (dotted path allowed, e.g. `realm_access.roles`) holding a string array; default `groups`. */
  groups?: string;
  /** Tenant from a claim or fixed; default `{ claim: 'tenant' }`. A token without it is refused. */
  tenant?: ClaimOrFixed<string>;
  /** Principal kind from a claim or fixed; default `{ fixed: 'user' }`. */
  kind?: ClaimOrFixed<PrincipalKind>;
  /** `amr` values (RFC 8176) that count as multi-factor; default `['mfa']`. MFA time is `auth_time`. */
  mfaAmrValues?: string[];
}

export interface OidcIssuerConfig {
  /** Exact `iss` value (OIDC Core §2); also the discovery base when `discovery` is true. */
  issuer: string;
  /** Accepted `aud` value(s); a token must name at least one. */
  audience: string | string[];
  /** JWKS URL (https). Exactly one of jwksUri and discovery. */
  jwksUri?: string;
  /** Fetch `<issuer>/.well-known/openid-configuration` (OIDC Discovery §4) for `jwks_uri`. */
  discovery?: boolean;
  algorithms?: AsymmetricAlgorithm[];
  /** Tolerance for exp/nbf/iat, seconds; default 30. */
  clockSkewSec?: number;
  claims?: OidcClaimsMapping;
  /** What the token allows before policy; default any model and action (the PDP decides). */
  scope?: Scope;
  /** Extra PEM CA certificates trusted for this issuer's HTTPS endpoints (private IdPs). */
  caPem?: string;
  /** Timeout for a discovery or JWKS fetch, ms; default 5000. */
  fetchTimeoutMs?: number;
  /** Minimum time between JWKS refetches triggered by an unknown `kid`, ms; default 30000. */
  jwksCooldownMs?: number;
  /** Max JWKS cache age before refetching, ms; default 600000. */
  jwksMaxAgeMs?: number;
  /**
   * Accept only JWT access tokens (RFC 9068 §2.1: JOSE header `typ` = `at+jwt`), so an ID token of the same
   * issuer and audience is not taken for one. Default true; false for an IdP whose access tokens carry no
   * such `typ` (a token whose payload says `"typ": "ID"`, as Keycloak's ID tokens do, is refused either way).
   */
  requireAccessTokenTyp?: boolean;
}

export interface ResolvedIssuerConfig {
  issuer: string;
  audience: string[];
  jwksUri: string | undefined;
  discovery: boolean;
  algorithms: AsymmetricAlgorithm[];
  clockSkewSec: number;
  claims: Required<OidcClaimsMapping>;
  scope: Scope;
  caPem: string | undefined;
  fetchTimeoutMs: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  requireAccessTokenTyp: boolean;
}

function fail(issuer: string, what: string): never {
  throw new IdentityConfigError(`oidc issuer ${JSON.stringify(issuer)}: ${what}`);
}

function requireHttps(issuer: string, field: string, value: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    fail(issuer, `${field} is not a URL`);
  }
  // Keys fetched over plain HTTP can be swapped by anyone on the path (OIDC Discovery §4, RFC 8414 §3).
  if (u.protocol !== 'https:') fail(issuer, `${field} must be an https URL`);
}

export function resolveIssuerConfig(c: OidcIssuerConfig): ResolvedIssuerConfig {
  if (typeof c.issuer !== 'string' || c.issuer.length === 0) fail(String(c.issuer), 'issuer is required');
  const audience = Array.isArray(c.audience) ? c.audience : [c.audience];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) fail(c.issuer, 'audience is required');
  if (Boolean(c.jwksUri) === Boolean(c.discovery)) fail(c.issuer, 'set exactly one of jwksUri and discovery: true');
  if (c.jwksUri) requireHttps(c.issuer, 'jwksUri', c.jwksUri);
  if (c.discovery) requireHttps(c.issuer, 'issuer (discovery base)', c.issuer);
  const algorithms = c.algorithms ?? DEFAULT_ALGORITHMS;
  if (algorithms.length === 0) fail(c.issuer, 'algorithms must not be empty');
  for (const a of algorithms) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a)) {
      fail(c.issuer, `algorithm ${JSON.stringify(a)} is not allowed (only asymmetric JWS algorithms; never "none" or HS*)`);
    }
  }
  const clockSkewSec = c.clockSkewSec ?? 30;
  if (!(Number.isFinite(clockSkewSec) && clockSkewSec >= 0 && clockSkewSec <= 300)) fail(c.issuer, 'clockSkewSec must be between 0 and 300');
  const claims = c.claims ?? {};
  return {
    issuer: c.issuer,
    audience,
    jwksUri: c.jwksUri,
    discovery: Boolean(c.discovery),
    algorithms: [...algorithms],
    clockSkewSec,
    claims: {
      subject: claims.subject ?? 'sub',
      groups: claims.groups ?? 'groups',
      tenant: claims.tenant ?? { claim: 'tenant' },
      kind: claims.kind ?? { fixed: 'user' },
      mfaAmrValues: claims.mfaAmrValues ?? ['mfa'],
    },
    scope: c.scope ?? { models: ['*'], actions: ['*'] },
    caPem: c.caPem,
    fetchTimeoutMs: c.fetchTimeoutMs ?? 5000,
    jwksCooldownMs: c.jwksCooldownMs ?? 30_000,
    jwksMaxAgeMs: c.jwksMaxAgeMs ?? 600_000,
    requireAccessTokenTyp: c.requireAccessTokenTyp ?? true,
  };
}
