// What a sandbox tool is in the registry: `backend: {type: "sandbox", language: "javascript", limits?}`, with
// arguments fixed by Warden (the sandbox reads them) and no egress at all (the guest has no network to declare).
import type { ToolBackend } from '../../store/tools-store.js';
import { ENGINE_INITIAL_BYTES, type SandboxLimits } from './protocol.js';

/** Defaults and ceilings of a sandbox tool's caps (the pool terminates a run at `timeMs`). */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { timeMs: 2_000, memoryBytes: 48 * 1024 * 1024, stackBytes: 512 * 1024, outputBytes: 64 * 1024 };
export const MAX_SANDBOX_LIMITS: SandboxLimits = { timeMs: 30_000, memoryBytes: 256 * 1024 * 1024, stackBytes: 512 * 1024, outputBytes: 1024 * 1024 };
/** The engine needs its initial 16 MiB plus room for a runtime: a smaller cap could not run anything. */
export const MIN_SANDBOX_MEMORY_BYTES = ENGINE_INITIAL_BYTES + 8 * 1024 * 1024;

const FILE_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** The arguments of every sandbox tool: the code, JSON `inputs`, and text `files` (the in-memory file set). */
export const SANDBOX_INPUT_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    language: { type: 'string', enum: ['javascript'] },
    code: { type: 'string', minLength: 1, maxLength: 65536 },
    inputs: {},
    files: { type: 'object', maxProperties: 64, propertyNames: { type: 'string', pattern: FILE_NAME }, additionalProperties: { type: 'string', maxLength: 1048576 } },
  },
  required: ['code'],
  additionalProperties: false,
};

type Fail = (field: string, message: string) => never;

function cap(v: unknown, field: string, min: number, max: number, dflt: number, fail: Fail): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) fail(field, `must be an integer from ${min} to ${max}`);
  return v as number;
}

export function parseSandboxBackend(b: Record<string, unknown>, egress: string[], inputSchema: unknown, fail: Fail): ToolBackend {
  if (b.language !== undefined && b.language !== 'javascript') fail('backend/language', 'must be "javascript" (Python through Pyodide is not offered: docs/tools.md says why)');
  if (egress.length > 0) fail('egress', 'a sandbox tool reaches no network; declare no egress');
  if (inputSchema !== undefined && JSON.stringify(inputSchema) !== JSON.stringify(SANDBOX_INPUT_SCHEMA)) fail('input_schema', 'a sandbox tool takes the arguments Warden defines; leave input_schema out');
  const l = b.limits ?? {};
  if (l === null || typeof l !== 'object' || Array.isArray(l)) fail('backend/limits', 'must be {time_ms?, memory_bytes?, output_bytes?}');
  const lim = l as Record<string, unknown>;
  const extra = Object.keys(lim).filter((k) => !['time_ms', 'memory_bytes', 'output_bytes'].includes(k));
  if (extra.length) fail(`backend/limits/${extra[0]}`, 'is not a sandbox limit (time_ms, memory_bytes, output_bytes)');
  const D = DEFAULT_SANDBOX_LIMITS;
  const M = MAX_SANDBOX_LIMITS;
  return {
    type: 'sandbox',
    language: 'javascript',
    limits: {
      timeMs: cap(lim.time_ms, 'backend/limits/time_ms', 50, M.timeMs, D.timeMs, fail),
      memoryBytes: cap(lim.memory_bytes, 'backend/limits/memory_bytes', MIN_SANDBOX_MEMORY_BYTES, M.memoryBytes, D.memoryBytes, fail),
      outputBytes: cap(lim.output_bytes, 'backend/limits/output_bytes', 1024, M.outputBytes, D.outputBytes, fail),
    },
  };
}
