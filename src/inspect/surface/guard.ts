// The answer guard: the ONE path every answer takes, buffered or streamed, chat or completions. It reads
// the answer surface (answer.ts) field by field, per choice, and
//   - blocks the answer (OutputBlocked) when an output rule or the canary fires in any text, on the
//     normalized view with state carried across chunks (matchers.ts), so a violation is caught in a
//     stream exactly when it is caught in the buffered answer, however the text is chunked or spread out;
//   - redacts every text (redact:* obligations): `text` fields through one stream redactor per choice and
//     field (same result as whole-text redaction for any chunking); tool-call names and arguments are held
//     until their choice finishes and then redacted whole, arguments kept valid JSON (json-redact.ts);
//     other strings value by value; logprobs are dropped (set to null), because a token-by-token
//     rendering of redacted text cannot be produced consistently;
//   - keeps the produced (unredacted) text, up to 1 MiB, for PII/secret findings.
// A buffered answer is a stream of one chunk: whole() runs the same per-field machinery as chunk(), with
// every choice finishing in that chunk.
//
// Checks read what the model produced (before redaction): a canary or a command the model emitted is a
// violation even where redaction would have hidden it.
//
// Memory: per live (choice, field) and view (as sent, normalized, and for tool-call arguments their
// decoded JSON string values — json-view.ts, plus a pending escape of ≤ 6 characters) a RuleMatcher
// (≤ MAX_RULE_MATCH + 2 = 242 characters and origins) and a CanaryMatcher (≤ token length − 1
// characters); a stream redactor (its context of 96 characters plus the held tail); at most MAX_FIELDS
// live fields; tool-call text held for redaction ≤ MAX_HELD_CHARS; text kept for findings ≤ MAX_FINDINGS_TEXT. Past a limit the answer is refused (502), never passed unread.
import { Forbidden } from '../../core/errors.js';
import type { Finding } from '../../core/types.js';
import type { Canary } from '../output/canary.js';
import { redact, type RedactTarget } from '../output/redact.js';
import { createStreamRedactor, type StreamRedactor } from '../output/stream-redactor.js';
import { ChoiceReader, choiceIndex, invalidAnswer, isEmbeddingsAnswer, isObject, type AnswerField, type AnswerTextKind, type PathSegment } from './answer.js';
import { detectSensitiveFolded } from './detect.js';
import { StreamFolder } from './fold.js';
import { redactJsonText } from './json-redact.js';
import { detectSensitiveJson, JsonStringDecoder } from './json-view.js';
import { CanaryMatcher, RuleMatcher } from './matchers.js';

export interface AnswerPolicy {
  /** Output rules (`no_sql`, `no_shell`); an unknown name throws UnknownOutputRule at construction. */
  rules: string[];
  canary: Canary | null;
  /** Redaction targets from the redact:* obligations: categories (`pii`, `secret`) or types (`email`). */
  redact: RedactTarget[];
  /** Keep the produced text for findings(). */
  findings: boolean;
}

export class OutputBlocked extends Forbidden {
  constructor(readonly finding: Finding) {
    super('output_blocked', `the model's answer was withheld: it broke the deployment's output policy (${finding.type})`);
  }
}

export class AnswerGuardClosed extends Error {
  constructor() {
    super('answer guard: the answer already ended');
    this.name = 'AnswerGuardClosed';
  }
}

/** Live (choice, field) streams at once: n ≤ 16 choices with a handful of fields each in real answers. */
export const MAX_FIELDS = 1024;
/** Tool-call names and arguments held until their choice finishes, when redacting (characters). */
export const MAX_HELD_CHARS = 1 << 20;
/** Produced text kept for findings (characters); beyond it, text is not inspected for findings. */
export const MAX_FINDINGS_TEXT = 1 << 20;

/** One view of a field the rules and the canary read: the text as sent, its normalized view, or (tool-call
 *  arguments) the normalized decoded JSON string values. Both the sent and the normalized view are read
 *  because neither finds everything the other does: removing U+200B joins "DR\u200bOP" but also
 *  "sql\u200bSELECT"; folding "²" to "2" reveals a fullwidth digit but breaks "W²D²N²C²…". */
interface CheckView {
  decoder: JsonStringDecoder | null;
  folder: StreamFolder;
  rules: RuleMatcher | null;
  canary: CanaryMatcher | null;
}

