// The injection detector's second tier (issue 20): a small neural network (one hidden layer of ReLU units over
// hashed word uni/bigrams and character 3- and 5-grams of the skeleton, and the signals that fired), run only
// when the first tier is unsure. Pure TypeScript, weights int8-quantized and committed
// (src/inspect/model/injection-deep-weights.ts, written by scripts/train-injection-deep.mjs): nothing is
// downloaded or compiled at run time. The featurizer below is shared verbatim with the training script.
import { INJECTION_DEEP_MODEL } from '../model/injection-deep-weights.js';
import { l2Normalizer } from './features.js';
import { SIGNAL_NAMES, type SignalName } from './signals.js';

export const DEEP_HASH_BITS = 15;
export const DEEP_HASH_DIM = 1 << DEEP_HASH_BITS;
const MASK = DEEP_HASH_DIM - 1;
export const DEEP_FORMAT = 'warden-injection-mlp-v2';
/** Extra dense inputs after the hashed buckets: one per signal. */
export const DEEP_DENSE = SIGNAL_NAMES.length;

export class DeepModelInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeepModelInvalid';
  }
}

export interface SerializedDeepModel {
  format: string;
  hashBits: number;
  hidden: number;
  /** Dequantization factor of the hashed input weights. */
  scale: number;
  /** base64 of int8 [DEEP_HASH_DIM × hidden], row-major by bucket. */
  inputWeights: string;
  /** [DEEP_DENSE × hidden], row-major. */
  denseWeights: number[];
  hiddenBias: number[];
  outputWeights: number[];
  outputBias: number;
  /** Platt scaling of the final score's logit, fitted on the calibration split: p = σ(a·logit + b). */
  calibration: { a: number; b: number };
  /** Tier 2 runs when the first tier's score lies in [low, high]. */
  unsure: { low: number; high: number };
}

export interface DeepModel {
  hidden: number;
  scale: number;
  w1: Int8Array;
  dense: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: number;
  calibration: { a: number; b: number };
  unsure: { low: number; high: number };
}

function finite(xs: number[], n: number, what: string): Float64Array {
  if (xs.length !== n || !xs.every(Number.isFinite)) throw new DeepModelInvalid(`deep model ${what} must be ${n} finite numbers`);
  return Float64Array.from(xs);
}

export function loadDeepModel(m: SerializedDeepModel): DeepModel {
  if (m.format !== DEEP_FORMAT) throw new DeepModelInvalid(`deep model format ${m.format} is not ${DEEP_FORMAT}`);
  if (m.hashBits !== DEEP_HASH_BITS) throw new DeepModelInvalid(`deep model has ${m.hashBits} hash bits, featurizer ${DEEP_HASH_BITS}`);
  if (!Number.isInteger(m.hidden) || m.hidden < 1 || m.hidden > 256) throw new DeepModelInvalid('deep model hidden size out of range');
  const bytes = Buffer.from(m.inputWeights, 'base64');
  if (bytes.length !== DEEP_HASH_DIM * m.hidden) throw new DeepModelInvalid(`deep model has ${bytes.length} input weights, expected ${DEEP_HASH_DIM * m.hidden}`);
  if (!Number.isFinite(m.scale) || m.scale <= 0 || !Number.isFinite(m.outputBias)) throw new DeepModelInvalid('deep model scale/bias not finite');
  const { a, b } = m.calibration;
  if (!Number.isFinite(a) || a <= 0 || !Number.isFinite(b)) throw new DeepModelInvalid('deep model calibration must have a > 0 and finite b');
  const { low, high } = m.unsure;
  if (!(low >= 0 && low <= high && high <= 1)) throw new DeepModelInvalid('deep model unsure band must satisfy 0 ≤ low ≤ high ≤ 1');
  return {
    hidden: m.hidden,
    scale: m.scale,
    w1: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length).slice(),
    dense: finite(m.denseWeights, DEEP_DENSE * m.hidden, 'dense weights'),
    b1: finite(m.hiddenBias, m.hidden, 'hidden bias'),
    w2: finite(m.outputWeights, m.hidden, 'output weights'),
    b2: m.outputBias,
    calibration: { a, b },
    unsure: { low, high },
  };
}

