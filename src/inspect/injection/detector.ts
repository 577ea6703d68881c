// Prompt-injection / jailbreak score in [0,1] with the signals that fired.
// score = 1 − (1 − p) · Π(1 − prior_s): p is the logistic-regression probability over hashed n-grams
// and learned signal weights; the priors belong to obfuscation signals that the labelled training data
// barely contains (tag smuggling, hidden instructions in base64, forged chat-template turns), so the
// classifier cannot learn them and they are set from their meaning instead. A text shorter than the
// shortest instruction is not scored, nor one of fewer than three words in which no signal fired.
import type { Finding } from '../../core/types.js';
import { calibrate, clampLogit, deepModel, deepProbability } from './deep.js';
import { HASH_DIM, hashFeatureIndices, l2Normalizer } from './features.js';
import { injectionModel, type InjectionModel } from './model.js';
import { CUE_SIGNALS, SIGNAL_NAMES, scanSignals, type SignalName } from './signals.js';
import { findEncodedPayloads } from './encoded.js';
import { obfuscatedViews, type TextView } from './views.js';

export const OBFUSCATION_PRIORS: Partial<Record<SignalName, number>> = {
  // Attack wording in a decoded base64 or hex run: the readings' prior (HIDDEN_READING_PRIOR), for the same reason.
  encoded_instructions: 0.5,
  unicode_tags: 0.9,
  delimiter_spoofing: 0.6,
  homoglyphs: 0.5,
  invisible_chars: 0.5,
  bidi_control: 0.4,
};

// The operating points on the score live beside the Findings type, where every plane that reads the score finds them.
export { INJECTION_BLOCK_CUT, INJECTION_FLAG_CUT } from '../../core/injection-cuts.js';

/** Confidence attached to a phrase-signal finding (the finding is a fact; the score is the verdict). */
const PHRASE_CONFIDENCE = 0.8;
const MIN_SCORED_LENGTH = 8;
/**
 * Below this many words a text is judged by its signals alone, never by the classifiers: two words ("Delete
 * everything", a tool named delete_everything, "Say hello") are too little evidence for n-gram models, whose
 * verdict there is a coin toss between imperatives and small talk. An attack that short carries a rule signal
 * ("Ignore instructions", "developer mode") or an obfuscation, and is scored as before. Han and kana characters
 * count one word each (those scripts write no spaces).
 */
const MIN_CLASSIFIER_WORDS = 3;
const WORDS = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{N}]+/gu;

function fewerWordsThan(text: string, n: number): boolean {
  WORDS.lastIndex = 0;
  let count = 0;
  while (WORDS.exec(text) !== null) if (++count >= n) return false;
  return true;
}

export interface InjectionResult {
  /** Calibrated probability of an injection (Platt scaling fitted on the calibration split). */
  score: number;
  /** Which tier produced the score: the fast one alone, or the deeper one because the fast one was unsure. */
  tier: 1 | 2;
  /** Classifier probability alone, before obfuscation priors. */
  classifierProbability: number;
  signals: string[];
  findings: Finding[];
}

// Each bucket's weight and, during a call, its count packed in one int32 (weight in the low byte, count above it):
// one random access per feature instead of two tables' worth. Built once per model, reset through the list of
// features after each call (one text at a time on this thread), so the hot path allocates nothing of its size.
const packedTables = new WeakMap<InjectionModel, Int32Array>();
const COUNT_UNIT = 256;

function packedTable(model: InjectionModel): Int32Array {
  let t = packedTables.get(model);
  if (t === undefined) {
    t = new Int32Array(HASH_DIM);
    for (let i = 0; i < HASH_DIM; i++) t[i] = model.weights[i]! & 0xff;
    packedTables.set(model, t);
  }
  return t;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Below this many features no bucket's count can reach the sign bit of its packed int32 (24 bits above the byte). */
const MAX_PACKED_FEATURES = 1 << 23;

/** Σ weight · count and Σ count² by a map of counts: texts of millions of characters, beyond the packed counts. */
function sumsByMap(weights: Int8Array, indices: Int32Array, n: number): { sum: number; sumSq: number } {
  const counts = new Map<number, number>();
  let sum = 0;
  let sumSq = 0;
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    const k = counts.get(i) ?? 0;
    counts.set(i, k + 1);
    sum += weights[i]!;
    sumSq += 2 * k + 1;
  }
  return { sum, sumSq };
}

