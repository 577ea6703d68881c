// `warden model scan DIR|FILE`: runs every format check over a model and collects the issues.
// A file's format is decided by its content, never by its name alone:
// - every file is first probed as a pickle (protocol 0 and 1 pickles have no header, and a loader
//   will unpickle a file whatever it is called); one that parses as a pickle is scanned as one —
//   also when it is at the same time a tar, GGUF, safetensors… file (a polyglot);
// - magic bytes then establish zip, gzip, tar (a valid header checksum), GGUF, NumPy .npy and
//   safetensors; ONNX (protobuf has no magic) is recognised by its extension and must then parse;
// - archives (zip, tar, gzip, nested in any order) are opened and every member is scanned the same
//   way, down to `maxArchiveDepth`, within a byte budget for what has to be decompressed and a limit on
//   how far any one compressed stream may expand (a bomb is refused at once, not inflated to the budget);
// - a file whose format cannot be established (not text, no known format) is reported, not passed.
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline as chain, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { checkGguf } from './gguf.js';
import { checkNpy, NPY_MAGIC } from './npy.js';
import { checkExternalData, parseOnnx } from './onnx.js';
import { isTorchLegacy, probePickle, scanPickle } from './pickle.js';
import { withFileSource, type ReadAt, type Region } from './region.js';
import { checkSafetensors } from './safetensors.js';
import { scanTar, tarChecksumValid } from './tar.js';
import { MalformedArtifact, SCANNER_VERSION, type FileScan, type ScanFormat, type ScanIssue, type ScanReport } from './types.js';
import { scanZip, type ArchiveHooks } from './zip.js';

export interface ScanOptions {
  /** Paths relative to the root that are not model content (e.g. `.git`, the signature file). */
  ignorePaths?: string[];
  /** Extra `module.name` globals a deployment trusts in pickles, beyond the built-in allowlist. */
  extraAllowedGlobals?: string[];
  /** Largest plain pickle parsed; larger fails closed. Default 512 MiB. (Legacy PyTorch files: only their leading pickles.) */
  maxPickleBytes?: number;
  /** Largest ONNX file parsed (protobuf caps a model at 2 GiB). */
  maxOnnxBytes?: number;
  /** How deep archives are opened: a member of a top-level archive is at depth 1. An archive deeper than this fails. Default 4. */
  maxArchiveDepth?: number;
  /** Bytes the whole scan may decompress (gzip, deflated zip members) into its private temp dir. Default 32 GiB. */
  maxDecompressedBytes?: number;
  /** Archive members the whole scan may open. Default 1,000,000. */
  maxArchiveMembers?: number;
  /**
   * How many times its compressed size a gzip stream or deflated zip member may expand to (past the first
   * MiB). Model weights barely compress and text about tenfold; deflate tops out near 1032:1, which is what
   * bombs use. Default 200.
   */
  maxExpansionRatio?: number;
}

const GIB = 1024 * 1024 * 1024;
/** Output below this is never judged by its expansion ratio (a small, very repetitive JSON file is no bomb). */
const RATIO_GRACE_BYTES = 1024 * 1024;

/** One scan's shared state: budget, temp dir and where issues go. */
export interface ScanContext {
  opts: ScanOptions;
  modelRoot: string;
  tmp?: string;
  tmpCount: number;
  decompressed: number;
  members: number;
  memberLimitReported: boolean;
}

const MAGIC = {
  zip: [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')],
  gzip: Buffer.from([0x1f, 0x8b]),
  gguf: Buffer.from('GGUF', 'latin1'),
  // Compressions Node cannot undo: recognised so that they are reported as unreadable, not as unknown.
  compressed: [
    ['bzip2', Buffer.from('BZh', 'latin1')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
    ['lz4', Buffer.from([0x04, 0x22, 0x4d, 0x18])],
    ['7z', Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])],
    ['rar', Buffer.from('Rar!\x1a\x07', 'latin1')],
  ] as const,
};

/** The format the magic bytes establish, if any (the pickle probe is separate). */
function detectByContent(head: Buffer, size: number): { format: ScanFormat; detail?: string } | undefined {
  const starts = (m: Buffer) => head.length >= m.length && head.subarray(0, m.length).equals(m);
  if (MAGIC.zip.some(starts)) return { format: 'zip' };
  if (starts(MAGIC.gzip)) return { format: 'gzip' };
  if (starts(MAGIC.gguf)) return { format: 'gguf' };
  if (starts(NPY_MAGIC)) return { format: 'npy' };
  for (const [detail, m] of MAGIC.compressed) if (starts(m)) return { format: 'compressed', detail };
  if (head.length >= 512 && tarChecksumValid(head.subarray(0, 512))) return { format: 'tar' };
  // safetensors: u64 header length, then the JSON header itself.
  if (head.length >= 10) {
    const n = head.readBigUInt64LE(0);
    if (n >= 2n && n <= BigInt(size - 8) && head[8] === 0x7b) return { format: 'safetensors' };
  }
  return undefined;
}

