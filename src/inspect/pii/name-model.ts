// Person names that neither list-and-cue rule finds (given-name.ts, person-name.ts): a logistic regression over the
// features of each capitalised word those rules left undecided (name-features.ts), trained by scripts/train-person-names.mjs on the development set
// only, its weights in src/inspect/model/person-name-weights.ts. A word scoring at or above the model's threshold (chosen
// by 5-fold cross-validation over the development set, with the rules) is part of a name; neighbouring such words, with initials between,
// make one finding ("Jennifer Lopez", "Kate M. Begum").
// A model that does not match this featurizer, or whose weights are not finite, is refused when first used: the
// detector then throws rather than silently finding nothing.
import type { Finding } from '../../core/types.js';
import { PERSON_NAME_MODEL } from '../model/person-name-weights.js';
import type { PartKind, UnsureWord } from './given-name.js';
import { HASH_BITS, nameFeatures } from './name-features.js';

export const NAME_MODEL_FORMAT = 'warden-person-name-lr-v2';

export class NameModelInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NameModelInvalid';
  }
}

export interface SerializedNameModel {
  format: string;
  hashBits: number;
  /** Scores (logits) at or above this mark a name word. */
  threshold: number;
  /** The higher score a word needs when no other undecided word joins it: a lone capitalised word is more often a firm or a place ("Apple", "Harvard"). */
  aloneThreshold: number;
  bias: number;
  /** The buckets with a non-zero weight, ascending, and their weights. */
  buckets: number[];
  weights: number[];
}

export interface NameModel {
  threshold: number;
  aloneThreshold: number;
  bias: number;
  weights: Float32Array;
}

export function loadNameModel(m: SerializedNameModel): NameModel {
  if (m === null || typeof m !== 'object') throw new NameModelInvalid('person-name model is not an object');
  if (m.format !== NAME_MODEL_FORMAT) throw new NameModelInvalid(`person-name model format ${String(m.format)} is not ${NAME_MODEL_FORMAT}`);
  if (m.hashBits !== HASH_BITS) throw new NameModelInvalid(`person-name model has ${String(m.hashBits)} hash bits, the featurizer ${HASH_BITS}`);
  if (!Number.isFinite(m.threshold) || !Number.isFinite(m.aloneThreshold) || !Number.isFinite(m.bias))
    throw new NameModelInvalid('person-name model threshold or bias is not finite');
  if (!Array.isArray(m.buckets) || !Array.isArray(m.weights) || m.buckets.length !== m.weights.length || m.buckets.length === 0)
    throw new NameModelInvalid('person-name model buckets and weights are missing or of different lengths');
  const weights = new Float32Array(1 << HASH_BITS);
  for (let i = 0; i < m.buckets.length; i++) {
    const b = m.buckets[i]!;
    const w = m.weights[i]!;
    if (!Number.isInteger(b) || b < 0 || b >= weights.length || (i > 0 && b <= m.buckets[i - 1]!))
      throw new NameModelInvalid(`person-name model bucket ${String(b)} is out of range or out of order`);
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new NameModelInvalid(`person-name model weight for bucket ${b} is not finite`);
    weights[b] = w;
  }
  return { threshold: m.threshold, aloneThreshold: m.aloneThreshold, bias: m.bias, weights };
}

let cached: NameModel | undefined;

/** The committed model, loaded once (a 1 MB table of weights). */
export function personNameModel(): NameModel {
  cached ??= loadNameModel(PERSON_NAME_MODEL);
  return cached;
}

const scratch: number[] = [];

/** The model's score (a logit) for the capitalised word text[start, end) of kind k. */
export function nameScore(model: NameModel, text: string, start: number, end: number, k: PartKind): number {
  nameFeatures(text, start, end, k, scratch);
  let s = model.bias;
  for (const b of scratch) s += model.weights[b]!;
  return s;
}

/** Between two name words of one name: a space, or an initial ("Kate M. Begum", "J R Tolkien"). */
const JOIN = /^[ ](?:\p{Lu}\.?[ ])?$/u;

/**
 * The words of `unsure` (in text order, from findGivenNames) that make names, as findings: each group of undecided
 * words joined as one name's words are ("Arvid Kjellberg", "Kate M. Begum") is a name when the model scores any of
 * its words as a name word. A word alone must score aloneThreshold, and be one the name lists do not know.
 */
export function findModelNames(text: string, unsure: readonly UnsureWord[], out: Finding[], model: NameModel): void {
  let i = 0;
  while (i < unsure.length) {
    let j = i;
    while (j + 1 < unsure.length && joined(text, unsure[j]!.end, unsure[j + 1]!.start)) j++;
    const threshold = i === j ? model.aloneThreshold : model.threshold;
    // A known name word alone is one the rules already judged with the lists and found no cue for ("Apple released",
    // "Education: Harvard"): the model reads only the words the lists do not know, and groups.
    if (i === j && unsure[i]!.kind !== 'unknown') {
      i++;
      continue;
    }
    for (let k = i; k <= j; k++) {
      const { start, end, kind } = unsure[k]!;
      if (nameScore(model, text, start, end, kind) >= threshold) {
        out.push({ category: 'pii', type: 'person', start: unsure[i]!.start, end: unsure[j]!.end, confidence: 0.5 });
        break;
      }
    }
    i = j + 1;
  }
}

function joined(text: string, end: number, start: number): boolean {
  return start - end <= 4 && JOIN.test(text.slice(end, start));
}
