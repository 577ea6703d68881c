// The sandbox pool: worker threads that each hold a fresh QuickJS/WebAssembly instance ready for one run.
// Caps are enforced from outside the guest: the time cap by terminating the thread at the deadline (not a
// polite interrupt the guest could outlast), the memory cap by the QuickJS heap limit plus V8 resource limits
// on the thread, the output cap by counting every byte the guest writes. A thread that hit any cap or died is
// never reused. Idle threads are kept warm (instance already made) so a run does not pay the start-up.
import { Worker } from 'node:worker_threads';
import { canonicalJson } from '../../core/canonical-json.js';
import { SandboxBusy, SandboxLimitExceeded, SandboxUnavailable } from './errors.js';
import { DEFAULT_SANDBOX_LIMITS } from './definition.js';
import type { SandboxJob, SandboxLimits, SandboxReply } from './protocol.js';

export type { SandboxLimits } from './protocol.js';

export interface SandboxOptions {
  /** Threads kept ready with a fresh instance (0: every run starts a thread: the "cold" path). Default 1. */
  warm?: number;
  /** Runs at once; a run beyond this is refused (429 sandbox_busy) rather than queued. Default 4. */
  maxConcurrent?: number;
  /** How long a new thread may take to compile and instantiate the engine. Default 10 s. */
  startTimeoutMs?: number;
  /** The memory cap warm instances are made for (a run with another cap makes its own). Default DEFAULT_SANDBOX_LIMITS. */
  memoryBytes?: number;
}

export interface SandboxInput {
  code: string;
  inputs: unknown;
  files: Record<string, string>;
}

export type SandboxOutcome =
  | { ok: true; result: unknown; stdout: string; elapsedMs: number }
  | { ok: false; error: { name: string; message: string }; stdout: string; elapsedMs: number };

interface Slot {
  worker: Worker;
  ready: Promise<void>;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

// The thread's own V8 heap (the engine's glue, job messages); the guest's heap is the wasm memory, capped by QuickJS.
const THREAD_LIMITS = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8, stackSizeMb: 4 };

export class SandboxPool {
  private readonly idle: Slot[] = [];
  private running = 0;
  private nextId = 1;
  private closed = false;
  private started = false;
  private readonly warm: number;
  private readonly maxConcurrent: number;
  private readonly startTimeoutMs: number;
  private readonly memoryBytes: number;

  constructor(opts: SandboxOptions = {}) {
    this.warm = opts.warm ?? 1;
    this.maxConcurrent = opts.maxConcurrent ?? 4;
    this.startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    this.memoryBytes = opts.memoryBytes ?? DEFAULT_SANDBOX_LIMITS.memoryBytes;
  }

  /**
   * Starts the warm threads. Not done by the constructor: a gateway with no sandbox tool should not hold idle
   * engine threads; the plane calls this when a sandbox tool exists, and the first run does it otherwise.
   */
  prewarm(): void {
    this.started = true;
    this.topUp();
  }

