// GGUF metadata sanity (ggml docs/gguf.md): magic, version, bounded counts and string lengths, known
// value and tensor types, at most 4 dims, unique keys and tensor names, aligned tensor offsets that
// stay inside the file and do not overlap. Also the chat template: a Jinja template is code for the
// serving runtime (llama-cpp-python CVE-2024-34359), so sandbox-escape idioms fail the scan.
import type { ReadAt } from './region.js';
import { MalformedArtifact } from './types.js';

const MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_HEADER_READ = 256 * 1024 * 1024;
const MAX_COUNT = 1 << 24;
const GGML_MAX_DIMS = 4;
const GGML_MAX_NAME = 64;

/** ggml_type → [elements per block, bytes per block] (ggml.c type_traits). */
const GGML_TYPES: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82],
  23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 29: [256, 56], 30: [1, 2],
  34: [256, 54], 35: [256, 66], 39: [32, 17],
};

/** Jinja sandbox-escape idioms: attribute walks to Python internals. */
const TEMPLATE_ESCAPES = /__(class|mro|subclasses|globals|builtins|import|init|base|bases|getattribute|dict)__|\bos\.(system|popen)|\bpopen\b|\beval\s*\(|\bexec\s*\(/;

export interface GgufInfo {
  version: number;
  tensors: number;
  keys: number;
  alignment: number;
}

const bad = (rule: string, m: string) => new MalformedArtifact(`gguf.${rule}`, m);

export async function checkGguf(fh: ReadAt, fileSize: number): Promise<GgufInfo> {
  const window = Math.min(fileSize, MAX_HEADER_READ);
  const buf = Buffer.alloc(window);
  await fh.read(buf, 0, window, 0);
  let pos = 0;
  const need = (n: number) => {
    if (n < 0 || pos + n > window) {
      throw window < fileSize ? bad('header_too_large', `metadata extends past the first ${MAX_HEADER_READ} bytes`) : bad('truncated', `truncated at offset ${pos}`);
    }
  };
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const u64 = () => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('bad_length', `value ${v} at offset ${pos - 8} is impossible`);
    return Number(v);
  };
  const str = () => {
    const n = u64();
    need(n);
    pos += n;
    return buf.toString('utf8', pos - n, pos);
  };
  const SCALAR: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number, depth: number): unknown => {
    if (type === 8) return str();
    const size = SCALAR[type];
    if (size !== undefined) {
      need(size);
      const at = pos;
      pos += size;
      if (type === 4) return buf.readUInt32LE(at);
      if (type === 7 && buf[at]! > 1) throw bad('bad_value', `bool at offset ${at} is neither 0 nor 1`);
      return undefined;
    }
    if (type === 9) {
      if (depth > 2) throw bad('bad_value', 'arrays nested too deeply');
      const inner = u32();
      const count = u64();
      const each = SCALAR[inner];
      if (each !== undefined) {
        need(count * each);
        pos += count * each;
        return undefined;
      }
      if (count > MAX_COUNT) throw bad('bad_length', `array of ${count} elements`);
      for (let i = 0; i < count; i++) value(inner, depth + 1);
      return undefined;
    }
    throw bad('bad_value_type', `unknown metadata value type ${type} at offset ${pos}`);
  };

  if (u32() !== MAGIC) throw bad('bad_magic', 'not a GGUF file');
  const version = u32();
  if (version !== 2 && version !== 3) throw bad('bad_version', `GGUF version ${version} is not supported (2 or 3)`);
  const tensorCount = u64();
  const kvCount = u64();
  if (tensorCount > MAX_COUNT || kvCount > MAX_COUNT) throw bad('bad_length', `implausible counts: ${tensorCount} tensors, ${kvCount} keys`);
  const keys = new Set<string>();
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    if (keys.has(key)) throw bad('duplicate_key', `metadata key ${key} appears twice`);
    keys.add(key);
    const type = u32();
    const v = value(type, 0);
    if (key === 'general.alignment') {
      if (type !== 4 || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) throw bad('bad_alignment', 'general.alignment must be a power-of-two uint32');
      alignment = v;
    }
    if (key.startsWith('tokenizer.chat_template') && typeof v === 'string' && TEMPLATE_ESCAPES.test(v)) {
      throw new MalformedArtifact('gguf.chat_template_code', `${key} reaches into Python internals (${TEMPLATE_ESCAPES.exec(v)![0]}), a template-injection payload`);
    }
  }
  const names = new Set<string>();
  const tensors: { name: string; offset: number; size: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    if (Buffer.byteLength(name) >= GGML_MAX_NAME) throw bad('bad_tensor', `tensor name ${JSON.stringify(name.slice(0, 80))} is too long`);
    if (names.has(name)) throw bad('duplicate_tensor', `tensor ${name} appears twice`);
    names.add(name);
    const nDims = u32();
    if (nDims < 1 || nDims > GGML_MAX_DIMS) throw bad('bad_tensor', `tensor ${name} has ${nDims} dims`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(u64());
    const type = u32();
    const traits = GGML_TYPES[type];
    if (!traits) throw bad('bad_tensor_type', `tensor ${name} has unknown ggml type ${type}`);
    const offset = u64();
    if (offset % alignment !== 0) throw bad('misaligned', `tensor ${name} offset ${offset} is not a multiple of ${alignment}`);
    if (dims[0]! % traits[0] !== 0) throw bad('bad_tensor', `tensor ${name} row of ${dims[0]} is not a multiple of the block size ${traits[0]}`);
    const elements = dims.reduce((a, d) => a * BigInt(d), 1n);
    const size = (elements / BigInt(traits[0])) * BigInt(traits[1]);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('bad_tensor', `tensor ${name} is impossibly large`);
    tensors.push({ name, offset, size: Number(size) });
  }
  const dataStart = Math.ceil(pos / alignment) * alignment;
  tensors.sort((a, b) => a.offset - b.offset);
  let cursor = 0;
  for (const t of tensors) {
    if (t.offset < cursor) throw bad('overlap', `tensor ${t.name} overlaps the previous tensor`);
    if (dataStart + t.offset + t.size > fileSize) throw bad('out_of_bounds', `tensor ${t.name} runs past the end of the file`);
    cursor = t.offset + t.size;
  }
  return { version, tensors: tensorCount, keys: kvCount, alignment };
}
