// The real OpenSSF model-signing bundles (sigstore/model-transparency scripts/tests), verified with
// the published signing key. See test/fixtures/SOURCES.md and crypto_vectors/model_signing/VERIFICATION_RESULTS.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBundle } from '../../../src/workload/signing/bundle.js';
import { ModelManifestMismatch, ModelSignatureInvalid } from '../../../src/workload/signing/errors.js';
import { loadPublicKey } from '../../../src/workload/signing/keys.js';
import { verifyModel } from '../../../src/workload/signing/verify-model.js';
import { testdata } from '../../helpers/testdata.js';

const root = testdata('crypto_vectors/model_signing');
const key = loadPublicKey(readFileSync(join(root, 'keys/certificate/signing-key-pub.pem')));
const expected = JSON.parse(readFileSync(join(root, 'VERIFICATION_RESULTS.json'), 'utf8')) as Record<string, { subject_digest: { sha256: string } }>;
const bundleOf = (dir: string) => parseBundle(readFileSync(join(root, dir, 'model.sig')));

// v1.0.1+ directories hold an `ignore-me` file that the signer excluded with --ignore-paths.
const ignoreFor = (dir: string) => (/^v1\.0\.1|^v1\.1\.0/.test(dir) ? ['ignore-me'] : []);

for (const dir of ['v1.0.1-elliptic-key', 'v1.1.0-elliptic-key', 'v0.3.1-certificate', 'v1.0.0-certificate', 'v1.0.1-certificate', 'v1.1.0-certificate']) {
  test(`${dir}: the real bundle verifies and every file digest matches`, async () => {
    const r = await verifyModel(join(root, dir), bundleOf(dir), key, { ignorePaths: ignoreFor(dir) });
    assert.equal(r.modelDigest, `sha256:${expected[`${dir}/model.sig`]!.subject_digest.sha256}`);
    assert.equal(r.algorithm, 'ecdsa-p384');
    assert.equal(r.files, 2);
  });
}

for (const dir of ['v0.3.1-elliptic-key', 'v1.0.0-elliptic-key']) {
  test(`${dir}: a single-file model (resource ".") verifies against the file`, async () => {
    const r = await verifyModel(join(root, dir, 'signme-1'), bundleOf(dir), key, { signaturePath: join(root, dir, 'model.sig') });
    assert.equal(r.modelDigest, `sha256:${expected[`${dir}/model.sig`]!.subject_digest.sha256}`);
    assert.equal(r.files, 1);
  });
}

test('v1.0.1-elliptic-key without --ignore-paths: the unsigned file is named', async () => {
  await assert.rejects(verifyModel(join(root, 'v1.0.1-elliptic-key'), bundleOf('v1.0.1-elliptic-key'), key), (e: unknown) => {
    assert.ok(e instanceof ModelManifestMismatch);
    assert.deepEqual(e.added, ['ignore-me']);
    assert.match(e.message, /ignore-me/);
    return true;
  });
});

for (const dir of ['v1.0.0-sigstore', 'v1.1.0-sigstore']) {
  test(`${dir}: a bundle signed by another key (a Fulcio certificate) is refused under our key`, async () => {
    await assert.rejects(verifyModel(join(root, dir), bundleOf(dir), key, { ignorePaths: ignoreFor(dir) }), ModelSignatureInvalid);
  });
}

test('v0.2.0-certificate (legacy format, does not verify under plain DSSE PAE) is refused', async () => {
  await assert.rejects(verifyModel(join(root, 'v0.2.0-certificate'), bundleOf('v0.2.0-certificate'), key), ModelSignatureInvalid);
});
