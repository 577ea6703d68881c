// RFC 9421 Appendix B and §2.4/§3.2 examples, verified byte for byte. The fixed `created`
// (1618884473) is checked against a clock set to that instant, so the freshness window stays on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDictionary } from 'structured-headers';
import { testdata } from '../../helpers/testdata.js';
import { FixedClock } from '../../../src/core/clock.js';
import { HttpSignatureVerifier, type SignatureClient } from '../../../src/identity/http-signature/verifier.js';
import { buildSignatureBase } from '../../../src/identity/http-signature/signature-base.js';
import type { HttpRequestParts } from '../../../src/identity/http-signature/request.js';
import type { SignatureAlgorithm } from '../../../src/identity/http-signature/algorithms.js';
import { InvalidRequestSignature } from '../../../src/identity/errors.js';

interface Vectors {
  keys: Record<string, { public_key_pem: string }>;
  messages: Record<string, string>;
  test_cases: { id: string; message: string; alg: string; keyid: string; signature_base: string; signature_input_header: string; signature_header: string }[];
  b4_transformations: { message: string; expected_valid: boolean }[];
}
const V = JSON.parse(readFileSync(testdata('crypto_vectors/rfc9421/rfc9421_vectors.json'), 'utf8')) as Vectors;

/** Parses an HTTP/1.1 request message from the RFC text (the examples use https). */
function parseMessage(text: string): HttpRequestParts {
  const [head, ...rest] = text.split('\n\n');
  const [requestLine, ...lines] = head!.split('\n');
  const [method, target] = requestLine!.split(' ');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  const len = headers['content-length'] ? Number(headers['content-length'][0]) : 0;
  const body = Buffer.from(rest.join('\n\n')).subarray(0, len);
  return { method: method!, targetUri: `https://${headers.host![0]}${target}`, headers, body };
}

const ALGS: Record<string, SignatureAlgorithm> = { ed25519: 'ed25519', 'ecdsa-p256-sha256': 'ecdsa-p256-sha256', 'rsa-pss-sha512': 'rsa-pss-sha512' };
const principal = { kind: 'service' as const, id: 'rfc-example', tenant: 'example', groups: [], scope: { models: ['*'], actions: ['*'] } };

function verifierFor(keyid: string, alg: SignatureAlgorithm, created = 1618884473): HttpSignatureVerifier {
  const client: SignatureClient = { keyId: keyid, publicKey: V.keys[keyid]!.public_key_pem, alg, principal };
  // The RFC examples cover neither @target-uri nor content-digest nor a nonce: this verifier
  // states exactly that relaxation; the production defaults are tested in verifier.test.ts.
  return new HttpSignatureVerifier({
    clients: [client],
    requiredComponents: [],
    requireContentDigest: false,
    requireNonce: false,
    clock: new FixedClock(created * 1000),
  });
}

const requestCases = V.test_cases.filter((c) => c.message === 'test-request' && ALGS[c.alg]);
assert.ok(requestCases.length >= 4, 'expected B.2.1, B.2.2, B.2.3 and B.2.6');

for (const c of requestCases) {
  test(`RFC 9421 ${c.id} (${c.alg}): signature base and signature verify`, async () => {
    const msg = parseMessage(V.messages['test-request']!);
    msg.headers['signature-input'] = c.signature_input_header;
    msg.headers['signature'] = c.signature_header;
    const label = c.signature_input_header.slice(0, c.signature_input_header.indexOf('='));
    const covered = parseDictionary(c.signature_input_header).get(label) as never;
    assert.equal(buildSignatureBase(covered, msg), c.signature_base);
    const r = await verifierFor(c.keyid, ALGS[c.alg]!).verifyDetailed(msg);
    assert.equal(r.keyId, c.keyid);
    assert.equal(r.label, label);
    assert.equal(r.principal.authn.method, 'http_signature');
  });

  test(`RFC 9421 ${c.id}: a changed covered component breaks the signature`, async () => {
    const msg = parseMessage(V.messages['test-request']!);
    msg.headers['signature'] = c.signature_header;
    // Every case covers @signature-params (B.2.1 covers nothing else), so tamper with a parameter.
    msg.headers['signature-input'] = c.signature_input_header.replace('created=1618884473', 'created=1618884472');
    await assert.rejects(verifierFor(c.keyid, ALGS[c.alg]!).verify(msg), (e: unknown) => e instanceof InvalidRequestSignature && e.reason === 'signature_invalid');
  });
}

test('RFC 9421 B.3: the TLS-terminating proxy signature (ecdsa-p256-sha256) verifies', async () => {
  const msg = parseMessage(readFileSync(testdata('crypto_vectors/rfc9421/B3_proxy_request_signed.http'), 'utf8'));
  const r = await verifierFor('test-key-ecc-p256', 'ecdsa-p256-sha256').verifyDetailed(msg);
  assert.deepEqual(r.covered, ['@path', '@query', '@method', '@authority', 'client-cert']);
});

test('RFC 9421 §3.2 sig1 (rsa-pss-sha512) verifies, including its RFC 9530 Content-Digest', async () => {
  const msg = parseMessage(readFileSync(testdata('crypto_vectors/rfc9421/24_signed_request_sig1.http'), 'utf8'));
  const v = verifierFor('test-key-rsa-pss', 'rsa-pss-sha512', 1618884475);
  await v.verify(msg);
  // Same request with one body byte changed: the digest no longer matches, before any signature math.
  msg.body = Buffer.from('{"hello": "World"}');
  await assert.rejects(v.verify(msg), (e: unknown) => e instanceof InvalidRequestSignature && e.reason === 'content_digest_mismatch');
});

V.b4_transformations.forEach((t, i) => {
  test(`RFC 9421 B.4 transformation ${i + 1}: ${t.expected_valid ? 'still verifies' : 'is rejected'}`, async () => {
    const v = verifierFor('test-key-ed25519', 'ed25519');
    const p = v.verify(parseMessage(t.message));
    if (t.expected_valid) await p;
    else await assert.rejects(p, (e: unknown) => e instanceof InvalidRequestSignature && e.reason === 'signature_invalid');
  });
});

test('the RFC examples are refused under Warden\'s default policy (no @target-uri, no nonce)', async () => {
  const msg = parseMessage(V.messages['B.4 first message'] ?? V.b4_transformations[0]!.message);
  const v = new HttpSignatureVerifier({
    clients: [{ keyId: 'test-key-ed25519', publicKey: V.keys['test-key-ed25519']!.public_key_pem, principal }],
    clock: new FixedClock(1618884473_000),
  });
  await assert.rejects(v.verify(msg), (e: unknown) => e instanceof InvalidRequestSignature && e.reason === 'required_component_not_covered');
});
