// A pickle opcode-stream parser that never loads anything (Lib/pickletools.py is the reference for
// opcodes and their arguments, protocols 0-5). It runs a symbolic stack just far enough to know
// which globals the stream imports: STACK_GLOBAL takes module and name from the stack, so they must
// be string constants we can see, or the scan fails closed.
//
// It reads through a ByteSource, so a pickle is parsed where it lies on disk: payloads of strings and
// bytes that no global can be named by are skipped, not read. `probePickle` decides by content whether
// a file is a pickle at all: protocol 0 and 1 pickles have no header, so every file is probed.
import { explainGlobal, normalizeGlobal, SAFE_GLOBALS } from './pickle-allowlist.js';
import { bufferSource, type ByteSource } from './region.js';
import { MalformedArtifact, type ScanIssue } from './types.js';

/** A visible string, a MARK, a string too long to read (it may still be a module name to Python), or anything else. */
type Value = { s: string } | { mark: true } | { longText: true } | { other: true };
const OTHER: Value = { other: true };
const LONG_TEXT: Value = { longText: true };
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

export interface ParseOptions {
  maxProtocol?: number;
  /** Every global is appended here as soon as it is imported, so the ones before a parse error survive it. */
  globals?: string[];
  /** Called when the stream would make the unpickler import something (GLOBAL, INST, STACK_GLOBAL, EXT). */
  onImport?: () => void;
  /** Accept STOP with more than one value on the stack, as pickle.load does (it returns the top one). */
  lenientStop?: boolean;
}

/** Strings longer than this are skipped, not read: no allowlisted global has a name anywhere near it. */
const MAX_VISIBLE_STRING = 64 * 1024;
/** Bounds on the symbolic state: a stream of one-byte pushes must not exhaust memory. */
const MAX_STACK = 1 << 22;
const MAX_MEMO = 1 << 22;

