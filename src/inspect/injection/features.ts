// Feature hashing (Weinberger et al. 2009) for the injection classifier: word unigrams and bigrams
// and character 4-grams of the skeleton, each hashed into 2^HASH_BITS buckets, plus one indicator per
// signal. Shared verbatim by inference and by scripts/train-injection.mjs, so the two cannot drift.
import { SIGNAL_NAMES, type SignalName } from './signals.js';

export const HASH_BITS = 18;
export const HASH_DIM = 1 << HASH_BITS;
const MASK = HASH_DIM - 1;

export interface FeatureSink {
  add(index: number): void;
}

// Multiplicative (Fibonacci) hashing, then fold the high bits down: one multiply per feature on the
// hot path, and enough mixing for the low HASH_BITS bits the index uses. Kept in int32 arithmetic
// (no unsigned `>>> 0` result) so the JIT never boxes a hash as a double; the masked index is the same.
function bucket(h: number): number {
  h = Math.imul(h, 0x9e3779b1);
  return (h ^ (h >>> 15)) & MASK;
}

/** FNV-1a offset basis as an int32 (same bits as 0x811c9dc5). */
const FNV_OFFSET = 0x811c9dc5 | 0;

// Character classes of the featurizer by UTF-16 code unit, looked up once per character instead of tested by
// chains of comparisons: a word letter (a–z and everything non-ASCII), a digit, white space, anything else.
const OTHER = 0;
const LETTER = 1;
const DIGIT = 2;
const SPACE = 3;
const CHAR_CLASS = new Uint8Array(0x10000);
for (let c = 0; c < 0x10000; c++) {
  if ((c >= 97 && c <= 122) || c >= 128) CHAR_CLASS[c] = LETTER;
  else if (c >= 48 && c <= 57) CHAR_CLASS[c] = DIGIT;
  else if (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11) CHAR_CLASS[c] = SPACE;
  else CHAR_CLASS[c] = OTHER;
}

/** Reused between calls (one text at a time on this thread): the hot path allocates no index array per text. */
let indexBuffer = new Int32Array(16 * 1024);

/**
 * Every hashed feature index of a lower-case skeleton, in emission order: the first `n` entries of the returned
 * array, which is reused by the next call (read it before calling again). Filling a typed array and letting the
 * caller loop over it keeps this loop free of a call per feature, whatever kinds of consumer the process has.
 */
export function hashFeatureIndices(skeleton: string): { indices: Int32Array; n: number } {
  const len = skeleton.length;
  // At most three features per character (a 4-gram, and a unigram and a bigram where a word ends), and the end.
  if (indexBuffer.length < 3 * len + 3) indexBuffer = new Int32Array(3 * len + 3);
  const out = indexBuffer;
  let n = 0;
  let c1 = 32;
  let c2 = 32;
  let c3 = 32;
  let prevSpace = true;
  let word = FNV_OFFSET;
  let inWord = false;
  let prevWord = 0;
  for (let i = 0; i <= len; i++) {
    let c = i < len ? skeleton.charCodeAt(i) : 32;
    const cls = CHAR_CLASS[c]!;
    if (cls === LETTER || cls === DIGIT) {
      if (cls === DIGIT) c = 48; // all digits alike: numbers vary, their presence matters
      word = Math.imul(word ^ c, 0x01000193);
      inWord = true;
      prevSpace = false;
    } else {
      if (inWord) {
        out[n++] = bucket(word ^ 0x2545f491);
        out[n++] = bucket(Math.imul(prevWord, 0x9e3779b1) ^ word ^ 0x68e31da4);
        prevWord = word;
        word = FNV_OFFSET;
        inWord = false;
      }
      if (cls === SPACE) {
        if (prevSpace) continue;
        c = 32;
        prevSpace = true;
      } else {
        prevSpace = false;
      }
    }
    out[n++] = bucket((c1 | (c2 << 16)) ^ Math.imul(c3 | (c << 16), 0x27d4eb2f));
    c1 = c2;
    c2 = c3;
    c3 = c;
  }
  return { indices: out, n };
}

/** Emits every hashed feature of a lower-case skeleton into `sink`; returns how many were emitted. */
export function hashFeatures(skeleton: string, sink: FeatureSink): number {
  const { indices, n } = hashFeatureIndices(skeleton);
  for (let j = 0; j < n; j++) sink.add(indices[j]!);
  return n;
}

/**
 * The L2 normalizer of a hashed count vector: 1 / √(Σ count²). Dividing by √(number of features) instead assumed
 * every feature distinct, so a text that repeats one pattern ("qqqq…" × 5,000 as a tool argument) scaled one
 * bucket's weight by √5,000 and scored 0.99999 on a single hash collision; with the true norm a repeated pattern
 * weighs what it would once.
 */
export function l2Normalizer(sumOfSquaredCounts: number): number {
  return sumOfSquaredCounts > 0 ? 1 / Math.sqrt(sumOfSquaredCounts) : 0;
}

/** Σ count² of a bucket → count map (the training scripts). */
export function sumOfSquares(counts: ReadonlyMap<number, number>): number {
  let s = 0;
  for (const c of counts.values()) s += c * c;
  return s;
}

export function signalIndex(s: SignalName): number {
  return SIGNAL_NAMES.indexOf(s);
}
