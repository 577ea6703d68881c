// Every authentication method through the real gateway (TLS listeners, child-free): success and failure.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { signRequest } from '../../src/identity/index.js';
import { startTestWarden } from '../helpers/warden.js';
import { makeTestCa, issueClientCert, issueServerCert } from '../helpers/pki.js';

const CHAT = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] });

describe('OIDC bearer tokens through the gateway', () => {
  test('a token from the configured issuer works; wrong audience, expiry and alg none do not', async () => {
    const ca = await makeTestCa();
    const tlsCert = await issueServerCert(ca, ['127.0.0.1']);
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const idp = createServer({ cert: tlsCert.certPem, key: tlsCert.keyPem }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    const issuer = `https://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const caFile = join(mkdtempSync(join(tmpdir(), 'warden-idp-ca-')), 'idp-ca.pem');
    writeFileSync(caFile, ca.certPem);
    const t = await startTestWarden((c) => {
      c.oidc.issuers = [
        { issuer, audience: 'warden', jwksUri: `${issuer}/jwks`, caFile: caFile, claims: { tenant: { fixed: 'acme' } }, scope: { models: ['demo-chat'], actions: ['chat'] } },
      ];
    });
    try {
      const mint = (claims: Record<string, unknown>, exp = '5m') =>
        new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer(issuer).setSubject('oidc-user').setIssuedAt().setExpirationTime(exp).sign(privateKey);
      const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint({ aud: 'warden', groups: ['consumers'] }), body: CHAT });
      assert.equal(ok.status, 200, ok.text);
      const a = t.audits().find((x) => x.requestId === ok.headers['x-request-id'])!;
      assert.deepEqual(a.principal, { id: 'oidc-user', kind: 'user', tenant: 'acme', authn: 'oidc' });
      const wrongAud = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint({ aud: 'someone-else' }), body: CHAT });
      assert.equal(wrongAud.status, 401);
      assert.match(String(wrongAud.headers['www-authenticate']), /invalid_token/);
      const expired = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint({ aud: 'warden', groups: ['consumers'] }, '-1m'), body: CHAT });
      assert.equal(expired.status, 401);
      const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url') + '.' + Buffer.from(JSON.stringify({ iss: issuer, aud: 'warden', sub: 'x', exp: 4e9 })).toString('base64url') + '.';
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: none, body: CHAT })).status, 401);
      const scope = await t.call('inference', 'POST', '/v1/embeddings', { key: await mint({ aud: 'warden', groups: ['consumers'] }), body: { model: 'demo-embed', input: 'x' } });
      assert.equal(scope.status, 403);
      // A principal Warden holds a record for is refused once disabled, even with a valid IdP token.
      await t.admin('POST', '/admin/v1/principals', { id: 'oidc-user', tenant: 'acme', groups: ['consumers'] });
      await t.call('admin', 'POST', '/admin/v1/principals/oidc-user/disable', { key: t.adminKey });
      const disabled = await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint({ aud: 'warden', groups: ['consumers'] }), body: CHAT });
      assert.equal(disabled.status, 401);
      assert.doesNotMatch(disabled.text, /principal_disabled/);
      await t.call('admin', 'POST', '/admin/v1/principals/oidc-user/enable', { key: t.adminKey });
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: await mint({ aud: 'warden', groups: ['consumers'] }), body: CHAT })).status, 200);
    } finally {
      await t.stop();
      idp.close();
    }
  });
});

describe('mTLS with SPIFFE IDs on the inference listener', () => {
  test('a valid SVID is a workload principal; no certificate, another CA or another trust domain are refused', async () => {
    const ca = await makeTestCa({ name: 'spiffe-ca' });
    const other = await makeTestCa({ name: 'rogue-ca' });
    const dir = mkdtempSync(join(tmpdir(), 'warden-mtls-'));
    writeFileSync(join(dir, 'client-ca.pem'), ca.certPem);
    const t = await startTestWarden((c) => {
      c.listeners.inference.mtls = 'optional';
      c.listeners.inference.clientCaFile = join(dir, 'client-ca.pem');
      c.spiffe = { trustDomains: ['prod.acme'], tenant: 'acme', rules: [{ idPrefix: 'spiffe://prod.acme/ns/ml', groups: ['consumers'] }], scope: { models: ['demo-chat'], actions: ['chat'] } };
    });
    const post = async (cert?: { certPem: string; keyPem: string }) => {
      const agent = new Agent({ connect: { ca: t.ca, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
      try {
        const r = await request(t.w.inferenceUrl + '/v1/chat/completions', { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: CHAT });
        return { status: r.statusCode, body: await r.body.text(), id: String(r.headers['x-request-id']) };
      } finally {
        await agent.close();
      }
    };
    try {
      const good = await post(await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme/ns/ml/sa/batch' }));
      assert.equal(good.status, 200, good.body);
      const a = t.audits().find((x) => x.requestId === good.id)!;
      assert.equal((a.principal as { authn: string }).authn, 'mtls');
      assert.equal((a.principal as { id: string }).id, 'spiffe://prod.acme/ns/ml/sa/batch');
      assert.equal((await post()).status, 401);
      assert.equal((await post(await issueClientCert(other, { spiffeId: 'spiffe://prod.acme/ns/ml/sa/batch' }))).status, 401);
      assert.equal((await post(await issueClientCert(ca, { spiffeId: 'spiffe://evil.example/x' }))).status, 401);
      assert.equal((await post(await issueClientCert(ca, { cn: 'no-uri-san' }))).status, 401);
      // A workload Warden holds a record for is refused once disabled, even with a valid SVID; enabled, it is back.
      const svid = await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme/ns/ml/sa/batch' });
      const id = encodeURIComponent('spiffe://prod.acme/ns/ml/sa/batch');
      await t.admin('POST', '/admin/v1/principals', { id: 'spiffe://prod.acme/ns/ml/sa/batch', kind: 'service', tenant: 'acme', groups: ['consumers'] });
      assert.equal((await post(svid)).status, 200, 'a record alone changes nothing');
      await t.admin('POST', `/admin/v1/principals/${id}/disable`);
      const refused = await post(svid);
      assert.equal(refused.status, 401);
      assert.doesNotMatch(refused.body, /principal_disabled/, 'the reason is for the operator, not the client');
      await t.w.flushRefusals(); // refusals without a principal are tallied per source window (docs/ledger.md)
      assert.ok(
        t.audits().some((a) => a.action === 'refused.unauthenticated' && /principal_disabled/.test(String((a.details as Record<string, unknown>).reasons))),
        'the ledger entry says why',
      );
      await t.admin('POST', `/admin/v1/principals/${id}/enable`);
      assert.equal((await post(svid)).status, 200);
    } finally {
      await t.stop();
    }
  });
});

describe('RFC 9421 signed requests', () => {
  test('a signed request works; a replayed nonce, a changed body and a stale signature are refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'warden-sig-'));
    writeFileSync(join(dir, 'client.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    const clock = new FixedClock(Date.now());
    // The principal must exist before the config that names it is loaded: create it on a first start.
    const first = await startTestWarden(() => {}, { dataDir: join(dir, 'data') });
    await first.admin('POST', '/admin/v1/principals', { id: 'signer', kind: 'service', tenant: 'acme', groups: ['consumers'] });
    const adminKey = first.adminKey;
    await first.stop();
    const t = await startTestWarden(
      (c) => {
        c.httpSignatures.clients = [{ keyId: 'batch-1', publicKeyFile: join(dir, 'client.pub.pem'), principal: 'signer', alg: 'ed25519', scope: { models: ['demo-chat'], actions: ['chat'] } }];
      },
      { dataDir: join(dir, 'data'), clock },
    );
    const url = t.w.inferenceUrl + '/v1/chat/completions';
    const send = async (body: string, signed: Record<string, string>) => {
      const r = await request(url, { method: 'POST', dispatcher: t.agent, headers: { 'content-type': 'application/json', ...signed }, body });
      return { status: r.statusCode, text: await r.body.text() };
    };
    const sign = (body: string, created = Math.floor(clock.now() / 1000)) =>
      signRequest({ method: 'POST', targetUri: url, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) }, { keyId: 'batch-1', privateKey, alg: 'ed25519', created }) as unknown as Record<string, string>;
    try {
      const s = sign(CHAT);
      const ok = await send(CHAT, s);
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await send(CHAT, s)).status, 401, 'replayed nonce');
      const changed = CHAT.replace('hi', 'ho');
      assert.equal((await send(changed, sign(CHAT))).status, 401, 'body changed after signing');
      assert.equal((await send(CHAT, sign(CHAT, Math.floor(clock.now() / 1000) - 3600))).status, 401, 'stale created');
      // Disabling the principal stops its signed requests without a restart.
      const dis = await t.call('admin', 'POST', '/admin/v1/principals/signer/disable', { key: adminKey });
      assert.equal(dis.status, 200, dis.text);
      assert.equal((await send(CHAT, sign(CHAT))).status, 401, 'principal disabled');
      await t.w.flushRefusals();
      assert.ok(t.audits().some((a) => a.action === 'refused.unauthenticated' && /principal_disabled/.test(String((a.details as Record<string, unknown>).reasons))));
    } finally {
      await t.stop();
    }
  });
});

describe('RFC 8693 token exchange at /v1/token', () => {
  const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
  const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const JWT = 'urn:ietf:params:oauth:token-type:jwt';

  test('an API key is traded for a narrowed short-lived token; delegation carries act; expiry and over-asking fail', async () => {
    const clock = new FixedClock(Date.now());
    const t = await startTestWarden(() => {}, { clock });
    try {
      const user = await t.keyFor('uma', ['demo-chat', 'demo-embed'], ['chat', 'embed']);
      const agent = await t.keyFor('agent-7', ['*'], ['*']);
      const ex = async (o: Record<string, string>) =>
        t.call('inference', 'POST', '/v1/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: TE, subject_token_type: JWT, ...o }) });
      const r = await ex({ subject_token: user.key, scope: 'chat model:demo-chat' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.token_type, 'Bearer');
      assert.equal(r.json.expires_in, 300);
      assert.equal(r.headers['cache-control'], 'no-store');
      const jit = r.json.access_token as string;
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: jit, body: CHAT })).status, 200);
      assert.equal((await t.call('inference', 'POST', '/v1/embeddings', { key: jit, body: { model: 'demo-embed', input: 'x' } })).status, 403);

      const over = await ex({ subject_token: user.key, scope: 'chat model:gpt-secret' });
      assert.equal(over.status, 400);
      assert.equal(over.json.error, 'invalid_scope');
      const bad = await ex({ subject_token: 'wdn_' + 'B'.repeat(43) });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, 'invalid_request');
      const notForm = await t.call('inference', 'POST', '/v1/token', { body: { grant_type: TE } });
      assert.equal(notForm.status, 400);

      const d = await ex({ subject_token: jit, actor_token: agent.key, actor_token_type: JWT, scope: 'chat model:demo-chat' });
      assert.equal(d.status, 200, d.text);
      const payload = JSON.parse(Buffer.from(String(d.json.access_token).split('.')[1]!, 'base64url').toString());
      assert.equal(payload.sub, 'uma');
      assert.equal(payload.act.sub, 'agent-7');
      const used = await t.call('inference', 'POST', '/v1/chat/completions', { key: d.json.access_token, body: CHAT });
      assert.equal(used.status, 200);
      const entry = t.audits().find((x) => x.requestId === used.headers['x-request-id'])!;
      assert.deepEqual((entry.principal as { actor: string[] }).actor, ['agent-7']);

      // Revocation before expiry: the token and the delegated one exchanged from it stop at once.
      const rv = await t.call('admin', 'POST', '/admin/v1/tokens/revoke', { key: t.adminKey, body: { token: jit } });
      assert.equal(rv.status, 200, rv.text);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: jit, body: CHAT })).status, 401, 'revoked JIT token');
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: d.json.access_token, body: CHAT })).status, 401, 'token exchanged from a revoked one');
      assert.ok(t.audits().some((a) => a.action === 'token.revoke'));
      assert.equal((await t.call('admin', 'POST', '/admin/v1/tokens/revoke', { key: t.adminKey, body: {} })).status, 400);
      const fresh = await ex({ subject_token: user.key, scope: 'chat model:demo-chat' });
      clock.advance(400_000); // past the 300 s lifetime and the 30 s clock-skew allowance
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: fresh.json.access_token, body: CHAT })).status, 401, 'expired JIT token');
    } finally {
      await t.stop();
    }
  });
});
