#!/usr/bin/env node
// Calibrates the injection score and proposes the block and flag cuts, on the calibration split only (the fifth
// of the training rows that neither tier was fitted on: src/inspect/injection/training.ts isCalibrationRow).
// Platt scaling (a logistic fit of the raw score's log-odds to the labels) is written into
// src/inspect/model/injection-deep-weights.ts; the cuts into src/core/injection-cuts.ts (INJECTION_BLOCK_CUT /
// INJECTION_FLAG_CUT, and INJECTION_TOOL_RESULT_CUT for tool results, chosen on the calibration rows shaped like
// them; the one place every consumer of the score reads them from) and the blocking cuts into the starter policy
// (policies/starter/data.cedar); policies/starter/tests/inference.test.yaml's boundary cases and
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
// `among`: the indices of the rows a cut is judged on (all of them, or the tool-result rows below).
const rateAmong = (among) => (cut) => {
  let tp = 0, fp = 0, p = 0, n = 0;
  for (const i of among) {
    if (ys[i] === 1) p++;
    else n++;
    if (cal[i] > cut && ys[i] === 1) tp++;
    else if (cal[i] > cut) fp++;
  }
  return { tpr: tp / p, fpr: fp / n };
};
const rate = rateAmong(ys.map((_, i) => i));
// Block: the lowest cut (in permille, as the policy compares) whose calibration FPR is at most 0.5%, overall and among
// the hard negatives; flag: at most 2% overall.
// The split is close to the training data, so these targets are set tighter than the held-out goals (5%).
const lowest = (maxFpr, rate) => {
  for (let m = 100; m < 1000; m++) if (rate(m / 1000).fpr <= maxFpr) return m / 1000;
  return 0.999;
};
// The split is nearly separable: the TPR stays flat over a wide band of cuts and the lowest cut meeting the FPR
// target is set by one or two public rows. Within that band a lower cut catches no attack the split has and only
// moves closer to the negatives, so the cut is raised to the top of the band (the highest cut with the same TPR).
const topOfBand = (cut, rate) => {
  const tpr = rate(cut).tpr;
  let m = Math.round(cut * 1000);
  while (m + 1 < 1000 && rate((m + 1) / 1000).tpr >= tpr) m++;
  return m / 1000;
};
// Hard negatives (ordinary requests with an attack's trigger words, security education, quoted attacks, documents
// about assistants and rules, task and job status lines such as "<job> cancelled by the user") are where false alarms happen outside the lab, and there are few of them beside the
// easy negatives, so the block cut must also meet the target among them alone: the cut is the lowest where both hold.
const HARD_NEGATIVES = /^synthetic:(trigger-words|education|quoted|quoted-meta|authority-benign|about-doc|status|app-template)$/;
const hardRows = rows.map((r, i) => (r.label === 1 || HARD_NEGATIVES.test(r.source ?? '') ? i : -1)).filter((i) => i >= 0);
const hardRate = rateAmong(hardRows);
const blockRate = (cut) => {
  const all = rate(cut);
  return { tpr: all.tpr, fpr: Math.max(all.fpr, hardRate(cut).fpr) };
};
const block = topOfBand(lowest(0.005, blockRate), blockRate);
// The flag cut stays below the block cut: when both bands are one, flagging keeps its lowest cut.
const flagTop = topOfBand(lowest(0.02, rate), rate);
const flag = flagTop < block ? flagTop : lowest(0.02, rate);
// Tool results (issue 20): what an agent fetches is documents, e-mails and JSON written by third parties, where a
// request-path cut refused ordinary e-mails. Their cut is chosen on the calibration rows shaped like tool results
// only: the documents and e-mails (bare, with an ordinary imperative for a person, or with an injection planted),
// never on BIPIA's e-mails (which test/tools fetches) or a held-out set. Same rule as the block cut.
const DOCUMENT_SOURCES = /^synthetic:(email-benign|email-indirect|document-benign|carrier-benign|indirect|indirect-structure|indirect-structure-benign|lang-[a-z]+-indirect|about-doc|tool-json|vocative-indirect|vocative-benign)$/;
const docRows = rows.map((r, i) => (DOCUMENT_SOURCES.test(r.source ?? '') ? i : -1)).filter((i) => i >= 0);
const docRate = rateAmong(docRows);
const toolResult = topOfBand(lowest(0.005, docRate), docRate);
const docPos = docRows.filter((i) => ys[i] === 1).length;
process.stdout.write(`calibration rows ${rows.length} (${pos} attacks / ${neg} benign); Platt a=${a.toFixed(4)} b=${b.toFixed(4)}\n`);
process.stdout.write(`block cut ${block}: ${JSON.stringify(rate(block))}, hard negatives ${JSON.stringify(hardRate(block))}\nflag cut ${flag}: ${JSON.stringify(rate(flag))}\n`);
process.stdout.write(`tool-result cut ${toolResult} on ${docRows.length} document rows (${docPos} attacks): ${JSON.stringify(docRate(toolResult))}; the block cut there: ${JSON.stringify(docRate(block))}\n`);
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
rewrite(cuts, /export const INJECTION_TOOL_RESULT_CUT = [0-9.]+;/, `export const INJECTION_TOOL_RESULT_CUT = ${toolResult};`);
const permille = Math.round(block * 1000);
const starter = resolve('policies/starter/data.cedar');
rewrite(starter, /\{ !context\.findings\.fromToolResult && context\.findings\.injectionScorePermille > [0-9]+ \}/, `{ !context.findings.fromToolResult && context.findings.injectionScorePermille > ${permille} }`);
rewrite(starter, /detector\. [0-9]+ is the calibrated/, `detector. ${permille} is the calibrated`);
const flagPermille = Math.round(flag * 1000);
rewrite(starter, /context\.findings\.injectionScorePermille > [0-9]+\n\};/, `context.findings.injectionScorePermille > ${flagPermille}\n};`);
rewrite(starter, /[0-9]+ is the calibrated flag cut/, `${flagPermille} is the calibrated flag cut`);
const toolPermille = Math.round(toolResult * 1000);
rewrite(starter, /\{ context\.findings\.fromToolResult && context\.findings\.injectionScorePermille > [0-9]+ \}/, `{ context.findings.fromToolResult && context.findings.injectionScorePermille > ${toolPermille} }`);
rewrite(starter, /tool result's cut, [0-9]+,/, `tool result's cut, ${toolPermille},`);
process.stdout.write(`wrote ${cuts} and ${starter}; update the boundary cases in policies/starter/tests/inference.test.yaml and docs/inspect.md\n`);
