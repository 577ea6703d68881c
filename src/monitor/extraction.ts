// Model extraction: systematic probing of a model to copy it (or invert it) shows as volume of a particular
// kind over minutes, per principal. Five signals over a sliding window (`windowMs`, default 10 min):
//   diverse     many short prompts (< 500 characters), nearly all distinct: coverage-seeking queries
//   templated   many prompts that share a template (same opening words once digits are masked) while the
//               prompts themselves differ: grid-like or slot-filling probes
//   logprobs    many requests asking for logprobs / top_logprobs (the richest signal for distillation)
//   samples     many sampled choices (`n` summed over requests)
//   embeddings  many embedding inputs (harvesting the embedding space)
// Each signal is 0 below its volume floor (so ordinary use never counts) and grows to its weight at twice
// it; score = 1 − Π(1 − partᵢ) (noisy-OR), reported with the signals that made it. A batch job that sends
// long templated documents is not "diverse" (long prompts are not counted there) and alone reaches at most
// the templated weight, below the default threshold; an indexer embedding more than `embeddingInputs` per
// window does trip the embeddings signal (exempt it in policy, or raise the floor).
import { hash } from 'node:crypto';
import type { Clock } from '../core/clock.js';

export interface ExtractionRequest {
  endpoint: 'chat' | 'completions' | 'embeddings';
  body: Record<string, unknown>;
}

export interface ExtractionOptions {
  clock: Clock;
  windowMs?: number;
  /** Requests in the window below which the prompt signals (diverse, templated, logprobs) are 0. */
  minRequests?: number;
  /** Sampled choices (Σ n) in the window below which the samples signal is 0. */
  samples?: number;
  /** Embedding inputs in the window below which the embeddings signal is 0. */
  embeddingInputs?: number;
  /** Score at which a principal is reported (`onSuspect`), once per crossing. */
  threshold?: number;
  maxPrincipals?: number;
  /** Distinct prompts remembered per principal and window at most (beyond: counted as distinct). */
  maxPromptsPerPrincipal?: number;
  onSuspect?: (principal: string, a: ExtractionAssessment) => void;
}

export type ExtractionSignal = 'diverse' | 'templated' | 'logprobs' | 'samples' | 'embeddings';

export interface ExtractionAssessment {
  score: number;
  /** Each signal's contribution (0 when below its floor). */
  parts: Record<ExtractionSignal, number>;
  requests: number;
  shortPrompts: number;
  distinctShort: number;
  templatedRequests: number;
  logprobRequests: number;
  samples: number;
  embeddingInputs: number;
}

const WEIGHTS: Record<ExtractionSignal, number> = { diverse: 0.45, templated: 0.45, logprobs: 0.6, samples: 0.5, embeddings: 0.7 };
const SHORT = 500;
/** Requests sharing one template before they count as templated. */
const TEMPLATE_MIN = 10;

interface Slice {
  start: number;
  requests: number;
  logprobRequests: number;
  samples: number;
  embeddingInputs: number;
  prompts: string[];
  templates: string[];
}

interface State {
  slices: Slice[];
  /** Window-wide counts of short prompts' fingerprints and of templates (kept in step with the slices). */
  prompts: Map<string, number>;
  templates: Map<string, number>;
  templatedRequests: number;
  shortPrompts: number;
  overflow: number;
  suspected: boolean;
}

/** The text a request asks about: the last user message, the prompt, or the embedding inputs. */
export function promptsOf(r: ExtractionRequest): string[] {
  const b = r.body;
  if (r.endpoint === 'embeddings') {
    const input = b.input;
    if (typeof input === 'string') return [input];
    if (Array.isArray(input)) return input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    return [];
  }
  if (r.endpoint === 'completions') {
    const p = b.prompt;
    return typeof p === 'string' ? [p] : Array.isArray(p) ? p.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
  }
  const messages = Array.isArray(b.messages) ? (b.messages as Record<string, unknown>[]) : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return [m.content];
    if (Array.isArray(m.content)) return [(m.content as { text?: unknown }[]).map((p) => (typeof p?.text === 'string' ? p.text : '')).join(' ')];
  }
  return [];
}

/** A prompt's template: its first six words, lower-cased, digit runs and quoted strings masked. */
export function templateOf(prompt: string): string {
  return prompt
    .toLowerCase()
    .replace(/"[^"]*"|'[^']*'/g, '"*"')
    .replace(/[0-9]+(?:[.,][0-9]+)*/g, '#')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 6)
    .join(' ');
}

// One-shot crypto.hash: about a third of createHash().update().digest()'s cost on a short prompt (src/core/digest.ts).
const fingerprint = (s: string): string => hash('sha256', s, 'base64url').slice(0, 16);