interface FieldState {
  field: string;
  kind: AnswerTextKind;
  /** Where the field was last seen, from its choice (where a finishing chunk puts what is held). */
  at: PathSegment[];
  views: CheckView[];
  redactor: StreamRedactor | null;
  /** Tool-call text held until the choice finishes (redaction on, kind `call`). */
  held: string | null;
}

type Json = Record<string, unknown>;

/** Tool-call arguments: JSON for a tool, also read through their decoded string values. */
function isArguments(f: AnswerField): boolean {
  return f.kind === 'call' && f.field.endsWith('.arguments');
}
type Framing = 'chat' | 'completions';

/** The framing a chunk shows, or null when it shows none (a usage chunk with no choices and no `object`). */
function framingOf(json: Json): Framing | null {
  if (json.object === 'text_completion') return 'completions';
  if (typeof json.object === 'string' && json.object.startsWith('chat.completion')) return 'chat';
  const first = (json.choices as unknown[])[0];
  if (!isObject(first)) return null;
  return 'text' in first && !('delta' in first) && !('message' in first) ? 'completions' : 'chat';
}

/** The container at `at` (all but the last segment), created on the way when missing. */
function parentOf(root: Json, at: readonly PathSegment[]): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (let i = 0; i < at.length - 1; i++) {
    const seg = at[i]!;
    let next = node[seg];
    if (typeof next !== 'object' || next === null) {
      next = typeof at[i + 1] === 'number' ? [] : {};
      node[seg] = next;
    }
    node = next as Record<string | number, unknown>;
  }
  return node;
}

function setAt(root: Json, at: readonly PathSegment[], value: unknown): void {
  parentOf(root, at)[at[at.length - 1]!] = value;
}

function appendAt(root: Json, at: readonly PathSegment[], text: string): void {
  const parent = parentOf(root, at);
  const key = at[at.length - 1]!;
  const cur = parent[key];
  parent[key] = typeof cur === 'string' ? cur + text : text;
}

function deleteAt(root: Json, at: readonly PathSegment[]): void {
  delete parentOf(root, at)[at[at.length - 1]!];
}

export class AnswerGuard {
  /** True when the policy needs no work at all: the caller may relay the upstream bytes untouched. */
  readonly idle: boolean;
  private readonly checking: boolean;
  private readonly redacting: boolean;
  private readonly states = new Map<number, Map<string, FieldState>>();
  private readonly finished = new Set<number>();
  private fieldCount = 0;
  private heldChars = 0;
  private readonly produced = new Map<string, string[]>();
  private producedChars = 0;
  private cachedFindings: Finding[] | null = null;
  private framing: Framing = 'chat';
  private closed = false;

  constructor(private readonly policy: AnswerPolicy) {
    // Fail at construction, not at the first answer: an unknown rule or a bad canary is a config error.
    if (policy.rules.length > 0) new RuleMatcher(policy.rules);
    if (policy.canary !== null) new CanaryMatcher(policy.canary);
    this.checking = policy.rules.length > 0 || policy.canary !== null;
    this.redacting = policy.redact.length > 0;
    this.idle = !this.checking && !this.redacting && !policy.findings;
  }

  /** One parsed SSE chunk → the chunk(s) to emit now (the input object itself when nothing changed).
   *  Throws OutputBlocked, or UpstreamError 502 for a chunk that cannot be redacted. */
  chunk(json: Record<string, unknown>): Record<string, unknown>[] {
    if (this.closed) throw new AnswerGuardClosed();
    if (this.idle) return [json];
    if (!isObject(json) || !Array.isArray(json.choices)) {
      if (this.redacting) throw invalidAnswer('stream chunk has no choices array');
      this.loose(json);
      return [json];
    }
    this.framing = framingOf(json) ?? this.framing;
    const choices = json.choices.map((c, pos) => this.choice(c, pos, false));
    return [this.redacting ? { ...json, choices } : json];
  }

