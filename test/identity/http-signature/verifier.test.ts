import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FixedClock, type Clock } from '../../../src/core/clock.js';
import { FailClosed } from '../../../src/core/errors.js';
import { HttpSignatureVerifier, type HttpSignatureVerifierOptions } from '../../../src/identity/http-signature/verifier.js';
import { signRequest, type SignRequestOptions } from '../../../src/identity/http-signature/sign.js';
import { MemoryNonceStore } from '../../../src/identity/http-signature/nonce-store.js';
import type { HttpRequestParts } from '../../../src/identity/http-signature/request.js';
import { IdentityConfigError, InvalidRequestSignature } from '../../../src/identity/errors.js';

const T0 = Date.UTC(2025, 5, 1, 9, 0, 0);
const created = T0 / 1000;
let ed: { publicKey: KeyObject; privateKey: KeyObject };
let ec: { publicKey: KeyObject; privateKey: KeyObject };
let other: { publicKey: KeyObject; privateKey: KeyObject };

const pipeline = { kind: 'service' as const, id: 'pipeline-7', tenant: 'acme', groups: ['batch'], scope: { models: ['llama-3'], actions: ['chat'] } };

before(() => {
  ed = generateKeyPairSync('ed25519');
  ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  other = generateKeyPairSync('ed25519');
});

function verifier(extra: Partial<HttpSignatureVerifierOptions> = {}, clock: Clock = new FixedClock(T0)): HttpSignatureVerifier {
  return new HttpSignatureVerifier({
    clients: [
      { keyId: 'pipeline-ed', publicKey: ed.publicKey, principal: pipeline },
      { keyId: 'pipeline-ec', publicKey: ec.publicKey.export({ format: 'jwk' }), alg: 'ecdsa-p256-sha256', principal: { ...pipeline, id: 'pipeline-ec' } },
    ],
    clock,
    ...extra,
  });
}

function chatRequest(body = '{"model":"llama-3","messages":[{"role":"user","content":"hi"}]}'): HttpRequestParts {
  return {
    method: 'POST',
    targetUri: 'https://gw.acme.example:8443/v1/chat/completions',
    headers: { 'content-type': 'application/json', host: 'gw.acme.example:8443' },
    body: Buffer.from(body),
  };
}

function signed(req: HttpRequestParts, opts: Partial<SignRequestOptions> = {}): HttpRequestParts {
  const fields = signRequest(req, { keyId: 'pipeline-ed', privateKey: ed.privateKey, alg: 'ed25519', created, ...opts });
  return { ...req, headers: { ...req.headers, ...fields } };
}

async function rejects(v: HttpSignatureVerifier, req: HttpRequestParts, reason: string): Promise<void> {
  await assert.rejects(v.verify(req), (e: unknown) => {
    assert.ok(e instanceof InvalidRequestSignature, String(e));
    assert.equal(e.reason, reason);
    assert.equal(e.status, 401);
    assert.equal(e.message, 'the request signature is invalid');
    assert.equal(e.headers['www-authenticate'], 'Signature realm="warden"');
    return true;
  });
}

test('an Ed25519-signed POST with Content-Digest verifies to the registered principal', async () => {
  const req = signed(chatRequest());
  assert.match(String(req.headers['content-digest']), /^sha-256=:[A-Za-z0-9+/]+=*:$/);
  const r = await verifier().verifyDetailed(req);
  assert.equal(r.principal.id, 'pipeline-7');
  assert.deepEqual(r.principal.authn, { method: 'http_signature', credentialId: 'pipeline-ed' });
  assert.deepEqual(r.covered, ['@method', '@target-uri', 'content-digest', 'content-type']);
});

test('an ECDSA P-256 signed GET without a body verifies (no digest needed)', async () => {
  const req: HttpRequestParts = { method: 'GET', targetUri: 'https://gw.acme.example:8443/v1/models', headers: {} };
  const p = await verifier().verify(signed(req, { keyId: 'pipeline-ec', privateKey: ec.privateKey, alg: 'ecdsa-p256-sha256' }));
  assert.equal(p.id, 'pipeline-ec');
});

