// Zip archives (PyTorch .pt/.pth/.bin/.ckpt are zips holding `*/data.pkl` plus raw tensor entries).
// Checks: member paths (zip-slip), symlink members, names that differ between the central directory,
// the Info-ZIP unicode-path field and the local header (each extractor may believe a different
// one), duplicate names, encryption we cannot see through, and every pickle member through the
// pickle scanner.
import yauzlModule from 'yauzl';
import type { Readable } from 'node:stream';
import { archivePathProblem } from './archive-paths.js';
import { scanPickle } from './pickle.js';
import type { ScanIssue } from './types.js';

interface ZipEntry {
  fileNameRaw: Buffer;
  generalPurposeBitFlag: number;
  extraFields: { id: number; data: Buffer }[];
  externalFileAttributes: number;
  uncompressedSize: number;
  isEncrypted(): boolean;
}
interface ZipFile {
  eachEntry(): AsyncIterable<ZipEntry>;
  openReadStreamPromise(entry: ZipEntry): Promise<Readable>;
  readLocalFileHeaderPromise(entry: ZipEntry): Promise<{ fileName: Buffer }>;
  close(): void;
}
interface Yauzl {
  openPromise(path: string, options: Record<string, boolean>): Promise<ZipFile>;
  getFileNameLowLevel(flag: number, raw: Buffer, extra: { id: number; data: Buffer }[], strict: boolean): string;
}
const yauzl = yauzlModule as unknown as Yauzl;

export interface ZipScan {
  members: string[];
  globals: string[];
  issues: ScanIssue[];
}

export interface ZipScanOptions {
  /** Largest pickle member we read into memory; bigger ones fail the scan rather than go unread. */
  maxPickleBytes?: number;
  extraAllowedGlobals?: ReadonlySet<string>;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) {
      stream.destroy();
      throw new Error(`member is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function isPickleMemberName(name: string): boolean {
  return /\.(pkl|pickle)$/i.test(name);
}

export async function scanZip(path: string, file: string, opts: ZipScanOptions = {}): Promise<ZipScan> {
  const issues: ScanIssue[] = [];
  const members: string[] = [];
  const globals: string[] = [];
  const limit = opts.maxPickleBytes ?? 512 * 1024 * 1024;
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
  } catch (e) {
    return { members, globals, issues: [{ file, rule: 'archive.malformed', severity: 'medium', reason: `not a readable zip: ${(e as Error).message}` }] };
  }
  try {
    const seen = new Set<string>();
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const rawName = entry.fileNameRaw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1');
      const where = `${file}!${name}`;
      members.push(name);
      for (const n of new Set([name, rawName])) {
        const problem = archivePathProblem(n);
        if (problem) issues.push({ file: `${file}!${n}`, rule: 'archive.path_traversal', severity: 'critical', reason: problem });
      }
      if (name !== rawName) issues.push({ file: where, rule: 'archive.name_mismatch', severity: 'high', reason: `unicode-path field says ${JSON.stringify(name)} but the name field says ${JSON.stringify(rawName)}` });
      const local = (await zip.readLocalFileHeaderPromise(entry)).fileName;
      if (!local.equals(entry.fileNameRaw)) issues.push({ file: where, rule: 'archive.name_mismatch', severity: 'high', reason: `local header names it ${JSON.stringify(local.toString('latin1'))}` });
      if (seen.has(name)) issues.push({ file: where, rule: 'archive.duplicate_entry', severity: 'high', reason: 'the archive holds two members with this name; loaders and scanners may read different ones' });
      seen.add(name);
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) issues.push({ file: where, rule: 'archive.symlink', severity: 'critical', reason: 'symlink member' });
      if (!isPickleMemberName(name)) continue;
      if (entry.isEncrypted()) {
        issues.push({ file: where, rule: 'archive.encrypted', severity: 'high', reason: 'encrypted pickle member cannot be scanned' });
        continue;
      }
      let data: Buffer;
      try {
        data = await readAll(await zip.openReadStreamPromise(entry), limit);
      } catch (e) {
        issues.push({ file: where, rule: 'archive.unreadable_member', severity: 'high', reason: (e as Error).message });
        continue;
      }
      const p = scanPickle(data, where, opts.extraAllowedGlobals);
      globals.push(...p.globals);
      issues.push(...p.issues);
    }
  } catch (e) {
    issues.push({ file, rule: 'archive.malformed', severity: 'medium', reason: (e as Error).message });
  } finally {
    zip.close();
  }
  return { members, globals: [...new Set(globals)], issues };
}
