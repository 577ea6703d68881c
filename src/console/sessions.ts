// Console sessions: an opaque id in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain:
// bound to the admin listener's origin), the state kept server-side so signing out ends the session for good.
// A session holds what authenticates its person on every admin request (an API key, or the person's OIDC
// sign-in), never a snapshot of their permissions: each request is judged again by the same verifier and PDP.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { ConsoleSessionStore } from '../store/console-sessions-store.js';
import type { PendingChallenge } from './passkeys.js';

export const SESSION_COOKIE = '__Host-warden_console';

export type SessionCredential =
  /** Signed in with an API key (the bootstrap admin key): verified again on every request, so revoking it ends the session. */
  | { kind: 'api_key'; key: string }
  /** Signed in through the OIDC issuer: the verified token's person and when they last proved MFA there. */
  | { kind: 'oidc'; issuer: string; subject: string; tenant: string; principalKind: string; groups: string[]; mfaAt: number | null; tokenId: string }
  /** Signed in through the SAML IdP: the principal its verified assertion named, and when it last proved MFA there. */
  | { kind: 'saml'; idpIssuer: string; subject: string; mfaAt: number | null; assertionId: string; logout?: SamlLogoutName };

/** What a SAML LogoutRequest must name: the assertion's NameID (and its format) and SessionIndex. */
export interface SamlLogoutName {
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
}

/** The key under which an IdP's LogoutRequest finds a person's sessions (the store never holds the NameID itself). */
export const samlSubjectKey = (idpIssuer: string, nameId: string) => digest(`${idpIssuer}\n${nameId}`);

export interface ConsoleSession {
  /** sha256 of the cookie value (the store never holds the cookie itself, nor the credential unsealed). */
  handle: string;
  /** Double-submit token: every state-changing call sends it in X-Warden-CSRF. */
  csrf: string;
  credential: SessionCredential;
  createdAt: number;
  lastSeenAt: number;
  /** When the person last asserted a registered passkey in this session (step-up, src/console/passkeys.ts). */
  stepUpAt?: number;
  /** The one outstanding WebAuthn challenge of this session (used once). */
  pendingPasskey?: PendingChallenge | null;
}

export type SessionLookup = { session: ConsoleSession } | { ended: 'unknown' | 'idle' | 'expired' };

const digest = (v: string) => createHash('sha256').update(v).digest('base64url');

/** The key that seals a session's credential: derived from the cookie, which the store never sees. */
const sealingKey = (cookie: string) => createHmac('sha256', cookie).update('warden console session credential v1').digest();

function seal(cookie: string, handle: string, credential: SessionCredential): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealingKey(cookie), iv);
  c.setAAD(Buffer.from(handle));
  const body = Buffer.concat([c.update(JSON.stringify(credential), 'utf8'), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
}

/** Null when the row was not sealed for this cookie (a forged or swapped row opens nothing). */
function unseal(cookie: string, handle: string, sealed: string): SessionCredential | null {
  try {
    const b = Buffer.from(sealed, 'base64url');
    const d = createDecipheriv('aes-256-gcm', sealingKey(cookie), b.subarray(0, 12));
    d.setAAD(Buffer.from(handle));
    d.setAuthTag(b.subarray(b.length - 16));
    return JSON.parse(Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]).toString('utf8')) as SessionCredential;
  } catch {
    return null;
  }
}

/**
 * The sessions, kept in the configured store (src/store/console-sessions-store.ts: SQLite in the data dir, or
 * PostgreSQL with store.postgres), so every worker and replica knows each one and a sign-out through any
 * of them ends it for all. Timeouts are judged from the stored times on every lookup.
 */
export class SessionStore {
  constructor(
    private readonly store: ConsoleSessionStore,
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly absoluteMs: number,
  ) {}

  /** Returns the cookie value (shown to the browser once) and the session. */
  async create(credential: SessionCredential): Promise<{ cookie: string; session: ConsoleSession }> {
    await this.sweep();
    const cookie = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: ConsoleSession = { handle: digest(cookie), csrf: randomBytes(32).toString('base64url'), credential, createdAt: now, lastSeenAt: now };
    const saml = credential.kind === 'saml' && credential.logout ? { samlSubject: samlSubjectKey(credential.idpIssuer, credential.logout.nameId), samlSession: credential.logout.sessionIndex } : { samlSubject: null, samlSession: null };
    await this.store.insert({ handle: session.handle, csrf: session.csrf, credential: seal(cookie, session.handle, credential), createdAt: now, lastSeenAt: now, stepUpAt: null, pendingPasskey: null, ...saml });
    return { cookie, session };
  }

  /** The live session for a cookie value; an idle or expired one is ended here (and reported as such). */
  async lookup(cookie: string, touch = true): Promise<SessionLookup> {
    const handle = digest(cookie);
    const r = await this.store.get(handle);
    const credential = r ? unseal(cookie, handle, r.credential) : null;
    if (!r || !credential) return { ended: 'unknown' };
    const now = this.clock.now();
    if (now - r.createdAt >= this.absoluteMs) {
      await this.store.delete(handle);
      return { ended: 'expired' };
    }
    if (now - r.lastSeenAt >= this.idleMs) {
      await this.store.delete(handle);
      return { ended: 'idle' };
    }
    if (touch) await this.store.touch(handle, now);
    const session: ConsoleSession = { handle, csrf: r.csrf, credential, createdAt: r.createdAt, lastSeenAt: touch ? Math.max(now, r.lastSeenAt) : r.lastSeenAt };
    if (r.stepUpAt !== null) session.stepUpAt = r.stepUpAt;
    if (r.pendingPasskey !== null) session.pendingPasskey = JSON.parse(r.pendingPasskey) as PendingChallenge;
    return { session };
  }

  async end(cookie: string): Promise<boolean> {
    return this.store.delete(digest(cookie));
  }

  /** An IdP's LogoutRequest: ends the person's sessions (only the one with `sessionIndex`, when it names one). */
  async endSaml(idpIssuer: string, nameId: string, sessionIndex: string | null): Promise<number> {
    return this.store.deleteSaml(samlSubjectKey(idpIssuer, nameId), sessionIndex);
  }

  async setStepUp(session: ConsoleSession, at: number): Promise<void> {
    session.stepUpAt = at;
    await this.store.setStepUp(session.handle, at);
  }

  async setPendingPasskey(session: ConsoleSession, pending: PendingChallenge): Promise<void> {
    session.pendingPasskey = pending;
    await this.store.setPendingPasskey(session.handle, JSON.stringify(pending));
  }

  /** The session's outstanding challenge, cleared: one caller gets it, even when two replicas race. */
  async takePendingPasskey(session: ConsoleSession): Promise<PendingChallenge | null> {
    const p = session.pendingPasskey ?? null;
    session.pendingPasskey = null;
    if (!p) return null;
    return (await this.store.takePendingPasskey(session.handle, JSON.stringify(p))) ? p : null;
  }

  private async sweep(): Promise<void> {
    const now = this.clock.now();
    await this.store.deleteExpired(now - this.absoluteMs, now - this.idleMs);
  }
}

/** Constant-time comparison of the CSRF header with the session's token. */
export function csrfMatches(session: ConsoleSession, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie from a Cookie header (RFC 6265 §5.4), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}
