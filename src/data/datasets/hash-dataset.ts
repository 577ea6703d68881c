// Hashes a dataset tree: every file's SHA-256 (streaming; other files spread over the workload plane's
// worker pool), and for JSONL/CSV shards the record tree in the same read. Symlinks and special files are
// refused as for models (src/workload/signing/walk.ts).
import { hashFiles, type HashOptions } from '../../workload/signing/hash-pool.js';
import { listModelFiles, type ModelFile } from '../../workload/signing/walk.js';
import type { DatasetFileEntry } from './manifest.js';
import { hashRecordFile, recordFormatOf, type RecordTree } from './records.js';

export interface HashedDataset {
  files: DatasetFileEntry[];
  trees: Map<string, RecordTree>;
  bytes: number;
}

export async function hashDataset(root: string, ignorePaths: readonly string[], opts: HashOptions = {}): Promise<HashedDataset> {
  const listed = await listModelFiles(root, ignorePaths);
  const recordFiles = listed.filter((f) => recordFormatOf(f.name === '.' ? root : f.name) !== null);
  const plain = listed.filter((f) => !recordFiles.includes(f));
  const total = listed.reduce((s, f) => s + f.size, 0);
  let plainDone = 0;
  let recordDone = 0;
  const report = () => opts.onProgress?.(plainDone + recordDone, total);
  const hashingPlain = hashFiles(plain, {
    ...opts,
    onProgress: (d) => {
      plainDone = d;
      report();
    },
  });
  const trees = new Map<string, RecordTree>();
  const recordDigests = new Map<string, { sha256: string; size: number }>();
  const hashingRecords = (async () => {
    for (const f of recordFiles) {
      const r = await hashRecordFile(f.path, recordFormatOf(f.name === '.' ? root : f.name)!, (n) => {
        recordDone += n;
        report();
      });
      trees.set(f.name, r.tree);
      recordDigests.set(f.name, { sha256: r.sha256, size: r.size });
    }
  })();
  const [plainDigests] = await Promise.all([hashingPlain, hashingRecords]);
  const entry = (f: ModelFile): DatasetFileEntry => {
    const t = trees.get(f.name);
    const rd = recordDigests.get(f.name);
    return {
      name: f.name,
      sha256: rd ? rd.sha256 : plainDigests.get(f.name)!,
      size: rd ? rd.size : f.size,
      ...(t ? { records: { format: t.format, count: t.leaves.length, root: t.root } } : {}),
    };
  };
  return { files: listed.map(entry), trees, bytes: total };
}
