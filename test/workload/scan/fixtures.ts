// Builders for crafted test artifacts. Every malicious file in the scan tests is assembled here
// byte by byte; nothing is downloaded and nothing is ever unpickled.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { scanModel, type ScanOptions } from '../../../src/workload/scan/scan-model.js';

/** Scans `data` saved as `name` alone in a fresh model directory (removed after the test file). */
export function modelScanner(prefix: string) {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  return async (name: string, data: Buffer, opts: ScanOptions = {}) => {
    const dir = join(tmp, `d${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, name), data);
    return scanModel(dir, opts);
  };
}

/** Pickle bytes from a readable mix of strings (latin1) and byte arrays. */
export function pkl(...parts: (string | number[] | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

/** SHORT_BINUNICODE of an ASCII string. */
export function shortUnicode(s: string): Buffer {
  return Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s, 'utf8')]);
}

/** BINUNICODE (4-byte length) of a string. */
export function binUnicode(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('X', 'latin1'), len, b]);
}

export interface ZipMember {
  name: string | Buffer;
  data: Buffer;
  /** Unix mode for the external attributes (e.g. 0o120777 for a symlink). */
  mode?: number;
  /** Name written in the local header, when it should differ from the central directory. */
  localName?: string;
  /** Deflate the data (method 8) instead of storing it. */
  deflate?: boolean;
  /** Uncompressed size written in the headers, when it should differ from the real one. */
  declaredSize?: number;
  /** Index of an earlier member: this central directory entry points at that member's local header and data (no bytes of its own). */
  sameDataAs?: number;
}

/** A zip (stored unless a member says deflate), written by hand so that malformed names and layouts are possible. */
export function zip(members: ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const written: { offset: number; crc: number; body: Buffer; size: number; method: number }[] = [];
  let offset = 0;
  for (const m of members) {
    const name = typeof m.name === 'string' ? Buffer.from(m.name, 'utf8') : m.name;
    const shared = m.sameDataAs !== undefined ? written[m.sameDataAs]! : undefined;
    const method = m.deflate ? 8 : 0;
    const body = shared?.body ?? (m.deflate ? deflateRawSync(m.data) : m.data);
    const crc = shared?.crc ?? crc32(m.data);
    const size = shared?.size ?? m.declaredSize ?? m.data.length;
    const at = shared?.offset ?? offset;
    if (!shared) {
      const localName = m.localName !== undefined ? Buffer.from(m.localName, 'utf8') : name;
      const lh = Buffer.alloc(30);
      lh.writeUInt32LE(0x04034b50, 0);
      lh.writeUInt16LE(20, 4);
      lh.writeUInt16LE(0x800, 6);
      lh.writeUInt16LE(method, 8);
      lh.writeUInt32LE(crc, 14);
      lh.writeUInt32LE(body.length, 18);
      lh.writeUInt32LE(size, 22);
      lh.writeUInt16LE(localName.length, 26);
      const local = Buffer.concat([lh, localName, body]);
      locals.push(local);
      offset += local.length;
    }
    written.push({ offset: at, crc, body, size, method: shared?.method ?? method });
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so external attrs carry a mode
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(shared?.method ?? method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(((m.mode ?? 0o100644) << 16) >>> 0, 38);
    ch.writeUInt32LE(at, 42);
    centrals.push(Buffer.concat([ch, name]));
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** One ustar header block plus data blocks. */
export function tarMember(name: string, data: Buffer, type = '0', link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export function tar(...members: Buffer[]): Buffer {
  return Buffer.concat([...members, Buffer.alloc(1024)]);
}

export function paxMember(records: Record<string, string>): Buffer {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
      return `${len}${rest}`;
    })
    .join('');
  return tarMember('PaxHeader', Buffer.from(body), 'x');
}

/** Safetensors file from a header object and a data length (data is zeros). */
export function safetensors(header: unknown, dataBytes: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(dataBytes), extra]);
}

// --- GGUF ---
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const gstr = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);

export type GgufKv = [key: string, type: 'string', value: string] | [key: string, type: 'u32', value: number];
export interface GgufTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

export function gguf(kvs: GgufKv[], tensors: GgufTensor[], dataBytes: number, opts: { version?: number; alignment?: number } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('GGUF', 'latin1'), u32(opts.version ?? 3), u64(tensors.length), u64(kvs.length)];
  for (const [k, t, v] of kvs) {
    parts.push(gstr(k));
    if (t === 'string') parts.push(u32(8), gstr(v as string));
    else parts.push(u32(4), u32(v as number));
  }
  for (const t of tensors) {
    parts.push(gstr(t.name), u32(t.dims.length), ...t.dims.map((d) => u64(d)), u32(t.type), u64(t.offset));
  }
  const head = Buffer.concat(parts);
  const align = opts.alignment ?? 32;
  const pad = Buffer.alloc((align - (head.length % align)) % align);
  return Buffer.concat([head, pad, Buffer.alloc(dataBytes)]);
}

// --- protobuf (ONNX) ---
function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
export const pb = {
  varint: (field: number, v: number) => Buffer.concat([varint((field << 3) | 0), varint(v)]),
  bytes: (field: number, v: Buffer | string) => {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
  },
};

/** TensorProto stored as external data. */
export function onnxExternalTensor(name: string, location: string, length?: number): Buffer {
  const entry = (k: string, v: string) => pb.bytes(13, Buffer.concat([pb.bytes(1, k), pb.bytes(2, v)]));
  return Buffer.concat([pb.bytes(8, name), pb.varint(14, 1), entry('location', location), ...(length !== undefined ? [entry('length', String(length))] : [])]);
}

export function onnxModel(graph: Buffer, irVersion = 8): Buffer {
  return Buffer.concat([pb.varint(1, irVersion), pb.bytes(7, graph)]);
}