const asksLogprobs = (r: ExtractionRequest): boolean => {
  const b = r.body;
  if (r.endpoint === 'chat') return b.logprobs === true || (typeof b.top_logprobs === 'number' && b.top_logprobs > 0);
  if (r.endpoint === 'completions') return typeof b.logprobs === 'number' && b.logprobs > 0;
  return false;
};

/** What one request adds to the window: the same reading for the in-process detector and the shared one. */
export interface RequestFeatures {
  logprobs: boolean;
  samples: number;
  embeddingInputs: number;
  /** The prompt's template (null: an embedding request, or no prompt). */
  template: string | null;
  /** A short prompt's fingerprint (null: none, or not short). */
  shortPrompt: string | null;
}

export function requestFeatures(r: ExtractionRequest): RequestFeatures {
  if (r.endpoint === 'embeddings') return { logprobs: false, samples: 0, embeddingInputs: Math.max(1, promptsOf(r).length), template: null, shortPrompt: null };
  const n = r.body.n;
  const prompt = promptsOf(r)[0];
  return {
    logprobs: asksLogprobs(r),
    samples: typeof n === 'number' && Number.isInteger(n) && n > 0 ? Math.min(n, 128) : 1,
    embeddingInputs: 0,
    template: prompt === undefined ? null : templateOf(prompt.slice(0, 300)), // six words: the opening is enough
    shortPrompt: prompt !== undefined && prompt.length < SHORT ? fingerprint(prompt) : null,
  };
}

/** The window's counts an assessment is made of. */
export interface WindowCounts {
  requests: number;
  logprobRequests: number;
  samples: number;
  embeddingInputs: number;
  shortPrompts: number;
  distinctShort: number;
  templatedRequests: number;
}

/** Requests sharing one template before they count as templated (exported for the shared detector's script). */
export const TEMPLATE_MIN_REQUESTS = TEMPLATE_MIN;

export class ExtractionDetector {
  private readonly states = new Map<string, State>();
  private readonly windowMs: number;
  private readonly sliceMs: number;
  private readonly minRequests: number;
  private readonly samplesFloor: number;
  private readonly embeddingFloor: number;
  private readonly threshold: number;
  private readonly maxPrincipals: number;
  private readonly maxPrompts: number;

  constructor(private readonly o: ExtractionOptions) {
    this.windowMs = o.windowMs ?? 600_000;
    this.sliceMs = Math.max(1, Math.floor(this.windowMs / 10));
    this.minRequests = o.minRequests ?? 200;
    this.samplesFloor = o.samples ?? 2_000;
    this.embeddingFloor = o.embeddingInputs ?? 5_000;
    this.threshold = o.threshold ?? 0.65;
    this.maxPrincipals = o.maxPrincipals ?? 100_000;
    this.maxPrompts = o.maxPromptsPerPrincipal ?? 20_000;
    if (!(this.minRequests >= 1 && this.samplesFloor >= 1 && this.embeddingFloor >= 1)) throw new Error('monitor.extraction floors must be at least 1');
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new Error('monitor.extraction.threshold must be in (0, 1]');
  }

  /** One model request (as it was judged by policy and forwarded). Returns the principal's assessment now. */
  observe(principal: string, r: ExtractionRequest): ExtractionAssessment {
    const now = this.o.clock.now();
    const s = this.state(principal);
    this.expire(s, now);
    const slice = this.slice(s, now);
    const f = requestFeatures(r);
    slice.requests++;
    if (f.logprobs) slice.logprobRequests++;
    slice.embeddingInputs += f.embeddingInputs;
    slice.samples += f.samples;
    if (f.template !== null) {
      const t = f.template;
      slice.templates.push(t);
      const c = (s.templates.get(t) ?? 0) + 1;
      s.templates.set(t, c);
      if (c === TEMPLATE_MIN) s.templatedRequests += TEMPLATE_MIN;
      else if (c > TEMPLATE_MIN) s.templatedRequests++;
    }
    if (f.shortPrompt !== null) {
      s.shortPrompts++;
      const fp = f.shortPrompt;
      if (s.prompts.size >= this.maxPrompts && !s.prompts.has(fp)) {
        s.overflow++;
        slice.prompts.push('');
      } else {
        slice.prompts.push(fp);
        s.prompts.set(fp, (s.prompts.get(fp) ?? 0) + 1);
      }
    }
    const a = this.assess(s);
    if (!s.suspected && a.score >= this.threshold) {
      s.suspected = true;
      this.o.onSuspect?.(principal, a);
    } else if (s.suspected && a.score < this.threshold / 2) {
      s.suspected = false;
    }
    return a;
  }

