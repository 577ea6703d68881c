#!/usr/bin/env node
// Trains the person-name model (src/inspect/pii/name-model.ts): a logistic regression over the features of each
// capitalised word (src/inspect/pii/name-features.ts), labelled by whether the word lies in a PERSON span, on the
// DEVELOPMENT set only: Presidio's synth_dataset_v2 (MIT, test/fixtures/SOURCES.md). generated_large, the held-out
// set, is never read here.
//
//   npx tsc -p tsconfig.json && node scripts/train-person-names.mjs [--dist dist] [--out FILE]
//
// The threshold is chosen by 5-fold cross-validation over the development texts: each fold is scored by a model
// trained on the other four, together with the list-and-cue rules, as the detector combines them; the threshold is
// the lowest whose pooled precision is at least TARGET_PRECISION; a word that no other undecided word joins then needs
// the highest score (aloneThreshold) that costs at most ALONE_RECALL_COST of that recall. The shipped model is then trained on all
// development texts. Deterministic: fixed text order, fixed epochs, no randomness, no clock.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const dist = resolve(arg('--dist', 'dist'));
const outFile = arg('--out', 'src/inspect/model/person-name-weights.ts');
const load = async (p) => import(pathToFileURL(`${dist}/src/inspect/${p}`).href);
const { HASH_BITS, nameFeatures } = await load('pii/name-features.js');
const { findGivenNames } = await load('pii/given-name.js');
const { NAME_MODEL_FORMAT, loadNameModel } = await load('pii/name-model.js');
const { detectSensitive } = await load('detect-sensitive.js');

const DATA = 'test/fixtures/pii/presidio-research/data/synth_dataset_v2.json';
const EPOCHS = 30;
const LEARNING_RATE = 0.3;
const L2 = 1e-4;
const FOLDS = 5;
const TARGET_PRECISION = 0.96;
const ALONE_RECALL_COST = 0.01;
const THRESHOLDS = Array.from({ length: 61 }, (_, i) => -1 + i * 0.1);

const raw = readFileSync(DATA, 'utf8');
const records = JSON.parse(raw).map((r) => {
  // Presidio offsets are code points; JS strings are UTF-16.
  const cp = [];
  let u = 0;
  for (const ch of r.full_text) {
    cp.push(u);
    u += ch.length;
  }
  cp.push(u);
  const gold = r.spans.filter((s) => s.entity_type === 'PERSON').map((s) => ({ start: cp[s.start_position], end: cp[s.end_position] }));
  return { text: r.full_text, gold };
});

/** The words the rules leave undecided (the model's only inputs), labelled by whether they lie in a PERSON span. */
function examplesOf(rec) {
  const unsure = [];
  findGivenNames(rec.text, [], unsure);
  return unsure.map(({ start, end, kind }) => {
    const features = [];
    nameFeatures(rec.text, start, end, kind, features);
    return { features: Int32Array.from(features), y: rec.gold.some((g) => g.start < end && start < g.end) ? 1 : 0 };
  });
}
const examples = records.map(examplesOf);

/** AdaGrad logistic regression with L2, in text order. */
function train(recordIdx) {
  const w = new Float64Array(1 << HASH_BITS);
  const g2 = new Float64Array(1 << HASH_BITS).fill(1e-8);
  let bias = 0;
  let bg2 = 1e-8;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (const i of recordIdx) {
      for (const ex of examples[i]) {
        let z = bias;
        for (const f of ex.features) z += w[f];
        const p = 1 / (1 + Math.exp(-z));
        const d = p - ex.y;
        bg2 += d * d;
        bias -= (LEARNING_RATE * d) / Math.sqrt(bg2);
        for (const f of ex.features) {
          const g = d + L2 * w[f];
          g2[f] += g * g;
          w[f] -= (LEARNING_RATE * g) / Math.sqrt(g2[f]);
        }
      }
    }
  }
  const buckets = [];
  const weights = [];
  for (let b = 0; b < w.length; b++) {
    const r = Math.round(w[b] * 100) / 100;
    if (r === 0) continue;
    buckets.push(b);
    weights.push(r);
  }
  return { format: NAME_MODEL_FORMAT, hashBits: HASH_BITS, threshold: 0, aloneThreshold: 0, bias: Math.round(bias * 1000) / 1000, buckets, weights };
}

