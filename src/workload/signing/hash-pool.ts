// Streaming, parallel SHA-256 of model files. Multi-GB shards are normal, so files are read in
// chunks (never whole) and spread over worker threads, largest first, so the cores finish together.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashReply } from './hash-worker.js';
import type { ModelFile } from './walk.js';

export interface HashOptions {
  /** Worker threads to use; defaults to the number of cores. */
  concurrency?: number;
  /** Called with cumulative bytes hashed. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Below this total size the files are hashed on the calling thread (workers cost ~20 ms to start). */
  inlineBelowBytes?: number;
}

export class FileHashFailed extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'FileHashFailed';
  }
}

function hashInline(path: string, onBytes: (n: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => {
        h.update(c as Buffer);
        onBytes((c as Buffer).length);
      })
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Returns name → lowercase hex SHA-256 for every file. Any read error rejects (no partial manifest). */
export async function hashFiles(files: readonly ModelFile[], opts: HashOptions = {}): Promise<Map<string, string>> {
  const total = files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const progress = (n: number) => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const result = new Map<string, string>();
  if (total < (opts.inlineBelowBytes ?? 8 * 1024 * 1024)) {
    for (const f of files) {
      try {
        result.set(f.name, await hashInline(f.path, progress));
      } catch (e) {
        throw new FileHashFailed(f.name, (e as Error).message);
      }
    }
    return result;
  }
  const queue = [...files].sort((a, b) => b.size - a.size);
  const n = Math.max(1, Math.min(opts.concurrency ?? availableParallelism(), queue.length));
  const workerUrl = new URL('./hash-worker.js', import.meta.url);
  const workers = Array.from({ length: n }, () => new Worker(workerUrl));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let current: ModelFile | undefined;
            const next = () => {
              current = queue.shift();
              if (!current) return resolve();
              w.postMessage({ id: 0, path: current.path });
            };
            w.on('message', (m: HashReply) => {
              if (!current) return;
              if (m.kind === 'progress') progress(m.bytes);
              else if (m.kind === 'done') {
                result.set(current.name, m.sha256);
                next();
              } else reject(new FileHashFailed(current.name, m.message));
            });
            w.on('error', (e) => reject(new FileHashFailed(current?.name ?? '(none)', e.message)));
            w.on('exit', (code) => {
              if (current && !result.has(current.name)) reject(new FileHashFailed(current.name, `hash worker exited with code ${code}`));
            });
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return result;
}