/** Formats that have no magic number, claimed by the name; the checker must then accept the content. */
function detectByName(name: string): ScanFormat | undefined {
  if (/\.safetensors$/i.test(name)) return 'safetensors';
  if (/\.gguf$/i.test(name)) return 'gguf';
  if (/\.onnx$/i.test(name)) return 'onnx';
  if (/\.npy$/i.test(name)) return 'npy';
  return undefined;
}

async function isText(region: Region): Promise<boolean> {
  if (region.length === 0) return true;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(region.path, { start: region.offset, end: region.offset + region.length - 1 })) {
      const b = chunk as Buffer;
      if (b.includes(0)) return false;
      decoder.decode(b, { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

function readAt(fh: FileHandle, region: Region): ReadAt {
  return {
    read: (buffer, offset, length, position) => {
      const n = Math.max(0, Math.min(length, region.length - position));
      return fh.read(buffer, offset, n, region.offset + position);
    },
  };
}

async function tempPath(ctx: ScanContext): Promise<string> {
  ctx.tmp ??= await mkdtemp(join(tmpdir(), 'warden-scan-'));
  return join(ctx.tmp, String(ctx.tmpCount++));
}

/** The refusal, if inflating `compressed` bytes into `expanded` would exceed the scan's budget or the expansion ratio. */
function expansionProblem(ctx: ScanContext, compressed: number, expanded: number): { rule: string; reason: string } | undefined {
  const budget = ctx.opts.maxDecompressedBytes ?? 32 * GIB;
  const ratio = ctx.opts.maxExpansionRatio ?? 200;
  if (expanded > RATIO_GRACE_BYTES && expanded > ratio * compressed)
    return { rule: 'archive.expansion_ratio', reason: `${compressed} compressed bytes expand to more than ${expanded} (over ${ratio}:1, maxExpansionRatio): a decompression bomb, refused` };
  if (ctx.decompressed + expanded > budget) return { rule: 'archive.too_large', reason: `decompressing more than ${budget} bytes (maxDecompressedBytes, the scan's budget; a decompression bomb?)` };
  return undefined;
}

/** Writes a stream to the scan's temp dir, failing as soon as the budget or the expansion ratio is exceeded (bombs). */
export async function spool(ctx: ScanContext, data: Readable, compressed: number): Promise<Region> {
  // The source may already be flowing into its own checks (yauzl's byte counter errors on a member that lies
  // about its size): an error raised while the temporary path is made must fail this member, not the process.
  let early: Error | undefined;
  const onEarlyError = (e: Error) => void (early ??= e);
  data.on('error', onEarlyError);
  let path: string;
  try {
    path = await tempPath(ctx);
  } finally {
    data.off('error', onEarlyError);
  }
  if (early) {
    data.destroy();
    throw early;
  }
  let length = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      length += chunk.length;
      const problem = expansionProblem(ctx, compressed, length);
      if (problem) return done(new ScanBudgetExceeded(problem.rule, problem.reason));
      done(null, chunk);
    },
    flush(done) {
      ctx.decompressed += length;
      done();
    },
  });
  await pipeline(data, meter, createWriteStream(path, { mode: 0o600 }));
  return { path, offset: 0, length };
}

class ScanBudgetExceeded extends Error {
  constructor(readonly rule: string, message: string) {
    super(message);
  }
}

function severityOf(e: MalformedArtifact): ScanIssue['severity'] {
  if (/escape|code|object_dtype/.test(e.rule)) return 'critical';
  if (e.rule.endsWith('malformed') || e.rule.endsWith('truncated')) return 'medium';
  return 'high';
}

interface RegionScan {
  format: ScanFormat;
  issues: ScanIssue[];
  globals: string[];
  alsoPickle: boolean;
}

