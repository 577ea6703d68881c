import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { FixedClock } from '../../../src/core/clock.js';
import { BadRequest, Forbidden } from '../../../src/core/errors.js';
import type { Principal } from '../../../src/core/types.js';
import { JitTokenService, InvalidTarget } from '../../../src/identity/jit/service.js';
import { ScopeNotGranted } from '../../../src/identity/jit/scope.js';
import { InvalidBearerToken, IdentityConfigError } from '../../../src/identity/errors.js';

const T0 = Date.UTC(2025, 2, 3, 10, 0, 0);
const ISS = 'https://warden.acme.example';
const AUD = 'https://warden.acme.example';
const signingKey = generateKeyPairSync('ed25519').privateKey;

const alice: Principal = {
  kind: 'user', id: 'alice', tenant: 'acme', groups: ['consumers'],
  authn: { method: 'api_key', credentialId: 'key_1', mfaAt: T0 - 120_000 },
  scope: { models: ['llama-3', 'mistral-7b'], actions: ['chat', 'embed', 'callTool'] },
  sourceCidrs: ['10.0.0.0/8'],
  admin: true,
};
const agent: Principal = {
  kind: 'agent', id: 'research-bot', tenant: 'acme', groups: ['agents'],
  authn: { method: 'api_key', credentialId: 'key_2' },
  scope: { models: ['*'], actions: ['chat', 'callTool'] },
};

function service(clock = new FixedClock(T0), extra: Partial<ConstructorParameters<typeof JitTokenService>[0]> = {}): JitTokenService {
  return new JitTokenService({ signingKey, issuer: ISS, audience: AUD, clock, ...extra });
}

async function invalidToken(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InvalidBearerToken, String(e));
    assert.equal(e.reason, reason);
    assert.equal(e.headers['www-authenticate'], 'Bearer realm="warden", error="invalid_token"');
    return true;
  });
}

test('exchange issues a 5-minute EdDSA at+jwt that verifies back to the narrowed principal', async () => {
  const s = service();
  const r = await s.exchange({ subject: alice, requested: { models: ['llama-3'], actions: ['chat'] }, audience: AUD });
  assert.equal(r.token_type, 'Bearer');
  assert.equal(r.issued_token_type, 'urn:ietf:params:oauth:token-type:jwt');
  assert.equal(r.expires_in, 300);
  assert.deepEqual(decodeProtectedHeader(r.access_token), { alg: 'EdDSA', typ: 'at+jwt', kid: (await s.publicJwk()).kid });
  const p = await s.verify(r.access_token);
  assert.equal(p.id, 'alice');
  assert.equal(p.kind, 'user');
  assert.equal(p.tenant, 'acme');
  assert.deepEqual(p.scope, { models: ['llama-3'], actions: ['chat'] });
  assert.equal(p.authn.method, 'jit_token');
  assert.equal(p.authn.credentialId, decodeJwt(r.access_token).jti);
  assert.equal(p.authn.mfaAt, Math.floor((T0 - 120_000) / 1000) * 1000);
  assert.deepEqual(p.sourceCidrs, ['10.0.0.0/8']);
  assert.equal(p.admin, undefined, 'JIT tokens never carry admin');
  assert.equal(p.actor, undefined);
});

test('without a requested scope the token inherits the subject\'s scope', async () => {
  const s = service();
  const p = await s.verify((await s.exchange({ subject: alice, requested: {} })).access_token);
  assert.deepEqual(p.scope, alice.scope);
});

test('the published JWK verifies issued tokens with a stock JOSE library', async () => {
  const s = service();
  const { access_token } = await s.exchange({ subject: alice, requested: {} });
  const { payload } = await jwtVerify(access_token, await importJWK(await s.publicJwk(), 'EdDSA'), { issuer: ISS, audience: AUD, currentDate: new Date(T0) });
  assert.equal(payload.sub, 'alice');
});

test('asking for more than the subject has is a 403 invalid_scope', async () => {
  const s = service();
  for (const requested of [{ models: ['gpt-4o'] }, { actions: ['train'] }, { models: ['*'] }, { models: [] }, { actions: ['chat', 'manageKeys'] }]) {
    await assert.rejects(s.exchange({ subject: alice, requested }), (e: unknown) => e instanceof ScopeNotGranted && e instanceof Forbidden && e.status === 403 && e.code === 'invalid_scope');
  }
});

test('TTL defaults to 300 s, may go up to 3600 s and no further', async () => {
  const s = service();
  assert.equal((await s.exchange({ subject: alice, requested: { ttlSec: 3600 } })).expires_in, 3600);
  for (const ttlSec of [3601, 0, 1.5]) {
    await assert.rejects(s.exchange({ subject: alice, requested: { ttlSec } }), (e: unknown) => e instanceof BadRequest && e.code === 'invalid_request');
  }
});

