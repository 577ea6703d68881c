// `warden up --workers N`: N processes (node:cluster) on the same listeners, one per core. The primary only
// forks, forwards signals and restarts a worker that dies; each worker is a whole Warden, and workers share
// state exactly as replicas do, through the cluster stores (docs/cluster.md). Without `store.postgres` and
// `store.redis` there is nothing to share limits, budgets, revocations, the monitor or the registry through,
// so N > 1 is refused rather than run as N gateways that each believe they are alone.
//
// Worker 1 starts first (it creates the data dir's CA, certificates and keys, and migrates the schema); the
// others start when it is listening, so no two processes race to create a file. The workers share the data
// dir: its files are read-only after that first start, and warden.db is SQLite in WAL mode with a busy
// timeout (several processes on one host may write it).
import cluster, { type Worker } from 'node:cluster';
import type { WardenConfig } from '../config/config.js';
import { ConfigError } from '../config/config.js';

/** The message a worker sends the primary once it is listening. */
export const WORKER_READY = 'warden-worker-ready';

/** 1, 2, … in a worker started by `--workers`; null otherwise. */
export function workerNumber(): number | null {
  const n = Number(process.env.WARDEN_WORKER);
  return cluster.isWorker && Number.isInteger(n) && n > 0 ? n : null;
}

/** `--workers`: a whole number from 1 to 256 (default 1). */
export function parseWorkers(v: string | undefined): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ConfigError(`--workers must be a whole number from 1 to 256 (got ${JSON.stringify(v)})`);
  return n;
}

/** Refuses N > 1 without the stores the workers would share state through. */
export function checkWorkersConfig(n: number, config: WardenConfig): void {
  if (n <= 1) return;
  const missing = [config.store.postgres ? null : 'store.postgres', config.store.redis ? null : 'store.redis'].filter((x): x is string => x !== null);
  if (missing.length) {
    throw new ConfigError(
      `--workers ${n} needs the cluster stores (${missing.join(' and ')} missing in the config): workers share keys, policies, the registry, ` +
        'limits, budgets, revocations and the monitor through PostgreSQL and Redis exactly as replicas do (docs/cluster.md); ' +
        'the embedded SQLite mode runs one process',
    );
  }
}

/**
 * The primary: forks worker 1, then the others once it is ready; forwards SIGHUP (certificate reload) and
 * SIGINT/SIGTERM (drain and stop) to every worker and resolves with the exit code when all have stopped. A
 * worker that dies after the start is replaced (one second later); one that cannot start stops them all.
 */
export async function runPrimary(n: number, write: (line: string) => void): Promise<number> {
  let stopping = false;
  let started = false;
  let failure = 0;
  const live = new Map<number, Worker>();

  const fork = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork({ WARDEN_WORKER: String(i) });
      live.set(i, w);
      w.on('message', (m: unknown) => {
        if (m === WORKER_READY) {
          write(`worker ${i}: pid ${w.process.pid} listening`);
          resolve();
        }
      });
      w.on('exit', (code, signal) => {
        if (live.get(i) === w) live.delete(i);
        reject(new Error(`worker ${i} exited (${signal ?? code}) before it was listening`));
        if (stopping) return;
        if (!started) {
          failure = code || 1;
          return;
        }
        write(`worker ${i}: pid ${w.process.pid} exited (${signal ?? code}); starting a new one`);
        setTimeout(() => {
          if (!stopping) fork(i).catch(() => undefined);
        }, 1000).unref();
      });
    });

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const w of live.values()) w.process.kill(signal);
  };
  const allExited = () => new Promise<void>((resolve) => (live.size === 0 ? resolve() : cluster.on('exit', () => live.size === 0 && resolve())));
  const onHup = () => {
    for (const w of live.values()) w.process.kill('SIGHUP');
  };
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.on('SIGHUP', onHup);
  try {
    // The first worker alone, then the rest together (see the file comment).
    const first = await Promise.race([fork(1).then(() => null), signalled]);
    if (first === null) await Promise.race([Promise.all(Array.from({ length: n - 1 }, (_, k) => fork(k + 2))), signalled]);
    started = true;
    write(`${n} workers on the same listeners (store.postgres + store.redis shared as by replicas)`);
  } catch (e) {
    write(`warden: cannot start: ${(e as Error).message}`);
    stopAll('SIGTERM');
    await allExited();
    process.off('SIGHUP', onHup);
    return failure || 1;
  }
  const sig = await signalled;
  stopAll(sig);
  await allExited();
  process.off('SIGHUP', onHup);
  return 0;
}