/** Scans one file or archive member by its content; recurses into archives. */
async function scanRegion(region: Region, name: string, depth: number, ctx: ScanContext, onDisk?: string, rawTensors = false): Promise<RegionScan> {
  const { opts } = ctx;
  const out: RegionScan = { format: 'unknown', issues: [], globals: [], alsoPickle: false };
  const issue = (rule: string, severity: ScanIssue['severity'], reason: string, file = name) => out.issues.push({ file, rule, severity, reason });
  const extraAllowed = new Set(opts.extraAllowedGlobals ?? []);
  const fh = await open(region.path, 'r');
  try {
    const head = Buffer.alloc(Math.min(region.length, 4096));
    await fh.read(head, 0, head.length, region.offset);
    const isPickle = withFileSource(region, probePickle);
    const byContent = detectByContent(head, region.length);
    const byName = byContent || isPickle ? undefined : detectByName(name);
    out.format = byContent?.format ?? (isPickle ? 'pickle' : byName ?? (rawTensors ? 'tensor-data' : (await isText(region)) ? 'text' : 'unknown'));

    if (isPickle) {
      const polyglot = out.format !== 'pickle';
      const cap = opts.maxPickleBytes ?? 512 * 1024 * 1024;
      // A legacy PyTorch file is small pickles then raw tensor bytes: only the pickles are parsed.
      if (!polyglot && region.length > cap && !isTorchLegacy(head)) {
        issue('pickle.too_large', 'high', `pickle of ${region.length} bytes exceeds the ${cap}-byte scan limit`);
      } else {
        const p = withFileSource(region, (src) => scanPickle(src, name, { extraAllowed, allowTrailing: polyglot }));
        out.globals.push(...p.globals);
        out.issues.push(...p.issues);
        out.alsoPickle = polyglot;
      }
    }

    const member: ArchiveHooks = {
      admit: (where, count) => {
        const limit = opts.maxArchiveMembers ?? 1_000_000;
        const allowed = Math.max(0, Math.min(count, limit - ctx.members));
        ctx.members += allowed;
        if (allowed < count && !ctx.memberLimitReported) {
          ctx.memberLimitReported = true;
          issue('archive.too_many_members', 'high', `more than ${limit} archive members (maxArchiveMembers): the rest are not opened`, where);
        }
        return allowed;
      },
      visit: async (where, r, raw) => {
        const inner = await scanRegion(r, where, depth + 1, ctx, undefined, raw);
        out.issues.push(...inner.issues);
        out.globals.push(...inner.globals);
      },
      mayExpand: (where, compressed, declared) => {
        const problem = expansionProblem(ctx, compressed, declared);
        if (problem) issue(problem.rule, 'high', `declared: ${problem.reason}`, where);
        return problem === undefined;
      },
      extract: async (where, data, compressed) => {
        try {
          return await spool(ctx, data, compressed);
        } catch (e) {
          if (!(e instanceof ScanBudgetExceeded)) throw e;
          issue(e.rule, 'high', e.message, where);
          return undefined;
        }
      },
    };
    const maxDepth = opts.maxArchiveDepth ?? 4;
    const tooDeep = () => {
      if (depth < maxDepth) return false;
      issue('archive.too_deep', 'high', `archive nested ${depth} levels deep; the limit is ${maxDepth}, so its content is not scanned`);
      return true;
    };

    try {
      switch (out.format) {
        case 'pickle':
        case 'text':
        case 'tensor-data':
          break;
        case 'unknown':
          issue('format.unrecognized', 'medium', 'content matches no format Warden can check (not a pickle, archive, safetensors, GGUF, ONNX, NumPy or text file); remove it or list it in ignorePaths');
          break;
        case 'compressed':
          issue('archive.unsupported_compression', 'high', `${byContent!.detail} data cannot be decompressed here, so its content cannot be scanned`);
          break;
        case 'zip': {
          if (tooDeep()) break;
          // yauzl reads a whole file: a zip inside another archive is copied out first.
          const whole = onDisk !== undefined && region.offset === 0 ? onDisk : undefined;
          let zipPath = whole;
          if (!zipPath) {
            const r = await member.extract(name, createReadStream(region.path, { start: region.offset, end: region.offset + region.length - 1 }), region.length);
            if (!r) break;
            zipPath = r.path;
          }
          const z = await scanZip(zipPath, name, member);
          out.issues.push(...z.issues);
          break;
        }
        case 'tar': {
          if (tooDeep()) break;
          out.issues.push(...(await scanTar(region, name, member)).issues);
          break;
        }
        case 'gzip': {
          if (tooDeep()) break;
          const innerName = `${name}!${basename(name).replace(/\.tgz$/i, '.tar').replace(/\.gz$/i, '') || 'gunzipped'}`;
          let r: Region | undefined;
          try {
            // Chained (not piped) so that refusing the output closes the file and a read error reaches the scan.
            const gunzipped = chain(createReadStream(region.path, { start: region.offset, end: region.offset + region.length - 1 }), createGunzip(), () => {});
            r = await member.extract(innerName, gunzipped, region.length);
          } catch (e) {
            issue('archive.malformed', 'medium', `gzip data does not decompress: ${(e as Error).message}`);
            break;
          }
          if (r) {
            // The gunzipped content counts as one level of nesting (a .tar.gz's members are at depth 2).
            const inner = await scanRegion(r, innerName, depth + 1, ctx);
            out.issues.push(...inner.issues);
            out.globals.push(...inner.globals);
          }
          break;
        }
        case 'safetensors':
          await checkSafetensors(readAt(fh, region), region.length);
          break;
        case 'gguf':
          await checkGguf(readAt(fh, region), region.length);
          break;
        case 'npy':
          await checkNpy(readAt(fh, region), region.length);
          break;
        case 'onnx': {
          const cap = opts.maxOnnxBytes ?? 2 * GIB;
          if (region.length > cap) {
            issue('onnx.too_large', 'high', `ONNX file of ${region.length} bytes exceeds ${cap}`);
            break;
          }
          const buf = Buffer.alloc(region.length);
          await fh.read(buf, 0, region.length, region.offset);
          const refs = parseOnnx(buf).externalData;
          if (onDisk !== undefined) await checkExternalData(onDisk, ctx.modelRoot, refs);
          else if (refs.length > 0) issue('onnx.external_data_in_archive', 'high', 'an ONNX model inside an archive points at external data files, which cannot be checked where it lies');
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof MalformedArtifact)) throw e;
      issue(e.rule, severityOf(e), e.message);
    }
    return out;
  } finally {
    await fh.close();
  }
}

