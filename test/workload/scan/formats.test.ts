// Safetensors, GGUF and ONNX checks, each rule provoked by a file built in the test.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkGguf } from '../../../src/workload/scan/gguf.js';
import { checkExternalData, parseOnnx } from '../../../src/workload/scan/onnx.js';
import { checkSafetensors } from '../../../src/workload/scan/safetensors.js';
import { MalformedArtifact } from '../../../src/workload/scan/types.js';
import { gguf, onnxExternalTensor, onnxModel, pb, safetensors, type GgufTensor } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-formats-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
async function withFile<T>(data: Buffer, fn: (fh: Awaited<ReturnType<typeof open>>, size: number) => Promise<T>): Promise<T> {
  const p = join(tmp, `f${n++}`);
  writeFileSync(p, data);
  const fh = await open(p, 'r');
  try {
    return await fn(fh, data.length);
  } finally {
    await fh.close();
  }
}
const rule = (r: string) => (e: unknown) => e instanceof MalformedArtifact && e.rule === r;

// --- safetensors ---
const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('safetensors: a well-formed file passes', async () => {
  const info = await withFile(safetensors({ __metadata__: { format: 'pt' }, a: f32(0, 8), b: { dtype: 'BF16', shape: [2, 2], data_offsets: [8, 16] } }, 16), checkSafetensors);
  assert.equal(info.tensors, 2);
  assert.deepEqual(info.metadata, { format: 'pt' });
});

