// WebAuthn passkeys for the console's step-up (W3C WebAuthn Level 2, via @simplewebauthn/server): each admin
// registers passkeys of their own; asserting one (user verification required) marks the session as freshly
// multi-factor, which the PDP sees as the principal's MFA time, the same fact an IdP's amr=mfa token gives.
// Registering one is itself guarded: only in a session whose MFA is fresh (or the bootstrap credential's), so a
// stolen session cannot enrol its thief's passkey and then step up with it.
import { isIP } from 'node:net';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { BadRequest, Conflict, Forbidden, NotFound, Unauthenticated } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { IdentityStore } from '../store/identity-store.js';

export interface StoredPasskey { id: string; publicKey: string; counter: number; transports: string[]; createdAt: number }

/** How recent an MFA must be to enrol a passkey (the starter policy's admin window). */
export const ENROL_MFA_WINDOW_MS = 15 * 60_000;
const CHALLENGE_MS = 5 * 60_000;
const CHALLENGE = 'Cookie realm="warden-console"';

/** `origin`: where the options were asked for; the answer must come from the same origin (and its host is the RP ID). */
export interface PendingChallenge { kind: 'register' | 'stepup'; challenge: string; principalId: string; origin: string; expiresAt: number }

export class Passkeys {
  constructor(private readonly store: IdentityStore, private readonly now: () => number) {}

  /** The RP ID for an origin: its host name. WebAuthn RP IDs are domain names, so an IP-address origin has none. */
  private rp(origin: string): string {
    const host = new URL(origin).hostname;
    if (isIP(host.replace(/^\[|\]$/g, ''))) throw new Conflict('passkeys_need_hostname', `passkeys need the console at a host name, not ${origin}: open it at https://localhost:<port>/console/, or set listeners.admin.publicUrl`);
    return host;
  }

  async list(principalId: string): Promise<StoredPasskey[]> {
    const raw = await this.store.getMeta(`console.passkeys:${principalId}`);
    return raw ? (JSON.parse(raw) as StoredPasskey[]) : [];
  }

  private async save(principalId: string, keys: StoredPasskey[]): Promise<void> {
    await this.store.setMeta(`console.passkeys:${principalId}`, JSON.stringify(keys));
  }

  async registrationOptions(p: Principal, origin: string): Promise<{ options: unknown; pending: PendingChallenge }> {
    const fresh = p.authn.method === 'bootstrap' || (p.authn.mfaAt !== undefined && this.now() - p.authn.mfaAt < ENROL_MFA_WINDOW_MS);
    if (!fresh) throw new Unauthenticated('insufficient_user_authentication', 'registering a passkey needs a sign-in with MFA in the last 15 minutes: re-authenticate first', CHALLENGE);
    const existing = await this.list(p.id);
    const options = await generateRegistrationOptions({
      rpName: 'Warden console',
      rpID: this.rp(origin),
      userName: p.id,
      userID: new TextEncoder().encode(`${p.tenant}/${p.id}`),
      attestationType: 'none',
      excludeCredentials: existing.map((k) => ({ id: k.id })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      supportedAlgorithmIDs: [-8, -7, -257],
    });
    return { options, pending: { kind: 'register', challenge: options.challenge, principalId: p.id, origin, expiresAt: this.now() + CHALLENGE_MS } };
  }

  async register(p: Principal, pending: PendingChallenge | null, response: unknown): Promise<StoredPasskey> {
    const c = this.take(p, pending, 'register');
    let v;
    try {
      v = await verifyRegistrationResponse({ response: response as RegistrationResponseJSON, expectedChallenge: c.challenge, expectedOrigin: c.origin, expectedRPID: this.rp(c.origin), requireUserVerification: true });
    } catch (e) {
      throw new BadRequest('passkey_registration_invalid', `the passkey registration does not verify: ${(e as Error).message}`);
    }
    if (!v.verified) throw new BadRequest('passkey_registration_invalid', 'the passkey registration does not verify');
    const cred = v.registrationInfo.credential;
    const key: StoredPasskey = { id: cred.id, publicKey: Buffer.from(cred.publicKey).toString('base64url'), counter: cred.counter, transports: cred.transports ?? [], createdAt: this.now() };
    const keys = await this.list(p.id);
    if (keys.some((k) => k.id === key.id)) throw new Conflict('passkey_exists', 'this passkey is registered already');
    await this.save(p.id, [...keys, key]);
    return key;
  }

  async stepUpOptions(p: Principal, origin: string): Promise<{ options: unknown; pending: PendingChallenge }> {
    const keys = await this.list(p.id);
    if (keys.length === 0) throw new NotFound('no_passkey', `${p.id} has no passkey: register one first`);
    const options = await generateAuthenticationOptions({ rpID: this.rp(origin), allowCredentials: keys.map((k) => ({ id: k.id })), userVerification: 'required' });
    return { options, pending: { kind: 'stepup', challenge: options.challenge, principalId: p.id, origin, expiresAt: this.now() + CHALLENGE_MS } };
  }

  /** Verifies an assertion by one of `p`'s passkeys (fresh challenge, user verified, counter moving forward). */
  async stepUp(p: Principal, pending: PendingChallenge | null, response: unknown): Promise<void> {
    const c = this.take(p, pending, 'stepup');
    const r = response as AuthenticationResponseJSON;
    const keys = await this.list(p.id);
    const key = keys.find((k) => k.id === r?.id);
    if (!key) throw new Forbidden('passkey_unknown', 'that passkey is not registered to you');
    let v;
    try {
      v = await verifyAuthenticationResponse({ response: r, expectedChallenge: c.challenge, expectedOrigin: c.origin, expectedRPID: this.rp(c.origin), credential: { id: key.id, publicKey: Buffer.from(key.publicKey, 'base64url'), counter: key.counter }, requireUserVerification: true });
    } catch (e) {
      throw new Forbidden('passkey_assertion_invalid', `the passkey assertion does not verify: ${(e as Error).message}`);
    }
    if (!v.verified) throw new Forbidden('passkey_assertion_invalid', 'the passkey assertion does not verify');
    key.counter = v.authenticationInfo.newCounter;
    await this.save(p.id, keys);
  }

  private take(p: Principal, pending: PendingChallenge | null, kind: PendingChallenge['kind']): PendingChallenge {
    if (!pending || pending.kind !== kind || pending.principalId !== p.id) throw new BadRequest('passkey_no_challenge', 'ask for options first (the challenge is missing or for something else)');
    if (this.now() > pending.expiresAt) throw new BadRequest('passkey_challenge_expired', 'the challenge expired: ask for options again');
    return pending;
  }
}
