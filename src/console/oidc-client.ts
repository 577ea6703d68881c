// The console as an OIDC relying party: authorization code flow with PKCE (RFC 7636, S256 only) against one
// configured issuer. The person's identity is the access token the token endpoint returns, verified by the
// same OIDC verifier as a bearer token on the API (issuer, audience, signature, expiry, claims mapping):
// one way to turn an IdP's word into a Principal. `state` binds the callback to the browser that started it;
// the state and its PKCE verifier are kept in the console's store (pending-sign-ins.ts), so any replica can finish.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { BadRequest, Unauthenticated, UpstreamError } from '../core/errors.js';
import type { PendingSignIns } from './pending-sign-ins.js';

export interface OidcClientConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  scopes: string[];
  caPem: string | undefined;
}

interface Endpoints { authorization: string; token: string }

interface PendingSignIn { verifier: string; redirectUri: string }

const CHALLENGE = 'Cookie realm="warden-console"';
const KIND = 'oidc';

export class OidcClient {
  private endpoints: Endpoints | null = null;
  private readonly dispatcher: Agent;

  constructor(private readonly c: OidcClientConfig, private readonly pending: PendingSignIns) {
    this.dispatcher = new Agent({ connect: { ...(c.caPem ? { ca: c.caPem } : {}) }, headersTimeout: 5000, bodyTimeout: 5000 });
  }

  /** OIDC Discovery 1.0 §4: the issuer's metadata names its endpoints; its `issuer` must be the configured one. */
  private async discover(): Promise<Endpoints> {
    if (this.endpoints) return this.endpoints;
    const r = await undiciFetch(this.c.issuer.replace(/\/$/, '') + '/.well-known/openid-configuration', { dispatcher: this.dispatcher });
    if (!r.ok) throw new UpstreamError(502, 'oidc_discovery_failed', `the issuer's discovery document answered ${r.status}`);
    const m = (await r.json()) as Record<string, unknown>;
    if (m.issuer !== this.c.issuer) throw new UpstreamError(502, 'oidc_discovery_failed', 'the discovery document names another issuer');
    const methods = m.code_challenge_methods_supported;
    if (Array.isArray(methods) && !methods.includes('S256')) throw new UpstreamError(502, 'oidc_pkce_unsupported', 'the issuer does not support PKCE S256');
    if (typeof m.authorization_endpoint !== 'string' || typeof m.token_endpoint !== 'string') throw new UpstreamError(502, 'oidc_discovery_failed', 'the discovery document lacks the authorization or token endpoint');
    return (this.endpoints = { authorization: m.authorization_endpoint, token: m.token_endpoint });
  }

  /** The URL to send the browser to, and the state to bind to it (kept here, and in a cookie). */
  async start(reauth: boolean, redirectUri: string): Promise<{ url: string; state: string }> {
    const e = await this.discover();
    const state = randomBytes(24).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    // 24 random bytes: a taken key is not a collision but a broken random source, and is refused.
    if (!(await this.pending.add(KIND, state, { verifier, redirectUri } satisfies PendingSignIn, 'oidc_sign_ins_busy'))) throw new Error('OIDC state collision');
    const u = new URL(e.authorization);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', this.c.clientId);
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('scope', this.c.scopes.join(' '));
    u.searchParams.set('state', state);
    u.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    u.searchParams.set('code_challenge_method', 'S256');
    // Re-authentication (step-up): OIDC Core §3.1.2.1 max_age=0 asks the IdP for a fresh sign-in.
    if (reauth) {
      u.searchParams.set('prompt', 'login');
      u.searchParams.set('max_age', '0');
    }
    return { url: u.toString(), state };
  }

  /** The callback: the state must be ours and the browser's; the code is redeemed once, with the PKCE verifier. */
  async finish(params: URLSearchParams, browserState: string | null): Promise<{ accessToken: string }> {
    const state = params.get('state');
    if (!state || !browserState || state !== browserState) throw new Unauthenticated('oidc_state_mismatch', 'the sign-in did not start in this browser (state mismatch): start again', CHALLENGE);
    const p = await this.pending.take<PendingSignIn>(KIND, state);
    if (!p) throw new Unauthenticated('oidc_state_unknown', 'the sign-in expired or was already used: start again', CHALLENGE);
    const err = params.get('error');
    if (err) throw new Unauthenticated('oidc_error', `the identity provider refused the sign-in: ${err}`, CHALLENGE);
    const code = params.get('code');
    if (!code) throw new BadRequest('missing_field', 'the callback has no code', 'code');
    const e = await this.discover();
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: p.redirectUri, code_verifier: p.verifier, client_id: this.c.clientId });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    // RFC 6749 §2.3.1 client_secret_basic for a confidential client; a public client proves itself by PKCE alone.
    if (this.c.clientSecret) headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(this.c.clientId)}:${encodeURIComponent(this.c.clientSecret)}`).toString('base64');
    const r = await undiciFetch(e.token, { method: 'POST', body: form.toString(), headers, dispatcher: this.dispatcher });
    const body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
    if (!r.ok || typeof body.access_token !== 'string') throw new Unauthenticated('oidc_code_refused', `the token endpoint refused the code (${r.status} ${typeof body.error === 'string' ? body.error : ''})`.trim(), CHALLENGE);
    return { accessToken: body.access_token };
  }

  close(): void {
    void this.dispatcher.close();
  }
}
