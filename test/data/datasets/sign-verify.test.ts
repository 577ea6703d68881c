// Signing a dataset as a data source and verifying it: the DSSE envelope holds an in-toto statement with the
// dataset metadata and per-shard record roots; a changed, added, removed or renamed file is named, and with
// the record sidecar so is the record; a wrong key, a tampered sidecar and bad metadata are refused.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DatasetManifestInvalid, DatasetManifestMismatch, RecordSidecarInvalid } from '../../../src/data/datasets/errors.js';
import { DATASET_MANIFEST_V1 } from '../../../src/data/datasets/manifest.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { verifyDataset } from '../../../src/data/datasets/verify-dataset.js';
import { ModelSignatureInvalid } from '../../../src/workload/signing/errors.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-dataset-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const source = pemSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
const other = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const META = { name: 'reviews', version: '1', source: 'acme-labeling', owner: 'data-team@acme', licence: 'CC-BY-4.0', classification: 'internal', categories: ['pii'], retention: 'P365D' };

let n = 0;
function makeDataset(): string {
  const dir = join(tmp, `ds${n++}`);
  mkdirSync(join(dir, 'shards'), { recursive: true });
  writeFileSync(join(dir, 'shards', 'train.jsonl'), Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `review number ${i}`, label: i % 3 === 0 ? 'neg' : 'pos' })).join('\n') + '\n');
  writeFileSync(join(dir, 'eval.csv'), 'text,label\n' + Array.from({ length: 20 }, (_, i) => `"eval, row ${i}",${i % 2}`).join('\n') + '\n');
  writeFileSync(join(dir, 'README.md'), '# reviews\n');
  return dir;
}

async function signed(dir: string) {
  const s = await signDataset(dir, META, source);
  writeFileSync(join(dir, 'dataset.sig'), JSON.stringify(s.bundle));
  writeFileSync(join(dir, 'dataset.records'), JSON.stringify(s.sidecar));
  return s;
}

const sidecarOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'dataset.records'), 'utf8')) as unknown;