  /** End of stream: a chunk carrying what is still held for choices that never sent a finish_reason
   *  (head fields copied from `like`), or []. Runs the final checks, so it may throw OutputBlocked. */
  end(like: Record<string, unknown> = {}): Record<string, unknown>[] {
    if (this.closed) return [];
    this.closed = true;
    if (this.idle) return [];
    const loose = this.states.get(-1);
    if (loose !== undefined) for (const st of loose.values()) this.check(st, '', true);
    const out: Json[] = [];
    for (const index of [...this.states.keys()].filter((i) => i >= 0).sort((a, b) => a - b)) {
      const c: Json = this.framing === 'completions' ? { index, text: '', logprobs: null, finish_reason: null } : { index, delta: {}, finish_reason: null };
      this.finishChoice(index, c, false);
      const carries = this.framing === 'completions' ? c.text !== '' : Object.keys(c.delta as Json).length > 0;
      if (carries) out.push(c);
    }
    if (out.length === 0) return [];
    const head: Json = { object: this.framing === 'completions' ? 'text_completion' : 'chat.completion.chunk' };
    for (const k of ['id', 'created', 'model', 'system_fingerprint']) if (like[k] !== undefined) head[k] = like[k];
    return [{ ...head, choices: out }];
  }

  /** A whole buffered answer → the answer to send (the input object itself when nothing changed).
   *  Same per-field machinery as a stream of one chunk in which every choice finishes. */
  whole(json: Record<string, unknown>): Record<string, unknown> {
    if (this.closed) throw new AnswerGuardClosed();
    if (this.idle || isEmbeddingsAnswer(json)) {
      this.closed = true;
      return json;
    }
    if (!isObject(json) || !Array.isArray(json.choices)) {
      if (this.redacting) throw invalidAnswer('response has no choices array');
      this.loose(json);
      this.end();
      return json;
    }
    this.framing = framingOf(json) ?? this.framing;
    const choices = json.choices.map((c, pos) => this.choice(c, pos, true));
    this.end();
    return this.redacting ? { ...json, choices } : json;
  }

  /** PII/secret findings in what the model produced (before redaction), as `output.<category>.<type>`;
   *  offsets index the text of their field (choice and field concatenated over the stream). Logprob
   *  tokens repeat the content and are not counted again. */
  findings(): Finding[] {
    if (this.cachedFindings !== null) return this.cachedFindings;
    const out: Finding[] = [];
    for (const [key, parts] of this.produced) {
      const text = parts.join('');
      const found = key.endsWith('.arguments') ? detectSensitiveJson(text) : detectSensitiveFolded(text);
      for (const f of found) out.push({ ...f, category: 'output', type: `${f.category}.${f.type}` });
    }
    this.cachedFindings = out;
    return out;
  }

  /** A body without choices (an error event): its strings are checked as texts of choice -1. */
  private loose(json: unknown): void {
    const r = new ChoiceReader(-1, false, '(body)');
    r.other(json, []);
    for (const f of r.out) {
      this.check(this.state(-1, f), f.text, false);
      this.keep(f);
    }
  }

  private choice(c: unknown, pos: number, whole: boolean): unknown {
    const where = `choices[${pos}]`;
    if (!isObject(c)) {
      if (this.redacting) throw invalidAnswer(`${where} is not an object`);
      this.loose(c);
      return c;
    }
    const index = choiceIndex(c, pos, this.redacting, where);
    const r = new ChoiceReader(index, this.redacting, where);
    r.choiceObject(c);
    if (this.finished.has(index) && r.out.some((f) => f.text !== '')) throw invalidAnswer(`choice ${index} continues after its finish_reason`);
    const out: Json = this.redacting ? structuredClone(c) : c;
    for (const f of r.out) {
      const st = this.state(index, f);
      this.check(st, f.text, false);
      this.keep(f);
      if (this.redacting) this.rewrite(out, st, f, whole);
    }
    if (this.redacting && out.logprobs !== undefined && out.logprobs !== null) out.logprobs = null;
    if (whole || (c.finish_reason !== undefined && c.finish_reason !== null)) this.finishChoice(index, out, whole);
    return out;
  }

  private state(index: number, f: AnswerField): FieldState {
    let byField = this.states.get(index);
    if (byField === undefined) {
      byField = new Map();
      this.states.set(index, byField);
    }
    let st = byField.get(f.field);
    if (st === undefined) {
      if (this.fieldCount >= MAX_FIELDS) throw invalidAnswer(`more than ${MAX_FIELDS} text fields at once`);
      this.fieldCount++;
      st = {
        field: f.field,
        kind: f.kind,
        at: f.at,
        views: this.checking ? [this.view('sent'), this.view('folded'), ...(isArguments(f) ? [this.view('decoded')] : [])] : [],
        redactor: this.redacting && f.kind === 'text' ? createStreamRedactor({ categories: this.policy.redact }) : null,
        held: this.redacting && f.kind === 'call' ? '' : null,
      };
      byField.set(f.field, st);
    }
    st.at = f.at;
    return st;
  }

