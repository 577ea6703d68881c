// Safetensors header validation (huggingface/safetensors README "Format"): u64 LE header size N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
// then the byte buffer. The tensors must tile the buffer exactly: no overlap, no gap, no trailing
// junk, each tensor exactly shape × dtype-size bytes. The reference loader refuses headers over 100 MB.
import type { ReadAt } from './region.js';
import { MalformedArtifact } from './types.js';

export const SAFETENSORS_MAX_HEADER = 100_000_000;

const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, I64: 64, U64: 64, F64: 64, C64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

export interface SafetensorsInfo {
  tensors: number;
  headerBytes: number;
  dataBytes: number;
  metadata: Record<string, string>;
}

const bad = (rule: string, m: string) => new MalformedArtifact(`safetensors.${rule}`, m);

/** Keys of a JSON object text in order, to catch duplicates that JSON.parse would silently merge. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < json.length) {
    const c = json[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < json.length && /\s/.test(json[k]!)) k++;
        if (json[k] === ':') keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return keys;
}

export async function checkSafetensors(fh: ReadAt, fileSize: number): Promise<SafetensorsInfo> {
  if (fileSize < 8) throw bad('truncated', 'file is shorter than the 8-byte header length');
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const n64 = lenBuf.readBigUInt64LE(0);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) throw bad('header_too_large', `header length ${n64} exceeds ${SAFETENSORS_MAX_HEADER}`);
  const n = Number(n64);
  if (8 + n > fileSize) throw bad('truncated', `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  const hb = Buffer.alloc(n);
  await fh.read(hb, 0, n, 8);
  if (hb[0] !== 0x7b) throw bad('header_not_json', 'header does not start with "{"');
  const text = hb.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(hb)) throw bad('header_not_utf8', 'header is not valid UTF-8');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw bad('header_not_json', `header is not JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header_not_json', 'header is not a JSON object');
  const keys = topLevelKeys(text);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw bad('duplicate_tensor', `tensor ${JSON.stringify(dup)} is declared twice`);

  const dataBytes = fileSize - 8 - n;
  let metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
        throw bad('bad_metadata', '__metadata__ must map strings to strings');
      }
      metadata = v as Record<string, string>;
      continue;
    }
    if (typeof v !== 'object' || v === null) throw bad('bad_tensor', `tensor ${name} is not an object`);
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bits = typeof t.dtype === 'string' ? DTYPE_BITS[t.dtype] : undefined;
    if (bits === undefined) throw bad('bad_dtype', `tensor ${name} has unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('bad_shape', `tensor ${name} has a bad shape`);
    const offs = t.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) throw bad('bad_offsets', `tensor ${name} has bad data_offsets`);
    const [begin, end] = offs as [number, number];
    if (end < begin) throw bad('bad_offsets', `tensor ${name} ends before it begins`);
    if (end > dataBytes) throw bad('out_of_bounds', `tensor ${name} ends at ${end}, past the ${dataBytes}-byte buffer`);
    const elements = (t.shape as number[]).reduce((a, d) => a * BigInt(d), 1n);
    const expected = elements * BigInt(bits);
    if (expected % 8n !== 0n || expected / 8n !== BigInt(end - begin)) {
      throw bad('size_mismatch', `tensor ${name}: shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${expected / 8n} bytes but data_offsets span ${end - begin}`);
    }
    spans.push({ name, begin, end });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin < cursor) throw bad('overlap', `tensor ${s.name} overlaps the previous tensor at byte ${s.begin}`);
    if (s.begin > cursor) throw bad('gap', `bytes ${cursor}..${s.begin} before tensor ${s.name} belong to no tensor`);
    cursor = s.end;
  }
  if (cursor !== dataBytes) throw bad('trailing_data', `${dataBytes - cursor} bytes after the last tensor belong to no tensor`);
  return { tensors: spans.length, headerBytes: n, dataBytes, metadata };
}
