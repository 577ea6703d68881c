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

export function detectInjection(text: string): InjectionResult {
  if (text.trim().length < MIN_SCORED_LENGTH) return { score: 0, classifierProbability: 0, signals: [], findings: [] };
  const { skeleton, hits } = scanSignals(text);
  const fired = new Set<SignalName>(hits.map((h) => h.signal));
  const p = classifierProbability(injectionModel(), skeleton.text, fired);
  let keep = 1 - p;
  for (const s of fired) keep *= 1 - (OBFUSCATION_PRIORS[s] ?? 0);
  const findings: Finding[] = hits.map((h) => ({
    category: 'injection',
    type: h.signal,
    start: h.start,
    end: h.end,
    confidence: OBFUSCATION_PRIORS[h.signal] ?? PHRASE_CONFIDENCE,
  }));
  const signals = [...fired] as string[];
  if (p >= 0.5) signals.push('classifier');
  return { score: 1 - keep, classifierProbability: p, signals, findings };
}
