// RFC 9449 through the real gateway: /v1/token with a DPoP proof issues a token bound to the proof's key;
// that token then works only as "Authorization: DPoP" with a fresh proof by that key for that request, on
// the inference routes and the tools routes alike; exchanging it needs the same key. Each refusal provoked.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

let t: TestWarden;
before(async () => {
  t = await startTestWarden();
});
after(() => t.stop());

type Key = { privateKey: Parameters<SignJWT['sign']>[0]; jwk: JWK };
async function newKey(): Promise<Key> {
  const k = await generateKeyPair('ES256');
  return { privateKey: k.privateKey, jwk: await exportJWK(k.publicKey) };
}
const proof = (k: Key, htm: string, path: string, token?: string) =>
  new SignJWT({ htm, htu: t.w.inferenceUrl + path, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...(token ? { ath: createHash('sha256').update(token).digest('base64url') } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.jwk })
    .sign(k.privateKey);
const form = (o: Record<string, string>) => new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', ...o }).toString();
const exchange = (body: Record<string, string>, dpop?: string) =>
  t.call('inference', 'POST', '/v1/token', { headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop ? { dpop } : {}) }, body: form(body) });
const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] };
const chat = (headers: Record<string, string>) => t.call('inference', 'POST', '/v1/chat/completions', { headers, body: CHAT });

test('a DPoP-bound token is useless without its key: wrong scheme, no proof, another key, a replay, another URL', async () => {
  const { key: apiKey } = await t.keyFor('dora', ['*'], ['chat', 'callTool'], { groups: ['consumers'] });
  const k = await newKey();
  const issued = await exchange({ subject_token: apiKey, scope: 'chat model:demo-chat' }, await proof(k, 'POST', '/v1/token'));
  assert.equal(issued.status, 200, issued.text);
  assert.equal(issued.json.token_type, 'DPoP');
  const token = issued.json.access_token as string;
  assert.equal(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).cnf.jkt.length, 43);

  const ok = await chat({ authorization: `DPoP ${token}`, dpop: await proof(k, 'POST', '/v1/chat/completions', token) });
  assert.equal(ok.status, 200, ok.text);

  const asBearer = await chat({ authorization: `Bearer ${token}` });
  assert.equal(asBearer.status, 401);
  assert.equal(asBearer.json.error.code, 'invalid_token');
  const noProof = await chat({ authorization: `DPoP ${token}` });
  assert.equal(noProof.status, 401);
  assert.equal(noProof.json.error.code, 'invalid_dpop_proof');
  assert.match(String(noProof.headers['www-authenticate']), /^DPoP /);
  const thief = await newKey();
  assert.equal((await chat({ authorization: `DPoP ${token}`, dpop: await proof(thief, 'POST', '/v1/chat/completions', token) })).json.error.code, 'invalid_dpop_proof');
  const once = await proof(k, 'POST', '/v1/chat/completions', token);
  assert.equal((await chat({ authorization: `DPoP ${token}`, dpop: once })).status, 200);
  const replayed = await chat({ authorization: `DPoP ${token}`, dpop: once });
  assert.equal(replayed.json.error.code, 'invalid_dpop_proof', 'a proof is single use');
  // Which check failed is for the operator: the body says only that the proof is missing or invalid.
  assert.equal(replayed.json.error.message, 'the DPoP proof is missing or invalid');
  assert.doesNotMatch(replayed.text, /replay|jti|already used/i);
  assert.equal((await chat({ authorization: `DPoP ${token}`, dpop: await proof(k, 'POST', '/v1/embeddings', token) })).status, 401, 'a proof for another URL');
  // The tools routes check the binding the same way.
  const tools = (headers: Record<string, string>) => t.call('inference', 'GET', '/v1/tools', { headers });
  assert.equal((await tools({ authorization: `Bearer ${token}` })).status, 401);
  assert.equal((await tools({ authorization: `DPoP ${token}`, dpop: await proof(k, 'GET', '/v1/tools', token) })).status, 200);
  // An unbound credential under the DPoP scheme is refused too (no silent downgrade).
  assert.equal((await chat({ authorization: `DPoP ${apiKey}`, dpop: await proof(k, 'POST', '/v1/chat/completions', apiKey) })).status, 401);

  // Each refused request is accounted for with its reason, in its source's window entry (no principal was
  // established, so they are counted, not written one by one: docs/ledger.md).
  await t.w.flushRefusals();
  const counts = new Map<string, number>();
  const reasons = new Map<string, number>();
  for (const a of t.audits().filter((x) => x.action === 'refused.unauthenticated')) {
    const d = a.details as Record<string, unknown>;
    for (const [field, into] of [['codes', counts], ['reasons', reasons]] as const) {
      for (const pair of String(d[field]).split(',').filter(Boolean)) {
        const [code, n] = pair.split(':');
        into.set(code!, (into.get(code!) ?? 0) + Number(n));
      }
    }
  }
  // The precise causes are in the entry: the replay, the thief's key, the bearer downgrade, the missing proof.
  for (const r of ['dpop_replay', 'dpop_key', 'dpop_bound_token_as_bearer', 'dpop_missing', 'dpop_htu']) {
    assert.ok((reasons.get(r) ?? 0) >= 1, `reason ${r} recorded: ${JSON.stringify([...reasons])}`);
  }
  const refusals = (counts.get('invalid_dpop_proof') ?? 0) + (counts.get('invalid_token') ?? 0);
  assert.ok(refusals >= 6, `${refusals} refusals recorded: ${JSON.stringify([...counts])}`);
});

