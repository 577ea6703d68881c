#!/usr/bin/env node
// Trains Warden's prompt-injection classifier (logistic regression over hashed n-grams + signal
// indicators) on the TRAIN part of test/fixtures/prompt_injection/normalized (byte-identical copies
// of the shared testdata collection's files, see test/fixtures/SOURCES.md) and writes the weights,
// int8-quantized, to src/inspect/model/injection-weights.ts (a generated, committed file).
//
//   npx tsc -p . --outDir dist && node scripts/train-injection.mjs [--dist dist] [--out FILE]
//
// The featurizer and the split are imported from the compiled product code, so training and
// inference extract features the same way. Deterministic: fixed seed, fixed row order, no clock.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const dist = resolve(opt('--dist', 'dist'));
const outFile = resolve(opt('--out', 'src/inspect/model/injection-weights.ts'));
const dataDir = resolve(opt('--data', 'test/fixtures/prompt_injection/normalized'));

const { extractExample, isTrainingRow } = await import(pathToFileURL(`${dist}/src/inspect/injection/training.js`).href);
const { HASH_BITS, HASH_DIM } = await import(pathToFileURL(`${dist}/src/inspect/injection/features.js`).href);
const { SIGNAL_NAMES } = await import(pathToFileURL(`${dist}/src/inspect/injection/signals.js`).href);
const { MODEL_FORMAT } = await import(pathToFileURL(`${dist}/src/inspect/injection/model.js`).href);

const FILES = ['setA_deepset.jsonl', 'setB_jackhhao.jsonl', 'extra_attack_pool.jsonl', 'benign_pool.jsonl'];
const EPOCHS = 12;
const LEARNING_RATE = 0.4;
const L2 = 1e-5;
const SEED = 0x5eed;

const dataDigest = createHash('sha256');
const rows = [];
for (const f of FILES) {
  const raw = readFileSync(resolve(dataDir, f));
  dataDigest.update(f).update(raw);
  for (const line of raw.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line);
    if (r.label !== 0 && r.label !== 1) throw new Error(`${f}: row ${r.id} has label ${r.label}`);
    if (isTrainingRow(r)) rows.push({ ...r, file: f });
  }
}
const pos = rows.filter((r) => r.label === 1).length;
const neg = rows.length - pos;
// Balanced class weights: the pools are skewed, and the score is read as a probability of attack.
const cw = { 1: rows.length / (2 * pos), 0: rows.length / (2 * neg) };

const examples = rows.map((r) => {
  const ex = extractExample(r.text);
  const norm = ex.n > 0 ? 1 / Math.sqrt(ex.n) : 0;
  const idx = Int32Array.from(ex.counts.keys());
  const val = Float64Array.from(ex.counts.values(), (c) => c * norm);
  return { idx, val, sig: ex.signals, y: r.label };
});

let rng = SEED;
const rand = () => {
  rng = (Math.imul(rng ^ (rng >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
  return rng / 2 ** 32;
};

const w = new Float64Array(HASH_DIM);
const gw = new Float64Array(HASH_DIM).fill(1e-8);
const sw = new Float64Array(SIGNAL_NAMES.length);
const gs = new Float64Array(SIGNAL_NAMES.length).fill(1e-8);
let b = 0;
let gb = 1e-8;
const order = examples.map((_, i) => i);
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let loss = 0;
  for (const k of order) {
    const ex = examples[k];
    let z = b;
    for (let t = 0; t < ex.idx.length; t++) z += w[ex.idx[t]] * ex.val[t];
    for (const s of ex.sig) z += sw[s];
    const p = 1 / (1 + Math.exp(-z));
    loss += -cw[ex.y] * (ex.y === 1 ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12));
    const g = (p - ex.y) * cw[ex.y];
    // AdaGrad (Duchi et al. 2011), L2 applied to the coordinates this example touches.
    for (let t = 0; t < ex.idx.length; t++) {
      const i = ex.idx[t];
      const gi = g * ex.val[t] + L2 * w[i];
      gw[i] += gi * gi;
      w[i] -= (LEARNING_RATE * gi) / Math.sqrt(gw[i]);
    }
    for (const s of ex.sig) {
      const gi = g + L2 * sw[s];
      gs[s] += gi * gi;
      sw[s] -= (LEARNING_RATE * gi) / Math.sqrt(gs[s]);
    }
    gb += g * g;
    b -= (LEARNING_RATE * g) / Math.sqrt(gb);
  }
  process.stderr.write(`epoch ${epoch + 1}/${EPOCHS}: weighted log-loss ${(loss / examples.length).toFixed(4)}\n`);
}

let maxAbs = 0;
for (const x of w) maxAbs = Math.max(maxAbs, Math.abs(x));
const scale = maxAbs / 127;
const q = new Int8Array(HASH_DIM);
let nonzero = 0;
for (let i = 0; i < HASH_DIM; i++) {
  q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
  if (q[i] !== 0) nonzero++;
}
const signalWeights = Object.fromEntries(SIGNAL_NAMES.map((n, i) => [n, Number(sw[i].toFixed(6))]));

// Training accuracy with the quantized weights, as a smoke check (evaluation is bench/inspect.ts on the test split).
let correct = 0;
for (const ex of examples) {
  let z = b;
  for (let t = 0; t < ex.idx.length; t++) z += q[ex.idx[t]] * scale * ex.val[t];
  for (const s of ex.sig) z += sw[s];
  if (z > 0 === (ex.y === 1)) correct++;
}

const bySource = {};
for (const r of rows) bySource[`${r.file}:${r.label}`] = (bySource[`${r.file}:${r.label}`] ?? 0) + 1;
const header = [
  '// GENERATED by scripts/train-injection.mjs — do not edit by hand; re-run the script instead.',
  `// Logistic regression, ${HASH_BITS}-bit feature hashing, int8 weights (${nonzero} non-zero buckets).`,
  `// Trained on the TRAIN split only: ${rows.length} rows (${pos} attacks / ${neg} benign); per file:label ${JSON.stringify(bySource)}.`,
  `// Data: sha256 ${dataDigest.digest('hex')} over ${FILES.join(', ')}.`,
  `// Hyperparameters: epochs ${EPOCHS}, AdaGrad lr ${LEARNING_RATE}, L2 ${L2}, seed ${SEED}. Training accuracy ${(correct / examples.length).toFixed(4)}.`,
].join('\n');
const body = `${header}
import type { SerializedInjectionModel } from '../injection/model.js';

export const INJECTION_MODEL: SerializedInjectionModel = {
  format: '${MODEL_FORMAT}',
  hashBits: ${HASH_BITS},
  bias: ${b},
  scale: ${scale},
  signalWeights: ${JSON.stringify(signalWeights)},
  weights:
    '${Buffer.from(q.buffer).toString('base64')}',
};
`;
writeFileSync(outFile, body);
process.stderr.write(`wrote ${outFile}: ${rows.length} rows, train accuracy ${(correct / examples.length).toFixed(4)}, ${nonzero} non-zero weights\n`);
