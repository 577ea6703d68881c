// Content-inspection benchmark and evaluation: `node dist/bench/inspect.js`.
// 1. Injection detector on the fixed test splits (never trained on), beside the npm peer detector
//    @andersmyrmel/vard (offline, pattern-based), same texts, same metrics.
// 2. PII detection per type on the Presidio synthetic sets (precision/recall/F1; bench/pii-presidio.ts).
// 3. Speed (bench/inspect-speed.ts, in a fresh child process): 4 KB prompt p50/p99 for PII+secrets+injection together, ratio to a JSON round trip measured
//    in the same run, linearity over input sizes, and the stream redactor's per-chunk cost and hold.
// Writes the same markdown section to bench/results/inspect.md.
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { detectInjection } from '../src/inspect/index.js';
import { isTrainingRow, type LabelledRow } from '../src/inspect/injection/training.js';
import { evaluate } from '../src/inspect/evaluate.js';
import { INJECTION_BLOCK_CUT } from '../src/core/injection-cuts.js';
import { heldOutReport, tierTimings } from './injection-heldout.js';
import { loadPeer } from './inspect-peer.js';
import type { SpeedReport } from './inspect-speed.js';
import { presidioReport } from './pii-presidio.js';

// The injection sets are read from their byte-identical copies in test/fixtures (test/fixtures/SOURCES.md); the
// Presidio sets likewise (bench/pii-presidio.ts).
const PI = resolve(process.cwd(), 'test/fixtures/prompt_injection/normalized');

