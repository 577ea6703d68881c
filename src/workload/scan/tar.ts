// Tar archives (POSIX ustar, GNU long names, PAX `path`/`linkpath`, and pre-POSIX v7 headers): header
// checksums, member paths that stay inside the extraction directory, links that do not point out of
// it, no device/FIFO/sparse members. Every regular member is then handed back to be scanned by its
// content, in place (a tar stores members contiguously). Gzip is undone before this (scan-model.ts).
import { createReadStream } from 'node:fs';
import { archivePathProblem } from './archive-paths.js';
import type { ArchiveHooks } from './zip.js';
import type { Region } from './region.js';
import type { ScanIssue } from './types.js';

const BLOCK = 512;

function cstr(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return s.toString('utf8', 0, z < 0 ? len : z);
}

function octal(b: Buffer, start: number, len: number): number {
  const s = cstr(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

/** POSIX header checksum: the byte sum with the checksum field read as spaces (signed sums are what old tars wrote). */
export function tarChecksumValid(h: Buffer): boolean {
  if (h.length < BLOCK) return false;
  const stored = octal(h, 148, 8);
  if (!Number.isSafeInteger(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number(body.toString('ascii', pos, sp));
    if (!Number.isSafeInteger(len) || len <= 0) break;
    const rec = body.toString('utf8', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}

const REGULAR = new Set(['0', '\0', '7']);
const KNOWN = new Set(['0', '\0', '7', '1', '2', '3', '4', '5', '6', 'g', 'x', 'L', 'K']);

/** Streams the archive header by header (data blocks are skipped), then scans each regular member where it lies. */
export async function scanTar(region: Region, file: string, hooks: ArchiveHooks): Promise<{ members: string[]; issues: ScanIssue[] }> {
  const issues: ScanIssue[] = [];
  const members: string[] = [];
  const regular: { where: string; offset: number; size: number }[] = [];
  const source = region.length > 0 ? createReadStream(region.path, { start: region.offset, end: region.offset + region.length - 1 }) : undefined;
  let consumed = 0; // bytes of the archive before `pending`
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  let collect: { kind: 'L' | 'K' | 'x'; size: number } | undefined;
  let ended = false;
  const header = (h: Buffer, at: number) => {
    if (h.every((x) => x === 0)) {
      ended = true;
      return;
    }
    if (!tarChecksumValid(h)) throw new Error(`header at offset ${at} has a bad checksum`);
    const type = String.fromCharCode(h[156]!);
    const size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size)) throw new Error(`bad size field at offset ${at}`);
    const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
    if (at + BLOCK + size > region.length) throw new Error(`member at offset ${at} runs past the end of the archive`);
    if (type === 'L' || type === 'K' || type === 'x') {
      collect = { kind: type, size };
      skip = dataBlocks;
      return;
    }
    if (type === 'g') {
      skip = dataBlocks;
      return;
    }
    const prefix = h.toString('ascii', 257, 262) === 'ustar' ? cstr(h, 345, 155) : '';
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    const link = pax.linkpath ?? longLink ?? cstr(h, 157, 100);
    longName = longLink = undefined;
    pax = {};
    const where = `${file}!${name}`;
    if (hooks.admit(where, 1) === 0) {
      ended = true; // the member limit is reached: nothing further is read
      return;
    }
    members.push(name);
    const problem = archivePathProblem(name.replace(/^\.\//, ''));
    if (problem) issues.push({ file: where, rule: 'archive.path_traversal', severity: 'critical', reason: problem });
    if (type === '1' || type === '2') {
      const linkProblem = archivePathProblem(link);
      if (linkProblem) issues.push({ file: where, rule: 'archive.link_escape', severity: 'critical', reason: `${type === '2' ? 'symlink' : 'hard link'} to ${JSON.stringify(link)}: ${linkProblem}` });
    } else if (type === '3' || type === '4' || type === '6') {
      issues.push({ file: where, rule: 'archive.special_file', severity: 'high', reason: 'device or FIFO member' });
    } else if (REGULAR.has(type)) {
      regular.push({ where, offset: region.offset + at + BLOCK, size });
    } else if (!KNOWN.has(type)) {
      // GNU sparse ('S'), multi-volume ('M') and vendor types lay their data out differently: unreadable here.
      issues.push({ file: where, rule: 'archive.unsupported_member', severity: 'high', reason: `member type ${JSON.stringify(type)} cannot be read, so it cannot be scanned` });
    }
    skip = dataBlocks;
  };
  try {
    if (!source) throw new Error('empty archive');
    for await (const chunk of source) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      let pos = 0;
      while (!ended) {
        if (skip > 0) {
          if (collect) {
            if (pending.length - pos < skip) break;
            const body = pending.subarray(pos, pos + collect.size);
            if (collect.kind === 'x') pax = parsePax(body);
            else if (collect.kind === 'L') longName = cstr(body, 0, body.length);
            else longLink = cstr(body, 0, body.length);
            collect = undefined;
            pos += skip;
            skip = 0;
            continue;
          }
          const n = Math.min(skip, pending.length - pos);
          pos += n;
          skip -= n;
          if (skip > 0) break;
          continue;
        }
        if (pending.length - pos < BLOCK) break;
        header(pending.subarray(pos, pos + BLOCK), consumed + pos);
        pos += BLOCK;
      }
      consumed += pos;
      pending = pending.subarray(pos);
      if (ended) break;
    }
    if (!ended && (skip > 0 || pending.length > 0)) throw new Error('archive ends inside a member');
  } catch (e) {
    issues.push({ file, rule: 'archive.malformed', severity: 'medium', reason: (e as Error).message });
  } finally {
    source?.destroy();
  }
  for (const m of regular) await hooks.visit(m.where, { path: region.path, offset: m.offset, length: m.size });
  return { members, issues };
}
