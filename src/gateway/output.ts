// Stage 6 (verify), output side: what came back is inspected before it is released. Per deployment, a
// canary planted in the system prompt must never come back (system-prompt exfiltration) and declared output
// rules (e.g. a summarizer emits no SQL or shell) must hold; a response that breaks either is withheld
// (non-stream) or cut off with an error event (stream). Detectors are the inspection plane's; this file only
// applies them to OpenAI response shapes.
import { Forbidden } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { checkOutputRules, detectCanary, plantCanary, type Canary } from '../inspect/index.js';

export interface OutputPolicy {
  rules: string[];
  canary: Canary | null;
}

export class OutputBlocked extends Forbidden {
  constructor(readonly finding: Finding) {
    super('output_blocked', `the model's answer was withheld: it broke the deployment's output policy (${finding.type})`);
  }
}

/** Texts of a chat/completions response: message content, tool-call arguments, completion text. */
export function responseTexts(json: unknown): string[] {
  const out: string[] = [];
  const choices = (json as { choices?: unknown[] } | null)?.choices;
  if (!Array.isArray(choices)) return out;
  for (const c of choices as { message?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] }; text?: unknown; delta?: { content?: unknown } }[]) {
    const m = c.message ?? c.delta;
    if (typeof m?.content === 'string') out.push(m.content);
    for (const t of (c.message?.tool_calls ?? [])) if (typeof t.function?.arguments === 'string') out.push(t.function.arguments);
    if (typeof c.text === 'string') out.push(c.text);
  }
  return out;
}

function firstViolation(text: string, p: OutputPolicy): Finding | null {
  if (p.canary) {
    const leak = detectCanary(text, p.canary);
    if (leak.length) return leak[0]!;
  }
  if (p.rules.length) {
    const hit = checkOutputRules(text, p.rules);
    if (hit.length) return hit[0]!;
  }
  return null;
}

/** Plants the deployment's canary in a chat request (returns the new body), or null when there is none. */
export function withCanary(body: Record<string, unknown>, p: OutputPolicy): Record<string, unknown> | null {
  if (!p.canary || !Array.isArray(body.messages)) return null;
  return { ...body, messages: plantCanary(body.messages as { role: string }[], p.canary) };
}

/** Non-stream: throws OutputBlocked when any text of the answer (see responseTexts) breaks the policy. */
export function checkAnswerTexts(texts: readonly string[], p: OutputPolicy): void {
  for (const t of texts) {
    const f = firstViolation(t, p);
    if (f) throw new OutputBlocked(f);
  }
}

/**
 * Stream: keeps, per choice, the text seen so far and re-checks a tail window after each chunk, so a
 * violation split across chunks is caught at the chunk that completes it (the window is larger than any
 * canary or rule match). Cost stays linear in the stream length.
 */
export class StreamOutputChecker {
  private readonly texts = new Map<number, string>();
  private static readonly WINDOW = 2048;
  constructor(private readonly p: OutputPolicy) {}

  get active(): boolean {
    return this.p.canary !== null || this.p.rules.length > 0;
  }

  chunk(json: unknown): void {
    const choices = (json as { choices?: { index?: number; delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] } }[] } | null)?.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices) {
      const parts: string[] = [];
      if (typeof c.delta?.content === 'string') parts.push(c.delta.content);
      for (const t of c.delta?.tool_calls ?? []) if (typeof t.function?.arguments === 'string') parts.push(t.function.arguments);
      if (parts.length === 0) continue;
      const i = c.index ?? 0;
      const added = parts.join('');
      const prev = this.texts.get(i) ?? '';
      const tail = prev.slice(-StreamOutputChecker.WINDOW);
      const f = firstViolation(tail + added, this.p);
      if (f) throw new OutputBlocked(f);
      this.texts.set(i, (prev + added).slice(-StreamOutputChecker.WINDOW * 2));
    }
  }
}
