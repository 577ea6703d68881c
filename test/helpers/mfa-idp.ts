// The approvers' identity provider for tests (OIDC, for the MFA step-up only): a real TLS JWKS endpoint
// under a test CA, and ES256 access tokens with amr ["pwd","mfa"] and auth_time.
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { WardenConfig } from '../../src/config/config.js';
import { makeTestCa, issueServerCert } from './pki.js';

export interface MfaIdp {
  issuer: string;
  /** The entry for `config.oidc.issuers` (tenant fixed to `acme`). */
  oidcIssuer: WardenConfig['oidc']['issuers'][number];
  /** An MFA token of `sub`; `groups` overrides the groups claim (bob: operators, others: none). */
  mfaToken(sub: string, nowSec: number, authTimeSec?: number, groups?: string[]): Promise<string>;
  close(): void;
}

export async function startMfaIdp(): Promise<MfaIdp> {
  const ca = await makeTestCa();
  const tlsCert = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const idp: Server = createHttpsServer({ cert: tlsCert.certPem, key: tlsCert.keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  const issuer = `https://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  return {
    issuer,
    oidcIssuer: { issuer, audience: 'warden', jwksUri: `${issuer}/jwks`, caPem: ca.certPem, claims: { tenant: { fixed: 'acme' } }, scope: { models: [], actions: [] } } as never,
    mfaToken: (sub, now, authTimeSec, groups) =>
      new SignJWT({ aud: 'warden', amr: ['pwd', 'mfa'], auth_time: authTimeSec ?? now, groups: groups ?? (sub === 'bob' ? ['operators'] : []) })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey),
    close: () => void idp.close(),
  };
}