export function classifierProbability(model: InjectionModel, skeleton: string, signals: ReadonlySet<SignalName>): number {
  const { indices, n } = hashFeatureIndices(skeleton);
  const { sum, sumSq } = n < MAX_PACKED_FEATURES ? sumsPacked(packedTable(model), indices, n) : sumsByMap(model.weights, indices, n);
  let z = model.bias + sum * model.scale * l2Normalizer(sumSq);
  for (const s of signals) z += model.signalWeights[SIGNAL_NAMES.indexOf(s)]!;
  return sigmoid(z);
}

function sumsPacked(table: Int32Array, indices: Int32Array, n: number): { sum: number; sumSq: number } {
  let sum = 0;
  /** Σ count² over buckets: adding to a bucket holding k raises it by 2k + 1. */
  let sumSq = 0;
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    const v = table[i]!;
    sum += (v << 24) >> 24; // the weight, sign-extended from its byte
    sumSq += 2 * (v >> 8) + 1;
    table[i] = v + COUNT_UNIT;
  }
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    table[i] = table[i]! & 0xff;
  }
  return { sum, sumSq };
}

interface Scored {
  skeleton: string;
  score: number;
  p: number;
  fired: Set<SignalName>;
  hits: { signal: SignalName; start: number; end: number }[];
}

function scoreText(text: string): Scored {
  const { skeleton, hits } = scanSignals(text);
  const fired = new Set<SignalName>(hits.map((h) => h.signal));
  const p = classifierProbability(injectionModel(), skeleton.text, fired);
  let keep = 1 - p;
  for (const s of fired) keep *= 1 - (OBFUSCATION_PRIORS[s] ?? 0);
  return { skeleton: skeleton.text, score: 1 - keep, p, fired, hits };
}

/** Phrase signals (an attack's wording) in `fired` that `before` did not have: what a view revealed. */
function newPhrases(fired: ReadonlySet<SignalName>, before: ReadonlySet<SignalName>): boolean {
  for (const s of fired) if (OBFUSCATION_PRIORS[s] === undefined && s !== 'encoded_payload' && !CUE_SIGNALS.has(s) && !before.has(s)) return true;
  return false;
}

/** A view's classifier verdict counts only when it clearly beats the text's as written (by VIEW_MARGIN)… */
const VIEW_MARGIN = 0.2;
/** …and only when the reading is clearly an instruction: short readings of ordinary text ("USACE and the grades were
 *  ABCDF" from spaced capitals) can reach an unsure 0.6. */
const VIEW_MIN_P = 0.8;
/** Hiding an instruction is itself evidence: a reading that reveals attack wording or a classifier verdict is
 *  combined with this prior. Chosen on obfuscated calibration rows, attacks and ordinary texts alike (the same
 *  transforms as bench/injection-variants.ts): at 0.9 a hidden "Pretend to be a poet" or "What are the instructions
 *  for changing a tyre?" was refused (59 of 642 ordinary rows, every transform), at 0.5 3–5 of them, while the
 *  attacks caught fell by one of 219. Wording alone so reaches the flag and tool-result cuts; a block needs the
 *  reading's classifier verdict too. */
const HIDDEN_READING_PRIOR = 0.5;

/** Both tiers on one reading, uncalibrated: what the text would have scored had it been written so. */
function twoTierScore(r: Scored): number {
  const model = deepModel();
  const priorFired = [...r.fired].some((s) => OBFUSCATION_PRIORS[s] !== undefined);
  if (r.score < model.unsure.low || r.score > model.unsure.high || priorFired) return r.score;
  const p2 = deepProbability(model, r.skeleton, r.fired);
  return 1 / (1 + Math.exp(-(clampLogit(r.score) + clampLogit(p2)) / 2));
}

export interface DetectOptions {
  /** 'fast': the first tier only, uncalibrated (what the training scripts read); 'raw': both tiers, uncalibrated
   *  (what the calibration fits); default: both tiers, calibrated. */
  tier?: 'fast' | 'raw' | 'auto';
}

