// The answer surface: every piece of text a client receives in an OpenAI answer, buffered
// (chat.completion, text_completion) or streamed (chat.completion.chunk, text_completion chunks),
// enumerated in ONE place. Redaction, output rules, the canary and answer findings read only this list.
//
// Per choice, in `message` (buffered) or `delta` (streamed), or on the choice itself (completions):
//   text    content (string, or text/refusal parts), refusal, reasoning_content, reasoning,
//           audio.transcript, completions `text` — streamed piece by piece, concatenated per field;
//   call    tool_calls[k].function.name/.arguments, legacy function_call.name/.arguments — JSON for a tool;
//   logprob every token string under `logprobs` (chat content/refusal tokens and top_logprobs tokens,
//           completions tokens and top_logprobs keys) — the same words again, token by token;
//   other   any other string inside a choice: a field nobody anticipated is read, not skipped.
// Skipped as non-text: index, finish_reason, role, tool-call id/type/index, audio id/data/expires_at.
// Embeddings answers carry no text (vectors), so they enumerate nothing.
//
// `field` names a text stream stably across framings: relative to message/delta, a tool call by its
// `index` (position when absent), logprob arrays without positions (tokens concatenate in order).
import { UpstreamError } from '../../core/errors.js';

export type AnswerTextKind = 'text' | 'call' | 'logprob' | 'other';

export type PathSegment = string | number;

export interface AnswerField {
  /** The choice's `index` (its position when the answer gives none and nothing is strict). */
  choice: number;
  /** Where the string sits, from the choice object. */
  at: PathSegment[];
  /** Stable name of the text stream, the same in a buffered answer and in stream chunks. */
  field: string;
  kind: AnswerTextKind;
  text: string;
}

export interface AnswerText {
  choice: number;
  /** JSON path from the answer, e.g. `choices[0].message.tool_calls[1].function.arguments`. */
  path: string;
  field: string;
  kind: AnswerTextKind;
  text: string;
}

const TEXT_FIELDS = new Set(['refusal', 'reasoning_content', 'reasoning']);
const LOGPROB_STRUCTURE = new Set(['token', 'logprob', 'bytes', 'top_logprobs', 'content', 'refusal', 'tokens', 'token_logprobs', 'text_offset']);
const AUDIO_NON_TEXT = new Set(['id', 'data', 'expires_at', 'format']);

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function invalidAnswer(what: string): UpstreamError {
  return new UpstreamError(502, 'invalid_upstream_response', `cannot apply the answer policy: ${what}`);
}

