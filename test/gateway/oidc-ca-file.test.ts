// A private IdP's CA given as a file (oidc.issuers[].caFile): trusted for that issuer's discovery and JWKS
// fetches only. Real TLS 1.3 IdP, real config file, real gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { parseConfig } from '../../src/config/config.js';
import { StartupRefused } from '../../src/core/errors.js';
import { startTestWarden } from '../helpers/warden.js';
import { makeTestCa, issueServerCert } from '../helpers/pki.js';

const CHAT = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] });

let dir: string;
let idp: Server;
let issuer: string;
let signingKey: CryptoKey;
let caPem: string;
const served: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-idp-'));
  const ca = await makeTestCa({ name: 'private-idp-ca' });
  caPem = ca.certPem;
  const tlsCert = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  idp = createServer({ cert: tlsCert.certPem, key: tlsCert.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    served.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/realms/ai/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    if (req.url === '/realms/ai/jwks') return res.end(JSON.stringify({ keys: [jwk] }));
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  issuer = `https://127.0.0.1:${(idp.address() as AddressInfo).port}/realms/ai`;
  // One file holding two certificates (another CA first): a bundle is accepted, each certificate trusted.
  const other = await makeTestCa({ name: 'unrelated-ca' });
  writeFileSync(join(dir, 'idp-ca.pem'), other.certPem + caPem);
});

after(async () => {
  idp.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The oidc section as an operator writes it, through the real config loader (relative paths from the file's dir). */
function oidcFrom(extra: string): ReturnType<typeof parseConfig>['oidc'] {
  const yaml = `oidc:\n  issuers:\n    - issuer: ${issuer}\n      audience: warden\n      discovery: true\n      claims: { tenant: { fixed: acme } }\n      scope: { models: [demo-chat], actions: [chat] }\n${extra}`;
  return parseConfig(yaml, join(dir, 'warden.yaml')).oidc;
}

const mint = () => new SignJWT({ aud: 'warden', groups: ['consumers'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer(issuer).setSubject('idp-user').setIssuedAt().setExpirationTime('5m').sign(signingKey);

test('without caFile the private IdP is not trusted: 503, the cause goes to the log and the ledger, never to the client', async () => {
  const t = await startTestWarden((c) => (c.oidc = oidcFrom('')));
  try {
    const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint(), body: CHAT });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'jwks_unavailable');
    assert.doesNotMatch(r.text, /oidc_fetch_failed|certificate|discovery failed/i);
    const line = t.logs.find((l) => l.msg === 'request' && l.requestId === r.headers['x-request-id']);
    assert.ok(line, 'an access-log line for the request');
    assert.match(String(line.reason), /^oidc_fetch_failed: OIDC discovery failed for https:\/\/127\.0\.0\.1:\d+\/realms\/ai: .*certificate/);
    await t.w.flushRefusals();
    const entry = t.audits().filter((a) => a.action === 'refused.unauthenticated').at(-1);
    assert.ok(entry, 'a refused.unauthenticated ledger entry');
    assert.match(String((entry.details as Record<string, unknown>).reasons), /oidc_fetch_failed: OIDC discovery failed for .*certificate.*:1/);
  } finally {
    await t.stop();
  }
});

test('with caFile (a PEM bundle) discovery and JWKS are fetched over TLS 1.3 and the token is accepted', async () => {
  served.length = 0;
  const t = await startTestWarden((c) => (c.oidc = oidcFrom('      caFile: idp-ca.pem\n')));
  try {
    const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint(), body: CHAT });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(served, ['/realms/ai/.well-known/openid-configuration', '/realms/ai/jwks']);
    // The file is this issuer's trust only: the listeners and everything else keep their own trust.
    const other = await t.call('inference', 'GET', '/v1/models', { key: (await t.keyFor('alice', ['demo-chat'], ['chat'])).key });
    assert.equal(other.status, 200);
  } finally {
    await t.stop();
  }
});

test('a missing, unreadable or non-certificate caFile refuses the start as a config error naming the file', async () => {
  const cases: [string, string | null, RegExp][] = [
    ['absent.pem', null, /caFile .*absent\.pem: cannot read it \(ENOENT\)/],
    ['empty.pem', 'not a certificate\n', /caFile .*empty\.pem: holds no PEM certificate/],
    ['broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /caFile .*broken\.pem: certificate 1 does not parse/],
  ];
  for (const [name, content, message] of cases) {
    if (content !== null) writeFileSync(join(dir, name), content);
    await assert.rejects(
      startTestWarden((c) => (c.oidc = oidcFrom(`      caFile: ${name}\n`))),
      (e: unknown) => {
        assert.ok(e instanceof StartupRefused, String(e));
        assert.equal(e.kind, 'config');
        assert.match(e.message, message);
        assert.match(e.message, new RegExp(`oidc issuer "${issuer.replace(/[/.]/g, '\\$&')}"`));
        return true;
      },
    );
  }
});
