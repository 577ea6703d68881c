// Envoy ext_authz through a real Warden: a @grpc/grpc-js client speaking envoy.service.auth.v3.Authorization
// over mutual TLS (as Envoy does) and an HTTPS client playing Envoy's HTTP ext_authz variant. The decisions
// must match what the inference listener decides for the same credentials, and each check is in the ledger.
// Envoy itself is not installable here: the clients below send what Envoy sends (its proto definitions).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Agent, request } from 'undici';
import { createHash } from 'node:crypto';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { PROTO_DIR } from '../../src/gateway/ext-authz/grpc.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { makeTestCa, issueClientCert, type IssuedCert, type TestCa } from '../helpers/pki.js';

const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] };
const ENVOY_ID = 'spiffe://mesh.example/ns/istio-system/sa/ingress';

type Client = grpc.Client & { Check(req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void): void };

function authorizationClient(port: number, ca: string, cert: IssuedCert): Client {
  const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const creds = grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(cert.keyPem), Buffer.from(cert.certPem));
  return new pkg.envoy.service.auth.v3.Authorization(`127.0.0.1:${port}`, creds) as Client;
}

const check = (c: Client, req: unknown) =>
  new Promise<{ err: grpc.ServiceError | null; res: any }>((resolve) => c.Check(req, (err, res) => resolve({ err, res })));

/** A CheckRequest as Envoy builds it with with_request_body and include_peer_certificate. */
function checkRequest(o: { key?: string; body?: unknown; path?: string; source?: string; cert?: string; headers?: Record<string, string>; partial?: boolean; noBody?: boolean }) {
  const body = o.noBody ? undefined : JSON.stringify(o.body ?? CHAT);
  const headers: Record<string, string> = { ':method': 'POST', ':path': o.path ?? '/v1/chat/completions', 'content-type': 'application/json', ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body) + (o.partial ? 100 : 0)) } : {}), ...(o.key ? { authorization: `Bearer ${o.key}` } : {}), ...(o.headers ?? {}) };
  if (o.partial) headers['x-envoy-auth-partial-body'] = 'true';
  return {
    attributes: {
      source: { address: { socket_address: { address: o.source ?? '127.0.0.1', port_value: 50000 } }, ...(o.cert ? { certificate: encodeURIComponent(o.cert) } : {}) },
      destination: { address: { socket_address: { address: '10.0.0.2', port_value: 443 } } },
      request: { http: { id: 'envoy-1', method: 'POST', path: o.path ?? '/v1/chat/completions', host: 'ai.mesh.example', scheme: 'https', protocol: 'HTTP/2', headers, ...(body !== undefined ? { body } : {}) } },
    },
  };
}

const headerOf = (list: { header: { key: string; value: string } }[] | undefined, key: string) => list?.find((h) => h.header.key === key)?.header.value;

