// The console on the admin listener: static assets under /console/ (built by scripts/build-console.mjs into
// dist/console, served with a strict CSP and no framing) and the sign-in endpoints under /console/auth/.
// Everything the console shows or changes goes through /admin/v1 and /audit/v1 with the session cookie
// (src/console/session-auth.ts): there is no console-only privileged endpoint.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditEvent, auditPrincipal } from '../core/audit-event.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, Forbidden, Unauthenticated, WardenError } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import type { Principal } from '../core/types.js';
import { readBody } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import type { OidcClient } from './oidc-client.js';
import type { Passkeys } from './passkeys.js';
import type { SamlClient, SamlLogoutMessage } from './saml-client.js';
import { oidcSessionPrincipal, samlSessionPrincipal, requestOrigin, requestSession, sessionPrincipal, type SessionAuthDeps } from './session-auth.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type SessionCredential } from './sessions.js';

/** Where the built assets are: dist/console beside dist/src (this file is dist/src/console/handler.js). */
export const DEFAULT_ASSET_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');

const STATE_COOKIE = '__Host-warden_oidc_state';
// SameSite=None: the IdP's answer is a cross-site POST (HTTP-POST binding), which carries no Lax cookie.
// The cookie holds only RelayState, single use, and is what stops a login CSRF (someone else's response posted here).
const SAML_STATE_COOKIE = '__Host-warden_saml_state';
const samlStateCookie = (v: string, maxAge: number) => `${SAML_STATE_COOKIE}=${v}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=${maxAge}`;
/** An IdP's POST to the ACS is a signed XML document, base64'd: a few KiB, with room for certificates. */
const MAX_SAML_POST = 256 * 1024;

/**
 * No inline script or style, nothing from elsewhere, no framing (frame-ancestors + X-Frame-Options for old
 * browsers), no plugins, forms and fetches only to this origin.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'strict-transport-security': 'max-age=31536000',
};

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.map': 'application/json' };

export interface ConsoleDeps extends SessionAuthDeps {
  clock: Clock;
  audit: AuditSink;
  oidc: OidcClient | null;
  saml: SamlClient | null;
  /** The OIDC verifier of the API's bearer tokens (identity plane): the one judge of the IdP's access token. */
  oidcToken: (token: string) => Promise<Principal>;
  passkeys: Passkeys;
  assetDir?: string;
}

