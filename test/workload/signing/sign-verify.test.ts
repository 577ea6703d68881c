import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseBundle, serializeBundle } from '../../../src/workload/signing/bundle.js';
import { ModelManifestMismatch, ModelSignatureInvalid, ModelTreeRefused } from '../../../src/workload/signing/errors.js';
import { hashFiles } from '../../../src/workload/signing/hash-pool.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { signModel, writeSignature } from '../../../src/workload/signing/sign-model.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/workload/signing/statement.js';
import { verifyModel } from '../../../src/workload/signing/verify-model.js';
import { listModelFiles } from '../../../src/workload/signing/walk.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-sign-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function makeModel(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'tokenizer'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{"hidden_size":8}');
  writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(4096, 7));
  writeFileSync(join(dir, 'tokenizer', 'vocab.txt'), 'a\nb\nc\n');
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

const keyOf = (type: 'ed25519' | 'P-256') => {
  const { privateKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return pemSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }));
};

for (const type of ['ed25519', 'P-256'] as const) {
  test(`sign then verify a model directory with ${type}; .git and model.sig are excluded`, async () => {
    const dir = makeModel(`ok-${type}`);
    const signer = keyOf(type);
    const signed = await signModel(dir, signer);
    await writeSignature(join(dir, 'model.sig'), signed.bundle);
    const bundle = parseBundle(readFileSync(join(dir, 'model.sig')));
    assert.equal(bundle.dsseEnvelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
    const r = await verifyModel(dir, bundle, signer.publicKey);
    assert.equal(r.modelDigest, signed.modelDigest);
    assert.deepEqual(r.manifest.entries.map((e) => e.name), ['config.json', 'model.safetensors', 'tokenizer/vocab.txt']);
    assert.equal(r.manifest.entries[1]!.sha256, createHash('sha256').update(Buffer.alloc(4096, 7)).digest('hex'));
  });
}

async function signedModel(name: string) {
  const dir = makeModel(name);
  const signer = keyOf('ed25519');
  const { bundle } = await signModel(dir, signer);
  return { dir, signer, bundle };
}

test('one changed byte fails and names the file', async () => {
  const { dir, signer, bundle } = await signedModel('tamper');
  const f = join(dir, 'model.safetensors');
  const b = readFileSync(f);
  b[100] = b[100]! ^ 1;
  writeFileSync(f, b);
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), (e: unknown) => e instanceof ModelManifestMismatch && e.changed.join() === 'model.safetensors' && /model\.safetensors/.test(e.message));
});

test('an added file fails and names it', async () => {
  const { dir, signer, bundle } = await signedModel('added');
  writeFileSync(join(dir, 'tokenizer', 'extra.py'), 'import os');
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), (e: unknown) => e instanceof ModelManifestMismatch && e.added.join() === 'tokenizer/extra.py');
});

test('a removed file fails and names it', async () => {
  const { dir, signer, bundle } = await signedModel('removed');
  rmSync(join(dir, 'config.json'));
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), (e: unknown) => e instanceof ModelManifestMismatch && e.removed.join() === 'config.json');
});

test('a renamed file fails and names both names', async () => {
  const { dir, signer, bundle } = await signedModel('renamed');
  renameSync(join(dir, 'config.json'), join(dir, 'config2.json'));
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), (e: unknown) => {
    assert.ok(e instanceof ModelManifestMismatch);
    assert.deepEqual(e.renamed, [{ from: 'config.json', to: 'config2.json' }]);
    assert.match(e.message, /config\.json -> config2\.json/);
    return true;
  });
});

test('appending to a file is a change, not a pass', async () => {
  const { dir, signer, bundle } = await signedModel('append');
  appendFileSync(join(dir, 'tokenizer', 'vocab.txt'), 'd\n');
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), ModelManifestMismatch);
});

test('the wrong key is refused before any file is read', async () => {
  const { dir, bundle } = await signedModel('wrongkey');
  await assert.rejects(verifyModel(dir, bundle, keyOf('ed25519').publicKey), ModelSignatureInvalid);
});

test('a rewritten manifest (payload swapped, old signature kept) is refused', async () => {
  const { dir, signer, bundle } = await signedModel('swap');
  const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
  st.predicate.resources.pop();
  const forged = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from(JSON.stringify(st)).toString('base64') } };
  await assert.rejects(verifyModel(dir, parseBundle(serializeBundle(forged)), signer.publicKey), ModelSignatureInvalid);
});

test('a symlink inside the model is refused when signing and when verifying', async () => {
  const { dir, signer, bundle } = await signedModel('symlink');
  symlinkSync('/etc/passwd', join(dir, 'weights.bin'));
  await assert.rejects(verifyModel(dir, bundle, signer.publicKey), (e: unknown) => e instanceof ModelTreeRefused && e.file === 'weights.bin');
  await assert.rejects(signModel(dir, signer), ModelTreeRefused);
});

test('worker-pool hashing gives the same digests as hashing inline', async () => {
  const dir = makeModel('pool');
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `shard-${i}.bin`), Buffer.alloc(300_000 + i, i));
  const files = await listModelFiles(dir, ['.git']);
  let progressed = 0;
  const pooled = await hashFiles(files, { inlineBelowBytes: 0, concurrency: 2, onProgress: (d) => (progressed = d) });
  const inline = await hashFiles(files, { inlineBelowBytes: Number.MAX_SAFE_INTEGER });
  assert.deepEqual([...pooled].sort(), [...inline].sort());
  assert.equal(progressed, files.reduce((s, f) => s + f.size, 0));
  for (const f of files) assert.equal(pooled.get(f.name), createHash('sha256').update(readFileSync(f.path)).digest('hex'));
});

test('a file that vanishes during hashing fails the whole manifest', async () => {
  const dir = makeModel('vanish');
  const files = await listModelFiles(dir, ['.git']);
  rmSync(join(dir, 'config.json'));
  await assert.rejects(hashFiles(files, { inlineBelowBytes: 0 }), /config\.json/);
});