describe('Envoy ext_authz', () => {
  let t: TestWarden;
  let meshCa: TestCa;
  let spiffeCa: TestCa;
  let envoy: IssuedCert;
  let client: Client;
  let dir: string;

  before(async () => {
    meshCa = await makeTestCa({ name: 'mesh-ca' });
    spiffeCa = await makeTestCa({ name: 'workload-ca' });
    envoy = await issueClientCert(meshCa, { spiffeId: ENVOY_ID });
    dir = mkdtempSync(join(tmpdir(), 'warden-extauthz-'));
    writeFileSync(join(dir, 'mesh-ca.pem'), meshCa.certPem);
    writeFileSync(join(dir, 'workload-ca.pem'), spiffeCa.certPem);
    t = await startTestWarden((c) => {
      c.listeners.inference.mtls = 'optional';
      c.listeners.inference.clientCaFile = join(dir, 'workload-ca.pem');
      c.spiffe = { trustDomains: ['prod.acme'], tenant: 'acme', rules: [{ idPrefix: 'spiffe://prod.acme/ns/ml', groups: ['consumers'] }], scope: { models: ['demo-chat'], actions: ['chat'] } };
      c.extAuthz = { grpc: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0, pathPrefix: '/ext_authz', trustedProxies: [] }, clientCaFile: join(dir, 'mesh-ca.pem'), allowedClients: [ENVOY_ID] };
    });
    client = authorizationClient(t.w.extAuthzGrpcPort!, t.ca, envoy);
  });

  after(async () => {
    client?.close();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('gRPC Check: an allowed request is OK with the receipt for the client, credentials stripped, and one ledger entry; the listener agrees', async () => {
    const { key } = await t.keyFor('alice', ['demo-chat'], ['chat']);
    const { err, res } = await check(client, checkRequest({ key }));
    assert.equal(err, null);
    assert.equal(res.status.code, 0);
    assert.equal(res.http_response, 'ok_response');
    const ok = res.ok_response;
    assert.ok(ok.headers_to_remove.includes('authorization'));
    assert.equal(headerOf(ok.headers, 'warden-principal'), 'user:alice');
    const requestId = headerOf(ok.response_headers_to_add, 'warden-request-id')!;
    // The receipt verifies with the ledger's key and binds this decision and the body Envoy sent.
    const v = await verifyReceipt(headerOf(ok.response_headers_to_add, 'warden-receipt')!, t.w.ledgerVerifierKey);
    assert.equal(v.payload.decisionId, requestId);
    assert.equal(v.payload.requestDigest, 'sha256:' + createHash('sha256').update(JSON.stringify(CHAT)).digest('hex'));
    const entries = t.audits().filter((a) => a.requestId === requestId);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.decision, 'allow');
    assert.equal((entries[0]!.details as Record<string, unknown>).via, 'ext_authz_grpc');
    assert.equal((entries[0]!.principal as { id: string }).id, 'alice');
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: CHAT })).status, 200);
  });

  test('gRPC Check: a policy denial is PERMISSION_DENIED / 403 with warden-deny-reason, the listener\'s code, and an entry', async () => {
    const { key } = await t.keyFor('mallory', ['demo-chat'], ['chat'], { groups: ['outsiders'] });
    const listener = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: CHAT });
    assert.equal(listener.status, 403);
    const { err, res } = await check(client, checkRequest({ key }));
    assert.equal(err, null);
    assert.equal(res.status.code, grpc.status.PERMISSION_DENIED);
    assert.equal(res.http_response, 'denied_response');
    assert.equal(res.denied_response.status.code, 'Forbidden');
    assert.equal(headerOf(res.denied_response.headers, 'warden-deny-reason'), listener.json.error.code);
    assert.equal(JSON.parse(res.denied_response.body).error.code, listener.json.error.code);
    const id = headerOf(res.denied_response.headers, 'warden-request-id');
    const entry = t.audits().find((a) => a.requestId === id)!;
    assert.equal(entry.decision, 'deny');
    assert.equal(entry.stage, 'policy');
  });

  test('gRPC Check: a bad key is UNAUTHENTICATED / 401; a source outside the principal\'s CIDRs is refused at the network stage', async () => {
    const bad = await check(client, checkRequest({ key: 'wdn_not_a_real_key' }));
    assert.equal(bad.res.status.code, grpc.status.UNAUTHENTICATED);
    assert.equal(bad.res.denied_response.status.code, 'Unauthorized');
    assert.ok(headerOf(bad.res.denied_response.headers, 'www-authenticate'));
    const { key } = await t.keyFor('branch', ['demo-chat'], ['chat'], { source_cidrs: ['10.0.0.0/8'] });
    assert.equal((await check(client, checkRequest({ key, source: '10.1.2.3' }))).res.status.code, 0);
    const far = await check(client, checkRequest({ key, source: '192.0.2.7' }));
    assert.equal(far.res.status.code, grpc.status.PERMISSION_DENIED);
    const entry = t.audits().find((a) => a.requestId === headerOf(far.res.denied_response.headers, 'warden-request-id'))!;
    assert.equal(entry.stage, 'network');
  });

  test('gRPC Check: the listener\'s rate limits hold: RESOURCE_EXHAUSTED / 429 with retry-after', async () => {
    const { key } = await t.keyFor('ratey', ['demo-chat'], ['chat'], { limits: { requestsPerSecond: 1, burst: 2 } });
    const codes: number[] = [];
    let limited: any;
    for (let i = 0; i < 4; i++) {
      const { res } = await check(client, checkRequest({ key }));
      codes.push(res.status.code);
      if (res.status.code !== 0) limited = res;
    }
    assert.deepEqual(codes.slice(0, 2), [0, 0]);
    assert.ok(codes.slice(2).includes(grpc.status.RESOURCE_EXHAUSTED), JSON.stringify(codes));
    assert.equal(limited.denied_response.status.code, 'TooManyRequests');
    assert.ok(headerOf(limited.denied_response.headers, 'retry-after'));
  });

  test('gRPC Check: the client certificate Envoy forwards is a workload identity only if Warden\'s own CA issued it', async () => {
    const svid = await issueClientCert(spiffeCa, { spiffeId: 'spiffe://prod.acme/ns/ml/sa/batch' });
    const ok = await check(client, checkRequest({ cert: svid.certPem }));
    assert.equal(ok.res.status.code, 0, JSON.stringify(ok.res));
    assert.equal(headerOf(ok.res.ok_response.headers, 'warden-principal'), 'service:spiffe://prod.acme/ns/ml/sa/batch');
    const rogue = await issueClientCert(await makeTestCa({ name: 'rogue' }), { spiffeId: 'spiffe://prod.acme/ns/ml/sa/batch' });
    const refused = await check(client, checkRequest({ cert: rogue.certPem }));
    assert.equal(refused.res.status.code, grpc.status.UNAUTHENTICATED);
    assert.equal(headerOf(refused.res.denied_response.headers, 'warden-deny-reason'), 'client_certificate_invalid');
    const garbage = await check(client, checkRequest({ cert: 'not a certificate' }));
    assert.equal(garbage.res.status.code, grpc.status.UNAUTHENTICATED);
  });

  test('gRPC Check: malformed, bodiless, truncated and unsupported checks get clear refusals', async () => {
    const { key } = await t.keyFor('carol', ['demo-chat'], ['chat']);
    const malformed = await check(client, {});
    assert.equal(malformed.err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(malformed.err!.details, /attributes\.request\.http/);
    const noSource = checkRequest({ key });
    delete (noSource.attributes as Record<string, unknown>).source;
    assert.equal((await check(client, noSource)).err?.code, grpc.status.INVALID_ARGUMENT);
    const noBody = await check(client, checkRequest({ key, noBody: true }));
    assert.equal(noBody.res.status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(headerOf(noBody.res.denied_response.headers, 'warden-deny-reason'), 'body_required');
    const partial = await check(client, checkRequest({ key, partial: true }));
    assert.equal(headerOf(partial.res.denied_response.headers, 'warden-deny-reason'), 'body_truncated');
    assert.equal(partial.res.denied_response.status.code, 'PayloadTooLarge');
    const notJson = await check(client, checkRequest({ key, body: 'not json' }));
    assert.equal(notJson.res.denied_response.status.code, 'BadRequest');
    const tools = await check(client, checkRequest({ key, path: '/v1/tools' }));
    assert.equal(tools.res.status.code, grpc.status.NOT_FOUND);
  });

  test('only the mesh\'s proxies may ask: another name from the mesh CA is refused, a certificate from another CA fails the handshake', async () => {
    const other = authorizationClient(t.w.extAuthzGrpcPort!, t.ca, await issueClientCert(meshCa, { spiffeId: 'spiffe://mesh.example/ns/apps/sa/random' }));
    try {
      const r = await check(other, checkRequest({}));
      assert.equal(r.err?.code, grpc.status.PERMISSION_DENIED);
    } finally {
      other.close();
    }
    const stranger = authorizationClient(t.w.extAuthzGrpcPort!, t.ca, await issueClientCert(await makeTestCa({ name: 'elsewhere' }), { spiffeId: ENVOY_ID }));
    try {
      const r = await check(stranger, checkRequest({}));
      assert.equal(r.err?.code, grpc.status.UNAVAILABLE);
    } finally {
      stranger.close();
    }
  });

  test('HTTP variant: 200 with the headers Envoy copies on allow, 403 with warden-deny-reason on deny, XFCC certificates checked', async () => {
    const agent = new Agent({ connect: { ca: t.ca, cert: envoy.certPem, key: envoy.keyPem } });
    const base = `https://127.0.0.1:${t.w.extAuthzHttpPort}/ext_authz`;
    const post = (headers: Record<string, string>, body = JSON.stringify(CHAT), path = '/v1/chat/completions') => request(base + path, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', ...headers }, body });
    try {
      const { key } = await t.keyFor('dave', ['demo-chat'], ['chat']);
      const ok = await post({ authorization: `Bearer ${key}` });
      await ok.body.text();
      assert.equal(ok.statusCode, 200);
      assert.ok(ok.headers['warden-receipt']);
      assert.equal(ok.headers['warden-principal'], 'user:dave');
      assert.match(String(ok.headers['x-envoy-auth-headers-to-remove']), /authorization/);
      const entry = t.audits().find((a) => a.requestId === ok.headers['warden-request-id'])!;
      assert.equal((entry.details as Record<string, unknown>).via, 'ext_authz_http');
      const { key: outsider } = await t.keyFor('eve', ['demo-chat'], ['chat'], { groups: ['outsiders'] });
      const denied = await post({ authorization: `Bearer ${outsider}` });
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.headers['warden-deny-reason'], ((await denied.body.json()) as any).error.code);
      const svid = await issueClientCert(spiffeCa, { spiffeId: 'spiffe://prod.acme/ns/ml/sa/web' });
      const xfcc = await post({ 'x-forwarded-client-cert': `By=spiffe://mesh.example/ns/istio-system/sa/ingress;Hash=00;Cert="${encodeURIComponent(svid.certPem)}";URI=spiffe://prod.acme/ns/ml/sa/web` });
      await xfcc.body.text();
      assert.equal(xfcc.statusCode, 200);
      const rogue = await issueClientCert(await makeTestCa({ name: 'rogue2' }), { spiffeId: 'spiffe://prod.acme/ns/ml/sa/web' });
      const forged = await post({ 'x-forwarded-client-cert': `Cert="${encodeURIComponent(rogue.certPem)}"` });
      await forged.body.text();
      assert.equal(forged.statusCode, 401);
      const outside = await request(`https://127.0.0.1:${t.w.extAuthzHttpPort}/v1/chat/completions`, { method: 'POST', dispatcher: agent, body: '{}' });
      await outside.body.text();
      assert.equal(outside.statusCode, 404);
    } finally {
      await agent.close();
    }
    // Without a mesh client certificate the TLS handshake is refused.
    const anonymous = new Agent({ connect: { ca: t.ca } });
    try {
      await assert.rejects(request(base + '/v1/chat/completions', { method: 'POST', dispatcher: anonymous, body: '{}' }).then((r) => r.body.text()));
    } finally {
      await anonymous.close();
    }
  });

  // Last: it replaces the policy set the tests above rely on.
  test('an obligation only the listener can keep is refused (obligation_needs_proxy); one the request already meets is not', async () => {
    const { key } = await t.keyFor('frank', ['demo-chat'], ['chat']);
    await t.admin('POST', '/admin/v1/policies', {
      text: '@id("admins-administer")\npermit (principal in Group::"admins", action in [Action::"manageKeys", Action::"managePolicies", Action::"readAudit"], resource);\n' +
        '@id("cap-tokens")\n@obligation("max_tokens:5")\npermit (principal in Group::"consumers", action == Action::"chat", resource == Model::"demo-chat");',
    });
    const over = await check(client, checkRequest({ key, body: { ...CHAT, max_tokens: 500 } }));
    assert.equal(over.res.status.code, grpc.status.PERMISSION_DENIED);
    assert.equal(headerOf(over.res.denied_response.headers, 'warden-deny-reason'), 'obligation_needs_proxy');
    // The listener keeps it by capping the request.
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { ...CHAT, max_tokens: 500 } })).status, 200);
    const within = await check(client, checkRequest({ key, body: { ...CHAT, max_tokens: 3 } }));
    assert.equal(within.res.status.code, 0, JSON.stringify(within.res));
  });
});

test('extAuthz config: a client CA is required, one of grpc/http must be given, unknown keys are errors', async () => {
  const { parseConfig } = await import('../../src/config/config.js');
  assert.throws(() => parseConfig('extAuthz:\n  grpc: { port: 9001 }\n', '/tmp/w.yaml'), /clientCaFile/);
  assert.throws(() => parseConfig('extAuthz:\n  clientCaFile: ca.pem\n', '/tmp/w.yaml'), /give grpc, http or both/);
  assert.throws(() => parseConfig('extAuthz:\n  clientCaFile: ca.pem\n  grpc: { port: 9001, failOpen: true }\n', '/tmp/w.yaml'), /failOpen/);
  const c = parseConfig('extAuthz:\n  clientCaFile: ca.pem\n  http: { port: 9002 }\n', '/tmp/w.yaml');
  assert.deepEqual(c.extAuthz, { http: { host: '127.0.0.1', port: 9002, pathPrefix: '/ext_authz', trustedProxies: [] }, clientCaFile: '/tmp/ca.pem', allowedClients: [] });
});
