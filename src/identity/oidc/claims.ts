// Maps the claims of a verified OIDC token to a Principal, as configured per issuer.
// Any claim the mapping needs but the token lacks (or holds with the wrong type) refuses the
// token: a principal with a guessed tenant or kind is worse than no principal.
import type { JWTPayload } from 'jose';
import { createHash } from 'node:crypto';
import type { Principal, PrincipalKind } from '../../core/types.js';
import { InvalidBearerToken } from '../errors.js';
import type { ClaimOrFixed, ResolvedIssuerConfig } from './config.js';

const KINDS: readonly PrincipalKind[] = ['user', 'service', 'agent'];

/** Reads a claim by name, or by a dotted path into nested objects (Keycloak's `realm_access.roles`). */
export function readClaim(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function nonEmptyString(payload: JWTPayload, claim: string, reason: string): string {
  const v = readClaim(payload, claim);
  if (typeof v !== 'string' || v.length === 0) throw new InvalidBearerToken(reason);
  return v;
}

function claimOrFixed<T extends string>(payload: JWTPayload, source: ClaimOrFixed<T>, reason: string): string {
  return 'fixed' in source ? source.fixed : nonEmptyString(payload, source.claim, reason);
}

function groupsOf(payload: JWTPayload, claim: string): string[] {
  const v: unknown = readClaim(payload, claim);
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new InvalidBearerToken('claim_groups_malformed');
  const groups: unknown[] = v;
  if (!groups.every((g): g is string => typeof g === 'string')) throw new InvalidBearerToken('claim_groups_malformed');
  return [...groups];
}

/** OIDC Core §2: `auth_time` is seconds since the epoch; `amr` (RFC 8176) says how. */
function mfaAtOf(payload: JWTPayload, mfaValues: string[]): number | undefined {
  const amr = payload.amr;
  if (!Array.isArray(amr) || !amr.some((m) => typeof m === 'string' && mfaValues.includes(m))) return undefined;
  const authTime = payload.auth_time;
  // amr claims MFA but without auth_time we cannot age it: treat as no MFA, not as "now".
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return undefined;
  return authTime * 1000;
}

/**
 * RFC 9449 §6: an access token with `cnf.jkt` is bound to that key, and must then be presented with a DPoP
 * proof by it (checked by the gateway like Warden's own bound tokens). Other confirmation methods
 * (`x5t#S256`, RFC 8705 mTLS-bound tokens) are not checked here, so such a token is refused rather than
 * accepted as a bearer token.
 */
function boundKeyOf(payload: JWTPayload): string | undefined {
  const cnf = payload.cnf;
  if (cnf === undefined) return undefined;
  const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
  if (typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt)) return jkt;
  throw new InvalidBearerToken('cnf_unsupported');
}

export function principalFromClaims(payload: JWTPayload, token: string, cfg: ResolvedIssuerConfig): Principal {
  const id = nonEmptyString(payload, cfg.claims.subject, 'claim_subject_missing');
  const tenant = claimOrFixed(payload, cfg.claims.tenant, 'claim_tenant_missing');
  const kind = claimOrFixed(payload, cfg.claims.kind, 'claim_kind_missing');
  if (!(KINDS as readonly string[]).includes(kind)) throw new InvalidBearerToken('claim_kind_unknown');
  const credentialId = typeof payload.jti === 'string' && payload.jti.length > 0
    ? payload.jti
    : 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 32);
  const mfaAt = mfaAtOf(payload, cfg.claims.mfaAmrValues);
  const boundKey = boundKeyOf(payload);
  return {
    kind: kind as PrincipalKind,
    id,
    tenant,
    groups: groupsOf(payload, cfg.claims.groups),
    // The token's expiry bounds what is exchanged from it (a JIT token never outlives its subject).
    authn: {
      method: 'oidc',
      credentialId,
      issuer: cfg.issuer,
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
      ...(mfaAt !== undefined ? { mfaAt } : {}),
      ...(boundKey ? { boundKey } : {}),
    },
    scope: { models: [...cfg.scope.models], actions: [...cfg.scope.actions] },
  };
}
