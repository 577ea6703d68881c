// Stage 6 (verify), output side: what came back is inspected before it is released. Per deployment, a
// canary planted in the system prompt must never come back (system-prompt exfiltration) and declared output
// rules (e.g. a summarizer emits no SQL or shell) must hold; a response that breaks either is withheld
// (non-stream) or cut off with an error event (stream). Detectors are the inspection plane's; this file only
// applies them to OpenAI response shapes.
import { Forbidden } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { checkOutputRules, detectCanary, plantCanary, type Canary } from '../inspect/index.js';

export type { OutputPolicy } from '../inspect/output/policy.js';
import type { OutputPolicy } from '../inspect/output/policy.js';

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

// ---------------------------------------------------------------------------------------------------------
// Interim AnswerGuard over the functions above (superseded by src/inspect/surface when it lands): the one
// answer path for buffered and streamed answers.
import { createChatStreamRedactors, finishChatStream, redactChatChunk, redactChatResponse, redact as redactText, inspectText, type RedactTarget } from '../inspect/index.js';

export interface AnswerPolicy {
  rules: string[];
  canary: Canary | null;
  redact: RedactTarget[];
  findings: boolean;
}

export class AnswerGuard {
  private readonly checker: StreamOutputChecker;
  private readonly redactors;
  private readonly texts: string[] = [];
  private kept = 0;
  readonly idle: boolean;
  constructor(private readonly p: AnswerPolicy) {
    this.checker = new StreamOutputChecker({ rules: p.rules, canary: p.canary });
    this.redactors = p.redact.length ? createChatStreamRedactors(p.redact) : null;
    this.idle = !this.checker.active && !this.redactors && !p.findings;
  }
  private keep(json: unknown): void {
    if (!this.p.findings || this.kept > 1 << 20) return;
    for (const t of responseTexts(json)) {
      this.texts.push(t);
      this.kept += t.length;
    }
  }
  chunk(json: Record<string, unknown>): Record<string, unknown>[] {
    this.keep(json);
    const out = this.redactors ? redactChatChunk(json, this.redactors) : json;
    this.checker.chunk(out);
    return [out];
  }
  end(like: Record<string, unknown> = {}): Record<string, unknown>[] {
    if (!this.redactors) return [];
    const tail = finishChatStream(this.redactors, like);
    return tail ? [tail] : [];
  }
  whole(json: Record<string, unknown>): Record<string, unknown> {
    const texts = responseTexts(json);
    checkAnswerTexts(texts, this.p);
    this.keep(json);
    if (!this.p.redact.length) return json;
    if (Array.isArray((json as { choices?: { message?: unknown }[] }).choices) && (json as { choices: { message?: unknown }[] }).choices.some((c) => c?.message !== undefined)) return redactChatResponse(json, this.p.redact);
    const j = json as { choices?: { text?: unknown }[] };
    return { ...j, choices: (j.choices ?? []).map((c) => (typeof c.text === 'string' ? { ...c, text: redactText(c.text, this.p.redact) } : c)) };
  }
  findings(): Finding[] {
    if (!this.texts.length) return [];
    return inspectText(this.texts.join('\n')).items.filter((f) => f.category === 'pii' || f.category === 'secret').map((f): Finding => ({ ...f, category: 'output', type: `${f.category}.${f.type}` }));
  }
}
