// Zip archives (PyTorch .pt/.pth/.bin/.ckpt are zips holding `*/data.pkl` plus raw tensor entries;
// NumPy .npz is a zip of .npy). Checks: member paths (zip-slip), symlink members, names that differ
// between the central directory, the Info-ZIP unicode-path field and the local header (each
// extractor may believe a different one), duplicate names, encryption and compression we cannot see
// through, and members whose bytes overlap (the non-recursive zip bomb: many entries inflating one
// kernel; Python's zipfile refuses them as "Overlapped entries"). Then every member, whatever its name,
// is handed back to be scanned by its content: a pickle called `archive/weights` is as dangerous as one
// called `data.pkl`.
import yauzlModule from 'yauzl';
import type { Readable } from 'node:stream';
import { archivePathProblem } from './archive-paths.js';
import type { Region } from './region.js';
import type { ScanIssue } from './types.js';

interface ZipEntry {
  fileNameRaw: Buffer;
  generalPurposeBitFlag: number;
  extraFields: { id: number; data: Buffer }[];
  externalFileAttributes: number;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
  relativeOffsetOfLocalHeader: number;
  isEncrypted(): boolean;
}
interface ZipFile {
  /** As the end-of-central-directory record states it. */
  entryCount: number;
  eachEntry(): AsyncIterable<ZipEntry>;
  openReadStreamPromise(entry: ZipEntry): Promise<Readable>;
  readLocalFileHeaderPromise(entry: ZipEntry): Promise<{ fileName: Buffer; fileDataStart: number }>;
  close(): void;
}
interface Yauzl {
  openPromise(path: string, options: Record<string, boolean>): Promise<ZipFile>;
  getFileNameLowLevel(flag: number, raw: Buffer, extra: { id: number; data: Buffer }[], strict: boolean): string;
}
const yauzl = yauzlModule as unknown as Yauzl;

export interface ArchiveHooks {
  /**
   * Scans one member by its content. `where` is `archive!member`. `rawTensors`: the member is a storage
   * of a PyTorch archive (`<prefix>/data/<key>` beside `<prefix>/data.pkl`), raw bytes with no format of
   * their own — still probed as a pickle, but not reported as unrecognised.
   */
  visit(where: string, region: Region, rawTensors?: boolean): Promise<void>;
  /**
   * Writes a decompressed member to the scan's temp dir, within the scan's byte budget and expansion-ratio
   * limit against `compressedSize` (the bytes it is made from); undefined when refused (the issue is recorded).
   * `declaredSize`, when the archive states the expanded size, lets a bomb be refused before inflating it.
   */
  extract(where: string, data: Readable, compressedSize: number, declaredSize?: number): Promise<Region | undefined>;
  /**
   * Counts `count` more members against the scan's member limit and returns how many of them may be opened
   * (fewer once the limit is reached; the issue is recorded once, against `where`).
   */
  admit(where: string, count: number): number;
  /** Whether a member declared to expand from `compressedSize` to `declaredSize` bytes may be inflated; records the issue when not. */
  mayExpand(where: string, compressedSize: number, declaredSize: number): boolean;
}

