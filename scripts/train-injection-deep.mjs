#!/usr/bin/env node
// Trains the injection detector's second tier (src/inspect/injection/deep.ts: one hidden layer of ReLU units over
// hashed n-grams and the signals) on the same rows as the first tier (scripts/injection-synth.mjs trainingRows:
// public train splits + synthetic rows, calibration fifth excluded) and writes the int8-quantized weights to
// src/inspect/model/injection-deep-weights.ts, keeping the calibration and unsure band already there
// (scripts/calibrate-injection.mjs sets those afterwards).
//
//   npx tsc -p . && node scripts/train-injection-deep.mjs && npx tsc -p . && node scripts/calibrate-injection.mjs && npx tsc -p .
//
// Deterministic: fixed seed, fixed row order, no clock.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { trainingRows } from './injection-synth.mjs';
import { FILES, quantizeInt8, trainingArgs } from './train-injection-files.mjs';

const { dist, outFile, dataDir } = trainingArgs('src/inspect/model/injection-deep-weights.ts');
const imp = async (p) => import(pathToFileURL(`${dist}/src/inspect/injection/${p}`).href);
const { isTrainingRow, isCalibrationRow } = await imp('training.js');
const { DEEP_HASH_BITS, DEEP_HASH_DIM, DEEP_DENSE, DEEP_FORMAT, deepFeatures } = await imp('deep.js');
const { SIGNAL_NAMES, scanSignals } = await imp('signals.js');
const { l2Normalizer, sumOfSquares } = await imp('features.js');

const HIDDEN = 16;
const EPOCHS = 8;
const LR = 0.05;
const L2 = 1e-6;
const SEED = 0xdee9;

const { rows, digest } = trainingRows(dataDir, FILES, { isTrainingRow, isCalibrationRow }).fit;
const pos = rows.filter((r) => r.label === 1).length;
const cw = { 1: rows.length / (2 * pos), 0: rows.length / (2 * (rows.length - pos)) };
const examples = rows.map((r) => {
  const { skeleton, hits } = scanSignals(r.text);
  const counts = new Map();
  deepFeatures(skeleton.text, (i) => void counts.set(i, (counts.get(i) ?? 0) + 1));
  const norm = l2Normalizer(sumOfSquares(counts));
  return { idx: Int32Array.from(counts.keys()), val: Float64Array.from(counts.values(), (c) => c * norm), sig: [...new Set(hits.map((h) => SIGNAL_NAMES.indexOf(h.signal)))], y: r.label };
});

let s = SEED;
const rand = () => {
  s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
  return s / 2 ** 32;
};
const H = HIDDEN;
const w1 = new Float64Array(DEEP_HASH_DIM * H).map(() => (rand() - 0.5) * 0.2);
const g1 = new Float64Array(DEEP_HASH_DIM * H).fill(1e-8);
const dense = new Float64Array(DEEP_DENSE * H);
const gd = new Float64Array(DEEP_DENSE * H).fill(1e-8);
const b1 = new Float64Array(H).fill(0.01);
const gb1 = new Float64Array(H).fill(1e-8);
const w2 = new Float64Array(H).map(() => (rand() - 0.5) * 0.5);
const gw2 = new Float64Array(H).fill(1e-8);
let b2 = 0;
let gb2 = 1e-8;
const step = (w, g, i, grad) => {
  g[i] += grad * grad;
  w[i] -= (LR * grad) / Math.sqrt(g[i]);
};

