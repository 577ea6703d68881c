// Cluster JIT tokens: each replica keeps its private key and publishes the public JWK by kid in PostgreSQL;
// a token from one replica verifies on another, a kid nobody published is refused, and a published key that
// does not hash to its kid (a tampered directory row) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import pg from 'pg';
import { requireService } from '../../helpers/services.js';
import { PostgresIdentityStore } from '../../../src/store/identity-postgres.js';
import { JitTokenService } from '../../../src/identity/jit/service.js';
import type { Principal } from '../../../src/core/types.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const ISS = 'https://gateway.test';
const subject: Principal = { kind: 'user', id: 'alice', tenant: 'acme', groups: ['consumers'], authn: { method: 'api_key', credentialId: 'key_1' }, scope: { models: ['demo-chat'], actions: ['chat'] } };

test('a JIT token verifies on every replica that finds its issuer\'s published key, and on no other', async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const prefix = `wjk_${randomBytes(4).toString('hex')}_`;
  const [dirA, dirB] = await Promise.all([PostgresIdentityStore.connect({ connectionString: PG, prefix }), PostgresIdentityStore.connect({ connectionString: PG, prefix })]);
  t.after(async () => {
    await Promise.all([dirA.close(), dirB.close()]);
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    const tables = await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${prefix}%`]);
    for (const { tablename } of tables.rows) await c.query(`DROP TABLE IF EXISTS ${tablename} CASCADE`);
    await c.end();
  });
  const service = (peerKeys?: PostgresIdentityStore) => new JitTokenService({ signingKey: generateKeyPairSync('ed25519').privateKey, issuer: ISS, audience: ISS, ...(peerKeys ? { peerKeys } : {}) });
  const a = service(dirA);
  const b = service(dirB);
  const stranger = service(dirA);
  const jwkA = await a.publicJwk();
  await dirA.publishJitKey(jwkA.kid!, jwkA as JsonWebKey);
  const token = (s: JitTokenService) => s.exchange({ subject, requested: {} }).then((r) => r.access_token);
  // Issued by A, verified by B through the directory.
  assert.equal((await b.verify(await token(a))).id, 'alice');
  // Without the directory (embedded mode) another instance's token does not verify.
  await assert.rejects(service().verify(await token(a)), { name: 'InvalidBearerToken', reason: 'jwt_signature_invalid' });
  // A kid nobody published.
  await assert.rejects(b.verify(await token(stranger)), { name: 'InvalidBearerToken', reason: 'jwt_unknown_kid' });
  // The stranger's kid published with A's public key: the key does not hash to the kid, so it is refused.
  const jwkS = await stranger.publicJwk();
  await dirA.publishJitKey(jwkS.kid!, { ...(jwkA as JsonWebKey), kid: jwkS.kid } as JsonWebKey);
  const c = service(dirB); // a fresh replica, nothing cached
  await assert.rejects(c.verify(await token(stranger)), { name: 'InvalidBearerToken', reason: 'jwt_peer_key_mismatch' });
});
