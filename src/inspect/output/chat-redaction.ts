// Redaction obligations (`redact:pii`, `redact:secret`, `redact:email`) applied to OpenAI chat/completions
// answers, streamed or not, with the same result either way. A stream gets one StreamRedactor per choice
// index; each chunk's `choices[i].delta.content` goes through it, and what the redactor still holds is
// released in the chunk that carries that choice's `finish_reason` (or by finishChatStream when the
// upstream ends without one). Only message text is rewritten: tool-call arguments are JSON for a tool,
// and redacting inside them is the tool mediation's decision, not this helper's.
// An answer whose shape is not a chat completion cannot be redacted, so it is refused, not passed on.
import { UpstreamError } from '../../core/errors.js';
import { redact, type RedactTarget } from './redact.js';
import { createStreamRedactor, type StreamRedactor } from './stream-redactor.js';

export class ChatStreamRedactors {
  private readonly byChoice = new Map<number, StreamRedactor>();
  private readonly finished = new Set<number>();

  constructor(readonly targets: readonly RedactTarget[]) {}

  /** The redactor of one choice, created on its first delta. */
  forChoice(index: number): StreamRedactor {
    let r = this.byChoice.get(index);
    if (r === undefined) {
      r = createStreamRedactor({ categories: this.targets });
      this.byChoice.set(index, r);
    }
    return r;
  }

  /** Releases what the choice's redactor holds; later deltas for that choice are refused. */
  finish(index: number): string {
    this.finished.add(index);
    return this.forChoice(index).flush();
  }

  isFinished(index: number): boolean {
    return this.finished.has(index);
  }

  /** Choices that got deltas but no finish_reason yet, in index order. */
  unfinished(): number[] {
    return [...this.byChoice.keys()].filter((i) => !this.finished.has(i)).sort((a, b) => a - b);
  }
}

export function createChatStreamRedactors(targets: readonly RedactTarget[]): ChatStreamRedactors {
  return new ChatStreamRedactors(targets);
}

function invalid(what: string): UpstreamError {
  return new UpstreamError(502, 'invalid_upstream_response', `cannot apply redaction: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function choicesOf(json: unknown, kind: string): unknown[] {
  if (!isObject(json) || !Array.isArray(json.choices)) throw invalid(`${kind} has no choices array`);
  return json.choices;
}

/** One parsed `chat.completion.chunk`, redacted: returns a new chunk (the input is not modified). */
export function redactChatChunk(chunk: unknown, redactors: ChatStreamRedactors): Record<string, unknown> {
  const choices = choicesOf(chunk, 'stream chunk').map((c, n) => {
    if (!isObject(c)) throw invalid(`choices[${n}] is not an object`);
    const index = c.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) throw invalid(`choices[${n}].index is not a non-negative integer`);
    if (redactors.isFinished(index)) throw invalid(`choice ${index} continues after its finish_reason`);
    const delta = c.delta;
    if (delta !== undefined && !isObject(delta)) throw invalid(`choices[${n}].delta is not an object`);
    const content = delta?.content;
    if (content !== undefined && content !== null && typeof content !== 'string') throw invalid(`choices[${n}].delta.content is not a string`);
    const finishing = c.finish_reason !== undefined && c.finish_reason !== null;
    if (typeof content !== 'string' && !finishing) return c;
    let text = typeof content === 'string' ? redactors.forChoice(index).push(content) : '';
    if (finishing) text += redactors.finish(index);
    // A finishing chunk without content gets it only when held text has to go somewhere.
    if (typeof content !== 'string' && text === '') return c;
    return { ...c, delta: { ...delta, content: text } };
  });
  return { ...(chunk as Record<string, unknown>), choices };
}

/** For an upstream that ended without a finish_reason on every choice: a last chunk carrying what the
 *  redactors still hold (id, created, model copied from `like`), or null when nothing is held. */
export function finishChatStream(redactors: ChatStreamRedactors, like: Record<string, unknown> = {}): Record<string, unknown> | null {
  const choices: Record<string, unknown>[] = [];
  for (const index of redactors.unfinished()) {
    const text = redactors.finish(index);
    if (text !== '') choices.push({ index, delta: { content: text }, finish_reason: null });
  }
  if (choices.length === 0) return null;
  const head: Record<string, unknown> = { object: 'chat.completion.chunk' };
  for (const k of ['id', 'created', 'model', 'system_fingerprint']) if (like[k] !== undefined) head[k] = like[k];
  return { ...head, choices };
}

/** A whole (non-stream) `chat.completion`, redacted: returns a new response (the input is not modified). */
export function redactChatResponse(json: unknown, targets: readonly RedactTarget[]): Record<string, unknown> {
  const choices = choicesOf(json, 'response').map((c, n) => {
    if (!isObject(c)) throw invalid(`choices[${n}] is not an object`);
    const message = c.message;
    if (!isObject(message)) throw invalid(`choices[${n}].message is not an object`);
    const content = message.content;
    if (content === undefined || content === null) return c;
    if (typeof content !== 'string') throw invalid(`choices[${n}].message.content is not a string`);
    return { ...c, message: { ...message, content: redact(content, targets) } };
  });
  return { ...(json as Record<string, unknown>), choices };
}
