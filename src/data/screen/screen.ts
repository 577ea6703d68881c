// `warden data screen`: looks for poison in a text/label dataset, optionally against a trusted baseline
// version (the last approved one). Each check reports a value, its threshold and examples by file and record
// index; the screen's verdict is the list of checks over their thresholds. Findings are facts, not decisions:
// the CLI turns alarms into an exit code, and an operator (or a later gate) decides what to do.
import { createHash } from 'node:crypto';
import { detectInjection } from '../../inspect/index.js';
import { minhash, nearDuplicatePairs, normalizeText } from './minhash.js';
import type { ScreenRecord } from './read.js';
import { categoricalPsi, ks, psi, robustZ, tvd } from './stats.js';

export { DEFAULT_THRESHOLDS, type ScreenThresholds } from './thresholds.js';
import { DEFAULT_THRESHOLDS, type ScreenThresholds } from './thresholds.js';

export interface RecordRef {
  file: string;
  index: number;
  note?: string;
}

export interface ScreenCheck {
  name: string;
  alarm: boolean;
  value: number;
  threshold: number;
  summary: string;
  examples: RecordRef[];
}

export interface ScreenReport {
  records: number;
  baselineRecords: number | null;
  labels: Record<string, number>;
  /** The baseline's label counts, when the screen had one (the HTML report plots both). */
  baselineLabels?: Record<string, number>;
  checks: ScreenCheck[];
  /** Names of the checks over their thresholds. */
  alarms: string[];
}

const MAX_EXAMPLES = 10;
const ref = (r: ScreenRecord, note?: string): RecordRef => ({ file: r.file, index: r.index, ...(note ? { note } : {}) });
const textKey = (t: string) => createHash('sha256').update(normalizeText(t)).digest('hex');
const tokens = (t: string) => new Set(normalizeText(t).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0));

function labelCounts(rs: readonly ScreenRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rs) if (r.label !== null) m.set(r.label, (m.get(r.label) ?? 0) + 1);
  return m;
}

function check(name: string, value: number, threshold: number, alarm: boolean, summary: string, examples: RecordRef[] = []): ScreenCheck {
  return { name, alarm, value: Number(value.toFixed(6)), threshold, summary, examples: examples.slice(0, MAX_EXAMPLES) };
}

function duplicates(rs: readonly ScreenRecord[], t: ScreenThresholds): ScreenCheck[] {
  const n = rs.length || 1;
  const first = new Map<string, number>();
  const exact: RecordRef[] = [];
  const conflicts: RecordRef[] = [];
  const keys = rs.map((r) => textKey(r.text));
  keys.forEach((k, i) => {
    const j = first.get(k);
    if (j === undefined) return void first.set(k, i);
    exact.push(ref(rs[i]!, `same text as ${rs[j]!.file} record ${rs[j]!.index}`));
    if (rs[i]!.label !== rs[j]!.label) conflicts.push(ref(rs[i]!, `label ${rs[i]!.label} vs ${rs[j]!.label} for the same text`));
  });
  const sigs = rs.map((r) => minhash(normalizeText(r.text)));
  const near = new Set<number>();
  const nearRefs: RecordRef[] = [];
  for (const [i, j, s] of nearDuplicatePairs(sigs, t.nearDuplicateJaccard)) {
    if (keys[i] === keys[j]) continue;
    if (!near.has(j)) nearRefs.push(ref(rs[j]!, `~${s.toFixed(2)} Jaccard with ${rs[i]!.file} record ${rs[i]!.index}`));
    near.add(i);
    near.add(j);
    if (rs[i]!.label !== rs[j]!.label) conflicts.push(ref(rs[j]!, `label ${rs[j]!.label} vs ${rs[i]!.label} for a near-duplicate`));
  }
  return [
    check('exact_duplicates', exact.length / n, t.exactDuplicateRate, exact.length / n > t.exactDuplicateRate, `${exact.length} record(s) repeat an earlier text`, exact),
    check('near_duplicates', near.size / n, t.nearDuplicateRate, near.size / n > t.nearDuplicateRate, `${near.size} record(s) in near-duplicate pairs (MinHash Jaccard >= ${t.nearDuplicateJaccard})`, nearRefs),
    check('conflicting_labels', conflicts.length / n, t.conflictingLabelRate, conflicts.length / n > t.conflictingLabelRate, `${conflicts.length} duplicate or near-duplicate record(s) carry another label`, conflicts),
  ];
}

