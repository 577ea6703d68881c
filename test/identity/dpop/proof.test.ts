// RFC 9449 proof checks (§4.3), each provoked: the happy path, then every way a proof is refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { FixedClock } from '../../../src/core/clock.js';
import { DpopVerifier, InvalidDpopProof } from '../../../src/identity/index.js';
import { RedisNonceStore } from '../../../src/identity/http-signature/redis-nonce-store.js';
import { redisTestConns } from '../../helpers/redis.js';

const NOW = Date.UTC(2026, 10, 22, 9, 0, 0);
const URL_ = 'https://gw.example:8443/v1/chat/completions';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);
const other = await generateKeyPair('ES256');

let n = 0;
async function proof(o: { htm?: string; htu?: string; iat?: number; jti?: string | null; ath?: string; typ?: string; jwk?: JWK; key?: Parameters<SignJWT['sign']>[0]; alg?: string } = {}): Promise<string> {
  const payload: Record<string, unknown> = { htm: o.htm ?? 'POST', htu: o.htu ?? URL_, iat: o.iat ?? NOW / 1000 };
  if (o.jti !== null) payload.jti = o.jti ?? `proof-${++n}-${Math.random()}`;
  if (o.ath !== undefined) payload.ath = o.ath;
  return new SignJWT(payload).setProtectedHeader({ alg: o.alg ?? 'ES256', typ: o.typ ?? 'dpop+jwt', jwk: o.jwk ?? jwk }).sign(o.key ?? privateKey);
}
const ath = (t: string) => createHash('sha256').update(t).digest('base64url');
const verifier = () => new DpopVerifier({ clock: new FixedClock(NOW) });
const redis = redisTestConns();
const refused = (reason: string) => (e: unknown) => e instanceof InvalidDpopProof && e.status === 401 && e.reason === `dpop_${reason}` && e.message === 'the DPoP proof is missing or invalid' && /invalid_dpop_proof/.test(e.headers['www-authenticate'] ?? '');

test('a fresh proof for this request returns the RFC 7638 thumbprint of its key; query and fragment are ignored', async () => {
  const v = verifier();
  const jkt = await v.verify(await proof({ ath: ath('tok') }), { method: 'POST', url: URL_ + '?x=1', accessToken: 'tok' });
  assert.equal(jkt, await calculateJwkThumbprint(jwk));
  assert.equal(await v.verify(await proof({ htu: 'HTTPS://GW.EXAMPLE:8443/v1/chat/completions#f' }), { method: 'POST', url: URL_ }), jkt);
});

test('every §4.3 check refuses', async () => {
  const v = verifier();
  const e = { method: 'POST', url: URL_ };
  await assert.rejects(v.verify(undefined, e), refused('missing'));
  await assert.rejects(v.verify('not-a-jws', e), refused('malformed'));
  await assert.rejects(v.verify(await proof({ typ: 'JWT' }), e), refused('typ'));
  await assert.rejects(v.verify(await proof({ htm: 'GET' }), e), refused('htm'));
  await assert.rejects(v.verify(await proof({ htu: 'https://gw.example:8443/v1/embeddings' }), e), refused('htu'));
  await assert.rejects(v.verify(await proof({ htu: 'https://evil.example:8443/v1/chat/completions' }), e), refused('htu'));
  await assert.rejects(v.verify(await proof({ iat: NOW / 1000 - 61 }), e), refused('iat'));
  await assert.rejects(v.verify(await proof({ iat: NOW / 1000 + 30 }), e), refused('iat'));
  await assert.rejects(v.verify(await proof({ jti: null }), e), refused('jti'));
  // Signed by another key than the one in the header.
  await assert.rejects(v.verify(await proof({ key: other.privateKey }), e), refused('signature'));
  // A private key in the header, or a symmetric algorithm, is never accepted.
  await assert.rejects(v.verify(await proof({ jwk: { ...(await exportJWK(privateKey)) } }), e), refused('jwk'));
  await assert.rejects(v.verify(await proof({ alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' }, key: new TextEncoder().encode('secret') as never }), e), refused('jwk'));
  // Bound to the access token it comes with.
  await assert.rejects(v.verify(await proof(), { ...e, accessToken: 'tok' }), refused('ath'));
  await assert.rejects(v.verify(await proof({ ath: ath('another') }), { ...e, accessToken: 'tok' }), refused('ath'));
  // Single use.
  const once = await proof();
  await v.verify(once, e);
  await assert.rejects(v.verify(once, e), refused('replay'));
});

test('with store.redis a proof used through one replica is a replay on another (one shared cache)', async (t) => {
  const skip = redis.skip();
  if (skip) return t.skip(skip);
  const conn = redis.conn();
  const [a, b] = [0, 1].map(() => new DpopVerifier({ clock: new FixedClock(NOW), nonceStore: new RedisNonceStore(conn, redis.prefix) }));
  const e = { method: 'POST', url: URL_ };
  const once = await proof();
  await a!.verify(once, e);
  await assert.rejects(b!.verify(once, e), refused('replay'));
  await b!.verify(await proof(), e);
});