/** One-to-one counts, as bench/pii-presidio.ts counts them, for the detector with this model at `threshold` (null: rules alone). */
function count(recordIdx, model, threshold, aloneThreshold = threshold) {
  const c = { gold: 0, tp: 0, fp: 0 };
  const m = threshold === null ? null : { ...loadNameModel(model), threshold, aloneThreshold };
  for (const i of recordIdx) {
    const { text, gold } = records[i];
    const pred = detectSensitive(text, m).filter((f) => f.type === 'person');
    const hit = gold.map(() => false);
    for (const p of pred) {
      const k = gold.findIndex((g, j) => !hit[j] && g.start < p.end && p.start < g.end);
      if (k !== -1) {
        hit[k] = true;
        c.tp++;
      } else if (!gold.some((g) => g.start < p.end && p.start < g.end)) c.fp++;
    }
    c.gold += gold.length;
  }
  return c;
}

const all = records.map((_, i) => i);
const pooled = THRESHOLDS.map(() => ({ gold: 0, tp: 0, fp: 0 }));
const foldModels = [];
const rulesOnly = { gold: 0, tp: 0, fp: 0 };
for (let k = 0; k < FOLDS; k++) {
  const held = all.filter((i) => i % FOLDS === k);
  const model = train(all.filter((i) => i % FOLDS !== k));
  foldModels.push({ held, model });
  THRESHOLDS.forEach((t, j) => {
    const c = count(held, model, t);
    for (const key of Object.keys(c)) pooled[j][key] += c[key];
  });
  const r = count(held, model, null);
  for (const key of Object.keys(r)) rulesOnly[key] += r[key];
}
const pr = (c) => ({ precision: c.tp / (c.tp + c.fp), recall: c.tp / c.gold });
const fmt = (c) => `P ${pr(c).precision.toFixed(3)} R ${pr(c).recall.toFixed(3)}`;
process.stderr.write(`rules only (cross-validated folds): ${fmt(rulesOnly)}\n`);
for (const [j, t] of THRESHOLDS.entries()) process.stderr.write(`threshold ${t.toFixed(1)}: ${fmt(pooled[j])}\n`);
const chosen = THRESHOLDS.findIndex((_, j) => pr(pooled[j]).precision >= TARGET_PRECISION);
if (chosen === -1) throw new Error(`no threshold reaches precision ${TARGET_PRECISION}`);
const threshold = Math.round(THRESHOLDS[chosen] * 10) / 10;
let aloneThreshold = threshold;
let cvCounts = pooled[chosen];
for (const t of THRESHOLDS.filter((x) => x > threshold)) {
  const c = { gold: 0, tp: 0, fp: 0 };
  for (const { held, model } of foldModels) {
    const r = count(held, model, threshold, t);
    for (const key of Object.keys(r)) c[key] += r[key];
  }
  process.stderr.write(`alone threshold ${t.toFixed(1)}: ${fmt(c)}\n`);
  if (pr(c).recall < pr(pooled[chosen]).recall - ALONE_RECALL_COST) break;
  aloneThreshold = Math.round(t * 10) / 10;
  cvCounts = c;
}

const model = { ...train(all), threshold, aloneThreshold };
const cv = pr(cvCounts);
const body = `{ format: '${model.format}', hashBits: ${model.hashBits}, threshold: ${model.threshold}, aloneThreshold: ${model.aloneThreshold}, bias: ${model.bias},\n  buckets: [${model.buckets.join(',')}],\n  weights: [${model.weights.join(',')}] }`;
writeFileSync(
  outFile,
  `// GENERATED by scripts/train-person-names.mjs — do not edit by hand; re-run the script instead.
// Logistic regression over capitalised words' features (src/inspect/pii/name-features.ts), ${model.weights.length} non-zero weights of 2^${HASH_BITS} hashed buckets.
// Trained on ${DATA} only (${records.length} texts); the held-out generated_large was not read.
// Threshold ${threshold} (a word alone ${aloneThreshold}) chosen by ${FOLDS}-fold cross-validation on that set, with the rules: precision ${cv.precision.toFixed(3)}, recall ${cv.recall.toFixed(3)}
// (rules alone ${fmt(rulesOnly)}). Hyperparameters: epochs ${EPOCHS}, AdaGrad lr ${LEARNING_RATE}, L2 ${L2}.
import type { SerializedNameModel } from '../pii/name-model.js';

export const PERSON_NAME_MODEL: SerializedNameModel = ${body};
`,
);
process.stderr.write(`threshold ${threshold}, alone ${aloneThreshold}: cross-validated ${fmt(cvCounts)}; wrote ${outFile}\n`);