export function detectInjection(text: string, opts: DetectOptions = {}): InjectionResult {
  if (text.trim().length < MIN_SCORED_LENGTH) return { score: 0, tier: 1, classifierProbability: 0, signals: [], findings: [] };
  const base = scoreText(text);
  const evidence = base.hits.filter((h) => !CUE_SIGNALS.has(h.signal));
  const findings: Finding[] = evidence.map((h) => ({
    category: 'injection',
    type: h.signal,
    start: h.start,
    end: h.end,
    confidence: OBFUSCATION_PRIORS[h.signal] ?? PHRASE_CONFIDENCE,
  }));
  const signals = [...base.fired].filter((s) => !CUE_SIGNALS.has(s)) as string[];
  let score = base.score;
  // An instruction readable only once leetspeak, rot13, reversal, spacing, separated hex or variation-selector
  // smuggling is undone is scored as that reading; attack wording found there counts as hidden instructions.
  const views: TextView[] = obfuscatedViews(text);
  // A base64 or hex run that decodes to text is read like the text: its decoded words are scored, not only
  // matched against the phrase families.
  if (base.fired.has('encoded_payload')) {
    for (const p of findEncodedPayloads(text).slice(0, 4)) views.push({ kind: 'encoded', text: p.text.slice(0, 4096), start: p.start, end: p.end });
  }
  // The text's classifier verdict as both tiers give it (computed once, only when there is a reading to compare).
  let baseTwo: number | undefined;
  // A reading of the whole text (spaced, reversed, rot13 or leetspeak throughout) is what the text says: both tiers
  // read the text as written as noise they have not seen, and their verdict there is a coin toss ("P r e t e n d  t o
  // b e  a  p o e t" at 0.65).
  let wholeReading: number | undefined;
  /** The highest score a reading that reveals something gives (with HIDDEN_READING_PRIOR). */
  let revealed = 0;
  for (const v of views) {
    if (v.text.trim().length < MIN_SCORED_LENGTH) continue;
    const r = scoreText(v.text);
    // Only what the reading reveals counts: wording the text as written did not show, or a classifier verdict
    // it did not reach. A prompt whose "35-year-old" reads "3s-year-old" reveals nothing. The reading is judged by
    // both tiers, as the text would have been had it been written so (a reading must not count for less).
    const phrases = newPhrases(r.fired, base.fired);
    const rs = opts.tier === 'fast' ? r.score : twoTierScore(r);
    if (v.kind !== 'encoded' && (v.end - v.start) * 10 >= text.length * 9) wholeReading = Math.max(wholeReading ?? 0, rs);
    baseTwo ??= opts.tier === 'fast' ? base.p : twoTierScore({ ...base, score: base.p });
    const verdict = rs >= VIEW_MIN_P && rs > baseTwo + VIEW_MARGIN;
    if (!phrases && !verdict) continue;
    const viewScore = 1 - (1 - rs) * (1 - HIDDEN_READING_PRIOR);
    if (viewScore <= revealed && signals.includes('obfuscated_instructions')) continue;
    revealed = Math.max(revealed, viewScore);
    if (!signals.includes('obfuscated_instructions')) signals.push('obfuscated_instructions');
    findings.push({ category: 'injection', type: 'obfuscated_instructions', start: v.start, end: v.end, confidence: phrases ? 0.9 : PHRASE_CONFIDENCE });
  }
  // A text read as a whole is judged by its reading; otherwise a reading can only raise the score.
  const noise = wholeReading !== undefined && evidence.length === 0;
  score = Math.max(noise ? wholeReading! : score, revealed);
  // Too few words for a classifier verdict and nothing else found: not scored (see MIN_CLASSIFIER_WORDS).
  if (evidence.length === 0 && signals.length === 0 && fewerWordsThan(base.skeleton, MIN_CLASSIFIER_WORDS)) {
    return { score: 0, tier: 1, classifierProbability: base.p, signals: [], findings: [] };
  }
  if (base.p >= 0.5) signals.push('classifier');
  if (opts.tier === 'fast') return { score, tier: 1, classifierProbability: base.p, signals, findings };
  const model = deepModel();
  let tier: 1 | 2 = 1;
  // Not when a reading (leetspeak, rot13, decoded base64, …) or an obfuscation prior (tag characters, hidden
  // instructions, forged turns, homoglyphs, …) made the score: the network reads the skeleton as written and has
  // never seen what those signals stand for, so averaging with it would undo them.
  const priorFired = [...base.fired].some((s) => OBFUSCATION_PRIORS[s] !== undefined);
  if (score >= model.unsure.low && score <= model.unsure.high && !signals.includes('obfuscated_instructions') && !priorFired && !noise) {
    // The two tiers' log-odds averaged: the network reads what the linear model cannot (word order, character
    // 3/5-grams, interactions) and the linear model keeps what the views and priors revealed.
    const p2 = deepProbability(model, base.skeleton, base.fired);
    score = 1 / (1 + Math.exp(-(clampLogit(score) + clampLogit(p2)) / 2));
    tier = 2;
  }
  if (opts.tier === 'raw') return { score, tier, classifierProbability: base.p, signals, findings };
  return { score: calibrate(model, score), tier, classifierProbability: base.p, signals, findings };
}
