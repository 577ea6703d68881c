// One sandbox worker thread: runs model-written JavaScript in QuickJS compiled to WebAssembly. Every job gets
// a WebAssembly instance that no earlier job touched (a fresh linear memory: nothing of a previous caller's data
// can be read back), a new QuickJS runtime with a heap and stack limit, and a global object holding only the
// language's intrinsics plus what the tool grants: `inputs`, `files` (the call's in-memory data) and `console`.
// No require, no modules, no process, no network, no file system: the guest has no host functions but `write`.
// Time is not limited here: the pool terminates this thread at the deadline (a guest cannot catch that).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import variantImport from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext, type QuickJSHandle, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { ENGINE_INITIAL_BYTES, type SandboxJob, type SandboxReply } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('the sandbox worker runs only as a worker thread');

// The engine ships inside the npm package: read from disk, compiled once per thread, never fetched.
const wasmPath = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
// The package's ESM entry's default export is the variant; its typings describe the CommonJS entry.
const variant = variantImport as unknown as QuickJSSyncVariant;
// (lib ES2023 has no WebAssembly declarations; Node has the global.)
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
const wasmModule = new wasm.Module(readFileSync(wasmPath));

const PAGE = 65536;

interface Instance {
  memoryBytes: number;
  qjs: Promise<QuickJSWASMModule>;
}

/**
 * A new engine instance whose linear memory the WebAssembly engine itself stops at `memoryBytes`: this is the
 * memory cap. (QuickJS's own heap limit cannot be trusted in this build: without malloc_usable_size it counts
 * allocations, not bytes, so a guest passes it with a few large strings.) Past the cap malloc fails and the
 * guest gets QuickJS's "out of memory".
 */
function fresh(memoryBytes: number): Instance {
  const wasmMemory = new wasm.Memory({ initial: ENGINE_INITIAL_BYTES / PAGE, maximum: Math.ceil(memoryBytes / PAGE) });
  return { memoryBytes, qjs: newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule: wasmModule as never, wasmMemory: wasmMemory as never })) };
}

// Runs inside the guest before its code: installs the granted globals, then nothing of the host stays reachable.
const PRELUDE = `(function (write, inputsJson, filesJson) {
  'use strict';
  const freeze = (v) => { if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) { Object.freeze(v); for (const k of Object.keys(v)) freeze(v[k]); } return v; };
  const show = (v) => { if (typeof v === 'string') return v; try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); } };
  const out = (...a) => { write(a.map(show).join(' ') + '\\n'); };
  const def = (name, value) => Object.defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  def('inputs', freeze(JSON.parse(inputsJson)));
  def('files', freeze(JSON.parse(filesJson)));
  def('console', Object.freeze({ log: out, info: out, warn: out, error: out, debug: out }));
  return JSON.stringify;
})`;

let next: Instance = fresh((workerData as { memoryBytes: number }).memoryBytes);

function reply(m: SandboxReply): void {
  port!.postMessage(m);
}

function errorOf(ctx: QuickJSContext, h: QuickJSHandle): { name: string; message: string } {
  try {
    const e = ctx.dump(h) as unknown;
    if (e !== null && typeof e === 'object') {
      const o = e as { name?: unknown; message?: unknown };
      return { name: typeof o.name === 'string' ? o.name : 'Error', message: typeof o.message === 'string' ? o.message : String(e) };
    }
    return { name: 'Error', message: `uncaught ${String(e)}` };
  } catch {
    return { name: 'Error', message: 'uncaught exception' };
  }
}

const isOutOfMemory = (e: { name: string; message: string }) => e.name === 'InternalError' && /out of memory/i.test(e.message);

