// SAML 2.0 sign-in to the console over real TLS, against a TEST SAML IdP (test/helpers/saml-idp.ts) with keys
// made per run: an admin and a consumer sign in (SP-initiated, signed assertion), and every broken response is
// refused and recorded: unsigned, signed by another key, tampered after signing, expired, for another audience,
// from another issuer, replayed, unsolicited, posted without the browser's RelayState, naming nobody we know.
// Single logout: sign-out sends the IdP a LogoutRequest and takes its signed LogoutResponse once; the IdP's
// signed LogoutRequest ends the named session; unsigned, wrongly signed, tampered or foreign ones end nothing.
// The browser flow through the same IdP is in console.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { StartupRefused } from '../../src/core/errors.js';
import { loadSamlIdpCerts } from '../../src/console/saml-client.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { SAML_PASSWORD, startTestSamlIdp, type SamlResponseOptions, type TestSamlIdp } from '../helpers/saml-idp.js';

const SP = 'https://warden.test/console/saml';
let t: TestWarden;
let idp: TestSamlIdp;
let idpAgent: Agent;

interface Res { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string }

/** The admin listener as a browser calls it (TestWarden.call): a JSON body, or a form (the IdP's POST). */
async function send(method: string, path: string, o: { cookie?: string; csrf?: string; body?: string; json?: unknown } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-warden-csrf'] = o.csrf;
  if (o.json === undefined && o.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const body = o.json !== undefined ? o.json : o.body;
  return (await t.call('admin', method, path, { headers, ...(body !== undefined ? { body } : {}) })) as Res;
}

const setCookies = (r: Res) => ([] as string[]).concat(r.headers['set-cookie'] ?? []);
const sessionCookieOf = (r: Res) => setCookies(r).find((c) => c.startsWith('__Host-warden_console='))?.split(';')[0];

/** Starts a sign-in at Warden: the browser's RelayState cookie, and the AuthnRequest as the IdP received it. */
async function start(): Promise<{ stateCookie: string; relayState: string; requestId: string; acsUrl: string; page: string }> {
  const s = await send('GET', '/console/auth/saml/start');
  assert.equal(s.status, 302, s.text);
  const sc = setCookies(s)[0]!;
  assert.match(sc, /^__Host-warden_saml_state=[A-Za-z0-9_-]+; Path=\/; Secure; HttpOnly; SameSite=None; Max-Age=600$/);
  const atIdp = await request(String(s.headers.location), { dispatcher: idpAgent });
  const page = await atIdp.body.text();
  const req = idp.requests.at(-1)!;
  return { stateCookie: sc.split(';')[0]!, relayState: req.relayState, requestId: req.id, acsUrl: req.acsUrl, page };
}

/** Posts a response to the ACS as the browser would (HTTP-POST binding). */
async function post(samlResponse: string, relayState: string, cookie: string | undefined): Promise<Res> {
  return send('POST', '/console/auth/saml/acs', { body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(), ...(cookie ? { cookie } : {}) });
}

/** A full sign-in with a response the test shapes. */
async function signIn(subject: string, o: Partial<SamlResponseOptions> = {}): Promise<Res> {
  const s = await start();
  return post(idp.response({ inResponseTo: s.requestId, acsUrl: s.acsUrl, subject, ...o }), s.relayState, s.stateCookie);
}

async function refused(r: Res, code: string): Promise<void> {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(sessionCookieOf(r), undefined, 'no session cookie');
  assert.ok(setCookies(r).some((c) => /^__Host-warden_saml_state=;.*Max-Age=0/.test(c)), 'the RelayState cookie is cleared');
  assert.ok(t.audits().some((a) => a.action === 'console.signIn' && a.decision === 'deny' && a.errorCode === code), `ledger records ${code}`);
}

describe('console SAML sign-in', () => {
  before(async () => {
    idp = await startTestSamlIdp(SP);
    idpAgent = new Agent({ connect: { ca: idp.caPem } });
    const certFile = join(mkdtempSync(join(tmpdir(), 'warden-saml-')), 'idp.pem');
    writeFileSync(certFile, idp.signingCertPem);
    t = await startTestWarden((c) => {
      c.console = { ...c.console, saml: { entryPoint: idp.ssoUrl, idpIssuer: idp.entityId, idpCertFile: certFile, spEntityId: SP, logoutUrl: idp.sloUrl, mfaAuthnContexts: ['https://refeds.org/profile/mfa'], clockSkewSec: 5 } };
    });
    await t.admin('POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['admins'], admin: true });
    await t.admin('POST', '/admin/v1/principals', { id: 'alice', kind: 'user', tenant: 'acme', groups: ['consumers'] });
  });
  after(async () => {
    await t.stop();
    idp.close();
    await idpAgent.close();
  });

  test('an admin signs in through the IdP (SP-initiated, signed assertion, MFA) and acts; the ledger names them', async () => {
    idp.signInAs = { subject: 'bob' };
    const s = await start();
    const req = idp.requests.at(-1)!;
    assert.equal(s.acsUrl, `${t.w.adminOrigin}/console/auth/saml/acs`);
    assert.match(req.xml, new RegExp(`<saml:Issuer[^>]*>${SP.replace(/\//g, '\\/')}</saml:Issuer>`));
    // The browser posts the form the IdP's page carries (HTTP-POST binding).
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(s.page)?.[1] ?? '';
    assert.equal(field('RelayState'), s.relayState);
    const r = await post(field('SAMLResponse'), field('RelayState'), s.stateCookie);
    assert.equal(r.status, 303, r.text);
    assert.equal(r.headers.location, '/console/');
    const cookie = sessionCookieOf(r)!;
    assert.ok(cookie);
    const view = await send('GET', '/console/auth/session', { cookie });
    assert.deepEqual([view.json.principal.id, view.json.principal.admin, view.json.principal.authn, view.json.saml], ['bob', true, 'saml', true]);
    assert.ok(view.json.principal.mfa_at, 'the IdP said MFA: the AuthnInstant is the MFA time');
    const created = await send('POST', '/admin/v1/principals', { cookie, csrf: view.json.csrf, json: { id: 'saml-made', groups: ['consumers'] } });
    assert.equal(created.status, 201, created.text);
    const e = t.audits().find((a) => a.action === 'principal.create' && (a.resource as any)?.id === 'saml-made');
    assert.deepEqual([(e?.principal as any)?.id, (e?.principal as any)?.authn], ['bob', 'saml']);
    assert.ok(t.audits().some((a) => a.action === 'console.signIn' && a.decision === 'allow' && (a.principal as any)?.authn === 'saml'));
  });

  test('a consumer signs in but gets no admin: the session says so and the API answers 403', async () => {
    const r = await signIn('alice');
    assert.equal(r.status, 303, r.text);
    const cookie = sessionCookieOf(r)!;
    const view = await send('GET', '/console/auth/session', { cookie });
    assert.equal(view.json.principal.admin, false);
    const list = await send('GET', '/admin/v1/principals', { cookie });
    assert.equal(list.status, 403);
    assert.equal(list.json.error.code, 'admin_required');
  });

  test('a password-only sign-in is not MFA: the starter policy refuses admin actions until a step-up', async () => {
    const r = await signIn('bob', { authnContext: SAML_PASSWORD });
    const cookie = sessionCookieOf(r)!;
    const view = await send('GET', '/console/auth/session', { cookie });
    assert.equal(view.json.principal.mfa_at, null);
    const list = await send('GET', '/admin/v1/principals', { cookie });
    assert.equal(list.status, 403);
    assert.match(list.json.error.message, /admin-needs-recent-mfa/);
  });

  test('an unsigned assertion is refused', async () => refused(await signIn('bob', { signing: 'none' }), 'saml_signature_invalid'));
  test('an assertion signed by a key other than the IdP\'s is refused', async () => refused(await signIn('bob', { signing: 'other' }), 'saml_signature_invalid'));
  test('an assertion changed after signing (NameID bob → admin) is refused', async () => refused(await signIn('bob', { signing: 'tampered' }), 'saml_signature_invalid'));
  test('an expired assertion is refused', async () => refused(await signIn('bob', { validForSec: -60 }), 'saml_assertion_expired'));
  test('an assertion for another audience is refused', async () => refused(await signIn('bob', { audience: 'https://other-sp.example' }), 'saml_audience_mismatch'));
  test('an assertion from another issuer is refused', async () => refused(await signIn('bob', { issuer: 'https://evil-idp.example' }), 'saml_issuer_mismatch'));
  test('an encrypted assertion is refused (not supported: never read unverified)', async () => {
    const st = await start();
    const xml = Buffer.from(idp.response({ inResponseTo: st.requestId, acsUrl: st.acsUrl, subject: 'bob' }), 'base64').toString('utf8')
      .replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>');
    await refused(await post(Buffer.from(xml).toString('base64'), st.relayState, st.stateCookie), 'saml_invalid');
  });
  test('a principal Warden does not know is refused (the IdP creates nobody)', async () => refused(await signIn('nobody-here'), 'principal_unknown'));

  test('a replayed response is refused: with the same RelayState, and under a new sign-in', async () => {
    const s = await start();
    const response = idp.response({ inResponseTo: s.requestId, acsUrl: s.acsUrl, subject: 'bob' });
    assert.equal((await post(response, s.relayState, s.stateCookie)).status, 303);
    await refused(await post(response, s.relayState, s.stateCookie), 'saml_state_unknown');
    const again = await start();
    await refused(await post(response, again.relayState, again.stateCookie), 'saml_unsolicited_or_replayed');
  });

  test('a response answering another browser\'s request is refused (login CSRF)', async () => {
    const mine = await start();
    const theirs = await start();
    const forTheirs = idp.response({ inResponseTo: theirs.requestId, acsUrl: theirs.acsUrl, subject: 'alice' });
    await refused(await post(forTheirs, mine.relayState, mine.stateCookie), 'saml_unsolicited_or_replayed');
  });

  test('a response without the browser\'s RelayState cookie, or an unsolicited one, is refused', async () => {
    const s = await start();
    const response = idp.response({ inResponseTo: s.requestId, acsUrl: s.acsUrl, subject: 'bob' });
    await refused(await post(response, s.relayState, undefined), 'saml_state_mismatch');
    await refused(await post(idp.response({ inResponseTo: '_never-asked', acsUrl: s.acsUrl, subject: 'bob' }), 'made-up', '__Host-warden_saml_state=made-up'), 'saml_state_unknown');
  });

  test('an IdP refusal (Responder status), an empty post and a non-form post are refused', async () => {
    idp.signInAs = null;
    const s = await start();
    await refused(await post(idp.lastResponse!, s.relayState, s.stateCookie), 'saml_idp_refused');
    const s2 = await start();
    const empty = await send('POST', '/console/auth/saml/acs', { body: new URLSearchParams({ RelayState: s2.relayState }).toString(), cookie: s2.stateCookie });
    await refused(empty, 'saml_invalid');
    const json = await send('POST', '/console/auth/saml/acs', { json: { SAMLResponse: 'x' } });
    assert.equal(json.status, 400);
    assert.equal(json.json.error.code, 'invalid_content_type');
  });

  const sloPath = () => '/console/auth/saml/slo';
  const sloUrl = () => `${t.w.adminOrigin}/console/auth/saml/slo`;
  const pathOf = (u: string) => { const x = new URL(u); return x.pathname + x.search; };
  const signedInCookie = async (subject: string) => {
    const r = await signIn(subject);
    assert.equal(r.status, 303, r.text);
    return sessionCookieOf(r)!;
  };
  const principalsWith = async (cookie: string) => (await send('GET', '/admin/v1/principals', { cookie })).status;

  test('SP-initiated single logout: sign-out ends the session here and asks the IdP; its signed LogoutResponse is taken once', async () => {
    const cookie = await signedInCookie('bob');
    const view = await send('GET', '/console/auth/session', { cookie });
    const out = await send('POST', '/console/auth/signout', { cookie, csrf: view.json.csrf });
    assert.equal(out.status, 200, out.text);
    const logoutUrl = String(out.json.logout_url);
    assert.ok(logoutUrl.startsWith(idp.sloUrl + '?SAMLRequest='), logoutUrl);
    assert.equal(await principalsWith(cookie), 401, 'the Warden session ended at sign-out, before the IdP answered');
    const atIdp = await request(logoutUrl, { dispatcher: idpAgent });
    await atIdp.body.text();
    const lr = idp.logoutRequests.at(-1)!;
    assert.deepEqual([lr.nameId, lr.sessionIndex], ['bob', idp.sessions.get('bob')!.at(-1)], 'the LogoutRequest names the NameID and SessionIndex of this sign-in');
    const back = String(atIdp.headers.location);
    assert.ok(back.startsWith(sloUrl() + '?SAMLResponse='), back);
    const done = await send('GET', pathOf(back));
    assert.equal(done.status, 303, done.text);
    assert.equal(done.headers.location, '/console/');
    assert.ok(t.audits().some((a) => a.action === 'console.samlLogout' && a.decision === 'allow'));
    const replay = await send('GET', pathOf(back));
    assert.equal(replay.json.error.code, 'saml_unsolicited_or_replayed');
    assert.ok(t.audits().some((a) => a.action === 'console.samlLogout' && a.decision === 'deny' && a.errorCode === 'saml_unsolicited_or_replayed'));
    for (const inResponseTo of [null, '_never-asked']) assert.equal((await send('GET', pathOf(idp.logoutResponseUrl(sloUrl(), { inResponseTo })))).json.error.code, 'saml_unsolicited_or_replayed');
  });

  test('SP-initiated single logout: an unsigned or wrongly signed LogoutResponse is refused', async () => {
    const cookie = await signedInCookie('bob');
    const out = await send('POST', '/console/auth/signout', { cookie, csrf: (await send('GET', '/console/auth/session', { cookie })).json.csrf });
    const atIdp = await request(String(out.json.logout_url), { dispatcher: idpAgent });
    await atIdp.body.text();
    const id = idp.logoutRequests.at(-1)!.id;
    for (const signing of ['none', 'other'] as const) {
      const r = await send('GET', pathOf(idp.logoutResponseUrl(sloUrl(), { inResponseTo: id, signing })));
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, 'saml_signature_invalid', signing);
    }
    assert.equal((await send('GET', pathOf(idp.logoutResponseUrl(sloUrl(), { inResponseTo: id })))).status, 303, 'the real answer is still taken');
  });

  test('IdP-initiated single logout: a signed LogoutRequest ends the session it names; unsigned, forged, tampered or foreign ones end nothing', async () => {
    const first = await signedInCookie('bob');
    const firstIndex = idp.sessions.get('bob')!.at(-1)!;
    const second = await signedInCookie('bob');
    const alice = await signedInCookie('alice');
    for (const [o, code] of [
      [{ signing: 'none' }, 'saml_signature_invalid'],
      [{ signing: 'other' }, 'saml_signature_invalid'],
      [{ signing: 'tampered' }, 'saml_signature_invalid'],
      [{ issuer: 'https://evil-idp.example' }, 'saml_issuer_mismatch'],
    ] as const) {
      const r = await send('GET', pathOf(idp.logoutRequestUrl(sloUrl(), { nameId: 'bob', ...o })));
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, code, JSON.stringify(o));
    }
    assert.deepEqual([await principalsWith(first), await principalsWith(second)], [200, 200], 'no refused request ended anything');
    const stale = await send('GET', pathOf(idp.logoutRequestUrl(sloUrl(), { nameId: 'bob', issuedAt: Date.now() - 11 * 60_000 })));
    assert.equal(stale.json.error.code, 'saml_logout_stale');
    assert.deepEqual([await principalsWith(first), await principalsWith(second)], [200, 200], 'no refused request ended anything');
    // Naming the first sign-in's SessionIndex: that session ends, the other stays.
    const firstLogout = idp.logoutRequestUrl(sloUrl(), { nameId: 'bob', sessionIndex: firstIndex });
    const one = await send('GET', pathOf(firstLogout));
    assert.equal(one.status, 302, one.text);
    assert.ok(String(one.headers.location).startsWith(idp.sloUrl + '?SAMLResponse='), 'answered with a LogoutResponse at the IdP');
    assert.deepEqual([await principalsWith(first), await principalsWith(second)], [401, 200]);
    assert.ok(t.audits().some((a) => a.action === 'console.signOut' && (a.details as Record<string, unknown> | undefined)?.sessionsEnded === 1));
    const replayed = await send('GET', pathOf(firstLogout));
    assert.equal(replayed.json.error.code, 'saml_unsolicited_or_replayed', 'a LogoutRequest is honoured once');
    // Naming the person only: all their sessions end; another person's stays.
    assert.equal((await send('GET', pathOf(idp.logoutRequestUrl(sloUrl(), { nameId: 'bob' })))).status, 302);
    assert.equal(await principalsWith(second), 401);
    assert.equal((await send('GET', '/console/auth/session', { cookie: alice })).json.signed_in, true);
    assert.equal((await send('GET', sloPath())).json.error.code, 'saml_invalid');
  });

  test('a disabled principal\'s SAML session ends at its next request', async () => {
    await t.admin('POST', '/admin/v1/principals', { id: 'gina', kind: 'user', tenant: 'acme', groups: ['admins'], admin: true });
    const r = await signIn('gina');
    const cookie = sessionCookieOf(r)!;
    assert.equal((await send('GET', '/admin/v1/principals', { cookie })).status, 200);
    await t.admin('POST', '/admin/v1/principals/gina/disable', {});
    const after = await send('GET', '/admin/v1/principals', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'principal_disabled');
  });
});