test('a token never outlives the subject credential', async () => {
  const s = service();
  const r = await s.exchange({ subject: alice, requested: { ttlSec: 3600 }, subjectExpiresAt: T0 + 90_000 });
  assert.equal(r.expires_in, 90);
  await assert.rejects(s.exchange({ subject: alice, requested: {}, subjectExpiresAt: T0 - 1 }), (e: unknown) => e instanceof BadRequest && e.code === 'invalid_request');
});

test('an audience or resource other than Warden is invalid_target', async () => {
  const s = service();
  const isInvalidTarget = (e: unknown) => e instanceof InvalidTarget && e.status === 400 && e.code === 'invalid_target';
  await assert.rejects(s.exchange({ subject: alice, requested: {}, audience: 'https://api.other.example' }), isInvalidTarget);
  await assert.rejects(s.exchange({ subject: alice, requested: {}, audience: [AUD, 'https://api.other.example'] }), isInvalidTarget);
  await assert.rejects(s.exchange({ subject: alice, requested: {}, resource: ['https://api.other.example/v1'] }), isInvalidTarget);
  await s.exchange({ subject: alice, requested: {}, audience: [AUD], resource: [`${AUD}/v1/chat/completions`] });
});

test('an agent presenting a user\'s token gets a delegated token: sub = user, act.sub = agent', async () => {
  const s = service();
  const r = await s.exchange({ subject: alice, actor: agent, requested: { actions: ['chat'] } });
  const claims = decodeJwt(r.access_token);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.act, { sub: 'research-bot', kind: 'agent', tenant: 'acme' });
  const p = await s.verify(r.access_token);
  assert.deepEqual(p.actor, [{ id: 'research-bot', kind: 'agent', tenant: 'acme' }]);
  // Default scope for a delegated token is what both may do.
  const d = await s.verify((await s.exchange({ subject: alice, actor: agent, requested: {} })).access_token);
  assert.deepEqual(d.scope, { models: ['llama-3', 'mistral-7b'], actions: ['chat', 'callTool'] });
});

test('a delegated token cannot exceed the actor\'s own scope', async () => {
  await assert.rejects(service().exchange({ subject: alice, actor: agent, requested: { actions: ['embed'] } }), ScopeNotGranted);
});

test('an actor from another tenant cannot act for the subject', async () => {
  await assert.rejects(service().exchange({ subject: alice, actor: { ...agent, tenant: 'globex' }, requested: {} }), (e: unknown) => e instanceof ScopeNotGranted && e.status === 403);
});

test('re-delegation nests act claims, inherits expiry, and dies with its parent', async () => {
  const clock = new FixedClock(T0);
  const s = service(clock);
  const parentToken = (await s.exchange({ subject: alice, actor: agent, requested: { ttlSec: 600 } })).access_token;
  const parent = await s.verify(parentToken);
  const planner: Principal = { ...agent, id: 'planner-bot', actor: undefined };
  const child = await s.exchange({ subject: parent, actor: planner, requested: { ttlSec: 3600, models: ['llama-3'] } });
  assert.equal(child.expires_in, 600, 'capped at the parent token\'s expiry');
  assert.deepEqual(decodeJwt(child.access_token).act, { sub: 'planner-bot', kind: 'agent', tenant: 'acme', act: { sub: 'research-bot', kind: 'agent', tenant: 'acme' } });
  const c = await s.verifyDetailed(child.access_token);
  assert.deepEqual(c.principal.actor?.map((a) => a.id), ['planner-bot', 'research-bot']);
  assert.deepEqual(c.ancestors, [parent.authn.credentialId]);
  await s.revoke(parent.authn.credentialId);
  await invalidToken(s.verify(child.access_token), 'jit_revoked');
});

test('a JIT principal that this service did not verify cannot be exchanged', async () => {
  const s = service();
  const p = await s.verify((await s.exchange({ subject: alice, requested: {} })).access_token);
  await assert.rejects(s.exchange({ subject: structuredClone(p), requested: {} }), (e: unknown) => e instanceof BadRequest && e.field === 'subject_token');
});

test('a tool grant requires the callTool action and is returned by verifyDetailed', async () => {
  const s = service();
  await assert.rejects(s.exchange({ subject: alice, requested: { actions: ['chat'], tool: 'web-search' } }), ScopeNotGranted);
  const v = await s.verifyDetailed((await s.exchange({ subject: alice, requested: { actions: ['callTool'], tool: 'web-search' } })).access_token);
  assert.equal(v.tool, 'web-search');
  assert.deepEqual(v.principal.scope.actions, ['callTool']);
});