test('sign: an in-toto statement in DSSE with metadata, file digests and record roots; verify passes on the same bytes', async () => {
  const dir = makeDataset();
  const s = await signed(dir);
  assert.deepEqual(s.files.map((f) => f.name), ['README.md', 'eval.csv', 'shards/train.jsonl']);
  assert.equal(s.records, 50 + 21);
  const st = JSON.parse(Buffer.from(s.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  assert.equal(st._type, 'https://in-toto.io/Statement/v1');
  assert.equal(st.predicateType, DATASET_MANIFEST_V1);
  assert.equal(st.predicate.dataset.classification, 'internal');
  assert.equal(`sha256:${st.subject[0].digest.sha256}`, s.digest);
  assert.deepEqual(st.predicate.resources.find((r: { name: string }) => r.name === 'shards/train.jsonl').records.count, 50);
  const v = await verifyDataset(dir, s.bundle, source.publicKey, { sidecar: sidecarOf(dir) });
  assert.equal(v.digest, s.digest);
  assert.equal(v.files, 3);
  assert.equal(v.records, 71);
});

test('verify names the changed record (a label flip) in a JSONL shard and in a CSV shard', async () => {
  const dir = makeDataset();
  const s = await signed(dir);
  const f = join(dir, 'shards', 'train.jsonl');
  writeFileSync(f, readFileSync(f, 'utf8').replace('{"text":"review number 17","label":"pos"}', '{"text":"review number 17","label":"neg"}'));
  const c = join(dir, 'eval.csv');
  writeFileSync(c, readFileSync(c, 'utf8').replace('"eval, row 4",0', '"eval, row 4",1'));
  await assert.rejects(verifyDataset(dir, s.bundle, source.publicKey, { sidecar: sidecarOf(dir) }), (e: unknown) => {
    assert.ok(e instanceof DatasetManifestMismatch);
    assert.deepEqual(e.changed, ['eval.csv', 'shards/train.jsonl']);
    assert.deepEqual(e.records, [
      { file: 'eval.csv', kind: 'changed', index: 5, line: 6 },
      { file: 'shards/train.jsonl', kind: 'changed', index: 17, line: 18 },
    ]);
    assert.match(e.message, /shards\/train\.jsonl record 17 changed \(line 18\)/);
    return true;
  });
  // Without the sidecar the file is still named, the record is not.
  await assert.rejects(verifyDataset(dir, s.bundle, source.publicKey), (e: unknown) => e instanceof DatasetManifestMismatch && e.records.length === 0 && e.changed.length === 2);
});

test('verify names added, removed and renamed files', async () => {
  const dir = makeDataset();
  const s = await signed(dir);
  writeFileSync(join(dir, 'extra.jsonl'), '{"text":"sneaked in"}\n');
  renameSync(join(dir, 'README.md'), join(dir, 'READ_ME.md'));
  unlinkSync(join(dir, 'eval.csv'));
  await assert.rejects(verifyDataset(dir, s.bundle, source.publicKey), (e: unknown) => {
    assert.ok(e instanceof DatasetManifestMismatch);
    assert.deepEqual(e.added, ['extra.jsonl']);
    assert.deepEqual(e.removed, ['eval.csv']);
    assert.deepEqual(e.renamed, [{ from: 'README.md', to: 'READ_ME.md' }]);
    return true;
  });
});

test('refusals: another key, a tampered sidecar, undeclared or invalid metadata', async () => {
  const dir = makeDataset();
  const s = await signed(dir);
  await assert.rejects(verifyDataset(dir, s.bundle, other.publicKey), ModelSignatureInvalid);
  // A sidecar that does not rebuild the signed root cannot be used to blame a record.
  const f = join(dir, 'shards', 'train.jsonl');
  writeFileSync(f, readFileSync(f, 'utf8').replace('review number 3"', 'review number 3 EDITED"'));
  const forged = sidecarOf(dir) as { files: Record<string, string> };
  const raw = Buffer.from(forged.files['shards/train.jsonl']!, 'base64');
  raw[0] = raw[0]! ^ 1;
  forged.files['shards/train.jsonl'] = raw.toString('base64');
  await assert.rejects(verifyDataset(dir, s.bundle, source.publicKey, { sidecar: forged }), RecordSidecarInvalid);
  await assert.rejects(signDataset(dir, { ...META, classification: 'top-secret' }, source), DatasetManifestInvalid);
  await assert.rejects(signDataset(dir, { ...META, licence: '' }, source), DatasetManifestInvalid);
  await assert.rejects(signDataset(dir, { ...META, retention: 'forever' }, source), DatasetManifestInvalid);
});

test('a single JSONL file is a dataset too; a directory under its signature is refused', async () => {
  const dir = makeDataset();
  const file = join(dir, 'shards', 'train.jsonl');
  const s = await signDataset(file, META, source);
  assert.equal(s.files[0]!.name, '.');
  assert.equal(s.records, 50);
  const v = await verifyDataset(file, s.bundle, source.publicKey, { sidecar: s.sidecar });
  assert.equal(v.records, 50);
  await assert.rejects(verifyDataset(join(dir, 'shards'), s.bundle, source.publicKey), DatasetManifestInvalid);
});

test('files above the inline threshold are hashed on the worker pool with progress, records on the same read', async () => {
  const dir = makeDataset();
  writeFileSync(join(dir, 'images.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
  let last = 0;
  const s = await signDataset(dir, META, source, { hash: { inlineBelowBytes: 0, concurrency: 2, onProgress: (d) => (last = d) } });
  assert.equal(last, s.bytes);
  const v = await verifyDataset(dir, s.bundle, source.publicKey, { hash: { inlineBelowBytes: 0 } });
  assert.equal(v.digest, s.digest);
});
