// Issue 12: an exchanged token never widens its subject (at any depth), lives no longer than its sources,
// dies with them (key revoked or rotated out, principal erased), keeps its principal's limits, and its
// revocation survives a restart (SQLite store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt } from 'jose';
import { FixedClock } from '../../../src/core/clock.js';
import type { Principal } from '../../../src/core/types.js';
import { JitTokenService } from '../../../src/identity/jit/service.js';
import { ScopeNotGranted } from '../../../src/identity/jit/scope.js';
import { MemoryRevocationStore } from '../../../src/identity/jit/revocation-store.js';
import { SqliteRevocationStore } from '../../../src/identity/jit/sqlite-revocation-store.js';
import { InvalidBearerToken } from '../../../src/identity/errors.js';
import { openSqlite } from '../../../src/store/sqlite.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const ISS = 'https://warden.acme.example';
const signingKey = generateKeyPairSync('ed25519').privateKey;

const alice: Principal = {
  kind: 'user', id: 'alice', tenant: 'acme', groups: ['consumers'],
  authn: { method: 'api_key', credentialId: 'key_alice' },
  scope: { models: ['llama-3', 'mistral-7b'], actions: ['chat', 'embed', 'callTool'] },
  limits: { requestsPerSecond: 1, burst: 1 },
};
const agent: Principal = {
  kind: 'agent', id: 'research-bot', tenant: 'acme', groups: ['agents'],
  authn: { method: 'api_key', credentialId: 'key_agent' },
  scope: { models: ['*'], actions: ['*'] },
};

function service(clock = new FixedClock(T0), revocations?: MemoryRevocationStore): JitTokenService {
  return new JitTokenService({ signingKey, issuer: ISS, audience: ISS, clock, ...(revocations ? { revocations } : {}) });
}

const refusedScope = (e: unknown) => e instanceof ScopeNotGranted && e.code === 'invalid_scope';

async function revoked(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof InvalidBearerToken && e.reason === 'jit_revoked');
}

test('a token narrowed to one tool stays narrowed when exchanged again, at any depth', async () => {
  const s = service();
  let token = (await s.exchange({ subject: alice, requested: { actions: ['callTool'], tool: 'lookup' } })).access_token;
  for (let depth = 0; depth < 3; depth++) {
    const subject = await s.verify(token);
    // Another tool, or widening models or actions, is refused: never silently narrowed or widened.
    await assert.rejects(s.exchange({ subject, requested: { tool: 'delete-everything' } }), refusedScope);
    await assert.rejects(s.exchange({ subject, requested: { actions: ['chat'] } }), refusedScope);
    await assert.rejects(s.exchange({ subject, requested: { models: ['*'] } }), refusedScope);
    token = (await s.exchange({ subject, requested: depth === 1 ? { tool: 'lookup' } : {} })).access_token;
    assert.equal(decodeJwt(token).tool, 'lookup', `depth ${depth + 2}`);
    const v = await s.verifyDetailed(token);
    assert.equal(v.tool, 'lookup');
    assert.deepEqual(v.principal.scope, { models: ['llama-3', 'mistral-7b'], actions: ['callTool'], tools: ['lookup'] });
  }
});

test('models, actions, tenant and the act chain of the subject token bound every later exchange', async () => {
  const s = service();
  const narrowed = await s.verify((await s.exchange({ subject: alice, actor: agent, requested: { models: ['llama-3'], actions: ['chat'] } })).access_token);
  const again = await s.verify((await s.exchange({ subject: narrowed, requested: {} })).access_token);
  assert.deepEqual(again.scope, { models: ['llama-3'], actions: ['chat'] });
  assert.deepEqual(again.actor, [{ id: 'research-bot', kind: 'agent', tenant: 'acme' }], 'the act chain is kept');
  assert.equal(again.tenant, 'acme');
  await assert.rejects(s.exchange({ subject: again, requested: { models: ['mistral-7b'] } }), refusedScope);
  await assert.rejects(s.exchange({ subject: again, requested: { actions: ['chat', 'embed'] } }), refusedScope);
  await assert.rejects(s.exchange({ subject: again, requested: { tool: 'lookup' } }), refusedScope);
  // A tool-narrowed actor bounds the token as well.
  const toolActor = await s.verify((await s.exchange({ subject: agent, requested: { tool: 'lookup' } })).access_token);
  // A copied actor principal is refused: its bounds cannot be known.
  await assert.rejects(s.exchange({ subject: alice, actor: structuredClone(toolActor), requested: {} }), (e: unknown) => (e as { field?: string }).field === 'actor_token');
  const viaActor = await s.verifyDetailed((await s.exchange({ subject: alice, actor: toolActor, requested: {} })).access_token);
  assert.equal(viaActor.tool, 'lookup');
  await assert.rejects(s.exchange({ subject: alice, actor: toolActor, requested: { tool: 'other' } }), refusedScope);
});

