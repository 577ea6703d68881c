import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { makeTestCa, issueServerCert, type TestCa } from '../../helpers/pki.js';
import { OidcVerifier } from '../../../src/identity/oidc/verifier.js';
import type { OidcIssuerConfig } from '../../../src/identity/oidc/config.js';
import { InvalidBearerToken, IdentityConfigError } from '../../../src/identity/errors.js';
import { FailClosed } from '../../../src/core/errors.js';
import { FixedClock } from '../../../src/core/clock.js';

// A real HTTPS identity provider: discovery documents and JWKS for two issuers, keys generated here.
type Alg = 'RS256' | 'ES256' | 'EdDSA';
const keys: Record<Alg, { privateKey: CryptoKey; publicKey: CryptoKey; kid: string }> = {} as never;
let stranger: { privateKey: CryptoKey; kid: string };
let ca: TestCa;
let idp: https.Server;
let base: string;
let jwksHits = 0;
let discoveryIssuerOverride: string | undefined;

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const nowSec = Math.floor(T0 / 1000);
const AUD = 'https://warden.example';

before(async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as Alg[]) {
    const kp = await generateKeyPair(alg, { extractable: true });
    keys[alg] = { ...kp, kid: `kid-${alg}` };
  }
  stranger = { privateKey: (await generateKeyPair('ES256')).privateKey, kid: 'kid-ES256' };
  const jwks = { keys: [] as JWK[] };
  for (const alg of Object.keys(keys) as Alg[]) jwks.keys.push({ ...(await exportJWK(keys[alg].publicKey)), kid: keys[alg].kid, alg, use: 'sig' });
  ca = await makeTestCa();
  const cert = await issueServerCert(ca, ['127.0.0.1']);
  idp = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const issuerPath = req.url!.startsWith('/a/') ? '/a' : '/b';
    if (req.url!.endsWith('/.well-known/openid-configuration')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: discoveryIssuerOverride ?? base + issuerPath, jwks_uri: `${base}${issuerPath}/jwks` }));
    } else if (req.url!.endsWith('/jwks')) {
      jwksHits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(idp.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => idp.close(() => r())));

function issuerA(extra: Partial<OidcIssuerConfig> = {}): OidcIssuerConfig {
  return {
    issuer: `${base}/a`,
    audience: AUD,
    jwksUri: `${base}/a/jwks`,
    caPem: ca.certPem,
    claims: { groups: 'realm_access.roles', tenant: { claim: 'tenant' }, kind: { fixed: 'user' } },
    ...extra,
  };
}

function verifierWith(issuers: OidcIssuerConfig[], clock = new FixedClock(T0)): OidcVerifier {
  return new OidcVerifier({ issuers, clock });
}

async function sign(alg: Alg, claims: Record<string, unknown> = {}, opts: { iss?: string; kid?: string; key?: CryptoKey; typ?: string } = {}): Promise<string> {
  const body = { sub: 'alice', tenant: 'acme', realm_access: { roles: ['consumers'] }, ...claims };
  const jwt = new SignJWT(body).setProtectedHeader({ alg, kid: opts.kid ?? keys[alg].kid, typ: opts.typ ?? 'at+jwt' });
  if (!('iss' in claims)) jwt.setIssuer(opts.iss ?? `${base}/a`);
  if (!('aud' in claims)) jwt.setAudience(AUD);
  if (!('iat' in claims)) jwt.setIssuedAt(nowSec);
  if (!('exp' in claims)) jwt.setExpirationTime(nowSec + 300);
  return jwt.sign(opts.key ?? keys[alg].privateKey);
}

async function rejected(v: OidcVerifier, token: string, reason: string): Promise<void> {
  await assert.rejects(v.verify(token), (e: unknown) => {
    assert.ok(e instanceof InvalidBearerToken, `expected InvalidBearerToken, got ${String(e)}`);
    assert.equal(e.reason, reason);
    assert.equal(e.status, 401);
    assert.equal(e.headers['www-authenticate'], 'Bearer realm="warden", error="invalid_token"');
    // The client never learns which check failed.
    assert.ok(['the access token is invalid', 'the access token expired'].includes(e.message));
    return true;
  });
}

test('an RS256 token from a JWKS-configured issuer maps to a principal', async () => {
  const v = verifierWith([issuerA()]);
  const p = await v.verify(await sign('RS256', { jti: 'tok-1', amr: ['pwd', 'mfa'], auth_time: nowSec - 60 }));
  assert.equal(p.kind, 'user');
  assert.equal(p.id, 'alice');
  assert.equal(p.tenant, 'acme');
  assert.deepEqual(p.groups, ['consumers']);
  assert.deepEqual(p.authn, { method: 'oidc', credentialId: 'tok-1', issuer: `${base}/a`, expiresAt: (nowSec + 300) * 1000, mfaAt: (nowSec - 60) * 1000 });
  await v.close();
});