  /** The principal's assessment now (all zero for one never seen). */
  assessment(principal: string): ExtractionAssessment {
    const s = this.states.get(principal);
    if (!s) return this.assess(this.fresh());
    this.expire(s, this.o.clock.now());
    return this.assess(s);
  }

  score(principal: string): number {
    return this.states.has(principal) ? this.assessment(principal).score : 0;
  }

  reset(principal: string): void {
    this.states.delete(principal);
  }

  /** The window's settings, for the shared detector. */
  get settings(): { windowMs: number; threshold: number; maxPrompts: number } {
    return { windowMs: this.windowMs, threshold: this.threshold, maxPrompts: this.maxPrompts };
  }

  private assess(s: State): ExtractionAssessment {
    let requests = 0;
    let logprobRequests = 0;
    let samples = 0;
    let embeddingInputs = 0;
    for (const x of s.slices) {
      requests += x.requests;
      logprobRequests += x.logprobRequests;
      samples += x.samples;
      embeddingInputs += x.embeddingInputs;
    }
    return this.assessCounts({ requests, logprobRequests, samples, embeddingInputs, shortPrompts: s.shortPrompts, distinctShort: s.prompts.size + s.overflow, templatedRequests: s.templatedRequests });
  }

  /** The assessment of a window's counts (the shared detector counts in Redis and scores here). */
  assessCounts(c: WindowCounts): ExtractionAssessment {
    const { requests, logprobRequests, samples, embeddingInputs, distinctShort } = c;
    const s = { shortPrompts: c.shortPrompts, templatedRequests: c.templatedRequests };
    const ramp = (v: number, floor: number) => (v < floor ? 0 : Math.min(1, v / (2 * floor)));
    const parts: Record<ExtractionSignal, number> = {
      diverse: s.shortPrompts >= this.minRequests && distinctShort / s.shortPrompts >= 0.9 ? WEIGHTS.diverse * ramp(s.shortPrompts, this.minRequests) : 0,
      templated: requests > 0 && s.templatedRequests / requests >= 0.6 ? WEIGHTS.templated * ramp(s.templatedRequests, this.minRequests / 2) : 0,
      logprobs: WEIGHTS.logprobs * ramp(logprobRequests, this.minRequests / 2),
      samples: WEIGHTS.samples * ramp(samples, this.samplesFloor),
      embeddings: WEIGHTS.embeddings * ramp(embeddingInputs, this.embeddingFloor),
    };
    const score = 1 - Object.values(parts).reduce((acc, p) => acc * (1 - p), 1);
    return { score: Math.round(score * 1000) / 1000, parts, requests, shortPrompts: s.shortPrompts, distinctShort, templatedRequests: s.templatedRequests, logprobRequests, samples, embeddingInputs };
  }

  private fresh(): State {
    return { slices: [], prompts: new Map(), templates: new Map(), templatedRequests: 0, shortPrompts: 0, overflow: 0, suspected: false };
  }

  private state(principal: string): State {
    let s = this.states.get(principal);
    if (s) {
      this.states.delete(principal); // re-inserted: Map order is recency order
    } else {
      if (this.states.size >= this.maxPrincipals) this.states.delete(this.states.keys().next().value!);
      s = this.fresh();
    }
    this.states.set(principal, s);
    return s;
  }

  private slice(s: State, now: number): Slice {
    const start = now - (now % this.sliceMs);
    const last = s.slices.at(-1);
    if (last && last.start === start) return last;
    const x: Slice = { start, requests: 0, logprobRequests: 0, samples: 0, embeddingInputs: 0, prompts: [], templates: [] };
    s.slices.push(x);
    return x;
  }

  /** Drops slices older than the window, taking their prompts and templates out of the window-wide counts. */
  private expire(s: State, now: number): void {
    while (s.slices.length && s.slices[0]!.start <= now - this.windowMs) {
      const old = s.slices.shift()!;
      for (const f of old.prompts) {
        s.shortPrompts--;
        if (f === '') {
          s.overflow--;
          continue;
        }
        const c = s.prompts.get(f)! - 1;
        if (c === 0) s.prompts.delete(f);
        else s.prompts.set(f, c);
      }
      for (const t of old.templates) {
        const c = s.templates.get(t)! - 1;
        if (c === TEMPLATE_MIN - 1) s.templatedRequests -= TEMPLATE_MIN;
        else if (c >= TEMPLATE_MIN) s.templatedRequests--;
        if (c === 0) s.templates.delete(t);
        else s.templates.set(t, c);
      }
    }
  }
}
