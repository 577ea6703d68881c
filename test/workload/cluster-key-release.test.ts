// Model-key release across replicas (two in-process Wardens on one PostgreSQL + Redis): a challenge issued by
// replica A is accepted by replica B, once; a nonce spent on B is refused on A; of parallel key requests with
// one nonce through both replicas exactly one gets the key. The model key is set through A only: it is stored
// in PostgreSQL wrapped under the KEK both replicas share, so B releases it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactDecrypt } from 'jose';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import { testdata } from '../helpers/testdata.js';
import type { TestWarden } from '../helpers/warden.js';
import { createNitroPki, forgeNitroDocument, pcrValues } from './attestation/nitro-forge.js';

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');
const PCRS = pcrValues(0x31);

test('a model key set through one replica is released by another, on a challenge either issued, once', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const pki = await createNitroPki(Date.now());
  let rootPem = '';
  const cl = await startTestCluster(2, (c) => {
    c.workload.trustedSigners = [SIGNER_PUB];
    rootPem = join(c.dataDir, 'nitro-root.pem');
    writeFileSync(rootPem, pki.rootPem);
    c.workload.attestation.nitroRoots = [rootPem];
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const model = join(cl.root, 'model');
  cpSync(VECTOR, model, { recursive: true });
  chmodSync(model, 0o755);
  for (const f of readdirSync(model)) chmodSync(join(model, f), 0o644);

  const adm = (r: TestWarden, path: string, body: unknown) => r.call('admin', 'POST', path, { key: cl.adminKey, body });
  const referenceValues = Object.fromEntries(Object.entries(PCRS).map(([k, v]) => [`pcr${k}`, v.toString('hex')]));
  const reg = await adm(a, '/admin/v1/models', { model: 'secret-llm', version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')), attestation: { type: 'nitro', referenceValues } });
  assert.equal(reg.status, 201, reg.text);
  const id = reg.json.id as string;
  assert.equal((await adm(a, `/admin/v1/models/${id}/verify`, { path: model })).status, 200);
  const dataKey = randomBytes(32);
  assert.equal((await adm(a, `/admin/v1/models/${id}/key`, { key: dataKey.toString('base64url') })).status, 201);

  const inf = (r: TestWarden, path: string, body: unknown) => r.call('inference', 'POST', path, { body });
  const challenge = async (r: TestWarden) => {
    const res = await inf(r, '/v1/attestation/challenge', { deployment: id });
    assert.equal(res.status, 200, res.text);
    return res.json.nonce as string;
  };
  const enclave = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = enclave.publicKey.export({ format: 'der', type: 'spki' });
  const keyRequest = async (r: TestWarden, nonce: string) => {
    const document = await forgeNitroDocument(pki, { timestamp: Date.now(), pcrs: PCRS, nonce: Buffer.from(nonce, 'hex'), publicKey: spki });
    return inf(r, '/v1/attestation/key', { deployment: id, nonce, evidence: { type: 'nitro', document: document.toString('base64') } });
  };

  // Issued by A, spent on B: the key goes out, wrapped to the enclave's key.
  const nonce = await challenge(a);
  const released = await keyRequest(b, nonce);
  assert.equal(released.status, 200, released.text);
  assert.deepEqual(Buffer.from((await compactDecrypt(released.json.jwe as string, enclave.privateKey)).plaintext), dataKey);
  // Spent on B: refused on A and on B.
  for (const r of [a, b]) {
    const replay = await keyRequest(r, nonce);
    assert.equal(replay.status, 403, replay.text);
    assert.equal(replay.json.error.code, 'invalid_challenge');
  }
  // One nonce, key requests through both replicas at once: exactly one gets the key.
  const contested = await challenge(b);
  const raced = await Promise.all([a, b, a, b].map((r) => keyRequest(r, contested)));
  assert.deepEqual(raced.map((r) => r.status).sort(), [200, 403, 403, 403], raced.map((r) => r.text).join('\n'));
  // Both replicas recorded what they did in the one log.
  const outcomes = [...a.audits(), ...b.audits()].filter((e) => e.action === 'attest.key_release').map((e) => e.decision);
  assert.equal(outcomes.filter((d) => d === 'allow').length, 2);
  assert.equal(outcomes.filter((d) => d === 'deny').length, 5);
});
