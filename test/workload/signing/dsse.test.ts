import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pae, parseEnvelope, signEnvelope, verifyEnvelope } from '../../../src/workload/signing/dsse.js';
import { ModelSignatureInvalid, SignatureBundleMalformed, UnsupportedKeyType } from '../../../src/workload/signing/errors.js';
import { ecdsaRawToDer, loadPublicKey, pemSigner, verifySignature } from '../../../src/workload/signing/keys.js';
import { testdata } from '../../helpers/testdata.js';

const vector = JSON.parse(readFileSync(testdata('crypto_vectors/dsse/dsse_spec_test_vector.json'), 'utf8'));

test('PAE matches the DSSE spec test vector byte for byte', () => {
  assert.equal(pae(vector.payload_type, Buffer.from(vector.serialized_body)).toString('utf8'), vector.pae);
});

test('the DSSE spec envelope verifies under the published P-256 key (raw r||s signature)', () => {
  const key = loadPublicKey(vector.key.public_key_pem);
  const payload = verifyEnvelope(parseEnvelope(vector.envelope), key, vector.payload_type);
  assert.equal(payload.toString(), 'hello world');
});

test('a changed payload, a swapped payloadType or another key fails the spec envelope', () => {
  const key = loadPublicKey(vector.key.public_key_pem);
  const env = parseEnvelope(vector.envelope);
  assert.throws(() => verifyEnvelope({ ...env, payload: Buffer.from('hello worle').toString('base64') }, key, vector.payload_type), ModelSignatureInvalid);
  assert.throws(() => verifyEnvelope({ ...env, payloadType: 'http://example.com/Other' }, key, 'http://example.com/Other'), ModelSignatureInvalid);
  assert.throws(() => verifyEnvelope(env, key, 'application/vnd.in-toto+json'), ModelSignatureInvalid);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  assert.throws(() => verifyEnvelope(env, other, vector.payload_type), ModelSignatureInvalid);
});

test('our signer reproduces a verifying envelope with the spec private key, DER-encoded', async () => {
  const signer = pemSigner(vector.key.private_key_pem);
  const env = await signEnvelope(vector.payload_type, Buffer.from('hello world'), signer);
  assert.equal(env.payload, vector.envelope.payload);
  const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
  assert.equal(sig[0], 0x30, 'ECDSA signatures are written as ASN.1 DER like Sigstore bundles');
  assert.equal(verifyEnvelope(env, signer.publicKey, vector.payload_type).toString(), 'hello world');
});

test('Ed25519 round trip, and a one-bit flip of the signature fails', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = pemSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const env = await signEnvelope('t', Buffer.from('{}'), signer);
  assert.equal(verifyEnvelope(env, signer.publicKey, 't').toString(), '{}');
  const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
  sig[5] = sig[5]! ^ 1;
  assert.throws(() => verifyEnvelope({ ...env, signatures: [{ sig: sig.toString('base64') }] }, signer.publicKey, 't'), ModelSignatureInvalid);
});

test('malformed envelopes and base64 are refused, not skipped', () => {
  const key = loadPublicKey(vector.key.public_key_pem);
  assert.throws(() => parseEnvelope({ payload: 'aGk=', payloadType: 't', signatures: [] }), SignatureBundleMalformed);
  assert.throws(() => parseEnvelope({ payloadType: 't', signatures: [{ sig: 'AA==' }] }), SignatureBundleMalformed);
  assert.throws(() => verifyEnvelope({ payload: 'aGVsbG8*d29ybGQ=', payloadType: vector.payload_type, signatures: vector.envelope.signatures }, key, vector.payload_type), SignatureBundleMalformed);
  // Non-canonical trailing bits ("aGk=" vs "aGl="): Buffer.from would accept both silently.
  assert.throws(() => verifyEnvelope({ payload: 'aGl=', payloadType: 't', signatures: vector.envelope.signatures }, key, 't'), SignatureBundleMalformed);
});

test('RSA and unknown-curve keys are refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => pemSigner(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })), UnsupportedKeyType);
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  assert.throws(() => loadPublicKey(k1.publicKey.export({ type: 'spki', format: 'pem' })), UnsupportedKeyType);
  assert.throws(() => loadPublicKey('not a key'), UnsupportedKeyType);
});

test('raw r||s (as PKCS#11 returns it) converts to DER that verifies', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('x');
  // 40 signatures make leading-zero r or s (the padding edge of the conversion) likely to occur.
  for (let i = 0; i < 40; i++) {
    const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const der = ecdsaRawToDer(raw);
    assert.equal(der[0], 0x30);
    assert.ok(verifySignature(publicKey, data, der));
  }
});
