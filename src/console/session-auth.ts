// The console session as an admin-listener credential. The browser's cookie opens the same admin API the CLI
// uses (same routes, same PDP question, same ledger entry); what differs is only how the person is known:
//  - an API-key session verifies its key again on every request (a revoked key ends it at once);
//  - an OIDC session is the person the issuer named, with Warden's record of them: admin only when that record
//    says admin, is live, has the same tenant and kind, and is bound to this issuer (the step-up rule of
//    src/admin/admin.ts applyStepUp: a name at one IdP is not a person at another). Groups come from Warden's
//    record, the MFA time from the IdP's sign-in, so the starter policy's "MFA within 15 minutes" holds here too.
import type { IncomingMessage } from 'node:http';
import { Forbidden, Unauthenticated } from '../core/errors.js';
import type { Principal, PrincipalKind } from '../core/types.js';
import type { IdentityStore } from '../store/identity-store.js';
import { csrfMatches, readCookie, SESSION_COOKIE, type ConsoleSession, type SessionStore } from './sessions.js';

export interface SessionAuthDeps {
  sessions: SessionStore;
  store: IdentityStore;
  apiKey: (key: string) => Promise<Principal>;
  /**
   * The origins the console is served at: the admin listener's public origin first, then its bound URL (and
   * localhost, for a loopback listener). A state-changing call from any other origin is refused.
   */
  origins: readonly string[];
  oidcIssuers: readonly string[];
}

const CHALLENGE = 'Cookie realm="warden-console"';
const SAFE = new Set(['GET', 'HEAD']);

/** Whom an OIDC session signs in (see the header comment): admin only through Warden's own record. */
export async function oidcSessionPrincipal(d: Pick<SessionAuthDeps, 'store' | 'oidcIssuers'>, c: Extract<ConsoleSession['credential'], { kind: 'oidc' }>): Promise<Principal> {
  const rec = await d.store.getPrincipal(c.subject);
  if (rec && (rec.disabledAt || rec.erasedAt)) throw new Unauthenticated('principal_disabled', `principal ${c.subject} is disabled`, CHALLENGE);
  const bound = rec?.oidcIssuer ?? (d.oidcIssuers.length === 1 ? d.oidcIssuers[0]! : null);
  const admin = rec !== null && rec.admin && rec.tenant === c.tenant && rec.kind === c.principalKind && bound === c.issuer;
  return {
    kind: (admin ? rec.kind : c.principalKind) as PrincipalKind,
    id: c.subject,
    tenant: c.tenant,
    groups: admin ? rec.groups : c.groups,
    authn: { method: 'oidc', issuer: c.issuer, credentialId: c.tokenId, ...(c.mfaAt !== null ? { mfaAt: c.mfaAt } : {}) },
    scope: { models: ['*'], actions: ['*'] },
    admin,
  };
}

/**
 * Whom a SAML session signs in: only a principal Warden already knows (the IdP's word alone creates nobody),
 * live, and not bound to an OIDC issuer other than this IdP (a name at one IdP is not a person at another).
 * Kind, tenant, groups and admin all come from Warden's record; the MFA time from the IdP's AuthnStatement.
 */
export async function samlSessionPrincipal(d: Pick<SessionAuthDeps, 'store'>, c: Extract<ConsoleSession['credential'], { kind: 'saml' }>): Promise<Principal> {
  const rec = await d.store.getPrincipal(c.subject);
  if (!rec || rec.erasedAt) throw new Unauthenticated('principal_unknown', `the IdP named ${c.subject}, who is not a principal of this Warden`, CHALLENGE);
  if (rec.disabledAt) throw new Unauthenticated('principal_disabled', `principal ${c.subject} is disabled`, CHALLENGE);
  const admin = rec.admin && (rec.oidcIssuer === undefined || rec.oidcIssuer === null || rec.oidcIssuer === c.idpIssuer);
  return {
    kind: rec.kind,
    id: rec.id,
    tenant: rec.tenant,
    groups: rec.groups,
    authn: { method: 'saml', issuer: c.idpIssuer, credentialId: c.assertionId, ...(c.mfaAt !== null ? { mfaAt: c.mfaAt } : {}) },
    scope: { models: ['*'], actions: ['*'] },
    admin,
  };
}

/** The session's person; a passkey step-up in the session counts as their latest MFA. */
export async function sessionPrincipal(d: SessionAuthDeps, s: ConsoleSession): Promise<Principal> {
  const c = s.credential;
  const p = c.kind === 'api_key' ? await d.apiKey(c.key) : c.kind === 'oidc' ? await oidcSessionPrincipal(d, c) : await samlSessionPrincipal(d, c);
  if (s.stepUpAt !== undefined && (p.authn.mfaAt === undefined || p.authn.mfaAt < s.stepUpAt)) return { ...p, authn: { ...p.authn, mfaAt: s.stepUpAt } };
  return p;
}

/**
 * The session a request carries, checked for a state-changing call (CSRF: the X-Warden-CSRF header must
 * equal the session's token and Origin, when sent, must be the admin origin). Null: no session cookie.
 */
export async function requestSession(d: SessionAuthDeps, req: IncomingMessage): Promise<ConsoleSession | null> {
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (cookie === null) return null;
  const r = await d.sessions.lookup(cookie);
  if ('ended' in r) {
    const why = r.ended === 'unknown' ? 'the console session is not known (signed out, or Warden restarted)' : r.ended === 'idle' ? 'the console session ended after being idle' : 'the console session reached its maximum age';
    throw new Unauthenticated('session_ended', `${why}: sign in again`, CHALLENGE, `session_${r.ended}`);
  }
  if (!SAFE.has(req.method ?? 'GET')) {
    const origin = req.headers.origin;
    if (origin !== undefined && !d.origins.includes(origin)) throw new Forbidden('csrf_origin_mismatch', `a console call from ${origin} is refused: only ${d.origins.join(', ')} may change anything`);
    if (!csrfMatches(r.session, req.headers['x-warden-csrf'])) throw new Forbidden('csrf_token_invalid', 'a state-changing console call needs the session\'s X-Warden-CSRF token');
  }
  return r.session;
}

/** The origin this request was addressed to, when it is one of the console's (else the public one). */
export function requestOrigin(d: Pick<SessionAuthDeps, 'origins'>, req: IncomingMessage): string {
  const addressed = `https://${req.headers.host ?? ''}`;
  return d.origins.includes(addressed) ? addressed : d.origins[0]!;
}

/** AdminDeps.session: a request with its own Authorization (or signature) is judged by that, never by a cookie. */
export function createSessionAuthenticator(d: SessionAuthDeps): (req: IncomingMessage) => Promise<Principal | null> {
  return async (req) => {
    if (req.headers.authorization !== undefined || req.headers.signature !== undefined) return null;
    const s = await requestSession(d, req);
    return s ? sessionPrincipal(d, s) : null;
  };
}