test('a stale created is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { created: created - 301 }), 'created_too_old');
});

test('the freshness window is configurable', async () => {
  await verifier({ maxAgeSec: 600 }).verify(signed(chatRequest(), { created: created - 301 }));
});

test('a created in the future beyond the skew is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { created: created + 31 }), 'created_in_future');
});

test('a replayed nonce is refused, even though the signature is valid', async () => {
  const v = verifier();
  const req = signed(chatRequest(), { nonce: 'n-123' });
  await v.verify(req);
  await rejects(v, req, 'nonce_replayed');
});

test('a body changed after signing fails the digest check', async () => {
  const req = signed(chatRequest());
  await rejects(verifier(), { ...req, body: Buffer.from('{"model":"gpt-4o","messages":[]}') }, 'content_digest_mismatch');
});

test('a recomputed digest for a swapped body still fails the signature', async () => {
  const req = signed(chatRequest());
  const evil = Buffer.from('{"model":"gpt-4o"}');
  const evilDigest = signRequest({ ...chatRequest(), body: evil }, { keyId: 'x', privateKey: other.privateKey, alg: 'ed25519' })['content-digest'];
  await rejects(verifier(), { ...req, body: evil, headers: { ...req.headers, 'content-digest': evilDigest } }, 'signature_invalid');
});

test('a body without a covered content-digest is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { components: ['@method', '@target-uri'] }), 'content_digest_not_covered');
});

test('a signature that does not cover @target-uri is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { components: ['@method', '@path', 'content-digest'] }), 'required_component_not_covered');
});

test('a signature replayed against another URI fails', async () => {
  const req = signed(chatRequest());
  await rejects(verifier(), { ...req, targetUri: 'https://gw.acme.example:8443/v1/embeddings' }, 'signature_invalid');
});

test('an unknown keyid is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { keyId: 'nobody' }), 'keyid_unknown');
});

test('an alg parameter that does not match the registered key is refused', async () => {
  const req = signed(chatRequest(), { includeAlg: false });
  const input = String(req.headers['signature-input']).replace(';keyid=', ';alg="ecdsa-p256-sha256";keyid=');
  await rejects(verifier(), { ...req, headers: { ...req.headers, 'signature-input': input } }, 'alg_mismatch');
});

test('a signature by another key under a registered keyid is refused', async () => {
  await rejects(verifier(), signed(chatRequest(), { privateKey: other.privateKey }), 'signature_invalid');
});

test('a missing nonce is refused', async () => {
  const req = signed(chatRequest());
  const input = String(req.headers['signature-input']).replace(/;nonce="[^"]*"/, '');
  await rejects(verifier(), { ...req, headers: { ...req.headers, 'signature-input': input } }, 'nonce_missing');
});

test('expired signatures (expires parameter) are refused', async () => {
  const req = signed(chatRequest());
  const input = String(req.headers['signature-input']) + `;expires=${created - 1}`;
  await rejects(verifier(), { ...req, headers: { ...req.headers, 'signature-input': input } }, 'signature_expired');
});

test('missing, malformed and ambiguous signature fields are refused', async () => {
  const v = verifier();
  await rejects(v, chatRequest(), 'signature_input_missing');
  const req = signed(chatRequest());
  await rejects(v, { ...req, headers: { ...req.headers, 'signature-input': 'sig1=(("' } }, 'signature_input_malformed');
  await rejects(v, { ...req, headers: { ...req.headers, signature: undefined } }, 'signature_missing');
  const second = signed(chatRequest(), { label: 'sig2', keyId: 'pipeline-ec', privateKey: ec.privateKey, alg: 'ecdsa-p256-sha256' });
  const both = { ...req, headers: { ...req.headers, 'signature-input': [String(req.headers['signature-input']), String(second.headers['signature-input'])], signature: [String(req.headers.signature), String(second.headers.signature)] } };
  await rejects(v, both, 'signature_ambiguous');
});

