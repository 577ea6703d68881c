// Key release: the model key reaches only the key bound in verified, matching, fresh evidence; each
// refusal is provoked. Evidence is generated Nitro documents verified by the real verifier.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import { verifyEvidence } from '../../../src/workload/attestation/verify-evidence.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { TrustAnchors, VerifiedEvidence } from '../../../src/workload/attestation/types.js';
import { releaseModelKey } from '../../../src/workload/key-release.js';
import { imageMeasurementProblem } from '../../../src/workload/attestation/reference.js';
import type { ReferenceValues } from '../../../src/workload/attestation/types.js';
import { unwrapModelKey, wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { Keyring, KekUnavailable, LocalFileKek } from '../../../src/data/crypto/index.js';
import { tmpKeyring } from '../../helpers/keyring.js';
import { join } from 'node:path';
import {
  KeyReleaseEvidenceNotVerified,
  KeyReleaseEvidenceStale,
  KeyReleaseModelMismatch,
  KeyReleaseNoBoundKey,
  KeyReleaseReferenceMismatch,
  KeyReleaseReferenceUnmeasured,
  KeyReleaseUnsupportedKey,
  KeyUnwrapFailed,
} from '../../../src/workload/key-release-errors.js';
import { createNitroPki, forgeNitroDocument, pcrValues, referenceFor, type NitroPki } from './nitro-forge.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const MODEL = 'model:llama-guard@sha256:' + 'cd'.repeat(32);
const pcrs = pcrValues(0x41);
const reference = referenceFor(pcrs);
let pki: NitroPki;
let trust: TrustAnchors;
let keyring: Keyring;
let kekDir: string;
const dataKey = randomBytes(32);

// RSA key generation is the slow part of this file: two keys, made once.
let rsaA: { publicKey: KeyObject; privateKey: KeyObject };
let rsaB: { publicKey: KeyObject; privateKey: KeyObject };
const rsa2048 = (second = false) => (second ? rsaB : rsaA);

before(async () => {
  rsaA = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsaB = generateKeyPairSync('rsa', { modulusLength: 2048 });
  pki = await createNitroPki(T0);
  trust = createTrustAnchors({ nitroRootsPem: [pki.rootPem] });
  ({ keyring, dir: kekDir } = tmpKeyring());
});

async function attest(publicKey: Buffer | null): Promise<VerifiedEvidence> {
  const nonce = randomBytes(32);
  const document = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, publicKey });
  return verifyEvidence({ type: 'nitro', document }, reference, { nonce, now: T0, maxAgeMs: 60_000, trust });
}

function spki(k: KeyObject): Buffer {
  return k.export({ format: 'der', type: 'spki' }) as Buffer;
}

const release = async (v: VerifiedEvidence, o: Partial<{ now: number; modelId: string; keyring: Keyring; ref: ReferenceValues }> = {}) =>
  releaseModelKey(await wrapModelKey(keyring, { keyId: 'dk-1', modelId: MODEL, tenant: 'default' }, dataKey), v, o.ref ?? reference, {
    keyring: o.keyring ?? keyring,
    modelId: o.modelId ?? MODEL,
    now: o.now ?? T0 + 1000,
    maxEvidenceAgeMs: 60_000,
  });

for (const kind of ['rsa', 'ec-p384', 'x25519'] as const) {
  test(`released key opens only with the enclave's ${kind} private key`, async () => {
    const enclave =
      kind === 'rsa' ? rsa2048()
      : kind === 'ec-p384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
      : generateKeyPairSync('x25519');
    const v = await attest(spki(enclave.publicKey));
    const r = await release(v);
    assert.equal(r.alg, kind === 'rsa' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW');
    assert.ok(!r.jwe.includes(dataKey.toString('base64url')));
    const header = decodeProtectedHeader(r.jwe);
    assert.equal(header['warden.model'], MODEL);
    assert.equal(header['warden.attestation_nonce'], v.nonce);
    const { plaintext } = await compactDecrypt(r.jwe, enclave.privateKey);
    assert.ok(Buffer.from(plaintext).equals(dataKey));
    // Anyone else's key cannot open it.
    const other = kind === 'rsa' ? rsa2048(true) : kind === 'ec-p384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' }) : generateKeyPairSync('x25519');
    await assert.rejects(compactDecrypt(r.jwe, other.privateKey));
  });
}

test('an object that merely looks like verified evidence is refused', async () => {
  const enclave = rsa2048();
  const v = await attest(spki(enclave.publicKey));
  await assert.rejects(release({ ...v }), KeyReleaseEvidenceNotVerified);
  await assert.rejects(release(JSON.parse(JSON.stringify(v))), KeyReleaseEvidenceNotVerified);
});

test('evidence verified against other reference values is refused', async () => {
  const enclave = rsa2048();
  const v = await attest(spki(enclave.publicKey));
  await assert.rejects(release(v, { ref: referenceFor(pcrValues(0x51)) }), KeyReleaseReferenceMismatch);
  await assert.rejects(release(v, { ref: { type: 'nitro', pcrs: { '0': pcrs[0]!.toString('hex') } } }), KeyReleaseReferenceMismatch);
});

test('evidence verified too long ago is refused', async () => {
  const enclave = rsa2048();
  const v = await attest(spki(enclave.publicKey));
  await assert.rejects(release(v, { now: T0 + 61_000 }), KeyReleaseEvidenceStale);
  await assert.rejects(release(v, { now: T0 - 1 }), KeyReleaseEvidenceStale);
});

