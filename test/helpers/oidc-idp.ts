// A TEST identity provider (labelled as such): a small but real OIDC issuer built with jose for the console's
// sign-in tests. Real TLS under a test CA, discovery, JWKS, an authorization endpoint and a token endpoint that
// checks client_id, redirect_uri, single use of the code and the PKCE S256 verifier (RFC 7636 §4.6).
// It has no password page: /authorize signs in whoever the test names in `signInAs` (amr pwd+mfa, auth_time now).
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { WardenConfig } from '../../src/config/config.js';
import { issueServerCert, makeTestCa } from './pki.js';

export interface TestOidcIdp {
  issuer: string;
  caPem: string;
  clientId: string;
  oidcIssuer: WardenConfig['oidc']['issuers'][number];
  /** Who the next /authorize signs in (null: the IdP answers error=access_denied); `mfa: false`: a password-only sign-in. */
  signInAs: { sub: string; groups: string[]; mfa?: boolean } | null;
  /** What the token endpoint saw: for asserting PKCE was used. */
  tokenRequests: { codeVerifier: string | null; ok: boolean; error?: string }[];
  authorizeRequests: URLSearchParams[];
  close(): void;
}

export async function startTestOidcIdp(now: () => number = Date.now): Promise<TestOidcIdp> {
  const ca = await makeTestCa();
  const tls = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'console-k1', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { clientId: string; redirectUri: string; challenge: string; sub: string; groups: string[]; mfa: boolean }>();
  const clientId = 'warden-console';
  let issuer = '';
  const idp: TestOidcIdp = { issuer: '', caPem: ca.certPem, clientId, oidcIssuer: null as never, signInAs: null, tokenRequests: [], authorizeRequests: [], close: () => server.close() };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'] });
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      idp.authorizeRequests.push(q);
      const back = new URL(q.get('redirect_uri') ?? '');
      back.searchParams.set('state', q.get('state') ?? '');
      if (q.get('client_id') !== clientId || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !idp.signInAs) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = randomBytes(16).toString('base64url');
        codes.set(code, { clientId, redirectUri: q.get('redirect_uri')!, challenge: q.get('code_challenge')!, sub: idp.signInAs.sub, groups: idp.signInAs.groups, mfa: idp.signInAs.mfa !== false });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        void (async () => {
          const f = new URLSearchParams(raw);
          const verifier = f.get('code_verifier');
          const c = codes.get(f.get('code') ?? '');
          codes.delete(f.get('code') ?? '');
          const fail = (error: string) => (idp.tokenRequests.push({ codeVerifier: verifier, ok: false, error }), json(res, 400, { error }));
          if (!c || f.get('grant_type') !== 'authorization_code' || f.get('client_id') !== c.clientId || f.get('redirect_uri') !== c.redirectUri) return fail('invalid_grant');
          if (!verifier || createHash('sha256').update(verifier).digest('base64url') !== c.challenge) return fail('invalid_grant');
          const t = Math.floor(now() / 1000);
          const at = await new SignJWT({ aud: 'warden', amr: c.mfa ? ['pwd', 'mfa'] : ['pwd'], auth_time: t, groups: c.groups })
            .setProtectedHeader({ alg: 'ES256', kid: 'console-k1', typ: 'at+jwt' })
            .setIssuer(issuer).setSubject(c.sub).setIssuedAt(t).setExpirationTime(t + 600).setJti(randomBytes(8).toString('hex'))
            .sign(privateKey);
          idp.tokenRequests.push({ codeVerifier: verifier, ok: true });
          json(res, 200, { access_token: at, token_type: 'Bearer', expires_in: 600 });
        })();
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp.issuer = issuer;
  idp.oidcIssuer = { issuer, audience: 'warden', jwksUri: `${issuer}/jwks`, caPem: ca.certPem, claims: { tenant: { fixed: 'acme' } } } as never;
  return idp;
}
