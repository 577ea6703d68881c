// `warden model scan DIR|FILE`: runs every format check over a model and collects the issues.
// Formats are recognised by magic bytes first and extension second, so a pickle renamed to
// `.dat` is still parsed as a pickle.
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkGguf } from './gguf.js';
import { checkExternalData, parseOnnx } from './onnx.js';
import { isTorchLegacy, scanPickle } from './pickle.js';
import { checkSafetensors } from './safetensors.js';
import { scanTar } from './tar.js';
import { MalformedArtifact, SCANNER_VERSION, type FileScan, type ScanFormat, type ScanIssue, type ScanReport } from './types.js';
import { scanZip } from './zip.js';

export interface ScanOptions {
  /** Paths relative to the root that are not model content (e.g. `.git`, the signature file). */
  ignorePaths?: string[];
  /** Extra `module.name` globals a deployment trusts in pickles, beyond the built-in allowlist. */
  extraAllowedGlobals?: string[];
  /** Largest pickle (or pickle section) read into memory; larger fails closed. Default 512 MiB. */
  maxPickleBytes?: number;
  /** Largest ONNX file parsed (protobuf caps a model at 2 GiB). */
  maxOnnxBytes?: number;
}

const TAR_EXT = /\.(tar|tar\.gz|tgz)$/i;

function detect(name: string, head: Buffer): ScanFormat {
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'zip';
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  if (/\.gguf$/i.test(name)) return 'gguf';
  if (/\.safetensors$/i.test(name)) return 'safetensors';
  if (/\.onnx$/i.test(name)) return 'onnx';
  if (TAR_EXT.test(name) || (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar')) return 'tar';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pickle';
  // Protocol 0/1 pickles have no header; trust the extension for those.
  if (/\.(pkl|pickle)$/i.test(name)) return 'pickle';
  return 'other';
}

export async function scanFile(path: string, name: string, modelRoot: string, opts: ScanOptions = {}): Promise<FileScan> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 512));
    await fh.read(head, 0, head.length, 0);
    const format = detect(name, head);
    const result: FileScan = { file: name, format, bytes: size, issues: [] };
    const issue = (rule: string, severity: ScanIssue['severity'], reason: string) => result.issues.push({ file: name, rule, severity, reason });
    try {
      switch (format) {
        case 'pickle': {
          const cap = opts.maxPickleBytes ?? 512 * 1024 * 1024;
          // A legacy PyTorch file is small pickles then raw tensor bytes: its head is enough to scan.
          if (size > cap && !isTorchLegacy(head)) {
            issue('pickle.too_large', 'high', `pickle of ${size} bytes exceeds the ${cap}-byte scan limit`);
            break;
          }
          const buf = Buffer.alloc(Math.min(size, cap));
          await fh.read(buf, 0, buf.length, 0);
          const p = scanPickle(buf, name, new Set(opts.extraAllowedGlobals ?? []));
          result.globals = p.globals;
          result.issues.push(...p.issues);
          break;
        }
        case 'zip': {
          const z = await scanZip(path, name, { maxPickleBytes: opts.maxPickleBytes, extraAllowedGlobals: new Set(opts.extraAllowedGlobals ?? []) });
          result.globals = z.globals;
          result.issues.push(...z.issues);
          break;
        }
        case 'tar':
          result.issues.push(...(await scanTar(path, name, head[0] === 0x1f && head[1] === 0x8b)).issues);
          break;
        case 'safetensors':
          await checkSafetensors(fh, size);
          break;
        case 'gguf':
          await checkGguf(fh, size);
          break;
        case 'onnx': {
          const cap = opts.maxOnnxBytes ?? 2 * 1024 * 1024 * 1024;
          if (size > cap) {
            issue('onnx.too_large', 'high', `ONNX file of ${size} bytes exceeds ${cap}`);
            break;
          }
          const buf = Buffer.alloc(size);
          await fh.read(buf, 0, size, 0);
          await checkExternalData(path, modelRoot, parseOnnx(buf).externalData);
          break;
        }
        case 'other':
          break;
      }
    } catch (e) {
      if (!(e instanceof MalformedArtifact)) throw e;
      const severity = /escape|code/.test(e.rule) ? 'critical' : e.rule.endsWith('malformed') || e.rule.endsWith('truncated') ? 'medium' : 'high';
      issue(e.rule, severity, e.message);
    }
    return result;
  } finally {
    await fh.close();
  }
}

function ignored(rel: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => rel === p || rel.startsWith(p.replace(/\/+$/, '') + '/'));
}

export async function scanModel(path: string, opts: ScanOptions = {}): Promise<ScanReport> {
  const files: FileScan[] = [];
  const treeIssues: ScanIssue[] = [];
  const top = await lstat(path);
  if (top.isFile()) {
    files.push(await scanFile(path, basename(path), join(path, '..'), opts));
  } else if (top.isDirectory()) {
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const n of (await readdir(dir)).sort()) {
        const rel = prefix ? `${prefix}/${n}` : n;
        if (ignored(rel, opts.ignorePaths ?? [])) continue;
        const full = join(dir, n);
        const st = await lstat(full);
        if (st.isSymbolicLink()) treeIssues.push({ file: rel, rule: 'tree.symlink', severity: 'high', reason: 'symlink inside the model directory (it can point anywhere at load time)' });
        else if (st.isDirectory()) await walk(full, rel);
        else if (st.isFile()) files.push(await scanFile(full, rel, path, opts));
        else treeIssues.push({ file: rel, rule: 'tree.special_file', severity: 'high', reason: 'not a regular file' });
      }
    };
    await walk(path, '');
  } else {
    treeIssues.push({ file: basename(path), rule: 'tree.special_file', severity: 'high', reason: 'not a regular file or directory' });
  }
  const issues = [...treeIssues, ...files.flatMap((f) => f.issues)];
  return { scanner: SCANNER_VERSION, ok: issues.length === 0, files, issues };
}
