#!/usr/bin/env node
// Calibrates the injection score and proposes the block and flag cuts, on the calibration split only (the fifth
// of the training rows that neither tier was fitted on: src/inspect/injection/training.ts isCalibrationRow).
// Platt scaling (a logistic fit of the raw score's log-odds to the labels) is written into
// src/inspect/model/injection-deep-weights.ts; the cuts are printed, for INJECTION_BLOCK_CUT / INJECTION_FLAG_CUT
// in src/inspect/injection/detector.ts and policies/starter/data.cedar. The test splits and the held-out set are
// never read here.
//
//   npx tsc -p . && node scripts/calibrate-injection.mjs && npx tsc -p .
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { trainingRows } from './injection-synth.mjs';
import { FILES } from './train-injection-files.mjs';

const dist = resolve('dist');
const file = resolve('src/inspect/model/injection-deep-weights.ts');
const imp = async (p) => import(pathToFileURL(`${dist}/src/inspect/${p}`).href);
const { isTrainingRow, isCalibrationRow } = await imp('injection/training.js');
const { detectInjection } = await imp('injection/detector.js');
const { clampLogit } = await imp('injection/deep.js');

const { rows } = trainingRows(resolve('test/fixtures/prompt_injection/normalized'), FILES, { isTrainingRow, isCalibrationRow }).calibration;
const xs = rows.map((r) => clampLogit(detectInjection(r.text, { tier: 'raw' }).score));
const ys = rows.map((r) => r.label);

// Platt scaling by Newton's method on (a, b), with Platt's smoothed targets so that a perfectly separated split
// does not drive a to infinity.
const pos = ys.filter((y) => y === 1).length;
const neg = ys.length - pos;
const tPos = (pos + 1) / (pos + 2);
const tNeg = 1 / (neg + 2);
let a = 1;
let b = 0;
for (let it = 0; it < 50; it++) {
  let gA = 0, gB = 0, hAA = 1e-9, hAB = 0, hBB = 1e-9;
  xs.forEach((x, i) => {
    const p = 1 / (1 + Math.exp(-(a * x + b)));
    const t = ys[i] === 1 ? tPos : tNeg;
    const d = p - t;
    const w = p * (1 - p);
    gA += d * x; gB += d; hAA += w * x * x; hAB += w * x; hBB += w;
  });
  const det = hAA * hBB - hAB * hAB;
  a -= (hBB * gA - hAB * gB) / det;
  b -= (hAA * gB - hAB * gA) / det;
}
const cal = xs.map((x) => 1 / (1 + Math.exp(-(a * x + b))));
const rate = (cut) => {
  let tp = 0, fp = 0;
  cal.forEach((s, i) => {
    if (s > cut && ys[i] === 1) tp++;
    else if (s > cut) fp++;
  });
  return { tpr: tp / pos, fpr: fp / neg };
};
// Block: the lowest cut (in permille, as the policy compares) whose calibration FPR is at most 0.5%; flag: at most 2%.
// The split is close to the training data, so these targets are set tighter than the held-out goals (5%).
const lowest = (maxFpr) => {
  for (let m = 100; m < 1000; m++) if (rate(m / 1000).fpr <= maxFpr) return m / 1000;
  return 0.999;
};
const block = lowest(0.005);
const flag = lowest(0.02);
process.stdout.write(`calibration rows ${rows.length} (${pos} attacks / ${neg} benign); Platt a=${a.toFixed(4)} b=${b.toFixed(4)}\n`);
process.stdout.write(`block cut ${block}: ${JSON.stringify(rate(block))}\nflag cut ${flag}: ${JSON.stringify(rate(flag))}\n`);
const cur = readFileSync(file, 'utf8');
writeFileSync(file, cur.replace(/calibration: \{[^}]*\}/, `calibration: { a: ${a.toFixed(6)}, b: ${b.toFixed(6)} }`));