async function scanWithContext(path: string, name: string, ctx: ScanContext): Promise<FileScan> {
  const { size } = await lstat(path);
  const r = await scanRegion({ path, offset: 0, length: size }, name, 0, ctx, path);
  const result: FileScan = { file: name, format: r.format, bytes: size, issues: r.issues };
  if (r.globals.length > 0 || r.format === 'pickle') result.globals = [...new Set(r.globals)];
  if (r.alsoPickle) result.alsoPickle = true;
  return result;
}

async function withContext<T>(modelRoot: string, opts: ScanOptions, fn: (ctx: ScanContext) => Promise<T>): Promise<T> {
  const ctx: ScanContext = { opts, modelRoot, tmpCount: 0, decompressed: 0, members: 0, memberLimitReported: false };
  try {
    return await fn(ctx);
  } finally {
    if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
  }
}

export async function scanFile(path: string, name: string, modelRoot: string, opts: ScanOptions = {}): Promise<FileScan> {
  return withContext(modelRoot, opts, (ctx) => scanWithContext(path, name, ctx));
}

function ignored(rel: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => rel === p || rel.startsWith(p.replace(/\/+$/, '') + '/'));
}

export async function scanModel(path: string, opts: ScanOptions = {}): Promise<ScanReport> {
  const files: FileScan[] = [];
  const treeIssues: ScanIssue[] = [];
  const top = await lstat(path);
  await withContext(top.isDirectory() ? path : join(path, '..'), opts, async (ctx) => {
    if (top.isFile()) {
      files.push(await scanWithContext(path, basename(path), ctx));
    } else if (top.isDirectory()) {
      const walk = async (dir: string, prefix: string): Promise<void> => {
        for (const n of (await readdir(dir)).sort()) {
          const rel = prefix ? `${prefix}/${n}` : n;
          if (ignored(rel, opts.ignorePaths ?? [])) continue;
          const full = join(dir, n);
          const st = await lstat(full);
          if (st.isSymbolicLink()) treeIssues.push({ file: rel, rule: 'tree.symlink', severity: 'high', reason: 'symlink inside the model directory (it can point anywhere at load time)' });
          else if (st.isDirectory()) await walk(full, rel);
          else if (st.isFile()) files.push(await scanWithContext(full, rel, ctx));
          else treeIssues.push({ file: rel, rule: 'tree.special_file', severity: 'high', reason: 'not a regular file' });
        }
      };
      await walk(path, '');
    } else {
      treeIssues.push({ file: basename(path), rule: 'tree.special_file', severity: 'high', reason: 'not a regular file or directory' });
    }
  });
  const issues = [...treeIssues, ...files.flatMap((f) => f.issues)];
  return { scanner: SCANNER_VERSION, ok: issues.length === 0, files, issues };
}