function pathString(at: readonly PathSegment[]): string {
  let s = '';
  for (const p of at) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

/** Reads one choice. `strict` (redaction on): a known text field of the wrong type is refused, since an
 *  answer that cannot be redacted must not pass. Otherwise odd values are read as far as they are strings. */
export class ChoiceReader {
  readonly out: AnswerField[] = [];
  constructor(
    readonly choice: number,
    private readonly strict: boolean,
    private readonly where: string,
  ) {}

  private add(at: PathSegment[], field: string, kind: AnswerTextKind, text: string): void {
    this.out.push({ choice: this.choice, at, field, kind, text });
  }

  private wrong(at: PathSegment[], what: string): void {
    if (this.strict) throw invalidAnswer(`${this.where}.${pathString(at)} ${what}`);
  }

  /** A string where text belongs; null/absent is no text; anything else is refused when strict. */
  private str(v: unknown, at: PathSegment[], field: string, kind: AnswerTextKind): void {
    if (typeof v === 'string') this.add(at, field, kind, v);
    else if (v !== undefined && v !== null) this.wrong(at, 'is not a string');
  }

  /** Every string in a value whose structure is not known. */
  other(v: unknown, at: PathSegment[], depth = 0): void {
    if (depth > 64) throw invalidAnswer(`${this.where}.${pathString(at)} is nested too deeply`);
    if (typeof v === 'string') this.add(at, pathString(at), 'other', v);
    else if (Array.isArray(v)) v.forEach((x, i) => this.other(x, [...at, i], depth + 1));
    else if (isObject(v)) for (const [k, x] of Object.entries(v)) this.other(x, [...at, k], depth + 1);
  }

  choiceObject(c: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(c)) {
      if (k === 'index' || k === 'finish_reason') continue;
      if (k === 'message' || k === 'delta') {
        if (isObject(v)) this.container(v, k);
        else if (v !== undefined && v !== null) {
          this.wrong([k], 'is not an object');
          this.other(v, [k]);
        }
      } else if (k === 'text') this.str(v, ['text'], 'text', 'text');
      else if (k === 'logprobs') this.logprobs(v, ['logprobs']);
      else this.other(v, [k]);
    }
  }

  private container(m: Record<string, unknown>, base: string): void {
    for (const [k, v] of Object.entries(m)) {
      const at: PathSegment[] = [base, k];
      if (k === 'role') continue;
      if (k === 'content') this.content(v, at);
      else if (TEXT_FIELDS.has(k)) this.str(v, at, k, 'text');
      else if (k === 'tool_calls') this.toolCalls(v, at);
      else if (k === 'function_call') {
        if (isObject(v)) {
          for (const [fk, fv] of Object.entries(v)) {
            if (fk === 'name' || fk === 'arguments') this.str(fv, [...at, fk], `function_call.${fk}`, 'call');
            else this.other(fv, [...at, fk]);
          }
        } else if (v !== undefined && v !== null) {
          this.wrong(at, 'is not an object');
          this.other(v, at);
        }
      } else if (k === 'audio' && isObject(v)) {
        for (const [ak, av] of Object.entries(v)) {
          if (ak === 'transcript') this.str(av, [...at, ak], 'audio.transcript', 'text');
          else if (!AUDIO_NON_TEXT.has(ak)) this.other(av, [...at, ak]);
        }
      } else this.other(v, at);
    }
  }

  private content(v: unknown, at: PathSegment[]): void {
    if (typeof v === 'string') return this.add(at, 'content', 'text', v);
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) {
      this.wrong(at, 'is neither a string nor an array of parts');
      return this.other(v, at);
    }
    v.forEach((part, j) => {
      const pat = [...at, j];
      if (!isObject(part)) {
        this.wrong(pat, 'is not an object');
        return this.other(part, pat);
      }
      for (const [k, x] of Object.entries(part)) {
        if (k === 'type') continue;
        if ((k === 'text' && part.type === 'text') || (k === 'refusal' && part.type === 'refusal')) this.str(x, [...pat, k], `content[${j}].${k}`, 'text');
        else this.other(x, [...pat, k]);
      }
    });
  }

  private toolCalls(v: unknown, at: PathSegment[]): void {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) {
      this.wrong(at, 'is not an array');
      return this.other(v, at);
    }
    v.forEach((tc, pos) => {
      const tat = [...at, pos];
      if (!isObject(tc)) {
        this.wrong(tat, 'is not an object');
        return this.other(tc, tat);
      }
      const k = typeof tc.index === 'number' && Number.isInteger(tc.index) && tc.index >= 0 ? tc.index : pos;
      for (const [key, x] of Object.entries(tc)) {
        if (key === 'id' || key === 'type' || key === 'index') continue;
        if (key === 'function' && isObject(x)) {
          for (const [fk, fv] of Object.entries(x)) {
            if (fk === 'name' || fk === 'arguments') this.str(fv, [...tat, key, fk], `tool_calls[${k}].function.${fk}`, 'call');
            else this.other(fv, [...tat, key, fk]);
          }
        } else {
          if (key === 'function' && x !== undefined && x !== null) this.wrong([...tat, key], 'is not an object');
          this.other(x, [...tat, key]);
        }
      }
    });
  }

  /** Token strings under logprobs; their field drops array positions so tokens concatenate in order. */
  private logprobs(v: unknown, at: PathSegment[], depth = 0): void {
    if (depth > 64) throw invalidAnswer(`${this.where}.${pathString(at)} is nested too deeply`);
    const field = () => pathString(at).replace(/\[\d+\]/g, '[]');
    if (typeof v === 'string') this.add(at, field(), 'logprob', v);
    else if (Array.isArray(v)) v.forEach((x, i) => this.logprobs(x, [...at, i], depth + 1));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        // Completions top_logprobs are maps from token to logprob: the keys are the text.
        if (!LOGPROB_STRUCTURE.has(k)) this.add([...at, k], `${field()}#key`, 'logprob', k);
        this.logprobs(x, [...at, k], depth + 1);
      }
    }
  }
}

/** The index of choice `c` at position `pos`; refused when strict and absent or malformed. */
export function choiceIndex(c: Record<string, unknown>, pos: number, strict: boolean, where: string): number {
  const index = c.index;
  if (typeof index === 'number' && Number.isInteger(index) && index >= 0) return index;
  if (strict) throw invalidAnswer(`${where}.index is not a non-negative integer`);
  return pos;
}

/** An embeddings answer (`{object: 'list', data: [{embedding}]}`): vectors, no text. */
export function isEmbeddingsAnswer(json: unknown): boolean {
  return isObject(json) && json.object === 'list' && Array.isArray(json.data) && !('choices' in json);
}

/** Every text of a buffered answer or a stream chunk (chat or completions), in order. A body without a
 *  `choices` array (an error event) has its strings read as `other` texts of choice -1; an embeddings
 *  answer has none. */
export function answerTexts(json: unknown): AnswerText[] {
  const out: AnswerText[] = [];
  if (isEmbeddingsAnswer(json)) return out;
  if (!isObject(json) || !Array.isArray(json.choices)) {
    const r = new ChoiceReader(-1, false, '(body)');
    r.other(json, []);
    for (const f of r.out) out.push({ choice: -1, path: pathString(f.at), field: f.field, kind: f.kind, text: f.text });
    return out;
  }
  json.choices.forEach((c, pos) => {
    const where = `choices[${pos}]`;
    const r = new ChoiceReader(isObject(c) ? choiceIndex(c, pos, false, where) : pos, false, where);
    if (isObject(c)) r.choiceObject(c);
    else r.other(c, []);
    for (const f of r.out) out.push({ choice: f.choice, path: `${where}${f.at.length ? (typeof f.at[0] === 'number' ? '' : '.') + pathString(f.at) : ''}`, field: f.field, kind: f.kind, text: f.text });
  });
  return out;
}