  /** Threads currently waiting with a fresh instance (for tests and the bench). */
  get warmCount(): number {
    return this.idle.length;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: THREAD_LIMITS, workerData: { memoryBytes: this.memoryBytes } });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new SandboxUnavailable('the sandbox engine did not start in time')), this.startTimeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        void worker.terminate();
        reject(e);
      };
      const onMessage = (m: SandboxReply) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve();
      };
      const onError = (e: Error) => fail(new SandboxUnavailable(`the sandbox engine failed to start (${e.message})`));
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
    ready.catch(() => undefined);
    return { worker, ready };
  }

  private topUp(): void {
    while (this.started && !this.closed && this.idle.length < this.warm) {
      const slot = this.spawn();
      this.idle.push(slot);
      // A warm thread that failed to start is dropped, not handed to a caller.
      slot.ready.catch(() => {
        const i = this.idle.indexOf(slot);
        if (i >= 0) this.idle.splice(i, 1);
      });
    }
  }

  async run(input: SandboxInput, limits: SandboxLimits): Promise<SandboxOutcome> {
    if (this.closed) throw new SandboxUnavailable('the sandbox is shut down');
    if (this.running >= this.maxConcurrent) throw new SandboxBusy(this.maxConcurrent);
    this.running++;
    try {
      // A warm thread comes back to the pool after its run (recycle), so taking one spawns nothing.
      const slot = this.idle.shift() ?? this.spawn();
      this.started = true;
      await slot.ready;
      return await this.runOn(slot, input, limits);
    } finally {
      this.running--;
    }
  }

  private runOn(slot: Slot, input: SandboxInput, limits: SandboxLimits): Promise<SandboxOutcome> {
    const { worker } = slot;
    const job: SandboxJob = {
      id: this.nextId++,
      code: input.code,
      inputsJson: canonicalJson(input.inputs ?? null),
      files: input.files,
      limits: { memoryBytes: limits.memoryBytes, stackBytes: limits.stackBytes, outputBytes: limits.outputBytes },
    };
    const started = performance.now();
    return new Promise<SandboxOutcome>((resolve, reject) => {
      let settled = false;
      const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
      const finish = (reuse: boolean, f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (reuse && !this.closed) this.recycle(worker);
        else {
          // A thread that hit a cap or died is never reused; a new one takes its place in the warm set.
          void worker.terminate();
          this.topUp();
        }
        f();
      };
      // The time cap: the thread is stopped wherever the guest is (a loop, a regex, a native call).
      const deadline = setTimeout(() => finish(false, () => reject(new SandboxLimitExceeded('time', `the code ran longer than ${limits.timeMs} ms`))), limits.timeMs);
      const onMessage = (m: SandboxReply) => {
        if (m.type === 'ready' || m.id !== job.id) return;
        if (m.type === 'limit') {
          const what = m.limit === 'memory' ? `the code needed more than ${limits.memoryBytes} bytes of memory` : `the code wrote more than ${limits.outputBytes} bytes of output`;
          return finish(false, () => reject(new SandboxLimitExceeded(m.limit, what)));
        }
        if (m.type === 'guest_error') return finish(true, () => resolve({ ok: false, error: { name: m.name, message: m.message }, stdout: m.stdout, elapsedMs: elapsed() }));
        let result: unknown;
        try {
          result = JSON.parse(m.resultJson);
        } catch {
          return finish(false, () => reject(new SandboxUnavailable('the sandbox returned a result that is not JSON')));
        }
        finish(true, () => resolve({ ok: true, result, stdout: m.stdout, elapsedMs: elapsed() }));
      };
      // V8's resource limits on the thread end it with ERR_WORKER_OUT_OF_MEMORY: that is the memory cap too.
      const onError = (e: Error & { code?: string }) =>
        finish(false, () => reject(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new SandboxLimitExceeded('memory', 'the sandbox thread ran out of memory') : new SandboxUnavailable(`the sandbox failed (${e.message})`)));
      const onExit = () => finish(false, () => reject(new SandboxUnavailable('the sandbox thread exited')));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(job);
    });
  }

  /** A thread that finished cleanly makes a new instance and, once ready, waits again (up to `warm` of them). */
  private recycle(worker: Worker): void {
    if (this.idle.length >= this.warm) {
      void worker.terminate();
      return;
    }
    const ready = new Promise<void>((resolve, reject) => {
      const done = (f: () => void) => {
        worker.off('message', onMessage);
        worker.off('error', onGone);
        worker.off('exit', onGone);
        f();
      };
      const onMessage = (m: SandboxReply) => {
        if (m.type === 'ready') done(resolve);
      };
      const onGone = () => done(() => reject(new SandboxUnavailable('the sandbox thread exited')));
      worker.on('message', onMessage);
      worker.on('error', onGone);
      worker.on('exit', onGone);
    });
    ready.catch(() => undefined);
    const slot = { worker, ready };
    this.idle.push(slot);
    slot.ready.catch(() => {
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      this.topUp();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.idle.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
