// Prompt-injection / jailbreak score in [0,1] with the signals that fired.
// score = 1 − (1 − p) · Π(1 − prior_s): p is the logistic-regression probability over hashed n-grams
// and learned signal weights; the priors belong to obfuscation signals that the labelled training data
// barely contains (tag smuggling, hidden instructions in base64, forged chat-template turns), so the
// classifier cannot learn them and they are set from their meaning instead. A text shorter than the
// shortest instruction is not scored.
import type { Finding } from '../../core/types.js';
import { hashFeatures, type FeatureSink } from './features.js';
import { injectionModel, type InjectionModel } from './model.js';
import { SIGNAL_NAMES, scanSignals, type SignalName } from './signals.js';
import { obfuscatedViews } from './views.js';

export const OBFUSCATION_PRIORS: Partial<Record<SignalName, number>> = {
  encoded_instructions: 0.9,
  unicode_tags: 0.9,
  delimiter_spoofing: 0.6,
  homoglyphs: 0.5,
  invisible_chars: 0.5,
  bidi_control: 0.4,
};

/** Confidence attached to a phrase-signal finding (the finding is a fact; the score is the verdict). */
const PHRASE_CONFIDENCE = 0.8;
const MIN_SCORED_LENGTH = 8;

export interface InjectionResult {
  score: number;
  /** Classifier probability alone, before obfuscation priors. */
  classifierProbability: number;
  signals: string[];
  findings: Finding[];
}

class DotSink implements FeatureSink {
  sum = 0;
  constructor(private readonly w: Int8Array) {}
  add(i: number): void {
    this.sum += this.w[i]!;
  }
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export function classifierProbability(model: InjectionModel, skeleton: string, signals: ReadonlySet<SignalName>): number {
  const sink = new DotSink(model.weights);
  const n = hashFeatures(skeleton, sink);
  let z = model.bias + (n > 0 ? (sink.sum * model.scale) / Math.sqrt(n) : 0);
  for (const s of signals) z += model.signalWeights[SIGNAL_NAMES.indexOf(s)]!;
  return sigmoid(z);
}

interface Scored {
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
  return { score: 1 - keep, p, fired, hits };
}

/** Phrase signals (an attack's wording) in `fired` that `before` did not have: what a view revealed. */
function newPhrases(fired: ReadonlySet<SignalName>, before: ReadonlySet<SignalName>): boolean {
  for (const s of fired) if (OBFUSCATION_PRIORS[s] === undefined && s !== 'encoded_payload' && !before.has(s)) return true;
  return false;
}

/** A view's classifier verdict counts only when it turns the text's: below 0.5 as written, ≥ 0.5 read so. */
const VIEW_MARGIN = 0.2;

export function detectInjection(text: string): InjectionResult {
  if (text.trim().length < MIN_SCORED_LENGTH) return { score: 0, classifierProbability: 0, signals: [], findings: [] };
  const base = scoreText(text);
  const findings: Finding[] = base.hits.map((h) => ({
    category: 'injection',
    type: h.signal,
    start: h.start,
    end: h.end,
    confidence: OBFUSCATION_PRIORS[h.signal] ?? PHRASE_CONFIDENCE,
  }));
  const signals = [...base.fired] as string[];
  let score = base.score;
  // An instruction readable only once leetspeak, rot13, reversal, spacing, separated hex or variation-selector
  // smuggling is undone is scored as that reading; attack wording found there counts as hidden instructions.
  for (const v of obfuscatedViews(text)) {
    if (v.text.trim().length < MIN_SCORED_LENGTH) continue;
    const r = scoreText(v.text);
    // Only what the reading reveals counts: wording the text as written did not show, or a classifier verdict
    // it did not reach. A prompt whose "35-year-old" reads "3s-year-old" reveals nothing.
    const phrases = newPhrases(r.fired, base.fired);
    if (!phrases && !(r.p >= 0.5 && base.p < 0.5 && r.p > base.p + VIEW_MARGIN)) continue;
    const viewScore = phrases ? 1 - (1 - r.score) * (1 - OBFUSCATION_PRIORS.encoded_instructions!) : r.score;
    if (viewScore <= score && signals.includes('obfuscated_instructions')) continue;
    score = Math.max(score, viewScore);
    if (!signals.includes('obfuscated_instructions')) signals.push('obfuscated_instructions');
    findings.push({ category: 'injection', type: 'obfuscated_instructions', start: v.start, end: v.end, confidence: phrases ? 0.9 : PHRASE_CONFIDENCE });
  }
  if (base.p >= 0.5) signals.push('classifier');
  return { score, classifierProbability: base.p, signals, findings };
}
