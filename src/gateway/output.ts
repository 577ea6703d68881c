// The canary half of a deployment's output policy that acts on the request: the canary is planted in the
// system prompt before the request is forwarded. Everything that judges the answer (output rules, canary
// leaks, redaction, answer findings) is the inspection plane's AnswerGuard (src/inspect/surface/guard.ts).
import { plantCanary } from '../inspect/index.js';
import type { OutputPolicy } from '../inspect/output/policy.js';

export type { OutputPolicy } from '../inspect/output/policy.js';

/** Plants the deployment's canary in a chat request (returns the new body), or null when there is none. */
export function withCanary(body: Record<string, unknown>, p: OutputPolicy): Record<string, unknown> | null {
  if (!p.canary || !Array.isArray(body.messages)) return null;
  return { ...body, messages: plantCanary(body.messages as { role: string }[], p.canary) };
}
