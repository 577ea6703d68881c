// Builders and a client-side assembler for answer-guard tests: OpenAI answer shapes, buffered and streamed.
import { AnswerGuard, type AnswerPolicy } from '../../../src/inspect/index.js';

export type Json = Record<string, unknown>;

export interface ChatTexts {
  content?: string;
  reasoning_content?: string;
  refusal?: string;
  /** Tool calls: name and arguments. */
  calls?: { name: string; arguments: string }[];
}

/** A buffered chat.completion with one choice. */
export function chatCompletion(t: ChatTexts, extra: Json = {}): Json {
  const message: Json = { role: 'assistant', content: t.content ?? null };
  if (t.reasoning_content !== undefined) message.reasoning_content = t.reasoning_content;
  if (t.refusal !== undefined) message.refusal = t.refusal;
  if (t.calls) message.tool_calls = t.calls.map((c, i) => ({ id: `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: 'stop', ...extra }] };
}

/** Splits `text` at the given cut points (taken modulo its length). */
export function split(text: string, cuts: readonly number[]): string[] {
  const pos = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of [...pos, text.length]) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  return out;
}

function chunk(delta: Json, finish: string | null = null): Json {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] };
}

/** The chat.completion.chunk stream of the same texts, each field cut at `cuts`, then a finishing chunk. */
export function chatStream(t: ChatTexts, cuts: readonly number[], finish = true): Json[] {
  const out: Json[] = [chunk({ role: 'assistant' })];
  for (const key of ['reasoning_content', 'refusal', 'content'] as const) {
    const v = t[key];
    if (v !== undefined) for (const p of split(v, cuts)) out.push(chunk({ [key]: p }));
  }
  (t.calls ?? []).forEach((c, i) => {
    out.push(chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const p of split(c.arguments, cuts)) out.push(chunk({ tool_calls: [{ index: i, function: { arguments: p } }] }));
  });
  if (finish) out.push(chunk({}, 'stop'));
  return out;
}

/** What a client assembles from chat chunks: texts per field of choice 0, and whether logprobs came. */
export function assembleChat(chunks: Json[]): ChatTexts & { logprobs: boolean } {
  const out: ChatTexts & { logprobs: boolean } = { logprobs: false };
  const calls: { name: string; arguments: string }[] = [];
  for (const ch of chunks) {
    for (const c of ch.choices as Json[]) {
      if (c.logprobs !== undefined && c.logprobs !== null) out.logprobs = true;
      const d = (c.delta ?? {}) as Json;
      for (const key of ['content', 'reasoning_content', 'refusal'] as const) {
        if (typeof d[key] === 'string') out[key] = (out[key] ?? '') + (d[key] as string);
      }
      for (const tc of (d.tool_calls ?? []) as Json[]) {
        const i = tc.index as number;
        calls[i] ??= { name: '', arguments: '' };
        const fn = (tc.function ?? {}) as Json;
        if (typeof fn.name === 'string') calls[i]!.name += fn.name;
        if (typeof fn.arguments === 'string') calls[i]!.arguments += fn.arguments;
      }
    }
  }
  if (calls.length) out.calls = calls;
  return out;
}

/** The same view of a buffered chat.completion. */
export function wholeTexts(json: Json): ChatTexts & { logprobs: boolean } {
  const c = (json.choices as Json[])[0]!;
  const m = c.message as Json;
  const out: ChatTexts & { logprobs: boolean } = { logprobs: c.logprobs !== undefined && c.logprobs !== null };
  if (typeof m.content === 'string' && m.content !== '') out.content = m.content;
  if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') out.reasoning_content = m.reasoning_content;
  if (typeof m.refusal === 'string' && m.refusal !== '') out.refusal = m.refusal;
  if (Array.isArray(m.tool_calls)) out.calls = (m.tool_calls as Json[]).map((tc) => ({ name: (tc.function as Json).name as string, arguments: (tc.function as Json).arguments as string }));
  return out;
}

export type Outcome = { blocked: string } | { chunks: Json[] };

/** Runs a stream through a fresh guard: the emitted chunks, or the type of the finding that blocked it. */
export function runStream(policy: AnswerPolicy, chunks: Json[]): Outcome {
  const g = new AnswerGuard(policy);
  const out: Json[] = [];
  try {
    for (const c of chunks) out.push(...g.chunk(c));
    out.push(...g.end(chunks[0]));
  } catch (e) {
    if ((e as { code?: string }).code === 'output_blocked') return { blocked: (e as { finding: { type: string } }).finding.type };
    throw e;
  }
  return { chunks: out };
}

export function runWhole(policy: AnswerPolicy, json: Json): { blocked: string } | { json: Json } {
  const g = new AnswerGuard(policy);
  try {
    return { json: g.whole(json) };
  } catch (e) {
    if ((e as { code?: string }).code === 'output_blocked') return { blocked: (e as { finding: { type: string } }).finding.type };
    throw e;
  }
}