function run(qjs: QuickJSWASMModule, job: SandboxJob): SandboxReply {
  const rt = qjs.newRuntime();
  // Kept as a second fence only (see fresh()): the linear memory's maximum is the cap that holds.
  rt.setMemoryLimit(job.limits.memoryBytes);
  rt.setMaxStackSize(job.limits.stackBytes);
  const stdout: string[] = [];
  let written = 0;
  let overflow = false;
  // Output floods: once the cap is passed the runtime is interrupted at its next check (uncatchable for the guest).
  rt.setInterruptHandler(() => overflow);
  const ctx = rt.newContext();
  const guestError = (h: QuickJSHandle): SandboxReply => {
    const e = errorOf(ctx, h);
    h.dispose();
    if (overflow) return { type: 'limit', id: job.id, limit: 'output' };
    if (isOutOfMemory(e)) return { type: 'limit', id: job.id, limit: 'memory' };
    return { type: 'guest_error', id: job.id, ...e, stdout: stdout.join('') };
  };
  try {
    // A guest string is measured before it is copied out: a string longer (in UTF-16 units, each at least one
    // UTF-8 byte) than what is left of the cap never enters this thread's heap.
    const fits = (h: QuickJSHandle, used: number): boolean => {
      const len = ctx.getProp(h, 'length');
      const n = ctx.getNumber(len);
      len.dispose();
      return used + n <= job.limits.outputBytes;
    };
    const write = ctx.newFunction('write', (h) => {
      if (overflow || !fits(h, written)) {
        overflow = true;
        return;
      }
      const s = ctx.getString(h);
      written += Buffer.byteLength(s);
      if (written > job.limits.outputBytes) overflow = true;
      else stdout.push(s);
    });
    const prelude = ctx.evalCode(PRELUDE, 'warden-prelude.js');
    if (prelude.error) return guestError(prelude.error);
    const args = [write, ctx.newString(job.inputsJson), ctx.newString(JSON.stringify(job.files))];
    const installed = ctx.callFunction(prelude.value, ctx.undefined, ...args);
    for (const a of args) a.dispose();
    prelude.value.dispose();
    if (installed.error) return guestError(installed.error);
    const stringify = installed.value;
    const evaluated = ctx.evalCode(job.code, 'code.js');
    if (evaluated.error) return guestError(evaluated.error);
    let value = evaluated.value;
    // A promise (async code) is settled by running the guest's job queue; the pool's deadline bounds it.
    if (ctx.typeof(value) === 'object' && ctx.getPromiseState(value).type !== 'fulfilled') {
      let state = ctx.getPromiseState(value);
      while (state.type === 'pending' && rt.hasPendingJob()) {
        const ran = rt.executePendingJobs();
        if (ran.error) return guestError(ran.error);
        state = ctx.getPromiseState(value);
      }
      if (state.type === 'pending') {
        value.dispose();
        return { type: 'guest_error', id: job.id, name: 'Error', message: 'the code returned a promise that never settles (no event loop, timers or I/O in the sandbox)', stdout: stdout.join('') };
      }
      if (state.type === 'rejected') {
        value.dispose();
        return guestError(state.error);
      }
      if ('value' in state && state.value !== value) {
        value.dispose();
        value = state.value;
      }
    }
    const text = ctx.callFunction(stringify, ctx.undefined, value);
    value.dispose();
    stringify.dispose();
    if (text.error) return guestError(text.error);
    if (ctx.typeof(text.value) === 'string' && !fits(text.value, written)) return { type: 'limit', id: job.id, limit: 'output' };
    const resultJson = ctx.typeof(text.value) === 'string' ? ctx.getString(text.value) : 'null';
    text.value.dispose();
    if (overflow || written + Buffer.byteLength(resultJson) > job.limits.outputBytes) return { type: 'limit', id: job.id, limit: 'output' };
    return { type: 'done', id: job.id, resultJson, stdout: stdout.join('') };
  } finally {
    // Nothing is freed handle by handle: the whole WebAssembly instance (its memory, the runtime, whatever the
    // guest left half-done) is dropped and a new one made for the next job. Freeing a runtime a guest left in an
    // odd state would only trip the engine's own leak assertions.
  }
}

port.on('message', (job: SandboxJob) => {
  void (async () => {
    // The warm instance was made for the usual cap; a job with another cap gets one made for it.
    const inst = next.memoryBytes === job.limits.memoryBytes ? next : fresh(job.limits.memoryBytes);
    let out: SandboxReply;
    try {
      out = run(await inst.qjs, job);
    } catch (e) {
      // The engine aborting because its memory cannot grow is the memory cap too.
      const msg = (e as Error).message ?? '';
      out = /out of memory|memory access out of bounds|Cannot enlarge memory|OOM/i.test(msg) ? { type: 'limit', id: job.id, limit: 'memory' } : { type: 'guest_error', id: job.id, name: 'Error', message: 'the sandbox could not run the code', stdout: '' };
    }
    reply(out);
    // The next job gets an instance no one has used; it is made now, while this thread would otherwise idle.
    next = fresh(next.memoryBytes);
    await next.qjs;
    reply({ type: 'ready' });
  })();
});

void next.qjs.then(() => reply({ type: 'ready' }));