const order = examples.map((_, i) => i);
const h = new Float64Array(H);
function forward(ex, W1 = w1, scale = 1) {
  for (let j = 0; j < H; j++) h[j] = b1[j];
  for (let t = 0; t < ex.idx.length; t++) {
    const row = ex.idx[t] * H;
    const v = ex.val[t] * scale;
    for (let j = 0; j < H; j++) h[j] += W1[row + j] * v;
  }
  for (const sg of ex.sig) for (let j = 0; j < H; j++) h[j] += dense[sg * H + j];
  let z = b2;
  for (let j = 0; j < H; j++) if (h[j] > 0) z += h[j] * w2[j];
  return z;
}
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let loss = 0;
  for (const k of order) {
    const ex = examples[k];
    const z = forward(ex);
    const p = 1 / (1 + Math.exp(-z));
    loss += -cw[ex.y] * (ex.y === 1 ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12));
    const g = (p - ex.y) * cw[ex.y];
    for (let j = 0; j < H; j++) {
      if (h[j] <= 0) continue;
      const gh = g * w2[j];
      step(w2, gw2, j, g * h[j] + L2 * w2[j]);
      step(b1, gb1, j, gh);
      for (let t = 0; t < ex.idx.length; t++) {
        const i = ex.idx[t] * H + j;
        step(w1, g1, i, gh * ex.val[t] + L2 * w1[i]);
      }
      for (const sg of ex.sig) step(dense, gd, sg * H + j, gh);
    }
    gb2 += g * g;
    b2 -= (LR * g) / Math.sqrt(gb2);
  }
  process.stderr.write(`epoch ${epoch + 1}/${EPOCHS}: weighted log-loss ${(loss / examples.length).toFixed(4)}\n`);
}

const { scale, q } = quantizeInt8(w1);
let correct = 0;
for (const ex of examples) if (forward(ex, q, scale) > 0 === (ex.y === 1)) correct++;

// Calibration and band: kept from the current file (the calibration script owns them).
let calibration = { a: 1, b: 0 };
let unsure = { low: 0.02, high: 0.98 };
try {
  const cur = readFileSync(outFile, 'utf8');
  const num = (re) => Number(re.exec(cur)?.[1]);
  const a = num(/calibration"?: ?\{ ?"?a"?: ?([-0-9.e]+)/);
  const b = num(/calibration"?: ?\{[^}]*"?b"?: ?([-0-9.e]+)/);
  const low = num(/unsure"?: ?\{ ?"?low"?: ?([-0-9.e]+)/);
  const high = num(/unsure"?: ?\{[^}]*"?high"?: ?([-0-9.e]+)/);
  if (Number.isFinite(a) && Number.isFinite(b)) calibration = { a, b };
  if (Number.isFinite(low) && Number.isFinite(high)) unsure = { low, high };
} catch {
  /* first run */
}
const round = (xs) => Array.from(xs, (x) => Number(x.toFixed(6)));
const list = (xs) => `[${round(xs).join(', ')}]`;
const body = `// GENERATED by scripts/train-injection-deep.mjs (weights) and scripts/calibrate-injection.mjs (calibration)
// — do not edit by hand. One hidden layer of ${H} ReLU units over ${DEEP_HASH_BITS}-bit hashed n-grams + ${DEEP_DENSE} signal inputs, int8 input weights.
// Trained on ${rows.length} rows (${pos} attacks / ${rows.length - pos} benign); data sha256 ${digest} + synthetic rows (scripts/injection-synth.mjs).
// Hyperparameters: epochs ${EPOCHS}, AdaGrad lr ${LR}, L2 ${L2}, seed ${SEED}. Training accuracy ${(correct / examples.length).toFixed(4)}.
import type { SerializedDeepModel } from '../injection/deep.js';

export const INJECTION_DEEP_MODEL: SerializedDeepModel = {
  format: '${DEEP_FORMAT}',
  hashBits: ${DEEP_HASH_BITS},
  hidden: ${H},
  scale: ${scale},
  calibration: { a: ${calibration.a}, b: ${calibration.b} },
  unsure: { low: ${unsure.low}, high: ${unsure.high} },
  denseWeights: ${list(dense)},
  hiddenBias: ${list(b1)},
  outputWeights: ${list(w2)},
  outputBias: ${Number(b2.toFixed(6))},
  inputWeights:
    '${Buffer.from(q.buffer).toString('base64')}',
};
`;
writeFileSync(outFile, body);
process.stderr.write(`wrote ${outFile}: ${rows.length} rows, train accuracy ${(correct / examples.length).toFixed(4)}\n`);