test('evidence binding no key, or a non-key blob like the real samples carry, gets nothing', async () => {
  await assert.rejects(release(await attest(null)), KeyReleaseNoBoundKey);
  await assert.rejects(release(await attest(Buffer.from('my super secret key'))), KeyReleaseNoBoundKey);
});

test('keys that cannot receive an encrypted key, or weak ones, are refused', async () => {
  await assert.rejects(release(await attest(spki(generateKeyPairSync('ed25519').publicKey))), KeyReleaseUnsupportedKey);
  await assert.rejects(release(await attest(spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey))), KeyReleaseUnsupportedKey);
  await assert.rejects(release(await attest(spki(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey))), KeyReleaseUnsupportedKey);
});

test("another model's key is not released to this deployment", async () => {
  const v = await attest(spki(rsa2048().publicKey));
  await assert.rejects(release(v, { modelId: 'model:other' }), KeyReleaseModelMismatch);
});

test('wrong KEK, tampered or relabeled envelopes do not open', async () => {
  const v = await attest(spki(rsa2048().publicKey));
  // Another KEK (not configured here): the key is unavailable, not guessed at.
  const other = new Keyring({ kek: LocalFileKek.open(join(kekDir, 'other-kek.bin'), { create: true }) });
  await assert.rejects(release(v, { keyring: other }), KekUnavailable);
  const w = await wrapModelKey(keyring, { keyId: 'dk-1', modelId: MODEL, tenant: 'default' }, dataKey);
  const ct = Buffer.from(w.wrapped, 'base64url');
  ct[ct.length - 1] = ct[ct.length - 1]! ^ 1;
  await assert.rejects(unwrapModelKey(keyring, { ...w, wrapped: ct.toString('base64url') }), KeyUnwrapFailed);
  // Moving the record to another model (and asking for that model) breaks the wrap context.
  const moved = { ...w, modelId: 'model:other' };
  await assert.rejects(releaseModelKey(moved, v, reference, { keyring, modelId: 'model:other', now: T0 + 1000, maxEvidenceAgeMs: 60_000 }), KeyUnwrapFailed);
  assert.ok((await unwrapModelKey(keyring, w)).equals(dataKey));
});

// Issue 21: a reference that pins no image measurement identifies no code; the key must not follow it.
test('a Nitro reference without PCR0 releases no key, though the evidence verifies against it', async () => {
  const nonce = randomBytes(32);
  const pcr8Only = { type: 'nitro' as const, pcrs: { '8': pcrs[8]!.toString('hex') } };
  const document = await forgeNitroDocument(pki, { timestamp: T0, pcrs, nonce, publicKey: spki(rsa2048().publicKey) });
  const v = await verifyEvidence({ type: 'nitro', document }, pcr8Only, { nonce, now: T0, maxAgeMs: 60_000, trust });
  await assert.rejects(release(v, { ref: pcr8Only }), (e: unknown) => e instanceof KeyReleaseReferenceUnmeasured && /PCR0/.test((e as Error).message));
});

test('a debug enclave admitted with allowDebug still gets no key (its PCR0 measures no image)', async () => {
  const nonce = randomBytes(32);
  const zero = Buffer.alloc(48);
  const debugPcrs = { 0: zero, 1: zero, 2: zero, 3: Buffer.alloc(48, 0x33) };
  const document = await forgeNitroDocument(pki, { timestamp: T0, pcrs: debugPcrs, nonce, publicKey: spki(rsa2048().publicKey) });
  const refs: ReferenceValues[] = [
    { type: 'nitro' as const, pcrs: { '3': debugPcrs[3].toString('hex') }, allowDebug: true },
    { type: 'nitro' as const, pcrs: { '0': zero.toString('hex'), '3': debugPcrs[3].toString('hex') }, allowDebug: true },
  ];
  for (const ref of refs) {
    const v = await verifyEvidence({ type: 'nitro', document }, ref, { nonce, now: T0, maxAgeMs: 60_000, trust });
    assert.equal(v.platform['debugMode'], true);
    await assert.rejects(release(v, { ref }), KeyReleaseReferenceUnmeasured);
  }
});

test('the image measurement each reference kind must pin for key release', () => {
  const hex48 = 'ab'.repeat(48);
  assert.equal(imageMeasurementProblem(reference), undefined);
  assert.match(imageMeasurementProblem({ type: 'nitro', pcrs: { '3': hex48 } })!, /PCR0/);
  assert.equal(imageMeasurementProblem({ type: 'sev-snp', measurement: hex48 }), undefined);
  assert.match(imageMeasurementProblem({ type: 'sev-snp', measurement: '00'.repeat(48) })!, /launch measurement/);
  assert.equal(imageMeasurementProblem({ type: 'tdx', mrtd: hex48 }), undefined);
  assert.match(imageMeasurementProblem({ type: 'tdx', mrtd: '00'.repeat(48) })!, /MRTD/);
  assert.equal(imageMeasurementProblem({ type: 'jwt', issuer: 'i', audience: 'a', claims: { 'submods.container.image_digest': 'sha256:00', hwmodel: 'GCP_AMD_SEV' } }), undefined);
  assert.match(imageMeasurementProblem({ type: 'jwt', issuer: 'i', audience: 'a', claims: { hwmodel: 'GCP_AMD_SEV', secboot: true } })!, /image-measurement claim/);
});
