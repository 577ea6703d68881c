// Messages between the sandbox pool (main thread) and a sandbox worker. Plain data only: a job goes in by
// structured clone, the guest's result comes back as the JSON text the guest produced, never as a live object.

/** The engine's build asks for 16 MiB of linear memory at start (emscripten INITIAL_MEMORY): a cap is above it. */
export const ENGINE_INITIAL_BYTES = 16 * 1024 * 1024;

export interface SandboxLimits {
  /** Wall-clock budget of one run; the worker is terminated at the deadline (enforced by the pool, outside the guest). */
  timeMs: number;
  /** The engine instance's whole linear memory (WebAssembly.Memory maximum): engine, heap and stack. */
  memoryBytes: number;
  /** Guest stack limit (JS_SetMaxStackSize). */
  stackBytes: number;
  /** Bytes of console output plus the JSON result together. */
  outputBytes: number;
}

export interface SandboxJob {
  id: number;
  code: string;
  /** JSON text of the call's `inputs` (the guest's global `inputs`). */
  inputsJson: string;
  /** The in-memory files the call brought (the guest's global `files`: name → text). */
  files: Record<string, string>;
  limits: Omit<SandboxLimits, 'timeMs'>;
}

export type SandboxReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; resultJson: string; stdout: string }
  | { type: 'guest_error'; id: number; name: string; message: string; stdout: string }
  | { type: 'limit'; id: number; limit: 'memory' | 'output' };
