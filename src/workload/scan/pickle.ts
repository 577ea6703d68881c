// A pickle opcode-stream parser that never loads anything (Lib/pickletools.py is the reference for
// opcodes and their arguments, protocols 0-5). It runs a symbolic stack just far enough to know
// which globals the stream imports: STACK_GLOBAL takes module and name from the stack, so they must
// be string constants we can see, or the scan fails closed.
import { explainGlobal, normalizeGlobal, SAFE_GLOBALS } from './pickle-allowlist.js';
import { MalformedArtifact, type ScanIssue } from './types.js';

type Value = { s: string } | { mark: true } | { other: true };
const OTHER: Value = { other: true };
const MARK: Value = { mark: true };

export interface PickleParse {
  /** Offset just after the STOP opcode. */
  end: number;
  protocol: number;
  globals: string[];
}

export interface PickleScan {
  globals: string[];
  issues: ScanIssue[];
  /** How many pickles were parsed (PyTorch legacy files hold five in a row). */
  pickles: number;
}

const malformed = (m: string) => new MalformedArtifact('pickle.malformed', m);

/** Parses one pickle starting at `start`; throws MalformedArtifact on anything pickle.load would not accept. */
export function parsePickle(buf: Buffer, start = 0, maxProtocol = 5): PickleParse {
  let pos = start;
  let protocol = 0;
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  const globals: string[] = [];

  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) throw malformed(`truncated at offset ${pos} (needs ${n} more bytes)`);
  };
  const u8 = () => (need(1), buf[pos++]!);
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const i32 = () => (need(4), (pos += 4), buf.readInt32LE(pos - 4));
  const u64 = () => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`length ${v} at offset ${pos - 8} is impossible`);
    return Number(v);
  };
  const line = () => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw malformed(`unterminated text argument at offset ${pos}`);
    const s = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return s;
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const pop = (): Value => {
    const v = stack.pop();
    if (v === undefined) throw malformed(`stack underflow at offset ${pos}`);
    if ('mark' in v) throw malformed(`unexpected MARK consumed at offset ${pos}`);
    return v;
  };
  const popMark = () => {
    for (;;) {
      const v = stack.pop();
      if (v === undefined) throw malformed(`no MARK on the stack at offset ${pos}`);
      if ('mark' in v) return;
    }
  };
  const top = (): Value => {
    const v = stack[stack.length - 1];
    if (v === undefined || 'mark' in v) throw malformed(`empty stack at offset ${pos}`);
    return v;
  };
  const get = (i: number) => {
    const v = memo.get(i);
    if (v === undefined) throw malformed(`memo ${i} read before it was written (offset ${pos})`);
    stack.push(v);
  };
  const importGlobal = (module: string, name: string) => {
    globals.push(normalizeGlobal(module, name));
    stack.push(OTHER);
  };
  const decimal = (s: string) => {
    if (!/^-?\d+$/.test(s)) throw malformed(`bad integer ${JSON.stringify(s)} at offset ${pos}`);
    return Number(s);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x28: stack.push(MARK); break; // MARK
      case 0x2e: // STOP
        if (stack.length !== 1) throw malformed(`STOP at offset ${at} with ${stack.length} values on the stack`);
        return { end: pos, protocol, globals };
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x46: case 0x49: case 0x4c: line(); stack.push(OTHER); break; // FLOAT INT LONG
      case 0x4a: i32(); stack.push(OTHER); break; // BININT
      case 0x4b: u8(); stack.push(OTHER); break; // BININT1
      case 0x4d: u16(); stack.push(OTHER); break; // BININT2
      case 0x4e: case 0x88: case 0x89: case 0x7d: case 0x5d: case 0x29: case 0x8f: case 0x97: stack.push(OTHER); break; // NONE NEWTRUE NEWFALSE EMPTY_DICT EMPTY_LIST EMPTY_TUPLE EMPTY_SET NEXT_BUFFER
      case 0x50: line(); stack.push(OTHER); break; // PERSID
      case 0x51: pop(); stack.push(OTHER); break; // BINPERSID
      case 0x52: pop(); pop(); stack.push(OTHER); break; // REDUCE
      case 0x53: { // STRING (repr-quoted)
        const s = line();
        const m = /^(['"])(.*)\1$/s.exec(s);
        if (!m) throw malformed(`STRING argument not quoted at offset ${at}`);
        stack.push({ s: m[2]! });
        break;
      }
      case 0x54: { const n = i32(); if (n < 0) throw malformed(`negative BINSTRING length at ${at}`); stack.push({ s: bytes(n).toString('latin1') }); break; } // BINSTRING
      case 0x55: stack.push({ s: bytes(u8()).toString('latin1') }); break; // SHORT_BINSTRING
      case 0x56: stack.push({ s: line() }); break; // UNICODE (raw-unicode-escape; escapes kept literally, so a crafted escape never matches the allowlist)
      case 0x58: stack.push({ s: bytes(u32()).toString('utf8') }); break; // BINUNICODE
      case 0x8c: stack.push({ s: bytes(u8()).toString('utf8') }); break; // SHORT_BINUNICODE
      case 0x8d: stack.push({ s: bytes(u64()).toString('utf8') }); break; // BINUNICODE8
      case 0x42: bytes(u32()); stack.push(OTHER); break; // BINBYTES
      case 0x43: bytes(u8()); stack.push(OTHER); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: bytes(u64()); stack.push(OTHER); break; // BINBYTES8 BYTEARRAY8
      case 0x47: bytes(8); stack.push(OTHER); break; // BINFLOAT
      case 0x8a: bytes(u8()); stack.push(OTHER); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) throw malformed(`negative LONG4 length at ${at}`); bytes(n); stack.push(OTHER); break; } // LONG4
      case 0x61: pop(); top(); break; // APPEND
      case 0x62: pop(); top(); break; // BUILD
      case 0x65: case 0x75: case 0x90: popMark(); top(); break; // APPENDS SETITEMS ADDITEMS
      case 0x73: pop(); pop(); top(); break; // SETITEM
      case 0x63: { const module = line(); const name = line(); importGlobal(module, name); break; } // GLOBAL
      case 0x69: { const module = line(); const name = line(); popMark(); importGlobal(module, name); break; } // INST
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (!('s' in module) || !('s' in name)) throw new MalformedArtifact('pickle.unresolved_global', `STACK_GLOBAL at offset ${at} imports a name that is not a visible string constant`);
        importGlobal(module.s, name.s);
        break;
      }
      case 0x64: case 0x6c: case 0x74: case 0x6f: case 0x91: popMark(); stack.push(OTHER); break; // DICT LIST TUPLE OBJ FROZENSET
      case 0x85: pop(); stack.push(OTHER); break; // TUPLE1
      case 0x86: pop(); pop(); stack.push(OTHER); break; // TUPLE2
      case 0x87: pop(); pop(); pop(); stack.push(OTHER); break; // TUPLE3
      case 0x81: pop(); pop(); stack.push(OTHER); break; // NEWOBJ
      case 0x92: pop(); pop(); pop(); stack.push(OTHER); break; // NEWOBJ_EX
      case 0x98: pop(); stack.push(OTHER); break; // READONLY_BUFFER
      case 0x67: get(decimal(line())); break; // GET
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x70: memo.set(decimal(line()), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x95: u64(); break; // FRAME (a length hint only)
      case 0x80: { // PROTO
        protocol = u8();
        if (protocol > maxProtocol) throw malformed(`unsupported pickle protocol ${protocol}`);
        break;
      }
      // EXT1/2/4 look a callable up in copyreg's extension registry: a global we cannot see.
      case 0x82: case 0x83: case 0x84:
        throw new MalformedArtifact('pickle.extension_code', `EXT opcode at offset ${at} imports a callable through the extension registry`);
      default:
        throw malformed(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}

/** PyTorch's legacy (non-zip) format starts with this magic number pickled as a LONG1 (torch/serialization.py MAGIC_NUMBER). */
export const TORCH_LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

/**
 * Scans a pickle file. Every pickle that a loader reads is parsed: one for a plain pickle, five for
 * a legacy PyTorch file (magic, protocol, sys info, the object, storage keys; raw tensor bytes follow).
 * Bytes after the last pickle of a plain pickle are refused: nothing legitimate puts them there.
 */
export function isTorchLegacy(head: Buffer): boolean {
  return head.subarray(0, TORCH_LEGACY_MAGIC.length).equals(TORCH_LEGACY_MAGIC);
}

export function scanPickle(buf: Buffer, file: string, extraAllowed: ReadonlySet<string> = new Set()): PickleScan {
  const issues: ScanIssue[] = [];
  const globals: string[] = [];
  const legacyTorch = isTorchLegacy(buf);
  let pos = 0;
  let pickles = 0;
  try {
    do {
      const p = parsePickle(buf, pos);
      globals.push(...p.globals);
      pos = p.end;
      pickles++;
    } while (legacyTorch ? pickles < 5 : pos < buf.length && buf[pos] === 0x80);
    if (!legacyTorch && pos < buf.length) {
      issues.push({ file, rule: 'pickle.trailing_data', severity: 'medium', reason: `${buf.length - pos} bytes follow the last pickle at offset ${pos}` });
    }
  } catch (e) {
    if (!(e instanceof MalformedArtifact)) throw e;
    issues.push({ file, rule: e.rule, severity: e.rule === 'pickle.malformed' ? 'medium' : 'critical', reason: e.message });
  }
  for (const g of new Set(globals)) {
    if (SAFE_GLOBALS.has(g) || extraAllowed.has(g)) continue;
    const { severity, reason } = explainGlobal(g);
    issues.push({ file, rule: 'pickle.unsafe_global', severity, reason });
  }
  return { globals: [...new Set(globals)], issues, pickles };
}