let cached: DeepModel | undefined;

/** The committed second-tier model, decoded once (~0.5 MB of int8 weights). */
export function deepModel(): DeepModel {
  cached ??= loadDeepModel(INJECTION_DEEP_MODEL);
  return cached;
}

function bucket(h: number): number {
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) & MASK;
}

const FNV_OFFSET = 0x811c9dc5 | 0;

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c >= 128;
}

/** Hashed features of a lower-case skeleton: word unigrams and bigrams, character 3-grams and 5-grams (whitespace
 *  runs read as one space). Calls `add(bucket)` for each; returns how many. */
export function deepFeatures(skeleton: string, add: (i: number) => void): number {
  let n = 0;
  let word = FNV_OFFSET;
  let inWord = false;
  let prevWord = 0;
  let c1 = 32, c2 = 32, c3 = 32, c4 = 32;
  let prevSpace = true;
  const len = skeleton.length;
  for (let i = 0; i <= len; i++) {
    let c = i < len ? skeleton.charCodeAt(i) : 32;
    if (isWordChar(c)) {
      word = Math.imul(word ^ c, 0x01000193);
      inWord = true;
    } else if (inWord) {
      add(bucket(word ^ 0x1b873593));
      add(bucket(Math.imul(prevWord, 0xcc9e2d51) ^ word ^ 0x3c6ef372));
      n += 2;
      prevWord = word;
      word = FNV_OFFSET;
      inWord = false;
    }
    if (c <= 32) {
      if (prevSpace) continue;
      c = 32;
      prevSpace = true;
    } else prevSpace = false;
    add(bucket(Math.imul(c2 | (c3 << 16), 0x27d4eb2f) ^ c ^ 0x165667b1));
    add(bucket(Math.imul(c1 | (c2 << 16), 0x9e3779b1) ^ Math.imul(c3 | (c4 << 16), 0x85ebca77) ^ c));
    n += 2;
    c1 = c2;
    c2 = c3;
    c3 = c4;
    c4 = c;
  }
  return n;
}

export const clampLogit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

// Per-bucket counts and the buckets in the order first seen, reused across calls (one text at a time on this thread)
// and reset through that list: no map of counts per call. The first-seen order is the order a Map of counts iterates
// in, so the hidden layer sums the same terms in the same order and the output is the same to the last bit.
const deepCounts = new Uint32Array(DEEP_HASH_DIM);
const deepSeen = new Int32Array(DEEP_HASH_DIM);
let deepDistinct = 0;

function countDeepFeature(i: number): void {
  const k = deepCounts[i]!;
  if (k === 0) deepSeen[deepDistinct++] = i;
  deepCounts[i] = k + 1;
}

/** The network's probability for a skeleton, given the signals that fired. */
export function deepProbability(model: DeepModel, skeleton: string, signals: ReadonlySet<SignalName>): number {
  const H = model.hidden;
  const h = new Float64Array(H);
  deepDistinct = 0;
  deepFeatures(skeleton, countDeepFeature);
  let sumSq = 0;
  for (let k = 0; k < deepDistinct; k++) {
    const c = deepCounts[deepSeen[k]!]!;
    sumSq += c * c;
  }
  const norm = model.scale * l2Normalizer(sumSq);
  for (let k = 0; k < deepDistinct; k++) {
    const i = deepSeen[k]!;
    const row = i * H;
    const v = deepCounts[i]! * norm;
    deepCounts[i] = 0;
    for (let j = 0; j < H; j++) h[j]! += model.w1[row + j]! * v;
  }
  for (const s of signals) {
    const row = SIGNAL_NAMES.indexOf(s) * H;
    for (let j = 0; j < H; j++) h[j]! += model.dense[row + j]!;
  }
  let z = model.b2;
  for (let j = 0; j < H; j++) {
    const a = h[j]! + model.b1[j]!;
    if (a > 0) z += a * model.w2[j]!;
  }
  return 1 / (1 + Math.exp(-z));
}

/** Platt-scaled score. */
export function calibrate(model: DeepModel, p: number): number {
  return 1 / (1 + Math.exp(-(model.calibration.a * clampLogit(p) + model.calibration.b)));
}
