// Step-up is bound to the person's issuer: with two OIDC issuers configured (the company's, and a second one
// where anyone can sign up as "dave"), dave's stolen API key plus a token from the second issuer must not pass
// the MFA step-up. Also: ID tokens are not access tokens, and the binding is an audited admin action.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { makeTestCa, issueServerCert } from '../helpers/pki.js';
import { principalsMain } from '../../src/cli/keys.js';

interface Idp {
  issuer: string;
  server: Server;
  token(sub: string, o?: { typ?: string }): Promise<string>;
}

async function startIdp(ca: Awaited<ReturnType<typeof makeTestCa>>): Promise<Idp> {
  const tls = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    server,
    token: (sub, o = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ aud: 'warden', amr: ['pwd', 'mfa'], auth_time: now, groups: ['admins'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: o.typ ?? 'at+jwt' })
        .setIssuer(issuer).setSubject(sub).setIssuedAt(now).setExpirationTime(now + 300).sign(privateKey);
    },
  };
}

let t: TestWarden;
let corp: Idp;
let open: Idp;
let daveKey: string;

before(async () => {
  const ca = await makeTestCa();
  corp = await startIdp(ca);
  open = await startIdp(ca);
  const issuer = (i: Idp) => ({ issuer: i.issuer, audience: 'warden', jwksUri: `${i.issuer}/jwks`, caPem: ca.certPem, claims: { tenant: { fixed: 'default' } }, scope: { models: [], actions: [] } });
  t = await startTestWarden((c) => {
    c.oidc.issuers = [issuer(corp), issuer(open)] as never;
  });
  await t.admin('POST', '/admin/v1/principals', { id: 'dave', kind: 'user', tenant: 'default', groups: ['admins'], admin: true });
  daveKey = (await t.admin('POST', '/admin/v1/keys', { principal: 'dave', models: ['*'], actions: ['*'] })).key as string;
});

after(async () => {
  await t.stop();
  corp.server.close();
  open.server.close();
});

const createKey = (mfa: string) =>
  t.call('admin', 'POST', '/admin/v1/keys', { key: daveKey, headers: { 'warden-mfa-token': mfa }, body: { principal: 'dave', models: ['m'], actions: ['chat'] } });

test('with two issuers, an unbound person cannot step up at all', async () => {
  const r = await createKey(await open.token('dave'));
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'step_up_issuer_unbound');
  const corpToo = await createKey(await corp.token('dave'));
  assert.equal(corpToo.json.error.code, 'step_up_issuer_unbound');
  const refused = t.audits().filter((a) => a.errorCode === 'step_up_issuer_unbound');
  assert.equal(refused.length, 2, 'each refusal is in the ledger');
});

test('bound to the company issuer: the other issuer\'s "dave" is refused, the company\'s passes', async () => {
  const bad = await t.call('admin', 'POST', '/admin/v1/principals/dave/issuer', { key: t.adminKey, body: { oidc_issuer: 'https://idp.invalid' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_field');
  const bound = await t.call('admin', 'POST', '/admin/v1/principals/dave/issuer', { key: t.adminKey, body: { oidc_issuer: corp.issuer } });
  assert.equal(bound.status, 200, bound.text);
  assert.equal(bound.json.oidc_issuer, corp.issuer);
  assert.ok(t.audits().some((a) => a.action === 'principal.bindIssuer' && (a.details as Record<string, unknown>)?.oidcIssuer === corp.issuer));

  const stolen = await createKey(await open.token('dave'));
  assert.equal(stolen.status, 403, stolen.text);
  assert.equal(stolen.json.error.code, 'step_up_wrong_issuer');
  const real = await createKey(await corp.token('dave'));
  assert.equal(real.status, 201, real.text);
});

test('an ID token of the right issuer is not a step-up token', async () => {
  const r = await createKey(await corp.token('dave', { typ: 'JWT' }));
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json.error.code, 'invalid_token');
});

test('the CLI binds and unbinds', async () => {
  process.env.WARDEN_ADMIN_URL = t.w.adminUrl;
  process.env.WARDEN_CA = t.w.caPemPath;
  process.env.WARDEN_ADMIN_KEY = t.adminKey;
  try {
    assert.equal(await principalsMain(['bind-issuer', 'dave', '--none', '--json']), 0);
    assert.equal((await t.admin('GET', '/admin/v1/principals/dave')).oidc_issuer, null);
    assert.equal((await createKey(await corp.token('dave'))).json.error.code, 'step_up_issuer_unbound');
    assert.equal(await principalsMain(['bind-issuer', 'dave', '--oidc-issuer', corp.issuer, '--json']), 0);
    assert.equal((await t.admin('GET', '/admin/v1/principals/dave')).oidc_issuer, corp.issuer);
    await assert.rejects(principalsMain(['bind-issuer', 'dave']), /usage: warden principals bind-issuer/, 'one of --oidc-issuer and --none is required');
  } finally {
    delete process.env.WARDEN_ADMIN_KEY;
  }
});
