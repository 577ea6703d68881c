#!/usr/bin/env node
// Calibrates the injection score and proposes the block and flag cuts, on the calibration split only (the fifth
// of the training rows that neither tier was fitted on: src/inspect/injection/training.ts isCalibrationRow).
// Platt scaling (a logistic fit of the raw score's log-odds to the labels) is written into
// src/inspect/model/injection-deep-weights.ts; the cuts into src/core/injection-cuts.ts (INJECTION_BLOCK_CUT /
// INJECTION_FLAG_CUT, the one place every consumer of the score reads them from) and the blocking cut into the
// starter policy (policies/starter/data.cedar); policies/starter/tests/inference.test.yaml's boundary cases and
// docs/inspect.md are updated by hand (test/inspect/injection-cuts.test.ts fails until they are). The test splits
// and the held-out sets are never read here.
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
// The split is nearly separable: the TPR stays flat over a wide band of cuts and the lowest cut meeting the FPR
// target is set by one or two public rows. Within that band a lower cut catches no attack the split has and only
// moves closer to the negatives, so the cut is raised to the top of the band (the highest cut with the same TPR).
const topOfBand = (cut) => {
  const tpr = rate(cut).tpr;
  let m = Math.round(cut * 1000);
  while (m + 1 < 1000 && rate((m + 1) / 1000).tpr >= tpr) m++;
  return m / 1000;
};
const block = topOfBand(lowest(0.005));
// The flag cut stays below the block cut: when both bands are one, flagging keeps its lowest cut.
const flag = topOfBand(lowest(0.02)) < block ? topOfBand(lowest(0.02)) : lowest(0.02);
process.stdout.write(`calibration rows ${rows.length} (${pos} attacks / ${neg} benign); Platt a=${a.toFixed(4)} b=${b.toFixed(4)}\n`);
process.stdout.write(`block cut ${block}: ${JSON.stringify(rate(block))}\nflag cut ${flag}: ${JSON.stringify(rate(flag))}\n`);
const cur = readFileSync(file, 'utf8');
writeFileSync(file, cur.replace(/calibration: \{[^}]*\}/, `calibration: { a: ${a.toFixed(6)}, b: ${b.toFixed(6)} }`));
const rewrite = (path, re, to) => {
  const text = readFileSync(path, 'utf8');
  if (!re.test(text)) throw new Error(`${path}: ${re} not found`);
  writeFileSync(path, text.replace(re, to));
};
const cuts = resolve('src/core/injection-cuts.ts');
rewrite(cuts, /export const INJECTION_BLOCK_CUT = [0-9.]+;/, `export const INJECTION_BLOCK_CUT = ${block};`);
rewrite(cuts, /export const INJECTION_FLAG_CUT = [0-9.]+;/, `export const INJECTION_FLAG_CUT = ${flag};`);
const permille = Math.round(block * 1000);
const starter = resolve('policies/starter/data.cedar');
rewrite(starter, /injectionScorePermille > [0-9]+ \}/, `injectionScorePermille > ${permille} }`);
rewrite(starter, /detector\. [0-9]+ is the calibrated/, `detector. ${permille} is the calibrated`);
process.stdout.write(`wrote ${cuts} and ${starter}; update the boundary cases in policies/starter/tests/inference.test.yaml and docs/inspect.md\n`);