export function createConsoleHandler(d: ConsoleDeps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  // The asset set is read once: only these names are served (no path from the request reaches the file system).
  const dir = d.assetDir ?? DEFAULT_ASSET_DIR;
  const assets = new Map<string, { body: Buffer; type: string }>();
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) assets.set(name, { body: readFileSync(join(dir, name)), type });
    }
  }

  const send = (res: ServerResponse, status: number, body: Buffer | string, type: string, extra: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra });
    res.end(body);
  };

  const record = async (requestId: string, action: string, principal: Principal | null, refused?: WardenError, details?: Record<string, string | number>) => {
    await d.audit.append(
      auditEvent({
        time: new Date(d.clock.now()).toISOString(),
        requestId,
        kind: 'control',
        ...(principal ? { principal: auditPrincipal(principal) } : {}),
        action,
        resource: { type: 'System', id: 'console' },
        decision: refused ? 'deny' : 'allow',
        status: refused ? refused.status : 200,
        ...(refused ? { errorCode: refused.code } : {}),
        ...(details ? { details } : {}),
      }),
    );
  };

  /** A new session for a verified person: recorded in the ledger first (fail closed), then the cookie. */
  const signIn = async (requestId: string, principal: Principal, credential: SessionCredential, action: string): Promise<string> => {
    await record(requestId, action, principal);
    return (await d.sessions.create(credential)).cookie;
  };

  /** The end of a redirect sign-in (OIDC, SAML): the browser's old session ends, a new one starts, back to the console. */
  const redirectSignedIn = async (req: IncomingMessage, res: ServerResponse, requestId: string, p: Principal, credential: SessionCredential, clearState: string, status: 302 | 303): Promise<void> => {
    const previous = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (previous) await d.sessions.end(previous);
    const cookie = await signIn(requestId, p, credential, 'console.signIn');
    res.writeHead(status, { ...SECURITY_HEADERS, location: '/console/', 'set-cookie': [clearState, sessionCookie(cookie)] });
    res.end();
  };

  const sessionView = async (req: IncomingMessage) => {
    const s = await requestSession(d, req);
    if (!s) return { signed_in: false, oidc: d.oidc !== null, saml: d.saml !== null };
    const p = await sessionPrincipal(d, s);
    return {
      signed_in: true,
      oidc: d.oidc !== null,
      saml: d.saml !== null,
      csrf: s.csrf,
      principal: { id: p.id, kind: p.kind, tenant: p.tenant, groups: p.groups, admin: p.admin === true, authn: p.authn.method, mfa_at: p.authn.mfaAt ? new Date(p.authn.mfaAt).toISOString() : null },
      created_at: new Date(s.createdAt).toISOString(),
      passkeys: p.admin ? (await d.passkeys.list(p.id)).length : 0,
    };
  };

  const route = async (req: IncomingMessage, res: ServerResponse, path: string, url: URL, requestId: string): Promise<void> => {
    const method = req.method ?? 'GET';
    if (path === '/console' && method === 'GET') {
      res.writeHead(302, { ...SECURITY_HEADERS, location: '/console/' });
      res.end();
      return;
    }
    if (path === '/console/auth/session' && method === 'GET') {
      try {
        return sendJson(res, 200, await sessionView(req), { ...SECURITY_HEADERS, 'cache-control': 'no-store', 'x-request-id': requestId });
      } catch (e) {
        // An ended session answers "signed out" (and clears the cookie), not an error page.
        if (e instanceof WardenError && e.status === 401) return sendJson(res, 200, { signed_in: false, oidc: d.oidc !== null, saml: d.saml !== null, ended: e.code }, { ...SECURITY_HEADERS, 'set-cookie': clearedSessionCookie(), 'x-request-id': requestId });
        throw e;
      }
    }
    if (path === '/console/auth/key' && method === 'POST') {
      // Login CSRF: a cross-site page cannot send JSON without a preflight, and Origin (when sent) must be ours.
      if (req.headers.origin !== undefined && !d.origins.includes(req.headers.origin)) throw new Forbidden('csrf_origin_mismatch', 'sign-in from another origin is refused');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new BadRequest('invalid_content_type', 'send the key as application/json');
      let key: unknown;
      try {
        key = (JSON.parse((await readBody(req, 4096)).toString('utf8')) as { key?: unknown }).key;
      } catch {
        throw new BadRequest('invalid_json', 'the request body is not valid JSON');
      }
      if (typeof key !== 'string' || key.length === 0) throw new BadRequest('missing_field', 'key is required', 'key');
      let p: Principal;
      try {
        p = await d.apiKey(key);
      } catch (e) {
        const err = e instanceof WardenError ? e : new WardenError(401, 'authentication_error', 'invalid_key', 'the key is not valid');
        await record(requestId, 'console.signIn', null, err);
        throw err;
      }
      if (!p.admin) {
        const err = new Forbidden('admin_required', 'the console signs in admin principals only; this key belongs to a principal without admin');
        await record(requestId, 'console.signIn', p, err);
        throw err;
      }
      // A new sign-in replaces whatever session this browser had (no session outlives its replacement).
      const previous = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (previous) await d.sessions.end(previous);
      const cookie = await signIn(requestId, p, { kind: 'api_key', key }, 'console.signIn');
      return sendJson(res, 200, { signed_in: true }, { ...SECURITY_HEADERS, 'set-cookie': sessionCookie(cookie), 'x-request-id': requestId });
    }
    if (path === '/console/auth/signout' && method === 'POST') {
      const s = await requestSession(d, req);
      const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
      let logoutUrl: string | null = null;
      if (s && cookie) {
        await d.sessions.end(cookie);
        await record(requestId, 'console.signOut', await sessionPrincipal(d, s).catch(() => null));
        // SAML single logout: the Warden session is over already; the IdP is asked to end its own.
        const c = s.credential;
        if (c.kind === 'saml' && c.logout && d.saml?.singleLogout) logoutUrl = await d.saml.startLogout(c.logout, `${requestOrigin(d, req)}/console/auth/saml/acs`);
      }
      return sendJson(res, 200, { signed_in: false, ...(logoutUrl ? { logout_url: logoutUrl } : {}) }, { ...SECURITY_HEADERS, 'set-cookie': clearedSessionCookie(), 'x-request-id': requestId });
    }
    const pk = /^\/console\/auth\/passkey\/(register|stepup)\/(options|verify)$/.exec(path);
    if (pk && method === 'POST') {
      // Signed in (with the CSRF token: requestSession checks it for a POST), as an admin.
      const s = await requestSession(d, req);
      if (!s) throw new Unauthenticated('session_required', 'sign in first', 'Cookie realm="warden-console"');
      const p = await sessionPrincipal(d, s);
      if (!p.admin) throw new Forbidden('admin_required', 'passkeys are for admins of this Warden');
      const hdr = { ...SECURITY_HEADERS, 'cache-control': 'no-store', 'x-request-id': requestId };
      if (pk[2] === 'options') {
        const origin = requestOrigin(d, req);
        const r = pk[1] === 'register' ? await d.passkeys.registrationOptions(p, origin) : await d.passkeys.stepUpOptions(p, origin);
        await d.sessions.setPendingPasskey(s, r.pending);
        return sendJson(res, 200, r.options, hdr);
      }
      const pending = await d.sessions.takePendingPasskey(s);
      let response: unknown;
      try {
        response = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8'));
      } catch {
        throw new BadRequest('invalid_json', 'the request body is not valid JSON');
      }
      const action = pk[1] === 'register' ? 'console.passkey.register' : 'console.passkey.stepUp';
      try {
        if (pk[1] === 'register') await d.passkeys.register(p, pending, response);
        else await d.passkeys.stepUp(p, pending, response);
      } catch (e) {
        if (e instanceof WardenError) await record(requestId, action, p, e);
        throw e;
      }
      await record(requestId, action, p);
      if (pk[1] === 'stepup') await d.sessions.setStepUp(s, d.clock.now());
      return sendJson(res, 200, { ok: true, ...(pk[1] === 'stepup' ? { mfa_at: new Date(s.stepUpAt!).toISOString() } : {}) }, hdr);
    }
    if (path === '/console/auth/oidc/start' && method === 'GET') {
      if (!d.oidc) throw new WardenError(404, 'not_found_error', 'oidc_not_configured', 'no OIDC issuer is configured for the console (console.oidc)');
      // Back to the origin the person opened the console at (each must be a redirect URI registered at the IdP).
      const { url: to, state } = await d.oidc.start(url.searchParams.get('reauth') === '1', `${requestOrigin(d, req)}/console/auth/oidc/callback`);
      // Lax, not Strict: the IdP's redirect back is a cross-site navigation, and this cookie must come with it.
      res.writeHead(302, { ...SECURITY_HEADERS, location: to, 'set-cookie': `${STATE_COOKIE}=${state}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600` });
      res.end();
      return;
    }
    if (path === '/console/auth/oidc/callback' && method === 'GET') {
      if (!d.oidc) throw new WardenError(404, 'not_found_error', 'oidc_not_configured', 'no OIDC issuer is configured for the console (console.oidc)');
      const clearState = `${STATE_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
      let p: Principal;
      let accessToken: string;
      try {
        ({ accessToken } = await d.oidc.finish(url.searchParams, readCookie(req.headers.cookie, STATE_COOKIE)));
        p = await d.oidcToken(accessToken);
      } catch (e) {
        const err = e instanceof WardenError ? e : new WardenError(401, 'authentication_error', 'oidc_failed', 'the sign-in could not be verified');
        await record(requestId, 'console.signIn', null, err);
        res.setHeader('set-cookie', clearState);
        throw err;
      }
      const credential: SessionCredential = { kind: 'oidc', issuer: p.authn.issuer!, subject: p.id, tenant: p.tenant, principalKind: p.kind, groups: p.groups, mfaAt: p.authn.mfaAt ?? null, tokenId: p.authn.credentialId ?? 'oidc' };
      return redirectSignedIn(req, res, requestId, await oidcSessionPrincipal(d, credential), credential, clearState, 302);
    }
    if (path === '/console/auth/saml/start' && method === 'GET') {
      if (!d.saml) throw new WardenError(404, 'not_found_error', 'saml_not_configured', 'no SAML IdP is configured for the console (console.saml)');
      const { url: to, state } = await d.saml.start(`${requestOrigin(d, req)}/console/auth/saml/acs`);
      res.writeHead(302, { ...SECURITY_HEADERS, location: to, 'set-cookie': samlStateCookie(state, 600) });
      res.end();
      return;
    }
    if (path === '/console/auth/saml/acs' && method === 'POST') {
      if (!d.saml) throw new WardenError(404, 'not_found_error', 'saml_not_configured', 'no SAML IdP is configured for the console (console.saml)');
      const clearState = samlStateCookie('', 0);
      let credential: SessionCredential;
      let p: Principal;
      try {
        if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) throw new BadRequest('invalid_content_type', 'the IdP must POST the SAMLResponse as a form (HTTP-POST binding)');
        const form = new URLSearchParams((await readBody(req, MAX_SAML_POST)).toString('utf8'));
        const signedIn = await d.saml.finish(form, readCookie(req.headers.cookie, SAML_STATE_COOKIE));
        credential = { kind: 'saml', idpIssuer: signedIn.idpIssuer, subject: signedIn.subject, mfaAt: signedIn.mfaAt, assertionId: signedIn.assertionId, logout: signedIn.logout };
        p = await samlSessionPrincipal(d, credential);
      } catch (e) {
        const err = e instanceof WardenError ? e : new WardenError(401, 'authentication_error', 'saml_failed', 'the sign-in could not be verified');
        await record(requestId, 'console.signIn', null, err);
        res.setHeader('set-cookie', clearState);
        throw err;
      }
      // 303: the browser follows a POST's answer with a GET.
      return redirectSignedIn(req, res, requestId, p, credential, clearState, 303);
    }
    if (path === '/console/auth/saml/slo' && method === 'GET') {
      if (!d.saml?.singleLogout) throw new WardenError(404, 'not_found_error', 'saml_slo_not_configured', 'SAML single logout is not configured for the console (console.saml.logoutUrl)');
      const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
      let m: SamlLogoutMessage;
      try {
        m = await d.saml.logoutMessage(url.searchParams, rawQuery, `${requestOrigin(d, req)}/console/auth/saml/acs`);
      } catch (e) {
        const err = e instanceof WardenError ? e : new WardenError(401, 'authentication_error', 'saml_failed', 'the logout message could not be verified');
        await record(requestId, 'console.samlLogout', null, err);
        throw err;
      }
      if (m.kind === 'response') {
        // The IdP confirms the logout this browser asked for (its Warden session ended at sign-out).
        await record(requestId, 'console.samlLogout', null, undefined, { message: 'LogoutResponse' });
        res.writeHead(303, { ...SECURITY_HEADERS, location: '/console/', 'set-cookie': clearedSessionCookie() });
        res.end();
        return;
      }
      // The IdP ends the person's sessions (the browser here may be anyone's: the signed request is the authority).
      const ended = await d.sessions.endSaml(m.idpIssuer, m.nameId, m.sessionIndex);
      await record(requestId, 'console.signOut', null, undefined, { message: 'LogoutRequest', idpIssuer: m.idpIssuer, sessionsEnded: ended });
      res.writeHead(302, { ...SECURITY_HEADERS, location: m.responseUrl });
      res.end();
      return;
    }
    if (method === 'GET' && (path === '/console/' || path.startsWith('/console/'))) {
      const name = path === '/console/' ? 'index.html' : path.slice('/console/'.length);
      const a = assets.get(name);
      if (a) return send(res, 200, a.body, a.type, name === 'index.html' ? {} : { 'cache-control': 'no-cache' });
      if (assets.size === 0) throw new WardenError(503, 'unavailable_error', 'console_not_built', 'the console assets are not built: run `npm run build`');
      throw new WardenError(404, 'not_found_error', 'not_found', `no console file ${name}`);
    }
    throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${method} ${path} is not a console endpoint`);
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const path = url.pathname;
    if (path !== '/console' && !path.startsWith('/console/')) return false;
    const requestId = newRequestId();
    try {
      await route(req, res, path, url, requestId);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      sendError(res, err, requestId);
    }
    return true;
  };
}
