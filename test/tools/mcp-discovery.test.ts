// MCP authorization discovery, driven by the official SDK's own helpers against a real Warden and a FAKE of an
// external identity provider (labelled below): the 401 from /mcp points at RFC 9728 metadata, that names the
// configured OIDC issuer first and Warden's token service last, each document names its own resource (§3.3),
// the SDK finds the issuer's metadata, logs in with authorization code + PKCE and calls /mcp with the token;
// Warden's own RFC 8414 document announces token exchange only, and its token endpoint answers.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, discoverOAuthProtectedResourceMetadata, discoverOAuthServerInfo, extractWWWAuthenticateParams, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { makeTestCa, issueServerCert } from '../helpers/pki.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const AUDIENCE = 'warden-mcp';
const CLIENT_ID = 'mcp-test-client';
const REDIRECT = 'http://127.0.0.1:1/callback';

/**
 * FAKE external identity provider (not Warden code): OIDC discovery, JWKS, an authorization endpoint that logs
 * "alice" in at once, and a token endpoint that checks the PKCE verifier (S256) and records the RFC 8707
 * resource it was asked for. The issuer has a path, as Keycloak realms do.
 */
interface FakeIdp {
  issuer: string;
  caPem: string;
  server: Server;
  resources: string[];
  discoveryPaths: string[];
}

async function startFakeIdp(): Promise<FakeIdp> {
  const ca = await makeTestCa();
  const cert = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const idp: FakeIdp = { issuer: '', caPem: ca.certPem, server: null as never, resources: [], discoveryPaths: [] };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  idp.server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url!, idp.issuer);
      const realm = new URL(idp.issuer).pathname;
      if (url.pathname.includes('.well-known')) idp.discoveryPaths.push(url.pathname);
      if (url.pathname === `${realm}/.well-known/openid-configuration`) {
        return json(res, 200, {
          issuer: idp.issuer,
          authorization_endpoint: `${idp.issuer}/authorize`,
          token_endpoint: `${idp.issuer}/token`,
          jwks_uri: `${idp.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['authorization_code'],
          token_endpoint_auth_methods_supported: ['none'],
        });
      }
      if (url.pathname === `${realm}/jwks`) return json(res, 200, { keys: [jwk] });
      if (url.pathname === `${realm}/authorize`) {
        const q = url.searchParams;
        if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || q.get('redirect_uri') !== REDIRECT) return json(res, 400, { error: 'invalid_request' });
        const code = randomBytes(16).toString('base64url');
        codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
        const back = new URL(REDIRECT);
        back.searchParams.set('code', code);
        if (q.get('state')) back.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (url.pathname === `${realm}/token` && req.method === 'POST') {
        const f = new URLSearchParams(body);
        const grant = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        const verifier = f.get('code_verifier') ?? '';
        if (f.get('grant_type') !== 'authorization_code' || !grant || grant.redirectUri !== f.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        idp.resources.push(f.get('resource') ?? '');
        void sign(privateKey, idp.issuer).then((accessToken) => json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300 }));
        return;
      }
      json(res, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => idp.server.listen(0, '127.0.0.1', () => r()));
  idp.issuer = `https://127.0.0.1:${(idp.server.address() as AddressInfo).port}/realms/acme`;
  return idp;
}

function sign(key: CryptoKey, issuer: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ groups: ['consumers'] }).setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'at+jwt' }).setIssuer(issuer).setSubject('alice').setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 300).sign(key);
}

