// Model-key release through the gateway: only a verified confidential deployment whose fresh evidence
// matches its reference values receives its key, wrapped to the key bound in that evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactDecrypt } from 'jose';
import { testdata } from '../helpers/testdata.js';
import { startTestWarden } from '../helpers/warden.js';
import { createNitroPki, forgeNitroDocument, pcrValues } from './attestation/nitro-forge.js';

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');
const PCRS = pcrValues(0x31);

/** A Warden trusting the model-signing vector's signer and a generated Nitro root; `dir` is a copy of the signed model. */
async function startKeyReleaseWarden(configure: Parameters<typeof startTestWarden>[0] = () => {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'warden-keyrel-'));
  const dir = join(tmp, 'model');
  cpSync(VECTOR, dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const pki = await createNitroPki(Date.now());
  writeFileSync(join(tmp, 'root.pem'), pki.rootPem);
  const t = await startTestWarden((c) => {
    c.workload.trustedSigners = [SIGNER_PUB];
    c.workload.attestation.nitroRoots = [join(tmp, 'root.pem')];
    configure(c);
  });
  return { tmp, dir, pki, t };
}

test('challenge → evidence → JWE that only the enclave key opens; every refusal is provoked and recorded', async () => {
  const { tmp, dir, pki, t } = await startKeyReleaseWarden((c) => {
    c.limits.attestationUsedNonces = 5;
  });
  try {
    const adm = (path: string, body: unknown) => t.call('admin', 'POST', path, { key: t.adminKey, body });
    const referenceValues = Object.fromEntries(Object.entries(PCRS).map(([k, v]) => [`pcr${k}`, v.toString('hex')]));
    const reg = await adm('/admin/v1/models', { model: 'secret-llm', version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')), attestation: { type: 'nitro', referenceValues } });
    assert.equal(reg.status, 201, reg.text);
    const id = reg.json.id as string;
    const dataKey = randomBytes(32);
    assert.equal((await adm(`/admin/v1/models/${id}/key`, { key: dataKey.toString('base64url') })).status, 201);
    assert.equal((await adm(`/admin/v1/models/${id}/key`, { key: 'short' })).status, 400);

    const inf = (path: string, body: unknown) => t.call('inference', 'POST', path, { body });
    const challenge = async () => {
      const r = await inf('/v1/attestation/challenge', { deployment: id });
      assert.equal(r.status, 200, r.text);
      return r.json.nonce as string;
    };
    // Not verified yet: no key goes out.
    const early = await inf('/v1/attestation/challenge', { deployment: id });
    assert.equal(early.status, 403);
    assert.equal(early.json.error.code, 'deployment_not_verified');
    assert.equal((await adm(`/admin/v1/models/${id}/verify`, { path: dir })).status, 200);

    const enclave = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = enclave.publicKey.export({ format: 'der', type: 'spki' });
    const evidenceFor = async (nonce: string, o: { pcrs?: typeof PCRS; bind?: boolean } = {}) => ({
      type: 'nitro',
      document: (await forgeNitroDocument(pki, { timestamp: Date.now(), pcrs: o.pcrs ?? PCRS, nonce: Buffer.from(nonce, 'hex'), publicKey: o.bind === false ? null : spki })).toString('base64'),
    });

    const nonce = await challenge();
    const ok = await inf('/v1/attestation/key', { deployment: id, nonce, evidence: await evidenceFor(nonce) });
    assert.equal(ok.status, 200, ok.text);
    const { plaintext } = await compactDecrypt(ok.json.jwe as string, enclave.privateKey);
    assert.deepEqual(Buffer.from(plaintext), dataKey);

    const replay = await inf('/v1/attestation/key', { deployment: id, nonce, evidence: await evidenceFor(nonce) });
    assert.equal(replay.status, 403);
    assert.equal(replay.json.error.code, 'invalid_challenge');
    // A nonce Warden did not issue (right length, no valid MAC), or one issued for another deployment.
    const forged = await inf('/v1/attestation/key', { deployment: id, nonce: randomBytes(56).toString('hex'), evidence: await evidenceFor(nonce) });
    assert.equal(forged.status, 403);
    assert.equal(forged.json.error.code, 'invalid_challenge');
    const n2 = await challenge();
    const wrongPcr = await inf('/v1/attestation/key', { deployment: id, nonce: n2, evidence: await evidenceFor(n2, { pcrs: { ...PCRS, 0: Buffer.alloc(48, 0xee) } }) });
    assert.equal(wrongPcr.json.error.code, 'attestation_measurement_mismatch');
    const n3 = await challenge();
    const otherNonce = await inf('/v1/attestation/key', { deployment: id, nonce: n3, evidence: await evidenceFor(randomBytes(32).toString('hex')) });
    assert.match(otherNonce.json.error.code, /nonce/);
    const n4 = await challenge();
    const unbound = await inf('/v1/attestation/key', { deployment: id, nonce: n4, evidence: await evidenceFor(n4, { bind: false }) });
    assert.equal(unbound.status, 403);
    assert.equal(unbound.json.error.code, 'key_release_no_bound_key');
    assert.equal((await inf('/v1/attestation/challenge', { deployment: 'nope' })).status, 404);

    const released = t.audits().filter((a) => a.action === 'attest.key_release');
    assert.deepEqual(released.map((a) => a.decision), ['allow', 'deny', 'deny', 'error', 'error', 'deny']);
    // Used nonces are remembered until they expire, in a bounded table (limits.attestationUsedNonces, 5 here;
    // four are used above): past it, key requests get 503 and the nonce is not spent.
    const n5 = await challenge();
    assert.equal((await inf('/v1/attestation/key', { deployment: id, nonce: n5, evidence: await evidenceFor(n5) })).status, 200);
    const n6 = await challenge();
    const full = await inf('/v1/attestation/key', { deployment: id, nonce: n6, evidence: await evidenceFor(n6) });
    assert.equal(full.status, 503);
    assert.equal(full.json.error.code, 'too_many_challenges');
    assert.ok(t.audits().some((a) => a.action === 'model.key.set'));
  } finally {
    await t.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the attestation endpoints answer before any credential, so each source address is rate-limited (429, in the ledger)', async () => {
  const t = await startTestWarden((c) => {
    c.limits.attestationPerSource = { requestsPerSecond: 0.01, burst: 3 };
  });
  try {
    const inf = (path: string) => t.call('inference', 'POST', path, { body: { deployment: 'dep_unknown' } });
    for (let i = 0; i < 3; i++) assert.equal((await inf('/v1/attestation/challenge')).status, 404);
    const limited = await inf('/v1/attestation/challenge');
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await inf('/v1/attestation/key')).status, 429, 'one budget for both endpoints');
    const entries = t.audits().filter((a) => String(a.action).startsWith('attest.') && a.errorCode === 'rate_limited');
    assert.equal(entries.length, 2);
    // Authenticated inference traffic from the same address is not affected.
    const { key } = await t.keyFor('carol', ['*'], ['chat']);
    assert.equal((await t.call('inference', 'GET', '/v1/models', { key })).status, 200);
  } finally {
    await t.stop();
  }
});

// Issue 21: a debug-mode Nitro enclave (PCR0-2 zero) got the model key of a deployment whose reference pinned
// only PCR3. Storing a key for a reference that pins no image measurement is refused (and recorded), and a
// debug-mode document is refused at release whatever the reference pins.
test('no model key for a reference without an image measurement; a debug-mode enclave is refused at release', async () => {
  const { tmp, dir, pki, t } = await startKeyReleaseWarden();
  try {
    const adm = (path: string, body: unknown) => t.call('admin', 'POST', path, { key: t.adminKey, body });
    const hex = (b: Buffer) => b.toString('hex');
    const zero = Buffer.alloc(48);
    const pcr3 = Buffer.alloc(48, 0x33);
    const register = async (version: string, referenceValues: Record<string, string>) => {
      const reg = await adm('/admin/v1/models', { model: 'secret-llm', version, upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')), attestation: { type: 'nitro', referenceValues } });
      assert.equal(reg.status, 201, reg.text);
      return reg.json.id as string;
    };
    const setKey = (id: string) => adm(`/admin/v1/models/${id}/key`, { key: randomBytes(32).toString('base64url') });
    const keySetRefusals = () => t.audits().filter((a) => a.action === 'model.key.set' && a.decision === 'deny');

    // Only PCR3 (the IAM role): any image running under the role would match it.
    const roleOnly = await register('1', { pcr3: hex(pcr3) });
    const refusedRole = await setKey(roleOnly);
    assert.equal(refusedRole.status, 403, refusedRole.text);
    assert.equal(refusedRole.json.error.code, 'key_release_reference_unmeasured');
    assert.match(refusedRole.json.error.message, /PCR0/);
    // PCR0 pinned to zeros with the debug opt-in: the value of a debug enclave, which measures no image.
    const debugRef = await register('2', { pcr0: hex(zero), pcr1: hex(zero), pcr2: hex(zero), pcr3: hex(pcr3), allowDebug: 'true' });
    const refusedDebug = await setKey(debugRef);
    assert.equal(refusedDebug.status, 403);
    assert.equal(refusedDebug.json.error.code, 'key_release_reference_unmeasured');
    assert.deepEqual(keySetRefusals().map((a) => [(a.resource as { id: string }).id, a.errorCode, a.status]), [
      [roleOnly, 'key_release_reference_unmeasured', 403],
      [debugRef, 'key_release_reference_unmeasured', 403],
    ]);
    // A deployment without attestation is refused the same way, and recorded.
    const plain = await adm('/admin/v1/models', { model: 'plain-llm', version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')) });
    assert.equal((await setKey(plain.json.id as string)).json.error.code, 'not_confidential');
    assert.equal((await setKey('no-such-deployment')).status, 404);
    assert.deepEqual(keySetRefusals().slice(2).map((a) => [a.errorCode, a.status]), [['not_confidential', 403], ['deployment_not_found', 404]]);

    // A production reference (PCR0-3): the key is stored; a debug-mode document is refused at release.
    const pcrs = { ...PCRS, 3: pcr3 };
    const id = await register('3', Object.fromEntries(Object.entries(pcrs).map(([k, v]) => [`pcr${k}`, hex(v)])));
    assert.equal((await setKey(id)).status, 201);
    assert.equal((await adm(`/admin/v1/models/${id}/verify`, { path: dir })).status, 200);
    const inf = (path: string, body: unknown) => t.call('inference', 'POST', path, { body });
    const spki = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
    const present = async (docPcrs: Record<number, Buffer>) => {
      const nonce = (await inf('/v1/attestation/challenge', { deployment: id })).json.nonce as string;
      const document = await forgeNitroDocument(pki, { timestamp: Date.now(), pcrs: docPcrs, nonce: Buffer.from(nonce, 'hex'), publicKey: spki });
      return inf('/v1/attestation/key', { deployment: id, nonce, evidence: { type: 'nitro', document: document.toString('base64') } });
    };
    const debug = await present({ 0: zero, 1: zero, 2: zero, 3: pcr3, 8: PCRS[8]! });
    assert.equal(debug.status, 503, debug.text);
    assert.equal(debug.json.error.code, 'attestation_policy_violation');
    assert.match(debug.json.error.message, /debug mode/);
    assert.equal((await present(pcrs)).status, 200);
    const releases = t.audits().filter((a) => a.action === 'attest.key_release');
    assert.deepEqual(releases.map((a) => [a.decision, a.errorCode ?? null]), [['error', 'attestation_policy_violation'], ['allow', null]]);
  } finally {
    await t.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