export interface ZipScan {
  members: string[];
  issues: ScanIssue[];
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const STORED = 0;
const DEFLATED = 8;

export async function scanZip(path: string, file: string, hooks: ArchiveHooks): Promise<ZipScan> {
  const issues: ScanIssue[] = [];
  const members: string[] = [];
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
  } catch (e) {
    return { members, issues: [{ file, rule: 'archive.malformed', severity: 'medium', reason: `not a readable zip: ${(e as Error).message}` }] };
  }
  try {
    // The central directory first: whether this is a PyTorch archive decides how its storages are judged.
    // Entries are read only up to the member limit: a central directory of millions of tiny entries is refused, not loaded.
    const admitted = hooks.admit(file, zip.entryCount);
    const entries: { entry: ZipEntry; name: string }[] = [];
    for await (const entry of zip.eachEntry()) {
      if (entries.length >= admitted) break;
      entries.push({ entry, name: yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true) });
    }
    const torchPrefixes = new Set(entries.map((e) => /^(.+)\/data\.pkl$/.exec(e.name)?.[1]).filter((p) => p !== undefined));
    const isTorchStorage = (name: string) => {
      const m = /^(.+)\/data\/[^/]+$/.exec(name);
      return m !== null && torchPrefixes.has(m[1]!);
    };
    const locals: { fileName: Buffer; fileDataStart: number }[] = [];
    for (const { entry } of entries) locals.push(await zip.readLocalFileHeaderPromise(entry));
    const overlaps = findOverlaps(entries.map(({ entry, name }, i) => ({ start: entry.relativeOffsetOfLocalHeader, end: locals[i]!.fileDataStart + entry.compressedSize, name })));
    const seen = new Set<string>();
    for (const [index, { entry, name }] of entries.entries()) {
      const rawName = entry.fileNameRaw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1');
      const where = `${file}!${name}`;
      members.push(name);
      for (const n of new Set([name, rawName])) {
        const problem = archivePathProblem(n);
        if (problem) issues.push({ file: `${file}!${n}`, rule: 'archive.path_traversal', severity: 'critical', reason: problem });
      }
      if (name !== rawName) issues.push({ file: where, rule: 'archive.name_mismatch', severity: 'high', reason: `unicode-path field says ${JSON.stringify(name)} but the name field says ${JSON.stringify(rawName)}` });
      const local = locals[index]!;
      if (!local.fileName.equals(entry.fileNameRaw)) issues.push({ file: where, rule: 'archive.name_mismatch', severity: 'high', reason: `local header names it ${JSON.stringify(local.fileName.toString('latin1'))}` });
      const overlapped = overlaps.get(index);
      if (overlapped !== undefined) {
        issues.push({ file: where, rule: 'archive.overlapping_entries', severity: 'high', reason: `its bytes overlap those of ${JSON.stringify(overlapped)}: members sharing data are a zip bomb's trick, not something a model needs` });
        continue;
      }
      if (seen.has(name)) issues.push({ file: where, rule: 'archive.duplicate_entry', severity: 'high', reason: 'the archive holds two members with this name; loaders and scanners may read different ones' });
      seen.add(name);
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) {
        issues.push({ file: where, rule: 'archive.symlink', severity: 'critical', reason: 'symlink member' });
        continue;
      }
      if (name.endsWith('/') && entry.uncompressedSize === 0) continue; // a directory
      if (entry.isEncrypted()) {
        issues.push({ file: where, rule: 'archive.encrypted', severity: 'high', reason: 'encrypted member: its content cannot be scanned' });
        continue;
      }
      let region: Region | undefined;
      if (entry.compressionMethod === STORED) {
        // Stored members are scanned in place (PyTorch's zips are stored: no copy of the tensors).
        if (entry.compressedSize !== entry.uncompressedSize) {
          issues.push({ file: where, rule: 'archive.malformed', severity: 'medium', reason: 'stored member whose compressed and uncompressed sizes differ' });
          continue;
        }
        region = { path, offset: local.fileDataStart, length: entry.uncompressedSize };
      } else if (entry.compressionMethod === DEFLATED) {
        if (!hooks.mayExpand(where, entry.compressedSize, entry.uncompressedSize)) continue;
        try {
          region = await hooks.extract(where, await zip.openReadStreamPromise(entry), entry.compressedSize, entry.uncompressedSize);
        } catch (e) {
          issues.push({ file: where, rule: 'archive.unreadable_member', severity: 'high', reason: (e as Error).message });
          continue;
        }
        if (!region) continue;
      } else {
        issues.push({ file: where, rule: 'archive.unsupported_compression', severity: 'high', reason: `compression method ${entry.compressionMethod}: the member cannot be read, so it cannot be scanned` });
        continue;
      }
      await hooks.visit(where, region, isTorchStorage(name));
    }
  } catch (e) {
    issues.push({ file, rule: 'archive.malformed', severity: 'medium', reason: (e as Error).message });
  } finally {
    zip.close();
  }
  return { members, issues };
}

/**
 * For each entry (by index), the member whose bytes its own bytes overlap, if any: sorted by where they
 * start, an entry overlaps when it starts before the furthest end seen so far.
 */
function findOverlaps(spans: { start: number; end: number; name: string }[]): Map<number, string> {
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]!.start - spans[b]!.start || a - b);
  const out = new Map<number, string>();
  let furthest: { end: number; name: string } | undefined;
  for (const i of order) {
    const s = spans[i]!;
    if (furthest && s.start < furthest.end) out.set(i, furthest.name);
    if (!furthest || s.end > furthest.end) furthest = { end: s.end, name: s.name };
  }
  return out;
}
