// Hashes a dataset tree: every file's SHA-256 and, for JSONL/CSV shards, the record tree. Symlinks and special
// files are refused as for models (src/workload/signing/walk.ts).
//   Small datasets (below `inlineBelowBytes`, 8 MiB by default): on the calling thread, each shard read once
//   (hashRecordFile, the reference implementation).
//   Larger ones: all on the workload plane's worker pool. A shard is a file-digest job plus record jobs: a JSONL
//   shard cut at record boundaries into ranges of about 16 MiB (leaves hashed in the workers, in parallel), a
//   CSV shard one job (quotes decide where records end). Then one job per shard computes its root from the
//   leaves in order (merkleRootOfPacked). The calling thread only cuts the ranges and concatenates leaves.
import { availableParallelism } from 'node:os';
import { FileHashFailed, hashFiles, runWorkerPool, type HashOptions, type PoolJob } from '../../workload/signing/hash-pool.js';
import { listModelFiles, type ModelFile } from '../../workload/signing/walk.js';
import type { DatasetFileEntry } from './manifest.js';
import { jsonlRanges } from './record-leaves.js';
import type { RecordJob, RecordJobResult } from './record-worker.js';
import { hashRecordFile, recordFormatOf, type RecordFormat, type RecordTree } from './records.js';

export interface HashedDataset {
  files: DatasetFileEntry[];
  trees: Map<string, RecordTree>;
  bytes: number;
}

const RANGE_BYTES = 16 * 1024 * 1024;
const INLINE_BELOW = 8 * 1024 * 1024;

export async function hashDataset(root: string, ignorePaths: readonly string[], opts: HashOptions = {}): Promise<HashedDataset> {
  const listed = await listModelFiles(root, ignorePaths);
  const formatOf = (f: ModelFile) => recordFormatOf(f.name === '.' ? root : f.name);
  const total = listed.reduce((s, f) => s + f.size, 0);
  const digests = new Map<string, { sha256: string; size: number }>();
  const trees = new Map<string, RecordTree>();
  if (total < (opts.inlineBelowBytes ?? INLINE_BELOW)) await hashInline(listed, formatOf, total, opts, digests, trees);
  else await hashOnPool(listed, formatOf, total, opts, digests, trees);
  const entry = (f: ModelFile): DatasetFileEntry => {
    const t = trees.get(f.name);
    const d = digests.get(f.name)!;
    return { name: f.name, sha256: d.sha256, size: d.size, ...(t ? { records: { format: t.format, count: t.count, root: t.root } } : {}) };
  };
  return { files: listed.map(entry), trees, bytes: total };
}

type FormatOf = (f: ModelFile) => RecordFormat | null;

async function hashInline(listed: ModelFile[], formatOf: FormatOf, total: number, opts: HashOptions, digests: Map<string, { sha256: string; size: number }>, trees: Map<string, RecordTree>): Promise<void> {
  const plain = listed.filter((f) => formatOf(f) === null);
  let plainDone = 0;
  let recordDone = 0;
  const report = () => opts.onProgress?.(plainDone + recordDone, total);
  const plainDigests = await hashFiles(plain, { ...opts, onProgress: (d) => ((plainDone = d), report()) });
  for (const f of plain) digests.set(f.name, { sha256: plainDigests.get(f.name)!, size: f.size });
  for (const f of listed) {
    const format = formatOf(f);
    if (format === null) continue;
    let r;
    try {
      r = await hashRecordFile(f.path, format, (n) => ((recordDone += n), report()));
    } catch (e) {
      throw new FileHashFailed(f.name, (e as Error).message);
    }
    trees.set(f.name, r.tree);
    digests.set(f.name, { sha256: r.sha256, size: r.size });
  }
}

async function hashOnPool(listed: ModelFile[], formatOf: FormatOf, total: number, opts: HashOptions, digests: Map<string, { sha256: string; size: number }>, trees: Map<string, RecordTree>): Promise<void> {
  const jobs: PoolJob<RecordJobResult>[] = [];
  const assemble: (() => void)[] = [];
  const job = (label: string, size: number, message: RecordJob, done: (r: RecordJobResult) => void) => jobs.push({ label, size, message, done });
  for (const f of listed) {
    job(f.name, f.size, { kind: 'file', path: f.path }, (r) => digests.set(f.name, r as { sha256: string; size: number }));
    const format = formatOf(f);
    if (format === 'csv') {
      let got: { leaves: Uint8Array; lines?: Uint32Array } | undefined;
      job(f.name, f.size, { kind: 'csv', path: f.path }, (r) => void (got = r as typeof got));
      assemble.push(() => trees.set(f.name, treeFrom('csv', [got!.leaves], got!.lines!)));
    } else if (format === 'jsonl') {
      let ranges: [number, number][];
      try {
        ranges = await jsonlRanges(f.path, f.size, RANGE_BYTES);
      } catch (e) {
        throw new FileHashFailed(f.name, (e as Error).message);
      }
      const parts: Uint8Array[] = new Array<Uint8Array>(ranges.length);
      ranges.forEach(([start, end], i) => job(f.name, end - start, { kind: 'jsonl', path: f.path, start, end }, (r) => void (parts[i] = (r as { leaves: Uint8Array }).leaves)));
      assemble.push(() => trees.set(f.name, treeFrom('jsonl', parts, null)));
    }
  }
  let done = 0;
  const worker = new URL('./record-worker.js', import.meta.url);
  const concurrency = opts.concurrency ?? availableParallelism();
  await runWorkerPool(worker, jobs, {
    concurrency,
    onBytes: (n) => {
      done += n;
      opts.onProgress?.(done, total);
    },
  });
  for (const a of assemble) a();
  // Then each shard's root, from its leaves in order (a copy goes to the worker: the sidecar keeps the leaves).
  const roots: PoolJob<RecordJobResult>[] = [...trees].map(([name, t]) => ({ label: name, size: t.leaves.length, message: { kind: 'root', leaves: t.leaves } satisfies RecordJob, done: (r) => void (t.root = (r as { root: string }).root) }));
  await runWorkerPool(worker, roots, { concurrency });
}

/** A shard's tree without its root yet (the root job fills it in). */
function treeFrom(format: RecordFormat, parts: readonly Uint8Array[], lines: Uint32Array | null): RecordTree {
  const leaves = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  const count = leaves.length / 32;
  // A JSONL record is one line: record i starts on line i + 1.
  let firstLines = lines;
  if (!firstLines) {
    firstLines = new Uint32Array(count);
    for (let i = 0; i < count; i++) firstLines[i] = i + 1;
  }
  return { format, leaves, count, lines: firstLines, root: '' };
}