test('revocation takes effect on the next use, even for a cached token', async () => {
  const s = service();
  const { access_token } = await s.exchange({ subject: alice, requested: {} });
  const v = await s.verifyDetailed(access_token);
  await s.verify(access_token);
  await s.revoke(v.jti, v.expiresAt);
  await invalidToken(s.verify(access_token), 'jit_revoked');
});

test('an expired token is refused, cached or not', async () => {
  const clock = new FixedClock(T0);
  const s = service(clock);
  const { access_token } = await s.exchange({ subject: alice, requested: { ttlSec: 60 } });
  await s.verify(access_token);
  clock.advance(66_000);
  await invalidToken(s.verify(access_token), 'jwt_expired');
});

test('tokens for another audience, by another key, or of another type are refused', async () => {
  const s = service();
  const otherAud = service(undefined, { audience: 'https://elsewhere.example' });
  await invalidToken(s.verify((await otherAud.exchange({ subject: alice, requested: {} })).access_token), 'jwt_claim_aud');
  const otherKey = service(undefined, { signingKey: generateKeyPairSync('ed25519').privateKey });
  await invalidToken(s.verify((await otherKey.exchange({ subject: alice, requested: {} })).access_token), 'jwt_signature_invalid');
  // Same key, but not an access token (e.g. a receipt-style JWT): typ must be at+jwt.
  const plain = await new SignJWT({ tenant: 'acme', kind: 'user', groups: [], models: ['*'], scope: 'chat' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setIssuer(ISS).setAudience(AUD).setSubject('alice').setJti('x')
    .setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).sign(signingKey);
  await invalidToken(s.verify(plain), 'jwt_claim_typ');
  await invalidToken(s.verify('eyJhbGciOiJub25lIn0.e30.'), 'jwt_alg_not_allowed');
});

test('a validly signed token with malformed Warden claims is refused', async () => {
  const s = service();
  const bad = await new SignJWT({ tenant: 'acme', kind: 'root', groups: [], models: ['*'], scope: 'chat' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setIssuer(ISS).setAudience(AUD).setSubject('alice').setJti('x')
    .setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).sign(signingKey);
  await invalidToken(s.verify(bad), 'jit_claims_malformed');
});

test('configuration is checked at construction', () => {
  assert.throws(() => service(undefined, { signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }), IdentityConfigError);
  assert.throws(() => service(undefined, { defaultTtlSec: 7200 }), IdentityConfigError);
  assert.throws(() => service(undefined, { audience: '' }), IdentityConfigError);
});

test('a training token\'s datasets are a ceiling through every exchange: carried, intersected with an actor\'s, never widened', async () => {
  const s = service();
  const model: Principal = {
    kind: 'service', id: 'model:tiny-llm', tenant: 'acme', groups: ['model:tiny-llm'],
    authn: { method: 'api_key', credentialId: 'key_admin' }, scope: { models: ['*'], actions: ['trainOn'], datasets: ['ds_a', 'ds_b'] },
  };
  const first = await s.verify((await s.exchange({ subject: model, requested: {} })).access_token);
  assert.deepEqual(first.scope, { models: ['*'], actions: ['trainOn'], datasets: ['ds_a', 'ds_b'] });
  assert.deepEqual(decodeJwt((await s.exchange({ subject: model, requested: {} })).access_token).datasets, ['ds_a', 'ds_b']);
  const again = await s.verify((await s.exchange({ subject: first, requested: {} })).access_token);
  assert.deepEqual(again.scope.datasets, ['ds_a', 'ds_b'], 'an exchanged training token keeps the ceiling');
  const narrowActor: Principal = { ...agent, tenant: 'acme', scope: { models: ['*'], actions: ['*'], datasets: ['ds_b', 'ds_c'] } };
  const delegated = await s.verify((await s.exchange({ subject: model, actor: narrowActor, requested: {} })).access_token);
  assert.deepEqual(delegated.scope.datasets, ['ds_b'], 'subject and actor ceilings intersect');
  const plain = await s.verify((await s.exchange({ subject: alice, requested: { models: ['llama-3'], actions: ['chat'] } })).access_token);
  assert.equal(plain.scope.datasets, undefined, 'a token not narrowed to datasets names none');
});

test('a datasets claim that is not a list of strings is refused', async () => {
  const s = service();
  const jwt = await new SignJWT({ tenant: 'acme', kind: 'service', groups: [], models: ['*'], scope: 'trainOn', datasets: 'ds_a' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: (await s.publicJwk()).kid })
    .setIssuer(ISS).setAudience(AUD).setSubject('model:x').setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).setJti('j1')
    .sign(signingKey);
  await invalidToken(s.verify(jwt), 'jit_claims_malformed');
});
