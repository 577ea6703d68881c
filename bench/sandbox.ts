// The code sandbox's cost for a trivial run (`1 + 1`): cold (a new worker thread compiles and instantiates the
// engine, then runs) against warm (a pooled thread whose fresh instance was made after its previous run, so
// the caller waits only for the run). Both make a new WebAssembly instance per run; only who waits for it differs.
// `node dist/bench/sandbox.js` (BENCH_SANDBOX_RUNS, default 40 per path).
import { SandboxPool } from '../src/tools/sandbox/pool.js';
import { DEFAULT_SANDBOX_LIMITS } from '../src/tools/sandbox/definition.js';
import { machine, writeResult } from './common.js';

const N = Number(process.env.BENCH_SANDBOX_RUNS ?? 40);
const input = { code: '1 + 1', inputs: null, files: {} };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function measure(pool: SandboxPool, waitWarm: boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    // Warm path: let the pooled thread finish making its next instance, as it would between real calls.
    if (waitWarm) await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    const r = await pool.run(input, DEFAULT_SANDBOX_LIMITS);
    times.push(performance.now() - t0);
    if (!r.ok || r.result !== 2) throw new Error('the sandbox gave a wrong answer');
  }
  return times;
}

const cold = new SandboxPool({ warm: 0 });
const warm = new SandboxPool({ warm: 1 });
warm.prewarm();
try {
  const c = await measure(cold, false);
  const w = await measure(warm, true);
  const row = (name: string, xs: number[]) => `| ${name} | ${N} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 90).toFixed(2)} | ${pct(xs, 99).toFixed(2)} |`;
  writeResult(
    'sandbox',
    [
      '## Code sandbox (QuickJS / WebAssembly): a trivial run',
      '',
      `${machine()}. \`node dist/bench/sandbox.js\`; each run is \`1 + 1\` in a fresh engine instance, caller-observed ms.`,
      '',
      '| path | runs | p50 ms | p90 ms | p99 ms |',
      '|---|---|---|---|---|',
      row('cold (new thread: compile + instantiate + run)', c),
      row('warm (pooled thread, instance made ahead)', w),
      '',
      `Warm is ${(pct(c, 50) / pct(w, 50)).toFixed(1)}x faster at p50 on this run.`,
    ].join('\n'),
  );
} finally {
  await cold.close();
  await warm.close();
}
