// Output hardening against model extraction and inversion, the enforcement of two obligations:
//
// `harden:logprobs[=round|strip|noise:ε]` — token log-probabilities are the richest signal for distilling a
//   model. `round` (the default) rounds every logprob to one decimal (a tenth of a nat) and caps the
//   alternatives asked for at 5; `strip` removes them from the request and the answer; `noise:ε` applies the
//   Laplace mechanism per released value: each logprob is clipped to [−20, 0] and released as
//   min(0, v + Lap(Δ/ε)) with sensitivity Δ = 1 nat, i.e. ε-differential privacy for each value with respect
//   to a change of up to 1 nat in it (k released values compose to kε). That is a statement about the
//   logprob values an attacker sees, not a training-data privacy guarantee for the model.
// `harden:embeddings[=σ]` — each embedding vector v (d components) gets Gaussian noise N(0, (σ‖v‖/√d)²)
//   per component and is rescaled to its original norm; σ = 0.05 by default keeps the cosine similarity
//   between the released and the true vector near 1/√(1+σ²) ≈ 0.999 (retrieval still works) while every
//   harvested vector is perturbed afresh.
// Streamed answers are not rewritten chunk by chunk: under any logprobs mode a streamed request is stripped.
import { randomBytes } from 'node:crypto';

export type LogprobHardening = { mode: 'round' } | { mode: 'strip' } | { mode: 'noise'; epsilon: number };

const CLIP = -20;
const MAX_TOP = 5;

/** A uniform number in [0, 1) from the CSPRNG (the noise must not be predictable to the caller). */
export function secureRandom(): number {
  return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
}

/** One draw of Laplace(0, b), by the inverse CDF. */
export function laplace(b: number, random: () => number = secureRandom): number {
  let u = random() - 0.5;
  if (u === -0.5) u = -0.4999999999; // ln(0) guard
  return -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

const l2 = (v: number[]): number => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** True when the request asks for logprobs (chat: logprobs/top_logprobs; completions: logprobs N). */
export function asksForLogprobs(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint === 'chat') return body.logprobs === true || (typeof body.top_logprobs === 'number' && body.top_logprobs > 0);
  if (endpoint === 'completions') return typeof body.logprobs === 'number' && body.logprobs > 0;
  return false;
}

/** The request as forwarded: logprob fields removed (strip) or the alternatives capped at 5. */
export function hardenLogprobsRequest(endpoint: string, body: Record<string, unknown>, h: LogprobHardening): Record<string, unknown> {
  const out = { ...body };
  if (h.mode === 'strip') {
    delete out.logprobs;
    delete out.top_logprobs;
    return out;
  }
  if (endpoint === 'chat' && typeof out.top_logprobs === 'number' && out.top_logprobs > MAX_TOP) out.top_logprobs = MAX_TOP;
  if (endpoint === 'completions' && typeof out.logprobs === 'number' && out.logprobs > MAX_TOP) out.logprobs = MAX_TOP;
  return out;
}

/** The answer with every logprob value rounded, noised or removed (choices[].logprobs, chat and completions shapes). */
export function hardenLogprobsAnswer(json: Record<string, unknown>, h: LogprobHardening, random: () => number = secureRandom): Record<string, unknown> {
  if (!Array.isArray(json.choices)) return json;
  const value = (v: unknown): unknown => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return v;
    if (h.mode === 'round') return Math.round(v * 10) / 10;
    return Math.min(0, Math.max(CLIP, v) + laplace(1 / (h as { epsilon: number }).epsilon, random));
  };
  const entry = (e: unknown): unknown => {
    if (!e || typeof e !== 'object') return e;
    const x = { ...(e as Record<string, unknown>) };
    if ('logprob' in x) x.logprob = value(x.logprob);
    if (Array.isArray(x.top_logprobs)) x.top_logprobs = (x.top_logprobs as unknown[]).slice(0, MAX_TOP).map(entry);
    return x;
  };
  const choices = (json.choices as unknown[]).map((c) => {
    if (!c || typeof c !== 'object') return c;
    const choice = { ...(c as Record<string, unknown>) };
    const lp = choice.logprobs;
    if (lp === undefined || lp === null) return choice;
    if (h.mode === 'strip' || typeof lp !== 'object') {
      choice.logprobs = null;
      return choice;
    }
    const l = { ...(lp as Record<string, unknown>) };
    for (const k of ['content', 'refusal']) if (Array.isArray(l[k])) l[k] = (l[k] as unknown[]).map(entry);
    if (Array.isArray(l.token_logprobs)) l.token_logprobs = (l.token_logprobs as unknown[]).map(value);
    if (Array.isArray(l.top_logprobs)) {
      l.top_logprobs = (l.top_logprobs as unknown[]).map((m) => {
        if (!m || typeof m !== 'object') return m;
        const kept = Object.entries(m as Record<string, unknown>).slice(0, MAX_TOP);
        return Object.fromEntries(kept.map(([tok, v]) => [tok, value(v)]));
      });
    }
    choice.logprobs = l;
    return choice;
  });
  return { ...json, choices };
}

/** The embeddings answer with calibrated noise on every vector (norm kept). Base64 vectors are refused by the request side. */
export function hardenEmbeddings(json: Record<string, unknown>, sigma: number, random: () => number = secureRandom): Record<string, unknown> {
  if (!Array.isArray(json.data)) return json;
  const data = (json.data as unknown[]).map((d) => {
    if (!d || typeof d !== 'object') return d;
    const item = d as Record<string, unknown>;
    const v = item.embedding;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) return { ...item, embedding: null };
    const vec = v as number[];
    const norm = l2(vec);
    const scale = (sigma * norm) / Math.sqrt(vec.length);
    const noisy = vec.map((x) => x + scale * gaussian(random));
    const n2 = l2(noisy) || 1;
    return { ...item, embedding: noisy.map((x) => (x * norm) / n2) };
  });
  return { ...json, data };
}