test('SAML not configured: the sign-in and logout endpoints answer 404', async () => {
  const plain = await startTestWarden();
  try {
    const r = await request(plain.w.adminUrl + '/console/auth/saml/start', { dispatcher: plain.agent });
    assert.equal(r.statusCode, 404);
    assert.equal(((await r.body.json()) as any).error.code, 'saml_not_configured');
    const s = await request(plain.w.adminUrl + '/console/auth/session', { dispatcher: plain.agent });
    assert.equal(((await s.body.json()) as any).saml, false);
    const slo = await request(plain.w.adminUrl + '/console/auth/saml/slo?SAMLRequest=x', { dispatcher: plain.agent });
    assert.equal(slo.statusCode, 404);
    assert.equal(((await slo.body.json()) as any).error.code, 'saml_slo_not_configured');
  } finally {
    await plain.stop();
  }
});

test('console.saml.idpCertFile: a missing file or one without a certificate refuses to start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-saml-cert-'));
  assert.throws(() => loadSamlIdpCerts(join(dir, 'absent.pem')), StartupRefused);
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
  assert.throws(() => loadSamlIdpCerts(join(dir, 'junk.pem')), /no PEM certificate/);
  writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  assert.throws(() => loadSamlIdpCerts(join(dir, 'broken.pem')), /not a certificate/);
});
