// Console sessions across replicas: two Warden instances on one store (PostgreSQL + Redis, test/helpers/cluster.ts)
// and one clock. A session made through one replica is honoured by the other (same CSRF token, same admin API
// and ledger), the idle and absolute timeouts hold whichever replica the requests reach, and signing out
// through one ends the session on both. A sign-in (OIDC, SAML) begun through one replica finishes through the
// other, and its state cannot be used again through either.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { FixedClock } from '../../src/core/clock.js';
import { startTestCluster } from '../helpers/cluster.js';
import { requireService } from '../helpers/services.js';
import type { TestWarden } from '../helpers/warden.js';
import { startTestOidcIdp } from '../helpers/oidc-idp.js';
import { startTestSamlIdp } from '../helpers/saml-idp.js';

interface Sent { status: number; json: any; cookie?: string; location?: string; setCookies: string[] }

async function send(r: TestWarden, method: string, path: string, o: { cookie?: string; csrf?: string; body?: unknown; form?: Record<string, string> } = {}): Promise<Sent> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-warden-csrf'] = o.csrf;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const body = o.form !== undefined ? new URLSearchParams(o.form).toString() : o.body !== undefined ? JSON.stringify(o.body) : undefined;
  const res = await request(r.w.adminUrl + path, { method: method as 'GET', headers, dispatcher: r.agent, ...(body !== undefined ? { body } : {}) });
  const json = await res.body.json().catch(() => null);
  const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const set = setCookies.find((c) => c.startsWith('__Host-warden_console=') && !c.includes('Max-Age=0'));
  return { status: res.statusCode, json, setCookies, ...(set ? { cookie: set.split(';')[0]! } : {}), ...(res.headers.location ? { location: String(res.headers.location) } : {}) };
}

