// The injection detector on held-out data (issue 20): `node dist/bench/injection-heldout.js [--md FILE]`.
// Held out = never trained on: the hand-written set test/fixtures/prompt_injection/warden/heldout-v1.jsonl
// (committed before any training on new data, but looked at while the detector was tuned), obfuscated variants of
// its English attacks, and the test halves of the public sets (Set A and B test splits, the odd SHA-256(id) halves
// of the pools); and, reported apart, heldout-v2.jsonl, written and committed before any further tuning and
// never looked at for it, heldout-v3.jsonl, written and committed later the same way, by someone who had not read
// the detector, its data or the earlier sets, and heldout-v4.jsonl, written the same way after v3 had been scored.
// Per kind of attack: the share caught at the starter policy's block and flag cuts; per kind of negative: the
// share wrongly blocked/flagged; peers scored on the same texts.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detectInjection } from '../src/inspect/index.js';
import { isTrainingRow, type LabelledRow } from '../src/inspect/injection/training.js';
import { INJECTION_BLOCK_CUT, INJECTION_FLAG_CUT } from '../src/inspect/injection/detector.js';
import { evaluate } from '../src/inspect/evaluate.js';
import { makeVariant, VARIANT_KINDS } from './injection-variants.js';

const FIX = resolve(process.cwd(), 'test/fixtures/prompt_injection');

export interface EvalItem {
  text: string;
  label: 0 | 1;
  /** Group the item is reported under. */
  kind: string;
  lang?: string;
}

