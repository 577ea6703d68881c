// The console's server side over real TLS: assets with a strict CSP, sign-in with a key and through OIDC
// (code + PKCE against a test IdP), session cookies as admin credentials on the same admin API (same PDP,
// same ledger entries), CSRF, timeouts and sign-out. The browser flows are in console.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { startTestOidcIdp, type TestOidcIdp } from '../helpers/oidc-idp.js';
import { FixedClock } from '../../src/core/clock.js';

const clock = new FixedClock(Date.now());
let t: TestWarden;
let idp: TestOidcIdp;

interface Res { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string }

async function send(method: string, path: string, o: { cookie?: string; csrf?: string; origin?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-warden-csrf'] = o.csrf;
  if (o.origin) headers.origin = o.origin;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(t.w.adminUrl + path, { method: method as 'GET', headers, dispatcher: t.agent, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
  const text = await r.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.statusCode, headers: r.headers, json, text };
}

const cookieOf = (r: Res): string => {
  const sc = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-warden_console='));
  assert.ok(sc, 'a session cookie is set');
  return sc.split(';')[0]!;
};

async function keySession(key: string): Promise<{ cookie: string; csrf: string }> {
  const r = await send('POST', '/console/auth/key', { body: { key } });
  assert.equal(r.status, 200, r.text);
  const cookie = cookieOf(r);
  const s = await send('GET', '/console/auth/session', { cookie });
  return { cookie, csrf: s.json.csrf };
}

/** Follows the OIDC dance as a browser would (the IdP signs in `idp.signInAs`); returns the session cookie. */
async function oidcSession(): Promise<{ cookie: string; csrf: string; session: any }> {
  const start = await send('GET', '/console/auth/oidc/start');
  assert.equal(start.status, 302);
  const stateCookie = ([] as string[]).concat(start.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
  const atIdp = await request(String(start.headers.location), { dispatcher: new (await import('undici')).Agent({ connect: { ca: idp.caPem } }) });
  assert.equal(atIdp.statusCode, 302);
  await atIdp.body.text();
  const back = new URL(String(atIdp.headers.location));
  const cb = await send('GET', back.pathname + back.search, { cookie: stateCookie });
  assert.equal(cb.status, 302, cb.text);
  assert.equal(cb.headers.location, '/console/');
  const cookie = cookieOf(cb);
  const s = await send('GET', '/console/auth/session', { cookie });
  return { cookie, csrf: s.json.csrf, session: s.json };
}

describe('console sessions', () => {
  before(async () => {
    idp = await startTestOidcIdp(() => clock.now());
    t = await startTestWarden(
      (c) => {
        c.oidc.issuers = [idp.oidcIssuer];
        c.console = { ...c.console, idleTimeoutSec: 900, absoluteTimeoutSec: 3600, oidc: { issuer: idp.issuer, clientId: idp.clientId, scopes: ['openid'] } };
      },
      { clock },
    );
    await t.admin('POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['admins'], admin: true });
    await t.admin('POST', '/admin/v1/principals', { id: 'alice', kind: 'user', tenant: 'acme', groups: ['consumers'] });
  });
  after(async () => {
    await t.stop();
    idp.close();
  });

  test('the console page: strict CSP, no framing, no inline script, assets from self', async () => {
    const r = await send('GET', '/console/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    const csp = String(r.headers['content-security-policy']);
    for (const d of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) assert.ok(csp.includes(d), d);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(r.text), 'no inline script');
    assert.ok(!/https?:\/\//.test(r.text), 'nothing loaded from elsewhere');
    const js = await send('GET', '/console/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.equal((await send('GET', '/console/../package.json')).status, 404);
    assert.equal((await send('GET', '/console/nothing.js')).status, 404);
  });

  test('key sign-in: a __Host- cookie (Secure, HttpOnly, SameSite=Strict) that opens the same admin API, and the ledger says who', async () => {
    const r = await send('POST', '/console/auth/key', { body: { key: t.adminKey } });
    assert.equal(r.status, 200);
    const sc = ([] as string[]).concat(r.headers['set-cookie'] ?? [])[0]!;
    assert.match(sc, /^__Host-warden_console=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    assert.ok(t.audits().some((a) => a.action === 'console.signIn' && a.decision === 'allow' && (a.principal as any)?.id === 'admin'));
    const cookie = cookieOf(r);
    const s = await send('GET', '/console/auth/session', { cookie });
    assert.equal(s.json.principal.id, 'admin');
    assert.equal(s.json.principal.authn, 'bootstrap');
    assert.ok(s.json.csrf.length >= 43);
    const list = await send('GET', '/admin/v1/principals', { cookie });
    assert.equal(list.status, 200);
    const created = await send('POST', '/admin/v1/principals', { cookie, csrf: s.json.csrf, body: { id: 'carol', groups: ['consumers'] } });
    assert.equal(created.status, 201, created.text);
    const entry = t.audits().find((a) => a.action === 'principal.create' && (a.resource as any)?.id === 'carol');
    assert.equal((entry?.principal as any)?.id, 'admin', 'the ledger names the person, as through the CLI');
    assert.equal((entry?.principal as any)?.authn, 'bootstrap');
  });

  test('CSRF: a state-changing call without the token, with a wrong one, or from another origin is refused and recorded', async () => {
    const { cookie, csrf } = await keySession(t.adminKey);
    const none = await send('POST', '/admin/v1/principals', { cookie, body: { id: 'mallory1' } });
    assert.equal(none.status, 403);
    assert.equal(none.json.error.code, 'csrf_token_invalid');
    const wrong = await send('POST', '/admin/v1/principals', { cookie, csrf: csrf.slice(0, -2) + 'AA', body: { id: 'mallory2' } });
    assert.equal(wrong.json.error.code, 'csrf_token_invalid');
    const cross = await send('POST', '/admin/v1/principals', { cookie, csrf, origin: 'https://evil.example', body: { id: 'mallory3' } });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.error.code, 'csrf_origin_mismatch');
    // The console's own origins pass: the bound URL and, for a loopback listener, localhost.
    const port = new URL(t.w.adminUrl).port;
    const local = await send('POST', '/admin/v1/principals', { cookie, csrf, origin: `https://localhost:${port}`, body: { id: 'via-localhost' } });
    assert.equal(local.status, 201, local.text);
    const otherPort = await send('POST', '/admin/v1/principals', { cookie, csrf, origin: `https://localhost:1`, body: { id: 'mallory4' } });
    assert.equal(otherPort.json.error.code, 'csrf_origin_mismatch');
    const del = await send('DELETE', '/admin/v1/policies/shadow', { cookie });
    assert.equal(del.json.error.code, 'csrf_token_invalid');
    assert.equal((await send('GET', '/admin/v1/principals/mallory1', { cookie })).status, 404, 'nothing was created');
    assert.ok(t.audits().some((a) => a.errorCode === 'csrf_token_invalid' && a.decision === 'deny'));
    const login = await send('POST', '/console/auth/key', { origin: 'https://evil.example', body: { key: t.adminKey } });
    assert.equal(login.json.error.code, 'csrf_origin_mismatch');
    const form = await send('POST', '/console/auth/key', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 400);
  });

  test('sign-in refusals: a bad key (401), a consumer key (403), both recorded; no cookie', async () => {
    const bad = await send('POST', '/console/auth/key', { body: { key: 'wdn_nope' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    const consumer = await t.keyFor('dave', ['*'], ['chat']);
    const c = await send('POST', '/console/auth/key', { body: { key: consumer.key } });
    assert.equal(c.status, 403);
    assert.equal(c.json.error.code, 'admin_required');
    assert.ok(t.audits().some((a) => a.action === 'console.signIn' && a.errorCode === 'admin_required'));
  });

  test('signing in again replaces the session the browser had', async () => {
    const first = await keySession(t.adminKey);
    const again = await send('POST', '/console/auth/key', { cookie: first.cookie, body: { key: t.adminKey } });
    assert.equal(again.status, 200);
    assert.notEqual(cookieOf(again), first.cookie);
    assert.equal((await send('GET', '/admin/v1/principals', { cookie: first.cookie })).status, 401);
    assert.equal((await send('GET', '/admin/v1/principals', { cookie: cookieOf(again) })).status, 200);
  });

  test('sign-out ends the session on the server: the old cookie opens nothing', async () => {
    const { cookie, csrf } = await keySession(t.adminKey);
    assert.equal((await send('POST', '/console/auth/signout', { cookie })).json?.error?.code, 'csrf_token_invalid');
    const out = await send('POST', '/console/auth/signout', { cookie, csrf });
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    const after = await send('GET', '/admin/v1/principals', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'session_ended');
    assert.equal((await send('GET', '/console/auth/session', { cookie })).json.signed_in, false);
  });

  test('idle and absolute timeouts end a session', async () => {
    const idle = await keySession(t.adminKey);
    clock.advance(899_000);
    assert.equal((await send('GET', '/admin/v1/principals', { cookie: idle.cookie })).status, 200, 'used within the idle time');
    clock.advance(900_000);
    const r = await send('GET', '/admin/v1/principals', { cookie: idle.cookie });
    assert.equal(r.status, 401);
    assert.match(r.json.error.message, /idle/);
    const abs = await keySession(t.adminKey);
    for (let i = 0; i < 5; i++) {
      clock.advance(800_000);
      if (i < 4) assert.equal((await send('GET', '/admin/v1/principals', { cookie: abs.cookie })).status, 200);
    }
    const gone = await send('GET', '/admin/v1/principals', { cookie: abs.cookie });
    assert.equal(gone.status, 401);
    assert.match(gone.json.error.message, /maximum age/);
  });

  test('a revoked key ends its sessions at once (the key is verified on every request)', async () => {
    await t.admin('POST', '/admin/v1/principals', { id: 'erin', kind: 'user', tenant: 'acme', groups: ['admins'], admin: true });
    const k = await t.admin('POST', '/admin/v1/keys', { principal: 'erin', models: ['*'], actions: ['*'] });
    const s = await keySession(k.key);
    assert.equal((await send('GET', '/console/auth/session', { cookie: s.cookie })).json.principal.id, 'erin');
    await t.admin('POST', `/admin/v1/keys/${k.id}/revoke`, {});
    assert.equal((await send('GET', '/admin/v1/principals', { cookie: s.cookie })).status, 401);
  });

  test('OIDC code + PKCE: an admin bound to the issuer signs in with MFA and acts; the IdP saw a verifier matching the challenge', async () => {
    idp.signInAs = { sub: 'bob', groups: [] };
    const s = await oidcSession();
    assert.equal(s.session.principal.id, 'bob');
    assert.equal(s.session.principal.admin, true);
    assert.equal(s.session.principal.authn, 'oidc');
    assert.ok(s.session.principal.mfa_at);
    const q = idp.authorizeRequests.at(-1)!;
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('redirect_uri'), `${t.w.adminOrigin}/console/auth/oidc/callback`);
    assert.ok(idp.tokenRequests.at(-1)?.ok && idp.tokenRequests.at(-1)?.codeVerifier);
    const r = await send('POST', '/admin/v1/principals', { cookie: s.cookie, csrf: s.csrf, body: { id: 'frank', groups: ['consumers'] } });
    assert.equal(r.status, 201, r.text);
    const e = t.audits().find((a) => a.action === 'principal.create' && (a.resource as any)?.id === 'frank');
    assert.deepEqual([(e?.principal as any)?.id, (e?.principal as any)?.authn], ['bob', 'oidc']);
    // The starter policy wants MFA within 15 minutes: later the same session is asked to step up (RFC 9470).
    clock.advance(10 * 60_000);
    assert.equal((await send('GET', '/admin/v1/principals', { cookie: s.cookie })).status, 200);
    clock.advance(6 * 60_000);
    const stale = await send('GET', '/admin/v1/principals', { cookie: s.cookie });
    assert.equal(stale.status, 401);
    assert.equal(stale.json.error.code, 'insufficient_user_authentication');
  });

  test('OIDC: a consumer signs in but gets no admin: the session says so and the API answers 403', async () => {
    idp.signInAs = { sub: 'alice', groups: ['consumers'] };
    const s = await oidcSession();
    assert.equal(s.session.principal.admin, false);
    const r = await send('GET', '/admin/v1/principals', { cookie: s.cookie });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'admin_required');
  });

  test('OIDC refusals: a callback without the browser\'s state, a replayed state, an IdP refusal', async () => {
    idp.signInAs = { sub: 'bob', groups: [] };
    const start = await send('GET', '/console/auth/oidc/start');
    const stateCookie = ([] as string[]).concat(start.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
    const atIdp = await request(String(start.headers.location), { dispatcher: new (await import('undici')).Agent({ connect: { ca: idp.caPem } }) });
    await atIdp.body.text();
    const back = new URL(String(atIdp.headers.location));
    const noState = await send('GET', back.pathname + back.search);
    assert.equal(noState.status, 401);
    assert.equal(noState.json.error.code, 'oidc_state_mismatch');
    const first = await send('GET', back.pathname + back.search, { cookie: stateCookie });
    assert.equal(first.status, 302);
    const replay = await send('GET', back.pathname + back.search, { cookie: stateCookie });
    assert.equal(replay.json.error.code, 'oidc_state_unknown');
    idp.signInAs = null;
    const s2 = await send('GET', '/console/auth/oidc/start');
    const sc2 = ([] as string[]).concat(s2.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
    const r2 = await request(String(s2.headers.location), { dispatcher: new (await import('undici')).Agent({ connect: { ca: idp.caPem } }) });
    await r2.body.text();
    const b2 = new URL(String(r2.headers.location));
    const refused = await send('GET', b2.pathname + b2.search, { cookie: sc2 });
    assert.equal(refused.json.error.code, 'oidc_error');
    assert.ok(t.audits().some((a) => a.action === 'console.signIn' && a.errorCode === 'oidc_state_mismatch'));
  });

  test('policy validation for the editor: a valid set is 200 and installs nothing; an invalid one is 400 naming the problem', async () => {
    const before = await t.admin('GET', '/admin/v1/policies');
    const ok = await t.call('admin', 'POST', '/admin/v1/policies/validate', { key: t.adminKey, body: { text: '@id("x")\npermit (principal in Group::"ops", action == Action::"chat", resource);' } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.valid, ok.json.policy_count], [true, 1]);
    const bad = await t.call('admin', 'POST', '/admin/v1/policies/validate', { key: t.adminKey, body: { text: 'permit (principal, action == Action::"noSuchAction", resource);' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /noSuchAction/);
    const empty = await t.call('admin', 'POST', '/admin/v1/policies/validate', { key: t.adminKey, body: {} });
    assert.equal(empty.json.error.code, 'invalid_field');
    assert.equal((await t.call('admin', 'POST', '/admin/v1/policies/validate', { body: { text: 'x' } })).status, 401);
    // The starter set's own tests against a candidate: the live text passes them, a set of one permit does not.
    const liveText = (before.policies as { text: string }[]).map((p) => p.text).join('\n\n');
    const pass = await t.call('admin', 'POST', '/admin/v1/policies/test', { key: t.adminKey, body: { text: liveText } });
    assert.equal(pass.status, 200, pass.text);
    assert.ok(pass.json.passed > 0);
    assert.equal(pass.json.failed, 0, JSON.stringify(pass.json.results.filter((r: { passed: boolean }) => !r.passed)));
    const fail = await t.call('admin', 'POST', '/admin/v1/policies/test', { key: t.adminKey, body: { text: '@id("only")\npermit (principal in Group::"ops", action == Action::"chat", resource);' } });
    assert.ok(fail.json.failed > 0);
    assert.ok(fail.json.results.some((r: { passed: boolean; problems: string[] }) => !r.passed && r.problems.length > 0));
    const after = await t.admin('GET', '/admin/v1/policies');
    assert.deepEqual([after.live_version, after.shadow_version], [before.live_version, before.shadow_version], 'nothing installed');
    // A consumer may neither validate, test nor read the shadow's differing decisions (managePolicies).
    const { key: consumer } = await t.keyFor('policy-reader', ['*'], ['chat']);
    for (const [method, path] of [['POST', '/admin/v1/policies/validate'], ['POST', '/admin/v1/policies/test'], ['GET', '/admin/v1/policies/shadow/diffs']] as const) {
      const r = await t.call('admin', method, path, { key: consumer, ...(method === 'POST' ? { body: { text: liveText } } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    }
  });

  test('passkeys: refused without the CSRF token, for a consumer, without fresh MFA, with no passkey, and at an IP-address origin', async () => {
    const boot = await keySession(t.adminKey);
    const noCsrf = await send('POST', '/console/auth/passkey/register/options', { cookie: boot.cookie, body: {} });
    assert.equal(noCsrf.json.error.code, 'csrf_token_invalid');
    // WebAuthn RP IDs are host names: this Warden's admin origin is https://127.0.0.1:port.
    const ip = await send('POST', '/console/auth/passkey/register/options', { cookie: boot.cookie, csrf: boot.csrf, body: {} });
    assert.equal(ip.status, 409);
    assert.equal(ip.json.error.code, 'passkeys_need_hostname');
    const none = await send('POST', '/console/auth/passkey/stepup/options', { cookie: boot.cookie, csrf: boot.csrf, body: {} });
    assert.equal(none.status, 404);
    assert.equal(none.json.error.code, 'no_passkey');
    const unasked = await send('POST', '/console/auth/passkey/stepup/verify', { cookie: boot.cookie, csrf: boot.csrf, body: { id: 'x', response: {} } });
    assert.equal(unasked.status, 400);
    assert.equal(unasked.json.error.code, 'passkey_no_challenge');
    idp.signInAs = { sub: 'bob', groups: [], mfa: false };
    const noMfa = await oidcSession();
    const stale = await send('POST', '/console/auth/passkey/register/options', { cookie: noMfa.cookie, csrf: noMfa.csrf, body: {} });
    assert.equal(stale.status, 401);
    assert.equal(stale.json.error.code, 'insufficient_user_authentication');
    idp.signInAs = { sub: 'alice', groups: ['consumers'] };
    const consumer = await oidcSession();
    const c = await send('POST', '/console/auth/passkey/register/options', { cookie: consumer.cookie, csrf: consumer.csrf, body: {} });
    assert.equal(c.status, 403);
    assert.equal(c.json.error.code, 'admin_required');
    assert.equal((await send('POST', '/console/auth/passkey/register/options', { body: {} })).status, 401, 'no session');
    assert.ok(t.audits().some((a) => a.action === 'console.passkey.stepUp' && a.errorCode === 'passkey_no_challenge'));
  });
});

test('console.enabled: false: no console and no cookie credential on the admin listener', async () => {
  const off = await startTestWarden((c) => {
    c.console = { ...c.console, enabled: false };
  });
  try {
    assert.equal(off.w.consoleUrl, null);
    const page = await request(off.w.adminUrl + '/console/', { dispatcher: off.agent });
    await page.body.text();
    assert.equal(page.statusCode, 404);
    const signIn = await request(off.w.adminUrl + '/console/auth/key', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: off.adminKey }), dispatcher: off.agent });
    await signIn.body.text();
    assert.equal(signIn.statusCode, 404);
    const withCookie = await request(off.w.adminUrl + '/admin/v1/principals', { headers: { cookie: '__Host-warden_console=anything' }, dispatcher: off.agent });
    assert.equal(withCookie.statusCode, 401, await withCookie.body.text());
  } finally {
    await off.stop();
  }
});
