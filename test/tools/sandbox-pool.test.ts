// The sandbox pool on its own: cold and warm starts give the same answers, a full pool refuses rather than
// queues, a thread that hit a cap is replaced, and a closed pool refuses (fails closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxPool } from '../../src/tools/sandbox/pool.js';
import { DEFAULT_SANDBOX_LIMITS } from '../../src/tools/sandbox/definition.js';

const limits = { ...DEFAULT_SANDBOX_LIMITS, timeMs: 1000 };
const input = (code: string) => ({ code, inputs: { n: 2 }, files: {} });

test('cold (no warm thread) and warm runs answer alike; warm threads are refilled after a run', async () => {
  const cold = new SandboxPool({ warm: 0 });
  const warm = new SandboxPool({ warm: 1 });
  try {
    assert.equal(cold.warmCount, 0);
    const c = await cold.run(input('console.log("hi"); inputs.n + 1'), limits);
    assert.deepEqual({ ...c, elapsedMs: 0 }, { ok: true, result: 3, stdout: 'hi\n', elapsedMs: 0 });
    assert.equal(cold.warmCount, 0);
    warm.prewarm();
    assert.equal(warm.warmCount, 1);
    const r = await warm.run(input('inputs.n + 1'), limits);
    assert.equal(r.ok && r.result, 3);
    assert.equal(warm.warmCount, 1);
  } finally {
    await cold.close();
    await warm.close();
  }
});

test('a run beyond maxConcurrent is refused with 429 sandbox_busy; the pool serves again once the first ends', async () => {
  const pool = new SandboxPool({ warm: 0, maxConcurrent: 1 });
  try {
    const long = pool.run(input('for (;;) {}'), limits);
    await assert.rejects(pool.run(input('1'), limits), (e: { status: number; code: string }) => e.status === 429 && e.code === 'sandbox_busy');
    await assert.rejects(long, (e: { code: string }) => e.code === 'sandbox_time_limit');
    const r = await pool.run(input('1'), limits);
    assert.equal(r.ok && r.result, 1);
  } finally {
    await pool.close();
  }
});

test('a closed pool refuses with 503 sandbox_unavailable', async () => {
  const pool = new SandboxPool();
  await pool.close();
  await assert.rejects(pool.run(input('1'), limits), (e: { status: number; code: string }) => e.status === 503 && e.code === 'sandbox_unavailable');
});