function jsonl<T>(file: string): T[] {
  return readFileSync(resolve(FIX, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

export type HeldOutSet = 'v1' | 'v2' | 'v3' | 'v4';

/**
 * Everything held out, by kind: v1 with its variants and the public test halves; v2 alone; or v3 or v4 with one
 * obfuscated variant of each English direct, extraction and role-play attack (the variant kinds taken in turn).
 */
export function heldOutItems(set: HeldOutSet = 'v1'): EvalItem[] {
  const items: EvalItem[] = [];
  const own = jsonl<{ text: string; label: 0 | 1; kind: string; lang: string }>(`warden/heldout-${set}.jsonl`);
  for (const r of own) items.push({ text: r.text, label: r.label, kind: r.kind, lang: r.lang });
  if (set === 'v2') return items;
  const plain = own.filter((r) => r.label === 1 && r.lang === 'en' && ['direct', 'extraction', 'roleplay'].includes(r.kind));
  if (set === 'v3' || set === 'v4') {
    plain.forEach((r, i) => {
      const v = VARIANT_KINDS[i % VARIANT_KINDS.length]!;
      items.push({ text: makeVariant(v, r.text), label: 1, kind: `obfuscated:${v}`, lang: 'en' });
    });
    return items;
  }
  for (const r of plain) for (const v of VARIANT_KINDS) items.push({ text: makeVariant(v, r.text), label: 1, kind: `obfuscated:${v}`, lang: 'en' });
  for (const r of jsonl<LabelledRow>('normalized/setA_deepset.jsonl')) if (r.split === 'test') items.push({ text: r.text, label: r.label, kind: 'public:setA-test' });
  for (const r of jsonl<LabelledRow>('normalized/setB_jackhhao.jsonl')) if (r.split === 'test') items.push({ text: r.text, label: r.label, kind: 'public:setB-test' });
  for (const r of jsonl<LabelledRow & { source: string }>('normalized/extra_attack_pool.jsonl')) {
    if (isTrainingRow(r)) continue;
    // BIPIA's payloads are off-task requests ("Recommend a good book") that are attacks only once inserted into
    // someone else's data; alone they are ordinary prompts, so they are reported apart and not counted.
    const kind = r.source.startsWith('microsoft/BIPIA') ? 'public:bipia-payload-alone' : 'public:pool-attacks';
    items.push({ text: r.text, label: 1, kind });
  }
  for (const r of jsonl<LabelledRow>('normalized/benign_pool.jsonl')) if (!isTrainingRow(r)) items.push({ text: r.text, label: 0, kind: 'public:benign-pool' });
  return items;
}

/** Kinds that are reported but do not count in the overall figures. */
export const NOT_COUNTED = new Set(['public:bipia-payload-alone']);

type Scorer = (text: string) => number;

interface Peer {
  name: string;
  score: Scorer;
  /** The peer's own blocking threshold (inclusive). */
  cut: number;
  /** For a peer whose API is asynchronous. */
  async?: (text: string) => Promise<number>;
}

async function loadPeers(): Promise<Peer[]> {
  const peers: Peer[] = [];
  try {
    const mod = (await import('@andersmyrmel/vard')) as { default: { moderate(): { threshold(n: number): { safeParse(s: string): { safe: boolean; threats?: { severity: number }[] } } } } };
    const v = mod.default.moderate().threshold(0);
    const version = (JSON.parse(readFileSync(resolve('node_modules/@andersmyrmel/vard/package.json'), 'utf8')) as { version: string }).version;
    peers.push({
      name: `@andersmyrmel/vard ${version}`,
      cut: 0.7,
      score: (t) => {
        const r = v.safeParse(t);
        return r.safe ? 0 : Math.max(0, ...(r.threats ?? []).map((x) => x.severity));
      },
    });
  } catch (e) {
    skipPeer('@andersmyrmel/vard', e);
  }
  try {
    // llm_guardrail: TF-IDF + logistic regression models; its injection and jailbreak models, the higher confidence
    // (its third model, "malicious", judges harmful content, not injection). Synchronous inside its promise API.
    const spec = 'llm_guardrail';
    const mod = (await import(spec)) as { checkInjection(t: string): Promise<{ confidence: number }>; checkJailbreak(t: string): Promise<{ confidence: number }> };
    const version = (JSON.parse(readFileSync(resolve('node_modules/llm_guardrail/package.json'), 'utf8')) as { version: string }).version;
    peers.push({ name: `llm_guardrail ${version}`, cut: 0.5, score: () => 0, async: async (t) => Math.max((await mod.checkInjection(t)).confidence, (await mod.checkJailbreak(t)).confidence) });
  } catch (e) {
    skipPeer('llm_guardrail', e);
  }
  return peers;
}

/** A peer is a bench-only devDependency: when it cannot be loaded the comparison goes on without it, and says so. */
function skipPeer(name: string, e: unknown): void {
  process.stderr.write(`injection-heldout: peer ${name} skipped: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
}

const pct = (a: number, b: number): string => (b === 0 ? '–' : `${a}/${b} (${((100 * a) / b).toFixed(0)}%)`);
const f3 = (x: number): string => (Number.isNaN(x) ? '–' : x.toFixed(3));

/** Kinds whose attacks sit inside content that should be data (the issue's "indirect" target). */
const INDIRECT_KINDS = new Set(['indirect']);

export async function heldOutReport(set: HeldOutSet = 'v1'): Promise<string[]> {
  const items = heldOutItems(set);
  const peers = await loadPeers();
  const scorers: { name: string; score: Scorer; block: number; flag?: number; inclusive: boolean }[] = [
    { name: 'Warden', score: (t) => detectInjection(t).score, block: INJECTION_BLOCK_CUT, flag: INJECTION_FLAG_CUT, inclusive: false },
    ...peers.map((p) => ({ name: p.name, score: p.score, block: p.cut, inclusive: true })),
  ];
  const fastOnly = items.map((it) => detectInjection(it.text, { tier: 'fast' }).score);
  const tier2 = items.filter((it) => detectInjection(it.text).tier === 2).length;
  const scores: number[][] = [];
  for (const s of scorers) {
    const peer = peers.find((p) => p.name === s.name);
    const row: number[] = [];
    for (const it of items) row.push(peer?.async ? await peer.async(it.text) : s.score(it.text));
    scores.push(row);
  }
  const out: string[] = [];
  const counted = items.map((it) => !NOT_COUNTED.has(it.kind));
  out.push(`Held-out set ${set}${set === 'v1' ? ' (with obfuscated variants of its English attacks and the public test halves)' : set === 'v3' || set === 'v4' ? ' (with one obfuscated variant of each English direct, extraction and role-play attack)' : ''}: ${items.filter((_, i) => counted[i]).length} counted (${items.filter((it, i) => counted[i] && it.label === 1).length} attacks / ${items.filter((it, i) => counted[i] && it.label === 0).length} negatives).`);
  out.push(`Warden blocks at score > ${INJECTION_BLOCK_CUT} and flags at score > ${INJECTION_FLAG_CUT} (the starter policy's cuts); each peer at its own default threshold.`);
  out.push('');
  out.push('| detector | TPR at block | FPR at block | TPR at flag | FPR at flag | ROC AUC | TPR at 1% FPR |');
  out.push('|---|---|---|---|---|---|---|');
  scorers.forEach((s, k) => {
    const sc = scores[k]!.filter((_, i) => counted[i]);
    const lb = items.filter((_, i) => counted[i]).map((it) => it.label);
    const b = evaluate(sc, lb, s.block, s.inclusive);
    const f = s.flag === undefined ? undefined : evaluate(sc, lb, s.flag, s.inclusive);
    out.push(`| ${s.name} | ${f3(b.tpr)} | ${f3(b.fpr)} | ${f ? f3(f.tpr) : '–'} | ${f ? f3(f.fpr) : '–'} | ${f3(b.auc)} | ${f3(b.tprAt1Fpr)} |`);
  });
  {
    const sc = fastOnly.filter((_, i) => counted[i]);
    const lb = items.filter((_, i) => counted[i]).map((it) => it.label);
    const r = evaluate(sc, lb, 0.5);
    out.push(`| Warden, fast tier alone (uncalibrated; AUC only) | – | – | – | – | ${f3(r.auc)} | ${f3(r.tprAt1Fpr)} |`);
  }
  out.push('');
  out.push(`The deeper tier ran on ${tier2} of ${items.length} texts (fast-tier score in the unsure band).`);
  out.push('');
  const kinds = [...new Set(items.map((it) => `${it.label}\u0000${it.kind}`))].sort();
  out.push(`| kind | label | n | ${scorers.map((s) => (s.flag === undefined ? `${s.name} (≥ ${s.block})` : `${s.name} block / flag`)).join(' | ')} |`);
  out.push(`|---|---|---|${scorers.map(() => '---').join('|')}|`);
  for (const key of kinds.reverse()) {
    const [label, kind] = key.split('\u0000') as [string, string];
    const idx = items.map((it, i) => (`${it.label}\u0000${it.kind}` === key ? i : -1)).filter((i) => i >= 0);
    const cells = scorers.map((s, k) => {
      const hit = (cut: number) => idx.filter((i) => (s.inclusive ? scores[k]![i]! >= cut : scores[k]![i]! > cut)).length;
      return s.flag === undefined ? pct(hit(s.block), idx.length) : `${pct(hit(s.block), idx.length)} / ${pct(hit(s.flag), idx.length)}`;
    });
    out.push(`| ${kind}${NOT_COUNTED.has(kind) ? ' (not counted)' : ''} | ${label === '1' ? 'attack' : 'benign'} | ${idx.length} | ${cells.join(' | ')} |`);
  }
  out.push('');
  const langs = [...new Set(items.filter((it) => it.kind === 'multilingual').map((it) => it.lang!))].sort();
  out.push(`Attacks per language (kind multilingual; caught at block / flag): ${langs
    .map((l) => {
      const idx = items.map((it, i) => (it.kind === 'multilingual' && it.lang === l ? i : -1)).filter((i) => i >= 0);
      const s0 = scores[0]!;
      return `${l} ${idx.filter((i) => s0[i]! > INJECTION_BLOCK_CUT).length}/${idx.filter((i) => s0[i]! > INJECTION_FLAG_CUT).length} of ${idx.length}`;
    })
    .join(', ')}.`);
  out.push('');
  out.push(...targets(items, scores[0]!, counted));
  return out;
}

/** The issue's "done when" figures for Warden at the block cut, each with whether it is met. */
function targets(items: EvalItem[], s: number[], counted: boolean[]): string[] {
  const share = (pred: (it: EvalItem) => boolean): { hit: number; n: number } => {
    const idx = items.map((it, i) => (counted[i] && pred(it) ? i : -1)).filter((i) => i >= 0);
    return { hit: idx.filter((i) => s[i]! > INJECTION_BLOCK_CUT).length, n: idx.length };
  };
  const r = (x: { hit: number; n: number }): number => (x.n === 0 ? Number.NaN : x.hit / x.n);
  const met = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const tpr = share((it) => it.label === 1);
  const fpr = share((it) => it.label === 0);
  const indirect = share((it) => it.label === 1 && (INDIRECT_KINDS.has(it.kind) || it.kind.endsWith('-indirect')));
  const obf = share((it) => it.label === 1 && (it.kind === 'obfuscation' || it.kind.startsWith('obfuscated:')));
  const langs = [...new Set(items.filter((it) => it.kind === 'multilingual').map((it) => it.lang!))].sort();
  const perLang = langs.map((l) => ({ l, ...share((it) => it.kind === 'multilingual' && it.lang === l) }));
  const good = perLang.filter((x) => x.n > 0 && x.hit / x.n >= 0.8);
  return [
    `Targets at the block cut (${INJECTION_BLOCK_CUT}): TPR ${f3(r(tpr))} (${tpr.hit}/${tpr.n}) at FPR ${f3(r(fpr))} (${fpr.hit}/${fpr.n}), target TPR ≥ 0.90 at FPR ≤ 0.05: ${met(r(tpr) >= 0.9 && r(fpr) <= 0.05)}; ` +
      `indirect ${f3(r(indirect))} (${indirect.hit}/${indirect.n}), target ≥ 0.85: ${met(r(indirect) >= 0.85)}; ` +
      `languages at ≥ 0.80: ${good.length} of ${perLang.length} (${good.map((x) => x.l).join(', ') || 'none'}), target ≥ 10: ${met(good.length >= 10)}; ` +
      `obfuscations ${f3(r(obf))} (${obf.hit}/${obf.n}), target ≥ 0.85: ${met(r(obf) >= 0.85)}.`,
  ];
}

/** p50 of detectInjection on a text, µs. */
export function p50(text: string, iterations = 2000): number {
  for (let i = 0; i < 200; i++) detectInjection(text);
  const t: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    detectInjection(text);
    t.push((performance.now() - t0) * 1000);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/** p50 µs of each tier on a 4 KB benign prompt, the deeper tier forced. */
export async function tierTimings(): Promise<string[]> {
  const { deepModel, deepProbability } = await import('../src/inspect/injection/deep.js');
  const { scanSignals } = await import('../src/inspect/injection/signals.js');
  const benign = jsonl<LabelledRow>('normalized/benign_pool.jsonl').map((r) => r.text).join('\n');
  const text = benign.slice(0, 4096);
  const fast = (): void => void detectInjection(text, { tier: 'fast' });
  const full = (): void => void detectInjection(text);
  const m = deepModel();
  const deep = (): void => {
    const { skeleton, hits } = scanSignals(text);
    deepProbability(m, skeleton.text, new Set(hits.map((h) => h.signal)));
  };
  const time = (fn: () => void): number => {
    for (let i = 0; i < 200; i++) fn();
    const t: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      fn();
      t.push((performance.now() - t0) * 1000);
    }
    t.sort((a, b) => a - b);
    return t[1000]!;
  };
  return [
    `4 KB benign prompt (${text.length} chars), p50 over 2,000 runs: fast tier ${time(fast).toFixed(1)} µs; whole detector as called (fast tier, deeper tier only when unsure) ${time(full).toFixed(1)} µs; deeper tier forced (signal scan + network) ${time(deep).toFixed(1)} µs.`,
  ];
}

if (process.argv[1]?.endsWith('injection-heldout.js')) {
  const lines = [...(await heldOutReport('v1')), '', ...(await heldOutReport('v2')), '', ...(await heldOutReport('v3')), '', ...(await heldOutReport('v4')), '', ...(await tierTimings())];
  const md = process.argv.indexOf('--md');
  if (md !== -1) writeFileSync(process.argv[md + 1]!, `${lines.join('\n')}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}