function labelChecks(rs: readonly ScreenRecord[], base: readonly ScreenRecord[], t: ScreenThresholds): ScreenCheck[] {
  const baseLabel = new Map<string, string | null>();
  for (const b of base) baseLabel.set(textKey(b.text), b.label);
  const changed = rs.filter((r) => {
    const l = baseLabel.get(textKey(r.text));
    return l !== undefined && l !== r.label;
  });
  const d = tvd(labelCounts(rs), labelCounts(base));
  return [
    check('label_changes', changed.length, t.labelChangesMax, changed.length > t.labelChangesMax, `${changed.length} record(s) carry another label than the same text in the baseline`,
      changed.map((r) => ref(r, `label ${r.label}, baseline ${baseLabel.get(textKey(r.text))}`))),
    check('label_distribution', d, t.labelTvd, d > t.labelTvd, `label distribution moved ${(d * 100).toFixed(1)}% (total variation) from the baseline`),
  ];
}

/** Hashed bag of words (256 dims, L2-normalized): a cheap embedding to find texts far from the rest. */
function embed(text: string): Float64Array {
  const v = new Float64Array(256);
  for (const w of tokens(text)) v[createHash('md5').update(w).digest().readUInt8(0)]! += 1;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function features(rs: readonly ScreenRecord[]): Map<string, number[]> {
  const f = new Map<string, number[]>();
  f.set('text_length', rs.map((r) => r.text.length));
  const names = new Set(rs.flatMap((r) => Object.keys(r.numeric)));
  for (const k of names) if (rs.every((r) => r.numeric[k] !== undefined)) f.set(k, rs.map((r) => r.numeric[k]!));
  return f;
}

function outliers(rs: readonly ScreenRecord[], t: ScreenThresholds): ScreenCheck {
  const flagged = new Map<number, string>();
  const f = features(rs);
  const embs = rs.map((r) => embed(r.text));
  const centroid = new Float64Array(256);
  for (const e of embs) for (let k = 0; k < 256; k++) centroid[k]! += e[k]! / (embs.length || 1);
  f.set('text_embedding_distance', embs.map((e) => 1 - e.reduce((s, x, k) => s + x * centroid[k]!, 0) / (Math.hypot(...centroid) || 1)));
  for (const [name, xs] of f) {
    const { z, median: med } = robustZ(xs);
    z.forEach((zi, i) => {
      if (Math.abs(zi) > t.outlierZ && !flagged.has(i)) flagged.set(i, `${name} ${xs[i]!.toFixed(2)} (median ${med.toFixed(2)}, z ${Number.isFinite(zi) ? zi.toFixed(1) : 'inf'})`);
    });
  }
  const rate = flagged.size / (rs.length || 1);
  return check('outliers', rate, t.outlierRate, rate > t.outlierRate, `${flagged.size} record(s) outlying (|modified z| > ${t.outlierZ}) on ${[...f.keys()].join(', ')}`,
    [...flagged].map(([i, note]) => ref(rs[i]!, note)));
}

/** log P(X >= k) for X ~ Binomial(n, p). */
function logBinomialTail(k: number, n: number, p: number): number {
  const lf = (m: number) => {
    let s = 0;
    for (let i = 2; i <= m; i++) s += Math.log(i);
    return s;
  };
  let sum = 0;
  for (let x = k; x <= n; x++) sum += Math.exp(lf(n) - lf(x) - lf(n - x) + x * Math.log(p) + (n - x) * Math.log(1 - p));
  return Math.log(Math.max(sum, Number.MIN_VALUE));
}

function triggers(rs: readonly ScreenRecord[], base: readonly ScreenRecord[] | null, t: ScreenThresholds): ScreenCheck {
  const labelled = rs.filter((r) => r.label !== null);
  const prior = labelCounts(labelled);
  const byToken = new Map<string, number[]>();
  labelled.forEach((r, i) => {
    for (const w of tokens(r.text)) (byToken.get(w) ?? byToken.set(w, []).get(w)!).push(i);
  });
  const baseDf = new Map<string, number>();
  if (base) for (const b of base) for (const w of tokens(b.text)) baseDf.set(w, (baseDf.get(w) ?? 0) + 1);
  const n = labelled.length || 1;
  const found: { token: string; label: string; support: number; purity: number; refs: RecordRef[] }[] = [];
  for (const [w, idx] of byToken) {
    if (idx.length < t.triggerMinSupport) continue;
    const counts = new Map<string, number>();
    for (const i of idx) counts.set(labelled[i]!.label!, (counts.get(labelled[i]!.label!) ?? 0) + 1);
    const [label, k] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    const purity = k / idx.length;
    if (purity < t.triggerPurity) continue;
    if (base) {
      const lift = idx.length / n / (((baseDf.get(w) ?? 0) + 1) / (base.length + 1));
      if (lift < t.triggerLift) continue;
    } else {
      // Rare and skewed beyond chance, corrected for the number of tokens tried (Bonferroni).
      if (idx.length / n > 0.05) continue;
      if (logBinomialTail(k, idx.length, (prior.get(label) ?? 0) / n) > Math.log(t.triggerPValue / byToken.size)) continue;
    }
    found.push({ token: w, label, support: idx.length, purity, refs: idx.map((i) => ref(labelled[i]!, `contains "${w}"`)) });
  }
  found.sort((a, b) => b.support - a.support);
  return check('backdoor_triggers', found.length, 0, found.length > 0,
    found.length ? `token(s) tied to one label: ${found.slice(0, 5).map((f) => `"${f.token}" -> ${f.label} in ${f.support} record(s), ${(f.purity * 100).toFixed(0)}% pure`).join('; ')}` : 'no rare token is tied to one label',
    found.flatMap((f) => f.refs));
}

/** With a baseline only new or changed texts are screened: the baseline's were approved with it. */
function injections(rs: readonly ScreenRecord[], base: readonly ScreenRecord[] | null, t: ScreenThresholds): ScreenCheck {
  const known = new Set(base?.map((b) => textKey(b.text)) ?? []);
  const screened = rs.filter((r) => !known.has(textKey(r.text)));
  const hits: RecordRef[] = [];
  for (const r of screened) {
    const res = detectInjection(r.text);
    if (res.score >= t.injectionScore) hits.push(ref(r, `injection score ${res.score.toFixed(2)}${res.signals.length ? ` (${res.signals.join(', ')})` : ''}`));
  }
  const rate = hits.length / (screened.length || 1);
  return check('injected_instructions', rate, t.injectedRate, rate > t.injectedRate,
    `${hits.length} of ${screened.length} ${base ? 'new or changed ' : ''}record(s) read as instructions to a model (injection detector score >= ${t.injectionScore})`, hits);
}

function drift(rs: readonly ScreenRecord[], base: readonly ScreenRecord[], t: ScreenThresholds): ScreenCheck {
  const cur = features(rs);
  const old = features(base);
  const parts: string[] = [];
  let worst = 0;
  let alarm = false;
  for (const [name, xs] of cur) {
    const ys = old.get(name);
    if (!ys) continue;
    const p = psi(ys, xs);
    const k = ks(ys, xs);
    worst = Math.max(worst, p);
    const moved = p > t.psiMax || (k.p < t.ksPValue && k.d > t.ksMinD);
    alarm ||= moved;
    parts.push(`${name}: PSI ${p.toFixed(3)}, KS D ${k.d.toFixed(3)} p ${k.p.toExponential(1)}${moved ? ' DRIFTED' : ''}`);
  }
  const lp = categoricalPsi(labelCounts(base), labelCounts(rs));
  worst = Math.max(worst, lp);
  if (lp > t.psiMax) alarm = true;
  parts.push(`label: PSI ${lp.toFixed(3)}`);
  return check('drift', worst, t.psiMax, alarm, parts.join('; '));
}

export function screenDataset(records: readonly ScreenRecord[], baseline: readonly ScreenRecord[] | null, thresholds: Partial<ScreenThresholds> = {}): ScreenReport {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  const checks = [
    ...duplicates(records, t),
    ...(baseline ? labelChecks(records, baseline, t) : []),
    outliers(records, t),
    triggers(records, baseline, t),
    injections(records, baseline, t),
    ...(baseline ? [drift(records, baseline, t)] : []),
  ];
  return {
    records: records.length,
    baselineRecords: baseline ? baseline.length : null,
    labels: Object.fromEntries(labelCounts(records)),
    ...(baseline ? { baselineLabels: Object.fromEntries(labelCounts(baseline)) } : {}),
    checks,
    alarms: checks.filter((c) => c.alarm).map((c) => c.name),
  };
}

export function formatReport(r: ScreenReport): string {
  const lines = [`screened ${r.records} record(s)${r.baselineRecords !== null ? ` against a baseline of ${r.baselineRecords}` : ' (no baseline: label, drift and lift checks need --baseline)'}; labels ${JSON.stringify(r.labels)}`];
  for (const c of r.checks) {
    lines.push(`${c.alarm ? 'ALARM' : 'ok   '} ${c.name.padEnd(22)} ${String(c.value).padStart(10)} (threshold ${c.threshold})  ${c.summary}`);
    if (c.alarm) for (const e of c.examples) lines.push(`        ${e.file} record ${e.index}${e.note ? `: ${e.note}` : ''}`);
  }
  lines.push(r.alarms.length ? `${r.alarms.length} alarm(s): ${r.alarms.join(', ')}` : 'no alarms');
  return lines.join('\n');
}

