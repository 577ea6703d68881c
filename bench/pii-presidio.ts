// PII detection per type on the Presidio synthetic sets: `node dist/bench/pii-presidio.js` (also part of
// `node dist/bench/inspect.js`). synth_dataset_v2 is the set the person and address rules were developed on;
// generated_large was not read while writing them (only its figures were looked at), so its rows are the less-tuned
// check. Both sets, then the two together.
// Two ways to count: one-to-one (each prediction marks at most one gold span; the figures reported before
// 2026-12-07) and by overlap (a gold span is found when any prediction of its type overlaps it; a prediction is
// right when it overlaps any gold span of its type). The overlap figures are the ones that matter for redaction,
// and the only fair ones for synth_dataset_v2's addresses, whose gold splits one address into its building number,
// street, unit and postcode ("20789", "Allika 46", "Suite 501", "62488").
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectSensitive } from '../src/inspect/index.js';

// Both sets are copied into test/fixtures (test/fixtures/SOURCES.md), so the benchmark runs on a fresh clone.
const PII = resolve(process.cwd(), 'test/fixtures/pii');

interface Span {
  entity_type: string;
  start_position: number;
  end_position: number;
}
interface Rec {
  full_text: string;
  spans: Span[];
}
interface Stats {
  gold: number;
  predicted: number;
  tp: number;
  fp: number;
  exact: number;
  goldOverlapped: number;
  predOverlapping: number;
}

const MAP: Record<string, string> = {
  EMAIL_ADDRESS: 'email', PHONE_NUMBER: 'phone', CREDIT_CARD: 'credit_card', IBAN_CODE: 'iban', US_SSN: 'us_ssn',
  IP_ADDRESS: 'ip_address', PERSON: 'person', STREET_ADDRESS: 'street_address', ADDRESS: 'street_address', DATE_TIME: 'date_of_birth',
};
const f3 = (x: number): string => (Number.isNaN(x) ? '–' : x.toFixed(3));

function score(recs: Rec[]): Record<string, Stats> {
  const stats: Record<string, Stats> = {};
  const st = (t: string): Stats => (stats[t] ??= { gold: 0, predicted: 0, tp: 0, fp: 0, exact: 0, goldOverlapped: 0, predOverlapping: 0 });
  for (const r of recs) {
    // Presidio offsets are code points; JS strings are UTF-16.
    const cpToUnit: number[] = [];
    let u = 0;
    for (const ch of r.full_text) {
      cpToUnit.push(u);
      u += ch.length;
    }
    cpToUnit.push(u);
    const gold = r.spans
      .filter((s) => MAP[s.entity_type] !== undefined)
      .map((s) => ({ type: MAP[s.entity_type]!, start: cpToUnit[s.start_position]!, end: cpToUnit[s.end_position]!, hit: false }));
    const pred = detectSensitive(r.full_text).filter((f) => f.category === 'pii');
    const overlaps = (a: { type: string; start: number; end: number }, b: { type: string; start: number; end: number }): boolean =>
      a.type === b.type && a.start < b.end && b.start < a.end;
    for (const p of pred) {
      st(p.type).predicted++;
      if (gold.some((g) => overlaps(g, p))) st(p.type).predOverlapping++;
      const g = gold.find((x) => !x.hit && overlaps(x, p));
      if (g !== undefined) {
        g.hit = true;
        st(p.type).tp++;
        if (g.start === p.start && g.end === p.end) st(p.type).exact++;
      } else if (!gold.some((x) => overlaps(x, p))) st(p.type).fp++;
    }
    for (const g of gold) {
      st(g.type).gold++;
      if (pred.some((p) => overlaps(g, p))) st(g.type).goldOverlapped++;
    }
  }
  return stats;
}

function rows(set: string, stats: Record<string, Stats>): string[] {
  return Object.entries(stats)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, s]) => {
      const p = s.tp + s.fp === 0 ? NaN : s.tp / (s.tp + s.fp);
      const rc = s.gold === 0 ? NaN : s.tp / s.gold;
      const f = Number.isNaN(p) || Number.isNaN(rc) || p + rc === 0 ? NaN : (2 * p * rc) / (p + rc);
      const op = s.predicted === 0 ? NaN : s.predOverlapping / s.predicted;
      const or = s.gold === 0 ? NaN : s.goldOverlapped / s.gold;
      return `| ${set} | ${t} | ${s.gold} | ${s.predicted} | ${f3(p)} | ${f3(rc)} | ${f3(f)} | ${s.tp ? f3(s.exact / s.tp) : '–'} | ${f3(op)} | ${f3(or)} |`;
    });
}

/** The markdown section: per set and type, one-to-one and overlap precision and recall. */
export function presidioReport(): string[] {
  const v2 = JSON.parse(readFileSync(resolve(PII, 'presidio-research/data/synth_dataset_v2.json'), 'utf8')) as Rec[];
  const large = JSON.parse(readFileSync(resolve(PII, 'presidio-research/tests/data/generated_large.json'), 'utf8')) as Rec[];
  return [
    '### PII detection (Presidio synthetic sets, per type)',
    '',
    `synth_dataset_v2 (${v2.length} texts; the person and address rules were developed on it) and generated_large (${large.length}; not read`,
    'while writing them: the less-tuned check), then both. One-to-one: a prediction counts when it overlaps a gold span of the',
    'mapped type, each gold span matched once; "exact" is the share of those hits with identical boundaries. Overlap: a gold span',
    'is found when any prediction of its type overlaps it, a prediction is right when it overlaps any gold span of its type',
    '(synth_dataset_v2 splits one address into building number, street, unit and postcode spans, which one finding covering the',
    'whole address finds only one-to-one once). Gold DATE_TIME is any date or time, while Warden reports only dates of birth (a',
    'date after a birth cue), so that row measures a different thing. `node dist/bench/pii-presidio.js`.',
    '',
    '| set | type | gold | predicted | precision | recall | F1 | exact | overlap precision | overlap recall |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows('v2', score(v2)),
    ...rows('large', score(large)),
    ...rows('both', score([...v2, ...large])),
  ];
}

if (process.argv[1]?.endsWith('pii-presidio.js')) process.stdout.write(`${presidioReport().join('\n')}\n`);