  private view(kind: 'sent' | 'folded' | 'decoded'): CheckView {
    return {
      decoder: kind === 'decoded' ? new JsonStringDecoder() : null,
      folder: new StreamFolder(kind !== 'sent'),
      rules: this.policy.rules.length > 0 ? new RuleMatcher(this.policy.rules) : null,
      canary: this.policy.canary !== null ? new CanaryMatcher(this.policy.canary, kind === 'sent') : null,
    };
  }

  private check(st: FieldState, text: string, final: boolean): void {
    for (const v of st.views) {
      const piece = v.folder.push(v.decoder !== null ? v.decoder.push(text) : text, final);
      const rule = v.rules?.push(piece, final) ?? null;
      if (rule !== null) throw new OutputBlocked(rule);
      const leak = v.canary?.push(piece) ?? null;
      if (leak !== null) throw new OutputBlocked(leak);
    }
  }

  private keep(f: AnswerField): void {
    if (!this.policy.findings || f.kind === 'logprob' || f.text === '') return;
    const room = MAX_FINDINGS_TEXT - this.producedChars;
    if (room <= 0) return;
    const text = f.text.length > room ? f.text.slice(0, room) : f.text;
    const key = `${f.choice}\u0000${f.field}`;
    const parts = this.produced.get(key);
    if (parts === undefined) this.produced.set(key, [text]);
    else parts.push(text);
    this.producedChars += text.length;
    this.cachedFindings = null;
  }

  private rewrite(out: Json, st: FieldState, f: AnswerField, whole: boolean): void {
    switch (f.kind) {
      case 'text':
        setAt(out, f.at, st.redactor!.push(f.text));
        break;
      case 'call':
        this.heldChars += f.text.length;
        if (this.heldChars > MAX_HELD_CHARS) throw invalidAnswer(`tool-call text held for redaction exceeds ${MAX_HELD_CHARS} characters`);
        st.held += f.text;
        // A stream releases the redacted call when its choice finishes; a whole answer gets it in place.
        if (!whole) deleteAt(out, f.at);
        break;
      case 'other':
        setAt(out, f.at, redact(f.text, this.policy.redact));
        break;
      case 'logprob':
        break; // logprobs are dropped as a whole under redaction
    }
  }

  /** Final checks of the choice's fields, and what they still hold written into `out` (the choice object). */
  private finishChoice(index: number, out: Json, whole: boolean): void {
    this.finished.add(index);
    const byField = this.states.get(index);
    if (byField === undefined) return;
    this.states.delete(index);
    this.fieldCount -= byField.size;
    for (const st of byField.values()) {
      this.check(st, '', true);
      if (st.redactor !== null) {
        const tail = st.redactor.flush();
        if (tail !== '') appendAt(out, st.at, tail);
      }
      if (st.held !== null) {
        this.heldChars -= st.held.length;
        const text = st.field.endsWith('.arguments') ? redactJsonText(st.held, this.policy.redact) : redact(st.held, this.policy.redact);
        if (whole) setAt(out, st.at, text);
        else if (text !== '') this.releaseCall(out, st, text);
      }
    }
  }

  /** Puts a held tool-call name or arguments into the finishing chunk's delta. */
  private releaseCall(out: Json, st: FieldState, text: string): void {
    const container = typeof st.at[0] === 'string' ? st.at[0] : 'delta';
    const m = /^tool_calls\[(\d+)\]\.function\.(name|arguments)$/.exec(st.field);
    if (m === null) {
      // Legacy function_call.name / .arguments.
      setAt(out, [container, ...st.field.split('.')], text);
      return;
    }
    const k = Number(m[1]);
    const delta = parentOf(out, [container, 'x']) as Json;
    if (!Array.isArray(delta.tool_calls)) delta.tool_calls = [];
    const calls = delta.tool_calls as Json[];
    let call = calls.find((c) => isObject(c) && c.index === k);
    if (call === undefined) {
      call = { index: k, function: {} };
      calls.push(call);
    }
    if (!isObject(call.function)) call.function = {};
    (call.function as Json)[m[2]!] = text;
  }
}