test('a DPoP-bound access token (cnf.jkt) carries its key to the gateway; other confirmation methods are refused', async () => {
  const v = verifierWith([issuerA()]);
  const jkt = 'x'.repeat(43);
  const p = await v.verify(await sign('ES256', { jti: 'tok-b', cnf: { jkt } }));
  assert.equal(p.authn.boundKey, jkt);
  await assert.rejects(v.verify(await sign('ES256', { jti: 'tok-c', cnf: { 'x5t#S256': 'abc' } })), (e: unknown) => e instanceof InvalidBearerToken);
  await assert.rejects(v.verify(await sign('ES256', { jti: 'tok-d', cnf: { jkt: 'short' } })), (e: unknown) => e instanceof InvalidBearerToken);
  await v.close();
});

test('ES256 and EdDSA tokens verify through OIDC discovery; kind and tenant can be fixed or claimed', async () => {
  const v = verifierWith([
    { issuer: `${base}/b`, audience: [AUD, 'other'], discovery: true, caPem: ca.certPem, claims: { tenant: { fixed: 'ops' }, kind: { claim: 'kind' } } },
  ]);
  for (const alg of ['ES256', 'EdDSA'] as Alg[]) {
    const p = await v.verify(await sign(alg, { kind: 'agent', sub: `bot-${alg}` }, { iss: `${base}/b` }));
    assert.deepEqual([p.kind, p.id, p.tenant, p.authn.mfaAt], ['agent', `bot-${alg}`, 'ops', undefined]);
  }
  await v.close();
});

test('a verified token is served from the cache until it expires, and not after', async () => {
  const clock = new FixedClock(T0);
  const v = verifierWith([issuerA()], clock);
  const token = await sign('ES256', { exp: nowSec + 60 });
  const first = await v.verify(token);
  const hits = jwksHits;
  assert.equal(await v.verify(token), first);
  assert.equal(jwksHits, hits);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.authn));
  clock.advance(60_000 + 31_000); // past exp and the 30 s skew
  await rejected(v, token, 'jwt_expired');
  await v.close();
});

test('expired token is refused', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('RS256', { iat: nowSec - 600, exp: nowSec - 31 }), 'jwt_expired');
});

test('a token expired by less than the clock skew is still accepted', async () => {
  const v = verifierWith([issuerA()]);
  await v.verify(await sign('RS256', { iat: nowSec - 600, exp: nowSec - 20 }));
  await v.close();
});

test('nbf in the future is refused', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('RS256', { nbf: nowSec + 120 }), 'jwt_claim_nbf');
});

test('an unknown issuer is refused', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('RS256', {}, { iss: 'https://evil.example' }), 'jwt_issuer_unknown');
});

test('each issuer checks its own audience', async () => {
  // Issuer B publishes the same keys here; its tokens must still name B's audience, not A's.
  const v = verifierWith([issuerA(), { ...issuerA(), issuer: `${base}/b`, jwksUri: `${base}/b/jwks`, audience: 'only-b' }]);
  await rejected(v, await sign('RS256', {}, { iss: `${base}/b` }), 'jwt_claim_aud');
});

test('wrong audience is refused', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('RS256', { aud: 'https://someone-else.example' }), 'jwt_claim_aud');
});

test('a tampered payload fails the signature check', async () => {
  const v = verifierWith([issuerA()]);
  const [h, p, s] = (await sign('ES256')).split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' })).toString('base64url');
  await rejected(v, `${h}.${forged}.${s}`, 'jwt_signature_invalid');
});

test('alg "none" is refused', async () => {
  const v = verifierWith([issuerA()]);
  const token = new UnsecuredJWT({ sub: 'alice', tenant: 'acme' }).setIssuer(`${base}/a`).setAudience(AUD).setExpirationTime(nowSec + 60).encode();
  await rejected(v, token, 'jwt_alg_not_allowed');
});

test('HS256 signed with the issuer\'s public key as the secret is refused (no HS/RS confusion)', async () => {
  const v = verifierWith([issuerA()]);
  const pem = await exportSPKI(keys.RS256.publicKey);
  const token = await new SignJWT({ sub: 'alice', tenant: 'acme' })
    .setProtectedHeader({ alg: 'HS256', kid: keys.RS256.kid, typ: 'at+jwt' })
    .setIssuer(`${base}/a`).setAudience(AUD).setIssuedAt(nowSec).setExpirationTime(nowSec + 60)
    .sign(new TextEncoder().encode(String(pem)));
  await rejected(v, token, 'jwt_alg_not_allowed');
});

test('an algorithm outside the issuer\'s allowlist is refused even with a valid signature', async () => {
  const v = verifierWith([issuerA({ algorithms: ['ES256'] })]);
  await rejected(v, await sign('RS256'), 'jwt_alg_not_allowed');
});

test('an unknown kid is refused', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('ES256', {}, { kid: 'kid-nobody-knows' }), 'jwt_kid_unknown');
});

test('a known kid with a key that is not the issuer\'s fails the signature check', async () => {
  const v = verifierWith([issuerA()]);
  await rejected(v, await sign('ES256', {}, { key: stranger.privateKey, kid: stranger.kid }), 'jwt_signature_invalid');
});