function jsonl(file: string): LabelledRow[] {
  return readFileSync(resolve(PI, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LabelledRow);
}

// ---------- metrics ----------
interface Metrics { n: number; pos: number; neg: number; precision: number; recall: number; f1: number; fpr: number; tprAt1Fpr: number; auc: number }

/** The peers' thresholds are inclusive (score >= threshold); the shared metrics say so. */
/** `inclusive`: a score equal to the threshold counts as flagged (vard's convention); Warden's policy compares score > cut. */
function metrics(scores: number[], labels: number[], threshold: number, inclusive: boolean): Metrics {
  const r = evaluate(scores, labels.map((l) => (l === 1 ? 1 : 0)), threshold, inclusive);
  return { n: r.items, pos: r.positives, neg: r.negatives, precision: r.precision, recall: r.tpr, f1: r.f1, fpr: r.negatives ? r.fpr : NaN, tprAt1Fpr: r.tprAt1Fpr, auc: r.auc };
}

const f3 = (x: number): string => (Number.isNaN(x) ? '–' : x.toFixed(3));

async function main(): Promise<void> {
  const lines: string[] = [];
  const out = (s = ''): void => void lines.push(s);
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout: the commit line says unknown */
  }
  const speed = JSON.parse(execFileSync(process.execPath, [resolve('dist/bench/inspect-speed.js')], { encoding: 'utf8', maxBuffer: 1 << 24 })) as SpeedReport;
  out('## Content inspection (`bench/inspect.ts`)');
  out();
  out(`Machine: ${cpus().length} CPUs (\`nproc\`), ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, commit ${commit}.`);
  out();

  // ----- injection -----
  const peer = await loadPeer();
  const setA = jsonl('setA_deepset.jsonl');
  const setB = jsonl('setB_jackhhao.jsonl');
  const extra = jsonl('extra_attack_pool.jsonl');
  const benign = jsonl('benign_pool.jsonl');
  const evalSets: [string, LabelledRow[]][] = [
    ['Set A deepset — test split', setA.filter((r) => r.split === 'test')],
    ['Set B jackhhao — test split', setB.filter((r) => r.split === 'test')],
    ['A+B test splits together', [...setA, ...setB].filter((r) => r.split === 'test')],
    ['Extra attacks (held-out half; recall only)', extra.filter((r) => !isTrainingRow(r))],
    ['Benign pool (held-out half; FPR only)', benign.filter((r) => !isTrainingRow(r))],
  ];
  out('### Prompt-injection detector on held-out data (issue 20, `bench/injection-heldout.ts`)');
  out();
  out('heldout-v1 was looked at while the detector was tuned; heldout-v2 was written and committed before the last round of');
  out('tuning and not looked at during it; heldout-v3 was written later, before any tuning on it, by someone who had not read the');
  out('detector, its data or the earlier sets, and read as a development set from the quoted-request round on (docs/inspect.md);');
  out('heldout-v4 was written the same way after v3 had been scored, and is the held-out set now (test/fixtures/SOURCES.md). Peers in');
  out('the same run at their own default thresholds.');
  out();
  for (const set of ['v1', 'v2', 'v3', 'v4'] as const) {
    for (const l of await heldOutReport(set)) out(l);
    out();
  }
  for (const l of await tierTimings()) out(l);
  out();
  out('### Prompt-injection detector on the public test splits');
  out();
  out('Trained by `scripts/train-injection.mjs` on the train splits only (A train, B train, and the SHA-256(id)-even half of the');
  out(`extra-attack and benign pools). Evaluated here on the rest. Warden decides at score > ${INJECTION_BLOCK_CUT} (the blocking cut); vard at its default`);
  out('("moderate") threshold 0.7 over its maximum threat severity. TPR@1%FPR and ROC AUC use the raw scores of each detector.');
  out();
  out('| set | detector | n (pos/neg) | precision | recall | F1 | FPR | TPR@1%FPR | ROC AUC |');
  out('|---|---|---|---|---|---|---|---|---|');
  for (const [name, rows] of evalSets) {
    const labels = rows.map((r) => r.label);
    const ours = rows.map((r) => detectInjection(r.text).score);
    const dets: [string, number[], number, boolean][] = [['Warden', ours, INJECTION_BLOCK_CUT, false]];
    if (peer !== null) dets.push([peer.name, rows.map((r) => peer.score(r.text)), 0.7, true]);
    for (const [d, scores, th, inclusive] of dets) {
      const m = metrics(scores, labels, th, inclusive);
      out(`| ${name} | ${d} | ${m.n} (${m.pos}/${m.neg}) | ${f3(m.precision)} | ${f3(m.recall)} | ${f3(m.f1)} | ${f3(m.fpr)} | ${f3(m.tprAt1Fpr)} | ${f3(m.auc)} |`);
    }
  }
  if (peer === null) out('\n(peer @andersmyrmel/vard not installed: `npm install --save-dev @andersmyrmel/vard@1.2.0`)');
  out();

  // ----- PII -----
  for (const l of presidioReport()) out(l);
  out();

  // ----- speed -----
  // Measured in a fresh child process before the evaluations run (bench/inspect-speed.ts says why).
  for (const l of speed.lines) out(l);
  const { base, ours, sens, inj } = speed.p50;
  out('### Before / after the hot-path work (issue 5)');
  out();
  out('Before: the run at commit 92c0097 (same machine, same prompt, same splits and peer). Findings, scores and therefore');
  out('every quality figure above are unchanged: each fast path is differential-tested against its plain formulation');
  out('(`test/inspect/fast-paths.test.ts`), and old and new builds gave identical findings and scores on all 11,484 texts');
  out('of the injection and Presidio sets plus upper-cased, concatenated and obfuscated variants. The machine is shared,');
  out('so compare the ratios to the JSON round trip measured in the same run.');
  out();
  out('| what | before p50 µs | before ÷ baseline | after p50 µs | after ÷ baseline |');
  out('|---|---|---|---|---|');
  const before: [string, number, number, { p50: number }][] = [
    ['inspectText, 4 KB', 198.6, 18.2, ours],
    ['PII + secrets only', 56.1, 5.15, sens],
    ['injection only', 113.5, 10.4, inj],
  ];
  for (const [what, p50, ratio, now] of before) out(`| ${what} | ${p50.toFixed(1)} | ${ratio.toFixed(2)} | ${now.p50.toFixed(1)} | ${(now.p50 / base.p50).toFixed(2)} |`);
  out();
  const md = lines.join('\n');
  process.stdout.write(md + '\n');
  writeFileSync(resolve('bench/results/inspect.md'), md + '\n');
}

await main();
