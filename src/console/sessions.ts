// Console sessions: an opaque id in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain:
// bound to the admin listener's origin), the state kept server-side so signing out ends the session for good.
// A session holds what authenticates its person on every admin request (an API key, or the person's OIDC
// sign-in), never a snapshot of their permissions: each request is judged again by the same verifier and PDP.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { PendingChallenge } from './passkeys.js';

export const SESSION_COOKIE = '__Host-warden_console';

export type SessionCredential =
  /** Signed in with an API key (the bootstrap admin key): verified again on every request, so revoking it ends the session. */
  | { kind: 'api_key'; key: string }
  /** Signed in through the OIDC issuer: the verified token's person and when they last proved MFA there. */
  | { kind: 'oidc'; issuer: string; subject: string; tenant: string; principalKind: string; groups: string[]; mfaAt: number | null; tokenId: string }
  /** Signed in through the SAML IdP: the principal its verified assertion named, and when it last proved MFA there. */
  | { kind: 'saml'; idpIssuer: string; subject: string; mfaAt: number | null; assertionId: string };

export interface ConsoleSession {
  /** sha256 of the cookie value (the store never holds the cookie itself). */
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

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly absoluteMs: number,
  ) {}

  /** Returns the cookie value (shown to the browser once) and the session. */
  create(credential: SessionCredential): { cookie: string; session: ConsoleSession } {
    this.sweep();
    const cookie = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: ConsoleSession = { handle: digest(cookie), csrf: randomBytes(32).toString('base64url'), credential, createdAt: now, lastSeenAt: now };
    this.sessions.set(session.handle, session);
    return { cookie, session };
  }

  /** The live session for a cookie value; an idle or expired one is ended here (and reported as such). */
  lookup(cookie: string, touch = true): SessionLookup {
    const handle = digest(cookie);
    const s = this.sessions.get(handle);
    if (!s) return { ended: 'unknown' };
    const now = this.clock.now();
    if (now - s.createdAt >= this.absoluteMs) {
      this.sessions.delete(handle);
      return { ended: 'expired' };
    }
    if (now - s.lastSeenAt >= this.idleMs) {
      this.sessions.delete(handle);
      return { ended: 'idle' };
    }
    if (touch) s.lastSeenAt = now;
    return { session: s };
  }

  end(cookie: string): boolean {
    return this.sessions.delete(digest(cookie));
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [h, s] of this.sessions) if (now - s.createdAt >= this.absoluteMs || now - s.lastSeenAt >= this.idleMs) this.sessions.delete(h);
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