test('exchanging a bound token needs a proof by its key, and what it yields stays bound', async () => {
  const { key: apiKey } = await t.keyFor('dora2', ['*'], ['chat'], { groups: ['consumers'] });
  const k = await newKey();
  const bound = (await exchange({ subject_token: apiKey, scope: 'chat' }, await proof(k, 'POST', '/v1/token'))).json.access_token as string;
  const without = await exchange({ subject_token: bound, scope: 'chat model:demo-chat' });
  assert.equal(without.status, 400);
  assert.equal(without.json.error, 'invalid_dpop_proof');
  const other = await exchange({ subject_token: bound, scope: 'chat model:demo-chat' }, await proof(await newKey(), 'POST', '/v1/token'));
  assert.equal(other.json.error, 'invalid_dpop_proof');
  const badProof = await exchange({ subject_token: apiKey, scope: 'chat' }, await proof(k, 'POST', '/v1/chat/completions'));
  assert.equal(badProof.status, 400, 'a proof for another endpoint');
  assert.equal(badProof.json.error, 'invalid_dpop_proof');
  const narrowed = await exchange({ subject_token: bound, scope: 'chat model:demo-chat' }, await proof(k, 'POST', '/v1/token'));
  assert.equal(narrowed.status, 200, narrowed.text);
  assert.equal(narrowed.json.token_type, 'DPoP');
  const child = narrowed.json.access_token as string;
  assert.equal((await chat({ authorization: `Bearer ${child}` })).status, 401);
  assert.equal((await chat({ authorization: `DPoP ${child}`, dpop: await proof(k, 'POST', '/v1/chat/completions', child) })).status, 200);
  // Without a proof at issuance the token is a plain bearer token, as before.
  const plain = await exchange({ subject_token: apiKey, scope: 'chat' });
  assert.equal(plain.json.token_type, 'Bearer');
  assert.equal((await chat({ authorization: `Bearer ${plain.json.access_token}` })).status, 200);
});

test('behind a load balancer (listeners.inference.publicUrl) tokens and proofs name the public origin, not the bound one', async () => {
  const lb = await startTestWarden((c) => {
    c.listeners.inference.publicUrl = 'https://gw.example.test';
  });
  try {
    assert.equal(lb.w.inferenceOrigin, 'https://gw.example.test');
    const { key } = await lb.keyFor('lena', ['*'], ['chat'], { groups: ['consumers'] });
    const k = await newKey();
    const at = (path: string, htm: string, token?: string, origin = 'https://gw.example.test') =>
      new SignJWT({ htm, htu: origin + path, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...(token ? { ath: createHash('sha256').update(token).digest('base64url') } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.jwk })
        .sign(k.privateKey);
    const ex = (dpop: string) => lb.call('inference', 'POST', '/v1/token', { headers: { 'content-type': 'application/x-www-form-urlencoded', dpop }, body: form({ subject_token: key, scope: 'chat' }) });
    // A proof for the bound address is not for this gateway as its clients know it.
    assert.equal((await ex(await at('/v1/token', 'POST', undefined, lb.w.inferenceUrl))).json.error, 'invalid_dpop_proof');
    const issued = await ex(await at('/v1/token', 'POST'));
    assert.equal(issued.status, 200, issued.text);
    const token = issued.json.access_token as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iss: string; aud: string };
    assert.equal(claims.iss, 'https://gw.example.test');
    assert.equal(claims.aud, 'https://gw.example.test');
    const r = await lb.call('inference', 'POST', '/v1/chat/completions', { headers: { authorization: `DPoP ${token}`, dpop: await at('/v1/chat/completions', 'POST', token) }, body: CHAT });
    assert.equal(r.status, 200, r.text);
    const meta = await lb.call('inference', 'GET', '/.well-known/oauth-protected-resource/mcp');
    assert.equal(meta.json.resource, 'https://gw.example.test/mcp');
  } finally {
    await lb.stop();
  }
});