const malformed = (m: string) => new MalformedArtifact('pickle.malformed', m);
const tooComplex = (m: string) => new MalformedArtifact('pickle.too_complex', m);
/** What `__import__` could be handed: anything else raises before importing (ModuleNotFoundError, UnicodeDecodeError). */
const IMPORTABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses one pickle starting at `start`; throws MalformedArtifact on anything pickle.load would not accept. */
export function parsePickle(input: Buffer | ByteSource, start = 0, opts: ParseOptions = {}): PickleParse {
  const src = Buffer.isBuffer(input) ? bufferSource(input) : input;
  const maxProtocol = opts.maxProtocol ?? 5;
  let pos = start;
  let protocol = 0;
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  const globals: string[] = [];

  const need = (n: number) => {
    if (n < 0 || pos + n > src.length) throw malformed(`truncated at offset ${pos} (needs ${n} more bytes)`);
  };
  const u8 = () => (need(1), src.read(pos++, 1)[0]!);
  const u16 = () => (need(2), (pos += 2), src.read(pos - 2, 2).readUInt16LE(0));
  const u32 = () => (need(4), (pos += 4), src.read(pos - 4, 4).readUInt32LE(0));
  const i32 = () => (need(4), (pos += 4), src.read(pos - 4, 4).readInt32LE(0));
  const u64 = () => {
    need(8);
    const v = src.read(pos, 8).readBigUInt64LE(0);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`length ${v} at offset ${pos - 8} is impossible`);
    return Number(v);
  };
  /** A text argument up to its newline; null when it is too long to be worth reading (it can name nothing allowed). */
  const line = (): string | null => {
    const nl = src.indexOf(0x0a, pos);
    if (nl < 0) throw malformed(`unterminated text argument at offset ${pos}`);
    const s = nl - pos <= MAX_VISIBLE_STRING ? src.read(pos, nl - pos).toString('latin1') : null;
    pos = nl + 1;
    return s;
  };
  const skip = (n: number) => {
    need(n);
    pos += n;
  };
  const text = (n: number, encoding: BufferEncoding): Value => {
    need(n);
    const v = n <= MAX_VISIBLE_STRING ? { s: src.read(pos, n).toString(encoding) } : LONG_TEXT;
    pos += n;
    return v;
  };
  const push = (v: Value) => {
    if (stack.length >= MAX_STACK) throw tooComplex(`more than ${MAX_STACK} values on the stack at offset ${pos}`);
    stack.push(v);
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
    push(v);
  };
  const put = (i: number) => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) throw tooComplex(`more than ${MAX_MEMO} memo entries at offset ${pos}`);
    memo.set(i, top());
  };
  const importGlobal = (module: string | null, name: string | null) => {
    // A name too long to read is still an import: it is recorded as one that no allowlist entry can match.
    const g = normalizeGlobal(module ?? '<overlong module name>', name ?? '<overlong name>');
    globals.push(g);
    opts.globals?.push(g);
    push(OTHER);
  };
  const importing = (module: string | null, name: string | null) => {
    if (module !== null && name !== null && IMPORTABLE.test(module) && IMPORTABLE.test(name)) opts.onImport?.();
  };
  // Python's int() accepts surrounding whitespace, a sign and digit-group underscores.
  const decimal = (s: string | null) => {
    if (s === null || !/^\s*[+-]?\d+(_\d+)*\s*$/.test(s)) throw malformed(`bad integer at offset ${pos}`);
    return Number(s.replace(/_/g, ''));
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x28: push(MARK); break; // MARK
      case 0x2e: // STOP
        if (stack.length !== 1 && !(opts.lenientStop && stack.length > 0 && !('mark' in stack[stack.length - 1]!)))
          throw malformed(`STOP at offset ${at} with ${stack.length} values on the stack`);
        return { end: pos, protocol, globals };
      case 0x30: if (stack.pop() === undefined) throw malformed(`stack underflow at offset ${at}`); break; // POP (pickle.load pops a MARK too)
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x46: case 0x49: case 0x4c: line(); push(OTHER); break; // FLOAT INT LONG
      case 0x4a: i32(); push(OTHER); break; // BININT
      case 0x4b: u8(); push(OTHER); break; // BININT1
      case 0x4d: u16(); push(OTHER); break; // BININT2
      case 0x4e: case 0x88: case 0x89: case 0x7d: case 0x5d: case 0x29: case 0x8f: case 0x97: push(OTHER); break; // NONE NEWTRUE NEWFALSE EMPTY_DICT EMPTY_LIST EMPTY_TUPLE EMPTY_SET NEXT_BUFFER
      case 0x50: line(); push(OTHER); break; // PERSID
      case 0x51: pop(); push(OTHER); break; // BINPERSID
      case 0x52: pop(); pop(); push(OTHER); break; // REDUCE
      case 0x53: { // STRING (repr-quoted)
        const s = line();
        if (s === null) { push(LONG_TEXT); break; }
        const m = /^(['"])(.*)\1$/s.exec(s);
        if (!m) throw malformed(`STRING argument not quoted at offset ${at}`);
        push({ s: m[2]! });
        break;
      }
      case 0x54: { const n = i32(); if (n < 0) throw malformed(`negative BINSTRING length at ${at}`); push(text(n, 'latin1')); break; } // BINSTRING
      case 0x55: push(text(u8(), 'latin1')); break; // SHORT_BINSTRING
      case 0x56: { const s = line(); push(s === null ? LONG_TEXT : { s }); break; } // UNICODE (raw-unicode-escape; escapes kept literally, so a crafted escape never matches the allowlist)
      case 0x58: push(text(u32(), 'utf8')); break; // BINUNICODE
      case 0x8c: push(text(u8(), 'utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64(), 'utf8')); break; // BINUNICODE8
      case 0x42: skip(u32()); push(OTHER); break; // BINBYTES
      case 0x43: skip(u8()); push(OTHER); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: skip(u64()); push(OTHER); break; // BINBYTES8 BYTEARRAY8
      case 0x47: skip(8); push(OTHER); break; // BINFLOAT
      case 0x8a: skip(u8()); push(OTHER); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) throw malformed(`negative LONG4 length at ${at}`); skip(n); push(OTHER); break; } // LONG4
      case 0x61: pop(); top(); break; // APPEND
      case 0x62: pop(); top(); break; // BUILD
      case 0x65: case 0x75: case 0x90: popMark(); top(); break; // APPENDS SETITEMS ADDITEMS
      case 0x73: pop(); pop(); top(); break; // SETITEM
      // pickle.load imports at GLOBAL and INST before anything else can fail (INST pops its MARK afterwards).
      case 0x63: { const module = line(); const name = line(); importing(module, name); importGlobal(module, name); break; } // GLOBAL
      case 0x69: { const module = line(); const name = line(); importing(module, name); popMark(); importGlobal(module, name); break; } // INST
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        // pickle.load imports only when both are str (else "STACK_GLOBAL requires str"); a string too long to read counts.
        const importable = (v: Value) => ('s' in v && IMPORTABLE.test(v.s)) || 'longText' in v;
        if (importable(module) && importable(name)) opts.onImport?.();
        if (!('s' in module) || !('s' in name)) throw new MalformedArtifact('pickle.unresolved_global', `STACK_GLOBAL at offset ${at} imports a name that is not a visible string constant`);
        importGlobal(module.s, name.s);
        break;
      }
      case 0x64: case 0x6c: case 0x74: case 0x6f: case 0x91: popMark(); push(OTHER); break; // DICT LIST TUPLE OBJ FROZENSET
      case 0x85: pop(); push(OTHER); break; // TUPLE1
      case 0x86: pop(); pop(); push(OTHER); break; // TUPLE2
      case 0x87: pop(); pop(); pop(); push(OTHER); break; // TUPLE3
      case 0x81: pop(); pop(); push(OTHER); break; // NEWOBJ
      case 0x92: pop(); pop(); pop(); push(OTHER); break; // NEWOBJ_EX
      case 0x98: pop(); push(OTHER); break; // READONLY_BUFFER
      case 0x67: get(decimal(line())); break; // GET
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x70: put(decimal(line())); break; // PUT
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x95: u64(); break; // FRAME (a length hint only)
      case 0x80: { // PROTO
        protocol = u8();
        if (protocol > maxProtocol) throw malformed(`unsupported pickle protocol ${protocol}`);
        break;
      }
      // EXT1/2/4 look a callable up in copyreg's extension registry: a global we cannot see.
      // (Python ships no registered extension codes, so for the probe this is not an import.)
      case 0x82: case 0x83: case 0x84:
        throw new MalformedArtifact('pickle.extension_code', `EXT opcode at offset ${at} imports a callable through the extension registry`);
      default:
        throw malformed(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}

/** PyTorch's legacy (non-zip) format starts with this magic number pickled as a LONG1 (torch/serialization.py MAGIC_NUMBER). */
export const TORCH_LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

export function isTorchLegacy(head: Buffer): boolean {
  return head.subarray(0, TORCH_LEGACY_MAGIC.length).equals(TORCH_LEGACY_MAGIC);
}

/** A file of more pickles than this is not parsed further (each is at least two bytes: "N."). */
const MAX_PICKLES = 1 << 20;

/**
 * Would a loader running these bytes as pickles run anything? Pickles are read one after another
 * (legacy PyTorch files hold five, joblib and hand-written loaders call pickle.load repeatedly), and
 * pickle.load runs each opcode as it reads it, so `os.system` followed by garbage has already run when
 * the garbage is reached. True when the stream imports something before it stops parsing, or when the
 * whole file parses as pickles (plain data: scanned as a pickle, which it is). False when parsing stops
 * before any import: then no loader can run anything these bytes name — raw tensor bytes that happen to
 * begin with "N." are not a pickle worth the name.
 */
export function probePickle(src: ByteSource): boolean {
  let imports = 0;
  let pos = 0;
  const legacy = isTorchLegacy(src.read(0, Math.min(src.length, TORCH_LEGACY_MAGIC.length)));
  try {
    for (let count = 1; ; count++) {
      pos = parsePickle(src, pos, { lenientStop: true, onImport: () => imports++ }).end;
      if (imports > 0 || pos >= src.length || (legacy && count === 5)) return true;
      if (count >= MAX_PICKLES) return true; // undecided is a pickle
    }
  } catch (e) {
    if (!(e instanceof MalformedArtifact)) throw e;
    // Bounds we impose (too_complex) are not errors pickle.load would raise: undecided is a pickle.
    return e.rule === 'pickle.too_complex' || imports > 0;
  }
}

export interface PickleScanOptions {
  extraAllowed?: ReadonlySet<string>;
  /**
   * The bytes after the leading pickles belong to another format (a polyglot: a tar, GGUF, safetensors…
   * file that is also a pickle). Where the pickles stop parsing is not an issue; the other format's
   * checker judges those bytes.
   */
  allowTrailing?: boolean;
}

/**
 * Scans a pickle file: every pickle a loader could read in a row is parsed, and every global imported
 * on the way — also by a pickle that then breaks off — is judged against the allowlist. A legacy PyTorch
 * file is five pickles followed by raw tensor bytes, which are not parsed. Otherwise, bytes after the
 * last pickle are refused: nothing legitimate puts them there.
 */
export function scanPickle(input: Buffer | ByteSource, file: string, opts: ReadonlySet<string> | PickleScanOptions = {}): PickleScan {
  const { extraAllowed = new Set<string>(), allowTrailing = false } = opts instanceof Set ? { extraAllowed: opts } : (opts as PickleScanOptions);
  const src = Buffer.isBuffer(input) ? bufferSource(input) : input;
  const issues: ScanIssue[] = [];
  const globals: string[] = [];
  const legacyTorch = isTorchLegacy(src.read(0, Math.min(src.length, TORCH_LEGACY_MAGIC.length)));
  let pos = 0;
  let pickles = 0;
  try {
    do {
      if (pickles >= MAX_PICKLES) throw new MalformedArtifact('pickle.too_complex', `more than ${MAX_PICKLES} pickles in a row`);
      const at = pos;
      try {
        // Globals are collected as they are imported: those before a parse error are judged too.
        pos = parsePickle(src, pos, { globals }).end;
      } catch (e) {
        // Past the first pickle, bytes that do not parse are trailing data (or, in a polyglot, the other format).
        if (pickles > 0 && e instanceof MalformedArtifact && e.rule === 'pickle.malformed') {
          if (!allowTrailing) issues.push({ file, rule: 'pickle.trailing_data', severity: 'medium', reason: `${src.length - at} bytes follow the last pickle at offset ${at}` });
          break;
        }
        throw e;
      }
      pickles++;
    } while (legacyTorch ? pickles < 5 : pos < src.length);
  } catch (e) {
    if (!(e instanceof MalformedArtifact)) throw e;
    if (!(allowTrailing && e.rule === 'pickle.malformed')) {
      const severity = e.rule === 'pickle.malformed' ? 'medium' : e.rule === 'pickle.too_complex' ? 'high' : 'critical';
      issues.push({ file, rule: e.rule, severity, reason: e.message });
    }
  }
  for (const g of new Set(globals)) {
    if (SAFE_GLOBALS.has(g) || extraAllowed.has(g)) continue;
    const { severity, reason } = explainGlobal(g);
    issues.push({ file, rule: 'pickle.unsafe_global', severity, reason });
  }
  return { globals: [...new Set(globals)], issues, pickles };
}
