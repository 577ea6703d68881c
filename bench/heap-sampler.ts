// Loaded with `node --import dist/bench/heap-sampler.js` into a process under benchmark: the first SIGUSR2
// starts V8's sampling heap profiler (counting objects the garbage collector has already freed, so the profile is
// what was allocated, not what is still alive), the second stops it and writes the profile to HEAP_SAMPLE_FILE.
// Idle until signalled. Used by bench/gateway-alloc.ts.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.HEAP_SAMPLE_FILE;
if (isMainThread && out) {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  let sampling = false;
  process.on('SIGUSR2', () => {
    const next = sampling
      ? post('HeapProfiler.stopSampling').then((r) => writeFileSync(out, JSON.stringify((r as { profile: unknown }).profile)))
      : post('HeapProfiler.enable').then(() =>
          post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }),
        );
    sampling = !sampling;
    next.catch((e: unknown) => process.stderr.write(`heap-sampler: ${(e as Error).message}\n`));
  });
}
