import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scanModel } from '../../../src/workload/scan/scan-model.js';
import { gguf, pkl, safetensors, zip } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-scanmodel-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cleanModel(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'nested'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'model.safetensors'), safetensors({ w: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, 8));
  writeFileSync(join(dir, 'model.gguf'), gguf([['general.architecture', 'string', 'llama']], [{ name: 't', dims: [32], type: 1, offset: 0 }], 64));
  writeFileSync(join(dir, 'nested', 'pytorch_model.bin'), zip([{ name: 'archive/data.pkl', data: pkl('\x80\x02}.') }]));
  return dir;
}

test('a clean model directory scans ok, each file with its detected format', async () => {
  const r = await scanModel(cleanModel('clean'));
  assert.equal(r.ok, true, JSON.stringify(r.issues));
  assert.deepEqual(r.files.map((f) => [f.file, f.format]), [
    ['config.json', 'text'],
    ['model.gguf', 'gguf'],
    ['model.safetensors', 'safetensors'],
    ['nested/pytorch_model.bin', 'zip'],
  ]);
});

test('one bad file fails the whole scan and is named, wherever it hides', async () => {
  const dir = cleanModel('dirty');
  // A pickle renamed to an innocent extension is recognised by its magic bytes.
  writeFileSync(join(dir, 'nested', 'tokenizer.dat'), pkl('\x80\x04', '\x8c\x02os\x94\x8c\x06system\x94\x93\x8c\x02id\x85R.'));
  const r = await scanModel(dir);
  assert.equal(r.ok, false);
  assert.deepEqual(r.issues.map((i) => [i.file, i.rule]), [['nested/tokenizer.dat', 'pickle.unsafe_global']]);
});

test('symlinks in the model directory are issues; ignored paths are skipped', async () => {
  const dir = cleanModel('links');
  symlinkSync('/etc/passwd', join(dir, 'vocab.txt'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.git', 'evil.pkl'), pkl('cos\nsystem\n(tR.'));
  const r = await scanModel(dir, { ignorePaths: ['.git'] });
  assert.deepEqual(r.issues.map((i) => [i.file, i.rule]), [['vocab.txt', 'tree.symlink']]);
});

test('a single file can be scanned; a corrupt safetensors file fails', async () => {
  const p = join(tmp, 'broken.safetensors');
  writeFileSync(p, safetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }, 8));
  const r = await scanModel(p);
  assert.equal(r.ok, false);
  assert.equal(r.issues[0]!.file, 'broken.safetensors');
  assert.equal(r.issues[0]!.rule, 'safetensors.size_mismatch');
});

test('an oversize plain pickle fails closed instead of going unread', async () => {
  const p = join(tmp, 'big.pkl');
  writeFileSync(p, Buffer.concat([pkl('\x80\x02}.')]));
  const r = await scanModel(p, { maxPickleBytes: 2 });
  assert.equal(r.issues[0]!.rule, 'pickle.too_large');
});