test('console sessions are shared by replicas: made through one, used, timed out and ended through the other', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const clock = new FixedClock(Date.now());
  const cl = await startTestCluster(2, (c) => {
    c.console = { ...c.console, idleTimeoutSec: 900, absoluteTimeoutSec: 3600 };
  }, { clock });
  t.after(() => cl.stop());
  const [r1, r2] = cl.replicas as [TestWarden, TestWarden];
  const signIn = async (via: TestWarden) => {
    const r = await send(via, 'POST', '/console/auth/key', { body: { key: cl.adminKey } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.cookie!;
  };

  // Made through replica 1, used through replica 2: the same session (CSRF token), the same admin API.
  const cookie = await signIn(r1);
  const v1 = await send(r1, 'GET', '/console/auth/session', { cookie });
  const v2 = await send(r2, 'GET', '/console/auth/session', { cookie });
  assert.equal(v2.json.signed_in, true);
  assert.equal(v2.json.csrf, v1.json.csrf);
  const made = await send(r2, 'POST', '/admin/v1/principals', { cookie, csrf: v2.json.csrf, body: { id: 'via-replica-2', groups: ['consumers'] } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.equal((await send(r2, 'POST', '/admin/v1/principals', { cookie, body: { id: 'no-csrf' } })).json.error.code, 'csrf_token_invalid');

  // Sign-out through replica 2 ends it on replica 1.
  assert.equal((await send(r2, 'POST', '/console/auth/signout', { cookie, csrf: v2.json.csrf })).status, 200);
  const after = await send(r1, 'GET', '/admin/v1/principals', { cookie });
  assert.equal(after.status, 401);
  assert.equal(after.json.error.code, 'session_ended');

  // Idle: a request through replica 1 keeps it alive for replica 2; 15 idle minutes end it on both.
  const idle = await signIn(r2);
  clock.advance(800_000);
  assert.equal((await send(r1, 'GET', '/admin/v1/principals', { cookie: idle })).status, 200);
  clock.advance(800_000);
  assert.equal((await send(r2, 'GET', '/admin/v1/principals', { cookie: idle })).status, 200, 'replica 1\'s use counted');
  clock.advance(900_000);
  const gone = await send(r1, 'GET', '/admin/v1/principals', { cookie: idle });
  assert.equal(gone.status, 401);
  assert.match(gone.json.error.message, /idle/);
  assert.equal((await send(r2, 'GET', '/admin/v1/principals', { cookie: idle })).status, 401);

  // Absolute: in use through both replicas in turn, it still ends an hour after sign-in.
  const busy = await signIn(r1);
  for (let i = 0; i < 4; i++) {
    clock.advance(800_000);
    assert.equal((await send(i % 2 ? r1 : r2, 'GET', '/admin/v1/principals', { cookie: busy })).status, 200);
  }
  clock.advance(800_000);
  const old = await send(r2, 'GET', '/admin/v1/principals', { cookie: busy });
  assert.equal(old.status, 401);
  assert.match(old.json.error.message, /maximum age/);
});

test('a sign-in begun through one replica finishes through the other (OIDC and SAML); its state is used once, on both', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const oidc = await startTestOidcIdp();
  const SP = 'https://warden.test/console/saml';
  const saml = await startTestSamlIdp(SP);
  const certFile = join(mkdtempSync(join(tmpdir(), 'warden-saml-replicas-')), 'idp.pem');
  writeFileSync(certFile, saml.signingCertPem);
  const oidcAgent = new Agent({ connect: { ca: oidc.caPem } });
  const samlAgent = new Agent({ connect: { ca: saml.caPem } });
  const cl = await startTestCluster(2, (c) => {
    c.oidc.issuers = [oidc.oidcIssuer];
    c.console = {
      ...c.console,
      oidc: { issuer: oidc.issuer, clientId: oidc.clientId, scopes: ['openid'] },
      saml: { entryPoint: saml.ssoUrl, idpIssuer: saml.entityId, idpCertFile: certFile, spEntityId: SP, mfaAuthnContexts: ['https://refeds.org/profile/mfa'], clockSkewSec: 5 },
    };
  });
  t.after(async () => {
    await cl.stop();
    oidc.close();
    saml.close();
    await oidcAgent.close();
    await samlAgent.close();
  });
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['admins'], admin: true });
  const stateCookie = (r: Sent, name: string) => r.setCookies.find((c) => c.startsWith(`${name}=`))!.split(';')[0]!;

  // OIDC: /start on A (state + PKCE verifier stored), the IdP's redirect back lands on B.
  oidc.signInAs = { sub: 'bob', groups: [] };
  const start = await send(a, 'GET', '/console/auth/oidc/start');
  assert.equal(start.status, 302);
  const oidcState = stateCookie(start, '__Host-warden_oidc_state');
  const atIdp = await request(start.location!, { dispatcher: oidcAgent });
  await atIdp.body.text();
  const back = new URL(String(atIdp.headers.location));
  const done = await send(b, 'GET', back.pathname + back.search, { cookie: oidcState });
  assert.equal(done.status, 302, JSON.stringify(done.json));
  assert.equal(oidc.tokenRequests.at(-1)?.ok, true, 'B redeemed the code with the PKCE verifier A made');
  const view = await send(a, 'GET', '/console/auth/session', { cookie: done.cookie! });
  assert.deepEqual([view.json.principal.id, view.json.principal.authn], ['bob', 'oidc']);
  // The same state again, through either replica: used.
  for (const r of [a, b]) {
    const replay = await send(r, 'GET', back.pathname + back.search, { cookie: oidcState });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'oidc_state_unknown');
  }

  // SAML: the AuthnRequest sent through B, the IdP's POST reaches A.
  saml.signInAs = { subject: 'bob' };
  const s = await send(b, 'GET', '/console/auth/saml/start');
  assert.equal(s.status, 302);
  const relayCookie = stateCookie(s, '__Host-warden_saml_state');
  const page = await (await request(s.location!, { dispatcher: samlAgent })).body.text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] ?? '';
  const form = { SAMLResponse: field('SAMLResponse'), RelayState: field('RelayState') };
  const acs = await send(a, 'POST', '/console/auth/saml/acs', { form, cookie: relayCookie });
  assert.equal(acs.status, 303, JSON.stringify(acs.json));
  const samlView = await send(b, 'GET', '/console/auth/session', { cookie: acs.cookie! });
  assert.deepEqual([samlView.json.principal.id, samlView.json.principal.authn], ['bob', 'saml']);
  for (const r of [a, b]) {
    const replay = await send(r, 'POST', '/console/auth/saml/acs', { form, cookie: relayCookie });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'saml_state_unknown');
  }
  // Under a new sign-in's RelayState the old response answers a request already answered: refused too.
  const s2 = await send(a, 'GET', '/console/auth/saml/start');
  const again = await send(b, 'POST', '/console/auth/saml/acs', { form: { SAMLResponse: form.SAMLResponse, RelayState: new URL(s2.location!).searchParams.get('RelayState')! }, cookie: stateCookie(s2, '__Host-warden_saml_state') });
  assert.equal(again.json.error.code, 'saml_unsolicited_or_replayed');
});
