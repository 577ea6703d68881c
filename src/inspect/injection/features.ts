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

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c >= 128;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11;
}

/** Emits every hashed feature of a lower-case skeleton into `sink`; returns how many were emitted. */
export function hashFeatures(skeleton: string, sink: FeatureSink): number {
  let n = 0;
  let c1 = 32;
  let c2 = 32;
  let c3 = 32;
  let prevSpace = true;
  let word = FNV_OFFSET;
  let inWord = false;
  let prevWord = 0;
  const len = skeleton.length;
  for (let i = 0; i <= len; i++) {
    let c = i < len ? skeleton.charCodeAt(i) : 32;
    if (isWordChar(c)) {
      if (c >= 48 && c <= 57) c = 48; // all digits alike: numbers vary, their presence matters
      word = Math.imul(word ^ c, 0x01000193);
      inWord = true;
    } else if (inWord) {
      sink.add(bucket(word ^ 0x2545f491));
      sink.add(bucket(Math.imul(prevWord, 0x9e3779b1) ^ word ^ 0x68e31da4));
      n += 2;
      prevWord = word;
      word = FNV_OFFSET;
      inWord = false;
    }
    if (isSpace(c)) {
      if (prevSpace) continue;
      c = 32;
      prevSpace = true;
    } else {
      prevSpace = false;
    }
    sink.add(bucket((c1 | (c2 << 16)) ^ Math.imul(c3 | (c << 16), 0x27d4eb2f)));
    n++;
    c1 = c2;
    c2 = c3;
    c3 = c;
  }
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

/** Σ count² of a bucket → count map (training, and the deeper tier, which keeps the map anyway). */
export function sumOfSquares(counts: ReadonlyMap<number, number>): number {
  let s = 0;
  for (const c of counts.values()) s += c * c;
  return s;
}

export function signalIndex(s: SignalName): number {
  return SIGNAL_NAMES.indexOf(s);
}
