// Streaming, parallel SHA-256 of model files. Multi-GB shards are normal, so files are read in
// chunks (never whole) and spread over worker threads, largest first, so the cores finish together.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
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

/** One job for a pool worker: what to post, how big it is (largest first), and what to do with its answer. */
export interface PoolJob<R> {
  label: string;
  size: number;
  message: unknown;
  transfer?: ArrayBuffer[];
  done: (reply: R) => void;
}

/**
 * Runs `jobs` on worker threads of `workerUrl`, largest first so the cores finish together. A worker answers
 * each job with `{kind: 'progress', bytes}` messages, then `{kind: 'done', ...}` or `{kind: 'error', message}`.
 * Any failure rejects (FileHashFailed naming the job) and every worker is terminated either way.
 */
export async function runWorkerPool<R>(workerUrl: URL, jobs: readonly PoolJob<R>[], opts: { concurrency?: number; onBytes?: (n: number) => void } = {}): Promise<void> {
  const queue = [...jobs].sort((a, b) => b.size - a.size);
  if (queue.length === 0) return;
  const n = Math.max(1, Math.min(opts.concurrency ?? availableParallelism(), queue.length));
  const workers = Array.from({ length: n }, () => new Worker(workerUrl));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let current: PoolJob<R> | undefined;
            let finished = false;
            const next = () => {
              current = queue.shift();
              if (!current) {
                finished = true;
                return resolve();
              }
              w.postMessage(current.message, current.transfer ?? []);
            };
            w.on('message', (m: { kind: 'progress'; bytes: number } | ({ kind: 'done' } & R) | { kind: 'error'; message: string }) => {
              if (!current) return;
              if (m.kind === 'progress') opts.onBytes?.(m.bytes);
              else if (m.kind === 'done') {
                current.done(m as R);
                next();
              } else reject(new FileHashFailed(current.label, m.message));
            });
            w.on('error', (e) => reject(new FileHashFailed(current?.label ?? '(none)', e.message)));
            w.on('exit', (code) => {
              if (!finished) reject(new FileHashFailed(current?.label ?? '(none)', `hash worker exited with code ${code}`));
            });
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
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
  await runWorkerPool(
    new URL('./hash-worker.js', import.meta.url),
    files.map((f) => ({ label: f.name, size: f.size, message: { id: 0, path: f.path }, done: (r: { sha256: string }) => void result.set(f.name, r.sha256) })),
    { ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}), onBytes: progress },
  );
  return result;
}
