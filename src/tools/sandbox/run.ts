// A sandbox tool's backend call: the mediator has already authorized the arguments (and any approval); this runs
// the code under the tool's caps and shapes the outcome like any backend's, so result inspection, the second
// policy decision, redaction and the ledger digest treat it exactly as they treat an HTTP or MCP answer.
import type { ToolBackend } from '../../store/tools-store.js';
import { collectStrings, type BackendResult } from '../backend.js';
import { DEFAULT_SANDBOX_LIMITS } from './definition.js';
import type { SandboxPool } from './pool.js';

export async function callSandboxBackend(pool: SandboxPool, b: Extract<ToolBackend, { type: 'sandbox' }>, args: Record<string, unknown>): Promise<BackendResult & { elapsedMs: number }> {
  const out = await pool.run(
    { code: args.code as string, inputs: args.inputs ?? null, files: (args.files as Record<string, string> | undefined) ?? {} },
    { ...b.limits, stackBytes: DEFAULT_SANDBOX_LIMITS.stackBytes },
  );
  // A guest exception (a bug, or an attempt at something the sandbox does not have) is the tool's answer, marked
  // as an error, so the agent can read it; a cap the run hit is a refusal raised by the pool.
  const value = out.ok ? { result: out.result, stdout: out.stdout } : { error: out.error, stdout: out.stdout };
  return { value, text: collectStrings(value).join('\n'), isError: !out.ok, elapsedMs: out.elapsedMs };
}