test('tokens without exp, or without the mapped tenant/subject, are refused', async () => {
  const v = verifierWith([issuerA()]);
  const noExp = await new SignJWT({ sub: 'alice', tenant: 'acme' }).setProtectedHeader({ alg: 'ES256', kid: keys.ES256.kid, typ: 'at+jwt' })
    .setIssuer(`${base}/a`).setAudience(AUD).setIssuedAt(nowSec).sign(keys.ES256.privateKey);
  await rejected(v, noExp, 'jwt_claim_exp');
  await rejected(v, await sign('ES256', { tenant: undefined }), 'claim_tenant_missing');
  await rejected(v, await sign('ES256', { sub: undefined }), 'claim_subject_missing');
  await rejected(v, await sign('ES256', { realm_access: { roles: 'consumers' } }), 'claim_groups_malformed');
  await rejected(v, 'not-a-jwt', 'jwt_malformed');
  await v.close();
});

test('an ID token is not an access token: typ must be at+jwt (RFC 9068) unless the issuer is configured otherwise', async () => {
  const strict = verifierWith([issuerA()]);
  // An ID token as IdPs mint them (typ JWT, or none), same issuer, audience and keys.
  await rejected(strict, await sign('ES256', { nonce: 'n-1' }, { typ: 'JWT' }), 'jwt_not_access_token');
  const noTyp = await new SignJWT({ sub: 'alice', tenant: 'acme' }).setProtectedHeader({ alg: 'ES256', kid: keys.ES256.kid })
    .setIssuer(`${base}/a`).setAudience(AUD).setIssuedAt(nowSec).setExpirationTime(nowSec + 300).sign(keys.ES256.privateKey);
  await rejected(strict, noTyp, 'jwt_not_access_token');
  // The media-type form (application/at+jwt) is the same type.
  assert.equal((await strict.verify(await sign('ES256', {}, { typ: 'application/at+jwt' }))).id, 'alice');
  // An IdP without typ on its access tokens: the header check is off for it, but a Keycloak ID token stays refused.
  const lax = verifierWith([issuerA({ requireAccessTokenTyp: false })]);
  assert.equal((await lax.verify(noTyp)).id, 'alice');
  await rejected(lax, await sign('ES256', { typ: 'ID' }, { typ: 'JWT' }), 'jwt_is_id_token');
  await strict.close();
  await lax.close();
});

test('a kind claim outside user/service/agent is refused', async () => {
  const v = verifierWith([issuerA({ claims: { kind: { claim: 'kind' } } })]);
  await rejected(v, await sign('ES256', { kind: 'root' }), 'claim_kind_unknown');
});

test('amr claiming MFA without auth_time gives no MFA time', async () => {
  const v = verifierWith([issuerA()]);
  const p = await v.verify(await sign('ES256', { amr: ['mfa'] }));
  assert.equal(p.authn.mfaAt, undefined);
  await v.close();
});

test('an unreachable JWKS fails closed with 503, not as the client\'s fault', async () => {
  const port = await new Promise<number>((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => r(p));
    });
  });
  const v = verifierWith([issuerA({ jwksUri: `https://127.0.0.1:${port}/jwks`, fetchTimeoutMs: 2000 })]);
  await assert.rejects(v.verify(await sign('ES256')), (e: unknown) => e instanceof FailClosed && e.status === 503 && e.code === 'jwks_unavailable');
});

test('a JWKS served by an untrusted certificate fails closed', async () => {
  const v = verifierWith([issuerA({ caPem: undefined })]);
  await assert.rejects(v.verify(await sign('ES256')), (e: unknown) => e instanceof FailClosed && e.code === 'jwks_unavailable');
});

test('a discovery document naming a different issuer fails closed', async () => {
  discoveryIssuerOverride = 'https://impostor.example';
  try {
    const v = verifierWith([{ issuer: `${base}/b`, audience: AUD, discovery: true, caPem: ca.certPem }]);
    await assert.rejects(v.verify(await sign('ES256', {}, { iss: `${base}/b` })), (e: unknown) => e instanceof FailClosed);
  } finally {
    discoveryIssuerOverride = undefined;
  }
});

test('unsafe issuer configuration is refused at construction', () => {
  assert.throws(() => verifierWith([issuerA({ algorithms: ['HS256' as never] })]), IdentityConfigError);
  assert.throws(() => verifierWith([issuerA({ algorithms: ['none' as never] })]), IdentityConfigError);
  assert.throws(() => verifierWith([issuerA({ algorithms: [] })]), IdentityConfigError);
  assert.throws(() => verifierWith([issuerA({ jwksUri: 'http://127.0.0.1/jwks' })]), IdentityConfigError);
  assert.throws(() => verifierWith([issuerA({ discovery: true })]), IdentityConfigError);
  assert.throws(() => verifierWith([issuerA(), issuerA()]), IdentityConfigError);
  assert.throws(() => verifierWith([]), IdentityConfigError);
});

test('knowsIssuer routes only tokens of configured issuers', async () => {
  const v = verifierWith([issuerA()]);
  assert.equal(v.knowsIssuer(await sign('ES256')), true);
  assert.equal(v.knowsIssuer(await sign('ES256', {}, { iss: 'https://elsewhere' })), false);
  assert.equal(v.knowsIssuer('garbage'), false);
});
