// NumPy .npy (numpy/lib/format.py, format versions 1.0-3.0): magic, version, header length, then a
// Python dict literal {'descr': dtype, 'fortran_order': bool, 'shape': tuple}. An array whose dtype
// holds Python objects ('O', anywhere in a structured dtype) is stored as a pickle after the header,
// and np.load(allow_pickle=True) runs it: such arrays are refused outright, whatever the pickle says.
// .npz files are zips of .npy members and reach this check through the zip scanner.
import { MalformedArtifact } from './types.js';
import type { ReadAt } from './region.js';

export const NPY_MAGIC = Buffer.from('\x93NUMPY', 'latin1');
const MAX_HEADER = 1024 * 1024;
/** dtype kinds (numpy dtype.kind plus the '?' and 'a' spellings) that hold plain data. */
const DATA_KINDS = new Set(['b', '?', 'i', 'u', 'f', 'c', 'm', 'M', 'S', 'a', 'U', 'V']);

const bad = (rule: string, m: string) => new MalformedArtifact(`npy.${rule}`, m);

type Literal = string | number | boolean | Literal[] | { [k: string]: Literal };

/** The Python literal subset numpy writes (repr of a dict of str, bool, int, tuple, list). */
function parseLiteral(text: string): Literal {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (depth: number): Literal => {
    if (depth > 32) throw bad('malformed', 'header nested too deeply');
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw bad('malformed', 'unterminated string in header');
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) throw bad('malformed', 'escaped string in header');
      i = end + 1;
      return s;
    }
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: Literal[] = [];
      const dict: Record<string, Literal> = {};
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i] !== ':' || typeof v !== 'string') throw bad('malformed', 'header dict keys must be strings');
          i++;
          if (Object.hasOwn(dict, v)) throw bad('malformed', `header key ${v} appears twice`);
          dict[v] = value(depth + 1);
        } else items.push(v);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw bad('malformed', `unexpected ${JSON.stringify(text[i] ?? 'end')} in header`);
      }
      return c === '{' ? dict : items;
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) throw bad('malformed', `unexpected ${JSON.stringify(text.slice(i, i + 10))} in header`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : Number(m[0].replace('L', ''));
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw bad('malformed', 'bytes after the header dict');
  return v;
}

/** Throws npy.object_dtype if any part of the dtype is an object; npy.malformed if it is not a dtype we know. */
function checkDescr(d: Literal, depth = 0): void {
  if (depth > 32) throw bad('malformed', 'dtype nested too deeply');
  if (typeof d === 'string') {
    const m = /^[<>|=]?([A-Za-z?])(\d*)(\[[^\]]*\])?$/.exec(d);
    if (!m) throw bad('malformed', `dtype ${JSON.stringify(d)} is not a NumPy type string`);
    if (m[1] === 'O') throw bad('object_dtype', `dtype ${JSON.stringify(d)} holds Python objects, which np.load reads with pickle (arbitrary code)`);
    if (!DATA_KINDS.has(m[1]!)) throw bad('malformed', `dtype ${JSON.stringify(d)} has an unknown kind`);
    return;
  }
  // Structured dtype: [(name, dtype) | (name, dtype, shape) | ((title, name), dtype, …), …]
  if (!Array.isArray(d) || d.length === 0) throw bad('malformed', 'descr is neither a type string nor a list of fields');
  for (const field of d) {
    if (!Array.isArray(field) || field.length < 2 || field.length > 3) throw bad('malformed', 'a structured dtype field is not (name, dtype[, shape])');
    checkDescr(field[1]!, depth + 1);
  }
}

export interface NpyInfo {
  version: number;
  descr: Literal;
  shape: number[];
  dataOffset: number;
}

export async function checkNpy(fh: ReadAt, fileSize: number): Promise<NpyInfo> {
  const pre = Buffer.alloc(12);
  const { bytesRead } = await fh.read(pre, 0, Math.min(12, fileSize), 0);
  if (bytesRead < 10 || !pre.subarray(0, 6).equals(NPY_MAGIC)) throw bad('truncated', 'not a .npy header');
  const major = pre[6]!;
  if (major < 1 || major > 3) throw bad('bad_version', `.npy format version ${major}.${pre[7]} is not 1, 2 or 3`);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytesRead < 8 + lenBytes) throw bad('truncated', 'truncated .npy header');
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (headerLen > MAX_HEADER) throw bad('header_too_large', `header of ${headerLen} bytes`);
  if (start + headerLen > fileSize) throw bad('truncated', 'header runs past the end of the file');
  const raw = Buffer.alloc(headerLen);
  await fh.read(raw, 0, headerLen, start);
  const text = raw.toString(major === 3 ? 'utf8' : 'latin1');
  if (!text.endsWith('\n')) throw bad('malformed', 'header does not end with a newline');
  const dict = parseLiteral(text.trimEnd());
  if (typeof dict !== 'object' || Array.isArray(dict)) throw bad('malformed', 'header is not a dict');
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw bad('malformed', `header keys are ${keys}, expected descr, fortran_order, shape`);
  checkDescr(dict.descr!);
  if (typeof dict.fortran_order !== 'boolean') throw bad('malformed', 'fortran_order is not a bool');
  const shape = dict.shape;
  if (!Array.isArray(shape) || shape.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)) throw bad('malformed', 'shape is not a tuple of non-negative integers');
  return { version: major, descr: dict.descr!, shape: shape as number[], dataOffset: start + headerLen };
}