/** An MCP client's OAuth state, in memory; the "browser" step is done by the test. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined = { client_id: CLIENT_ID };
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return { client_name: 'warden test MCP client', redirect_uris: [REDIRECT], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(i: OAuthClientInformationMixed) {
    this.info = i;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(t: OAuthTokens) {
    this.saved = t;
  }
  redirectToAuthorization(u: URL) {
    this.authorizationUrl = u;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

describe('MCP authorization discovery with a configured OIDC issuer', () => {
  let idp: FakeIdp;
  let t: TestWarden;
  let origin: string;
  let tls: Agent;
  let fetchFn: (url: string | URL, init?: RequestInit) => Promise<Response>;

  before(async () => {
    idp = await startFakeIdp();
    t = await startTestWarden((c) => {
      c.oidc.issuers = [{ issuer: idp.issuer, audience: AUDIENCE, discovery: true, caPem: idp.caPem, claims: { tenant: { fixed: 'acme' } }, scope: { models: [], actions: ['callTool'] } } as never];
    });
    origin = t.w.inferenceUrl;
    tls = new Agent({ connect: { ca: [t.ca, idp.caPem] } });
    fetchFn = (url, init) => undiciFetch(url, { ...(init as object), dispatcher: tls } as never) as unknown as Promise<Response>;
    await t.admin('POST', '/admin/v1/tools', {
      name: 'lookup',
      description: 'Look something up',
      risk: 'read',
      grantees: ['consumers'],
      input_schema: { type: 'object', properties: { q: { type: 'string' } } },
      backend: { type: 'http', url: 'https://127.0.0.1:9/lookup' },
      egress: ['https://127.0.0.1:9'],
    });
  });
  after(async () => {
    await tls.close();
    await t.stop();
    idp.server.close();
  });

  test('the 401 from /mcp leads the SDK to the issuer and its metadata (RFC 9728 then OIDC discovery)', async () => {
    const anon = await fetchFn(`${origin}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(anon.status, 401);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(anon);
    assert.equal(resourceMetadataUrl?.href, `${origin}/.well-known/oauth-protected-resource/mcp`);

    const prm = await discoverOAuthProtectedResourceMetadata(`${origin}/mcp`, { resourceMetadataUrl: resourceMetadataUrl! }, fetchFn);
    assert.equal(prm.resource, `${origin}/mcp`);
    assert.deepEqual(prm.authorization_servers, [idp.issuer, origin], 'the issuer users log in at first, Warden\'s token exchange last');

    const info = await discoverOAuthServerInfo(`${origin}/mcp`, { fetchFn });
    assert.equal(info.authorizationServerUrl, idp.issuer);
    assert.equal(info.resourceMetadata?.resource, `${origin}/mcp`);
    assert.equal(info.authorizationServerMetadata?.issuer, idp.issuer);
    assert.equal(info.authorizationServerMetadata?.authorization_endpoint, `${idp.issuer}/authorize`);
    assert.equal(info.authorizationServerMetadata?.token_endpoint, `${idp.issuer}/token`);
  });

  test('RFC 9728 §3.3: the document for a resource path names that resource, the bare one the origin', async () => {
    const bare = await discoverOAuthProtectedResourceMetadata(origin, undefined, fetchFn);
    assert.equal(bare.resource, origin);
    assert.deepEqual(bare.authorization_servers, [idp.issuer, origin]);
    const mcp = await discoverOAuthProtectedResourceMetadata(`${origin}/mcp`, undefined, fetchFn);
    assert.equal(mcp.resource, `${origin}/mcp`);
    const other = await t.call('inference', 'GET', '/.well-known/oauth-protected-resource/v1/chat');
    assert.equal(other.status, 404, 'no document for a resource Warden does not describe');
  });

  test('the SDK client logs in at the issuer (code + PKCE, resource indicator) and calls /mcp with that token', async () => {
    const provider = new MemoryProvider();
    const url = new URL(`${origin}/mcp`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: fetchFn as never });
    await assert.rejects(new Client({ name: 'sdk-auth', version: '1.0.0' }).connect(first), UnauthorizedError);
    const authorize = provider.authorizationUrl!;
    assert.equal(authorize.origin + authorize.pathname, `${idp.issuer}/authorize`);
    assert.equal(authorize.searchParams.get('resource'), `${origin}/mcp`);
    // The "browser": the fake IdP logs alice in and redirects back with a code.
    const back = await undiciFetch(authorize, { redirect: 'manual', dispatcher: tls });
    assert.equal(back.status, 302);
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
    await first.finishAuth(code);
    assert.deepEqual(idp.resources, [`${origin}/mcp`], 'the token was asked for this resource (RFC 8707)');
    assert.ok(provider.saved?.access_token);

    const client = new Client({ name: 'sdk-auth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: fetchFn as never }));
    try {
      const list = await client.listTools();
      assert.deepEqual(list.tools.map((x) => x.name), ['lookup']);
    } finally {
      await client.close();
    }
    const entry = t.audits().filter((a) => a.action === 'mcp:tools/list').at(-1) as { principal?: { id?: string; authn?: string } } | undefined;
    assert.deepEqual([entry?.principal?.id, entry?.principal?.authn], ['alice', 'oidc'], 'the listing ran as the user the issuer logged in');
  });

  test('Warden\'s own RFC 8414 document announces token exchange only, and its token endpoint answers', async () => {
    const r = await fetchFn(`${origin}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 200);
    const meta = (await r.json()) as Record<string, unknown>;
    assert.equal(meta.issuer, origin);
    assert.equal(meta.token_endpoint, `${origin}/v1/token`);
    assert.deepEqual(meta.grant_types_supported, ['urn:ietf:params:oauth:grant-type:token-exchange']);
    assert.deepEqual(meta.response_types_supported, []);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['none']);
    for (const absent of ['authorization_endpoint', 'registration_endpoint', 'code_challenge_methods_supported']) assert.equal(meta[absent], undefined, `${absent} is not offered`);
    assert.ok(Array.isArray(meta.dpop_signing_alg_values_supported));

    // What it announces works: an API key exchanged at the announced endpoint is a token /mcp accepts.
    const { key } = await t.keyFor('carol', ['*'], ['callTool'], { groups: ['consumers'] });
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: key, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'callTool' });
    const issued = await fetchFn(String(meta.token_endpoint), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    assert.equal(issued.status, 200, await issued.clone().text());
    const token = ((await issued.json()) as { access_token: string }).access_token;
    const client = new Client({ name: 'exchanged', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), { fetch: fetchFn as never, requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      assert.deepEqual((await client.listTools()).tools.map((x) => x.name), ['lookup']);
    } finally {
      await client.close();
    }
  });
});

describe('MCP authorization discovery without an OIDC issuer', () => {
  test('Warden\'s token service is the one authorization server named', async () => {
    const t = await startTestWarden();
    try {
      const origin = t.w.inferenceUrl;
      const fetchFn = (url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: t.agent } as never) as unknown as Promise<Response>;
      const prm = await discoverOAuthProtectedResourceMetadata(`${origin}/mcp`, undefined, fetchFn);
      assert.deepEqual(prm.authorization_servers, [origin]);
      assert.equal(prm.resource, `${origin}/mcp`);
      const as = await t.call('inference', 'GET', '/.well-known/oauth-authorization-server');
      assert.equal(as.json.issuer, origin);
    } finally {
      await t.stop();
    }
  });
});