test('unsupported component parameters and derived components are refused, not guessed', async () => {
  const v = verifier();
  const req = signed({ ...chatRequest(), body: undefined });
  const sf = String(req.headers['signature-input']).replace('"@target-uri"', '"@target-uri" "content-type";sf');
  await rejects(v, { ...req, headers: { ...req.headers, 'signature-input': sf } }, 'component_parameter_unsupported');
  const withStatus = String(req.headers['signature-input']).replace('"@target-uri"', '"@target-uri" "@status"');
  await rejects(v, { ...req, headers: { ...req.headers, 'signature-input': withStatus } }, 'component_unsupported');
  const dup = String(req.headers['signature-input']).replace('"@target-uri"', '"@target-uri" "@method"');
  await rejects(v, { ...req, headers: { ...req.headers, 'signature-input': dup } }, 'component_duplicated');
  const missing = String(req.headers['signature-input']).replace('"@target-uri"', '"@target-uri" "x-tenant"');
  await rejects(v, { ...req, headers: { ...req.headers, 'signature-input': missing } }, 'component_missing');
});

test('the nonce store is bounded and fails closed when full of live nonces', async () => {
  const clock = new FixedClock(T0);
  const store = new MemoryNonceStore(2, clock);
  assert.equal(await store.checkAndRecord('a', 1000), true);
  assert.equal(await store.checkAndRecord('a', 1000), false);
  assert.equal(await store.checkAndRecord('b', 1000), true);
  await assert.rejects(store.checkAndRecord('c', 1000), (e: unknown) => e instanceof FailClosed && e.code === 'replay_cache_full');
  clock.advance(1001);
  assert.equal(await store.checkAndRecord('c', 1000), true);
  assert.equal(store.size, 1);
  assert.equal(await store.checkAndRecord('a', 1000), true); // expired nonces are forgotten
});

test('client registration refuses weak or mismatched keys', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  const p = { ...pipeline };
  assert.throws(() => new HttpSignatureVerifier({ clients: [{ keyId: 'k', publicKey: rsa1024, alg: 'rsa-pss-sha512', principal: p }] }), IdentityConfigError);
  assert.throws(() => new HttpSignatureVerifier({ clients: [{ keyId: 'k', publicKey: ed.publicKey, alg: 'ecdsa-p256-sha256', principal: p }] }), IdentityConfigError);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  assert.throws(() => new HttpSignatureVerifier({ clients: [{ keyId: 'k', publicKey: p384, principal: p }] }), IdentityConfigError);
  assert.throws(() => new HttpSignatureVerifier({ clients: [{ keyId: 'k', publicKey: ed.publicKey, principal: p }, { keyId: 'k', publicKey: ec.publicKey, principal: p }] }), IdentityConfigError);
});

test('end to end over real HTTP: fetch signs, a node:http server verifies headersDistinct + raw body', async () => {
  const v = verifier({}, { now: () => Date.now() });
  const server = http.createServer((req, res) => void (async () => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const p = await v.verify({ method: req.method!, targetUri: `https://gw.acme.example${req.url}`, headers: req.headersDistinct, body: Buffer.concat(chunks) });
      res.end(JSON.stringify({ id: p.id }));
    } catch (e) {
      res.statusCode = (e as InvalidRequestSignature).status ?? 500;
      res.end(JSON.stringify({ reason: (e as InvalidRequestSignature).reason }));
    }
  })());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    const body = '{"model":"llama-3","messages":[]}';
    const headers = { 'content-type': 'application/json' };
    const fields = signRequest({ method: 'POST', targetUri: 'https://gw.acme.example/v1/chat/completions', headers, body: Buffer.from(body) }, { keyId: 'pipeline-ed', privateKey: ed.privateKey, alg: 'ed25519' });
    const ok = await fetch(url, { method: 'POST', headers: { ...headers, ...fields }, body });
    assert.deepEqual([ok.status, await ok.json()], [200, { id: 'pipeline-7' }]);
    const replay = await fetch(url, { method: 'POST', headers: { ...headers, ...fields }, body });
    assert.deepEqual([replay.status, await replay.json()], [401, { reason: 'nonce_replayed' }]);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