const stCases: [string, Buffer, string][] = [
  ['overlapping tensors', safetensors({ a: f32(0, 8), b: f32(4, 12) }, 12), 'safetensors.overlap'],
  ['a gap between tensors', safetensors({ a: f32(0, 4), b: f32(8, 12) }, 12), 'safetensors.gap'],
  ['trailing junk after the last tensor', safetensors({ a: f32(0, 8) }, 8, Buffer.from('junk')), 'safetensors.trailing_data'],
  ['a tensor past the end of the buffer', safetensors({ a: f32(0, 16) }, 8), 'safetensors.out_of_bounds'],
  ['shape that does not match the byte span', safetensors({ a: f32(0, 8, [3]) }, 8), 'safetensors.size_mismatch'],
  ['an unknown dtype', safetensors({ a: { dtype: 'PYOBJ', shape: [1], data_offsets: [0, 8] } }, 8), 'safetensors.bad_dtype'],
  ['negative offsets', safetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 8), 'safetensors.bad_offsets'],
  ['non-string metadata', safetensors({ __metadata__: { x: 1 }, a: f32(0, 4) }, 4), 'safetensors.bad_metadata'],
  ['a header length beyond the file', Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]), 'safetensors.truncated'],
  ['a header length over 100 MB', Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0x7b]), 'safetensors.header_too_large'],
  ['a header that is not JSON', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{abc')]), 'safetensors.header_not_json'],
];
for (const [label, data, r] of stCases) {
  test(`safetensors: ${label} is refused`, async () => {
    await assert.rejects(withFile(data, checkSafetensors), rule(r));
  });
}

test('safetensors: a tensor declared twice (JSON.parse would keep only one) is refused', async () => {
  const h = Buffer.from('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  await assert.rejects(withFile(Buffer.concat([len, h, Buffer.alloc(4)]), checkSafetensors), rule('safetensors.duplicate_tensor'));
});

// --- GGUF ---
const t = (name: string, offset: number, dims = [32], type = 0): GgufTensor => ({ name, dims, type, offset });

test('GGUF: a well-formed v3 file passes', async () => {
  const info = await withFile(gguf([['general.architecture', 'string', 'llama'], ['general.alignment', 'u32', 32]], [t('a', 0), t('b', 128, [64], 8)], 128 + 68), checkGguf);
  assert.deepEqual(info, { version: 3, tensors: 2, keys: 2, alignment: 32 });
});

const ggCases: [string, Buffer, string][] = [
  ['a tensor past the end of the file', gguf([], [t('a', 0, [1024])], 100), 'gguf.out_of_bounds'],
  ['a misaligned tensor offset', gguf([], [t('a', 4)], 200), 'gguf.misaligned'],
  ['overlapping tensors', gguf([], [t('a', 0, [64]), t('b', 128, [64])].map((x, i) => (i === 1 ? { ...x, offset: 32 } : x)), 512), 'gguf.overlap'],
  ['five dimensions', gguf([], [t('a', 0, [32, 1, 1, 1, 1])], 128), 'gguf.bad_tensor'],
  ['an unknown ggml type', gguf([], [t('a', 0, [32], 99)], 128), 'gguf.bad_tensor_type'],
  ['a duplicate metadata key', gguf([['k', 'string', 'a'], ['k', 'string', 'b']], [], 0), 'gguf.duplicate_key'],
  ['a duplicate tensor name', gguf([], [t('a', 0), t('a', 128)], 256), 'gguf.duplicate_tensor'],
  ['an unsupported version', gguf([], [], 0, { version: 7 }), 'gguf.bad_version'],
  ['a non-power-of-two alignment', gguf([['general.alignment', 'u32', 48]], [], 0), 'gguf.bad_alignment'],
  [
    'a chat template reaching Python internals (template injection)',
    gguf([['tokenizer.chat_template', 'string', "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}"]], [], 0),
    'gguf.chat_template_code',
  ],
];
for (const [label, data, r] of ggCases) {
  test(`GGUF: ${label} is refused`, async () => {
    await assert.rejects(withFile(data, checkGguf), rule(r));
  });
}

test('GGUF: a string length larger than the file is truncation, not a huge allocation', async () => {
  const good = gguf([['general.name', 'string', 'x']], [], 0);
  good.writeBigUInt64LE(0xffff_ffffn, 24 + 8 + 12 + 4);
  await assert.rejects(withFile(good, checkGguf), rule('gguf.truncated'));
});

// --- ONNX ---
const modelDir = join(tmp, 'onnx-model');
mkdirSync(join(modelDir, 'sub'), { recursive: true });
writeFileSync(join(modelDir, 'weights.bin'), Buffer.alloc(64));
const graphWith = (...tensors: Buffer[]) => Buffer.concat(tensors.map((x) => pb.bytes(5, x)));
const check = (model: Buffer, at = join(modelDir, 'model.onnx')) => checkExternalData(at, modelDir, parseOnnx(model).externalData);

test('ONNX: external data inside the model directory passes', async () => {
  await check(onnxModel(graphWith(onnxExternalTensor('w', 'weights.bin', 64))));
  await check(onnxModel(graphWith(onnxExternalTensor('w', 'weights.bin', 16))), join(modelDir, 'model.onnx'));
});

test('ONNX: ../ and absolute external-data paths are refused (even ../ that would land inside, as onnx.checker does)', async () => {
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', '../weights.bin'))), join(modelDir, 'sub', 'model.onnx')), rule('onnx.external_data_escape'));
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', '../../../../etc/passwd')))), rule('onnx.external_data_escape'));
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', '/etc/passwd')))), rule('onnx.external_data_escape'));
});

test('ONNX: a symlink used as external data is refused', async () => {
  symlinkSync('/etc/hostname', join(modelDir, 'link.bin'));
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', 'link.bin')))), rule('onnx.external_data_escape'));
});

test('ONNX: escaping external data hidden in a subgraph attribute (If/Loop body) is found', async () => {
  const inner = graphWith(onnxExternalTensor('w', '../secret'));
  const attr = Buffer.concat([pb.bytes(1, 'then_branch'), pb.bytes(6, inner)]);
  const node = Buffer.concat([pb.bytes(4, 'If'), pb.bytes(5, attr)]);
  await assert.rejects(check(onnxModel(pb.bytes(1, node))), rule('onnx.external_data_escape'));
});

test('ONNX: missing external files, out-of-range lengths, no ir_version and garbage are refused', async () => {
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', 'nope.bin')))), rule('onnx.external_data_missing'));
  await assert.rejects(check(onnxModel(graphWith(onnxExternalTensor('w', 'weights.bin', 65)))), rule('onnx.external_data_bounds'));
  assert.throws(() => parseOnnx(pb.bytes(7, Buffer.alloc(0))), rule('onnx.bad_ir_version'));
  assert.throws(() => parseOnnx(pb.varint(1, 8)), rule('onnx.bad_graph'));
  assert.throws(() => parseOnnx(Buffer.from([0x0a, 0xff, 0x01])), rule('onnx.malformed'));
});