test('a token never outlives its subject key, its actor, or its parent token', async () => {
  const s = service();
  const shortKey: Principal = { ...alice, authn: { ...alice.authn, expiresAt: T0 + 60_000 } };
  const r = await s.exchange({ subject: shortKey, requested: { ttlSec: 3600 } });
  assert.equal(r.expires_in, 60);
  const t = await s.verifyDetailed(r.access_token);
  assert.equal(t.principal.authn.expiresAt, T0 + 60_000);
  assert.equal((await s.exchange({ subject: t.principal, requested: { ttlSec: 3600 } })).expires_in, 60);
  const shortActor: Principal = { ...agent, authn: { ...agent.authn, expiresAt: T0 + 30_000 } };
  assert.equal((await s.exchange({ subject: alice, actor: shortActor, requested: {} })).expires_in, 30);
  await assert.rejects(s.exchange({ subject: { ...alice, authn: { ...alice.authn, expiresAt: T0 } }, requested: {} }));
});

test('revoking the source key revokes every token derived from it, at any depth; other keys are unaffected', async () => {
  const s = service();
  const t1 = (await s.exchange({ subject: alice, requested: {} })).access_token;
  const t2 = (await s.exchange({ subject: await s.verify(t1), requested: { actions: ['chat'] } })).access_token;
  const delegated = (await s.exchange({ subject: { ...alice, authn: { method: 'oidc', credentialId: 'jwt' } }, actor: agent, requested: { actions: ['chat'] } })).access_token;
  const unrelated = (await s.exchange({ subject: { ...alice, authn: { method: 'api_key', credentialId: 'key_other' } }, requested: {} })).access_token;
  assert.deepEqual(decodeJwt(t2).src, ['key_alice']);
  await s.revokeDerived({ key: 'key_alice' });
  await revoked(s.verify(t1));
  await revoked(s.verify(t2));
  await s.verify(delegated);
  await s.verify(unrelated);
  // The actor's key is a source too.
  await s.revokeDerived({ key: 'key_agent' });
  await revoked(s.verify(delegated));
});

test('a rotated key\'s tokens work until its grace ends, then stop', async () => {
  const clock = new FixedClock(T0);
  const s = service(clock);
  const t = (await s.exchange({ subject: alice, requested: { ttlSec: 3600 } })).access_token;
  await s.revokeDerived({ key: 'key_alice' }, T0 + 600_000);
  clock.advance(599_000);
  await s.verify(t);
  clock.advance(1_000);
  await revoked(s.verify(t));
});

test('erasing the principal (subject or actor) revokes its tokens', async () => {
  const s = service();
  const own = (await s.exchange({ subject: alice, requested: {} })).access_token;
  const delegated = (await s.exchange({ subject: { ...alice, id: 'bob', authn: { method: 'oidc', credentialId: 'j' } }, actor: agent, requested: {} })).access_token;
  await s.revokeDerived({ principal: 'alice' });
  await revoked(s.verify(own));
  await s.verify(delegated);
  await s.revokeDerived({ principal: 'research-bot' });
  await revoked(s.verify(delegated));
});

test('the principal\'s limits are carried into its tokens; a malformed limits claim is refused', async () => {
  const s = service();
  const p = await s.verify((await s.exchange({ subject: alice, requested: {} })).access_token);
  assert.deepEqual(p.limits, { requestsPerSecond: 1, burst: 1 });
  const again = await s.verify((await s.exchange({ subject: p, requested: {} })).access_token);
  assert.deepEqual(again.limits, { requestsPerSecond: 1, burst: 1 });
  for (const lim of [{ requestsPerSecond: 0 }, { requestsPerSecond: 'many' }, { unlimited: 1 }, [1]]) {
    const bad = await new SignJWT({ tenant: 'acme', kind: 'user', groups: [], models: ['*'], scope: 'chat', lim })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setIssuer(ISS).setAudience(ISS).setSubject('alice').setJti(`x${JSON.stringify(lim)}`)
      .setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).sign(signingKey);
    await assert.rejects(s.verify(bad), (e: unknown) => e instanceof InvalidBearerToken && e.reason === 'jit_claims_malformed');
  }
});

test('revocations in SQLite survive a restart; spans merge to the earliest start and latest end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-revoke-'));
  try {
    const clock = new FixedClock(T0);
    const file = join(dir, 'warden.db');
    let db = openSqlite(file);
    const first = service(clock, new SqliteRevocationStore(db, clock));
    const t = (await first.exchange({ subject: alice, requested: {} })).access_token;
    const other = (await first.exchange({ subject: { ...alice, authn: { method: 'api_key', credentialId: 'key_b' } }, requested: {} })).access_token;
    const jti = (await first.verifyDetailed(t)).jti;
    await first.revoke(jti);
    await first.revokeDerived({ key: 'key_b' }, T0 + 120_000);
    await first.revokeDerived({ key: 'key_b' }, T0 + 60_000);
    await first.revokeDerived({ key: 'key_b' }, T0 + 600_000);
    db.close();
    db = openSqlite(file);
    const restarted = service(clock, new SqliteRevocationStore(db, clock));
    await revoked(restarted.verify(t));
    await restarted.verify(other);
    clock.advance(60_000);
    await revoked(restarted.verify(other));
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
