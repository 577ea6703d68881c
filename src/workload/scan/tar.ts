// Tar archives (POSIX ustar, GNU long names, PAX `path`/`linkpath`), optionally gzipped: member
// paths must stay inside the extraction directory and links must not point out of it.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { archivePathProblem } from './archive-paths.js';
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

/** Streams the archive header by header; data blocks are skipped, never buffered whole. */
export async function scanTar(path: string, file: string, gzipped: boolean): Promise<{ members: string[]; issues: ScanIssue[] }> {
  const issues: ScanIssue[] = [];
  const members: string[] = [];
  const source = createReadStream(path);
  const stream = gzipped ? source.pipe(createGunzip()) : source;
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  let collect: { kind: 'L' | 'K' | 'x'; size: number } | undefined;
  let ended = false;
  const header = (h: Buffer) => {
    if (h.every((x) => x === 0)) {
      ended = true;
      return;
    }
    const type = String.fromCharCode(h[156]!);
    const size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size)) throw new Error('bad size field');
    const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
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
    members.push(name);
    const where = `${file}!${name}`;
    const problem = archivePathProblem(name.replace(/^\.\//, ''));
    if (problem) issues.push({ file: where, rule: 'archive.path_traversal', severity: 'critical', reason: problem });
    if (type === '1' || type === '2') {
      const linkProblem = archivePathProblem(link);
      if (linkProblem) issues.push({ file: where, rule: 'archive.link_escape', severity: 'critical', reason: `${type === '2' ? 'symlink' : 'hard link'} to ${JSON.stringify(link)}: ${linkProblem}` });
    } else if (type === '3' || type === '4' || type === '6') {
      issues.push({ file: where, rule: 'archive.special_file', severity: 'high', reason: 'device or FIFO member' });
    }
    skip = dataBlocks;
  };
  try {
    for await (const chunk of stream) {
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
        header(pending.subarray(pos, pos + BLOCK));
        pos += BLOCK;
      }
      pending = pending.subarray(pos);
      if (ended) break;
    }
  } catch (e) {
    issues.push({ file, rule: 'archive.malformed', severity: 'medium', reason: (e as Error).message });
  } finally {
    source.destroy();
  }
  return { members, issues };
}
