// Output drift per deployment: each deployment's approved baseline (its first `baselineAnswers` answers once an
// operator approves them, or an answer set the operator gives at approval) is compared with the last
// `windowAnswers` answers by the population stability index, PSI = Σ (qᵢ − pᵢ) · ln(qᵢ / pᵢ), per feature (the
// length and language histograms, and yes/no for SQL, shell, code, URL, refusal, tool call, finding). The
// largest PSI past `threshold` is a drift, reported once (latched) with the feature that moved, until an operator
// re-learns or approves a new baseline. A PSI of 0.1 is the usual "slight shift", 0.25 "significant"; the default
// 0.5 keeps a 50-answer window's sampling noise from alarming on benign traffic (test/monitor/drift.test.ts).
//
// The baseline is a record (`DriftRecord`) every replica shares through a store (src/monitor/drift-shared.ts):
// this detector keeps its local view of each record plus what it learnt since (`takeDelta`), and judges each
// answer against the view alone, with no store round trip. The window is this process's own. With a store, a drift
// is reported only once the store has latched it for this replica (`claimDriftsThrough`): one report per drift.
import { BINARY_FEATURES, LANGUAGES, LENGTH_BINS, lengthBin, type AnswerSample, type Feature } from './answer-profile.js';

/**
 * `learning`: counting its first answers; `awaiting_approval`: learnt, not judged until an operator approves it
 * (`monitor.drift.approval: operator`); `watching`: approved, each answer judged; `drifted`: latched.
 */
export type DriftPhase = 'learning' | 'awaiting_approval' | 'watching' | 'drifted';
export type DriftApproval = 'operator' | 'auto';

export interface DriftOptions {
  baselineAnswers?: number;
  windowAnswers?: number;
  threshold?: number;
  /** `auto`: the learnt baseline is approved as it completes; `operator` (the configuration's default): it waits for an operator. */
  approval?: DriftApproval;
  /** Deployments watched at most (least recently answered forgotten first). */
  maxDeployments?: number;
  onDrift: (e: DriftEvent) => void;
}

export interface DriftEvent {
  deployment: string;
  model: string;
  feature: Feature;
  psi: number;
  /** Answers seen (here) since the baseline was approved. */
  answersSinceBaseline: number;
  /** The moved feature's share (binary), mean length bin, or share of the baseline's main language, in the baseline and in the window. */
  baseline: number;
  window: number;
}

export interface DriftReport {
  deployment: string;
  model: string;
  phase: DriftPhase;
  baselineAnswers: number;
  windowAnswers: number;
  /** The largest PSI now, and its feature (null until watching and the window fills). */
  psi: number | null;
  feature: Feature | null;
  /** Who approved the baseline (null: learning, awaiting approval, or approved automatically), and when (ms). */
  approvedBy: string | null;
  approvedAt: number | null;
}

/** Counts per feature: index 0 = no, 1 = yes for binary features; bins for `length` and `language`. */
export type Counts = Record<Feature, number[]>;

/** A deployment's baseline as the replicas share it. */
export interface DriftRecord {
  model: string;
  /** Raised by every relearn and every approval of an answer set: answers learnt under an older epoch are dropped. */
  epoch: number;
  phase: DriftPhase;
  baseline: Counts;
  baselineN: number;
  approvedBy: string | null;
  approvedAt: number | null;
  /** The drift that latched it (phase `drifted`). */
  drift: { feature: Feature; psi: number } | null;
  /**
   * A baseline stored before Latin-script languages were told apart (its language histogram had the first seven
   * bins only): its language is compared with Spanish, French … folded into `latin`, as it was learnt. Cleared by
   * a relearn or an approved answer set.
   */
  coarseLanguage?: true;
}

/** What a replica learnt since its last merge: answers into a learning baseline of `epoch`, or a drift it saw. */
export interface DriftDelta {
  epoch: number;
  model: string;
  counts: Counts;
  n: number;
  drift: { feature: Feature; psi: number } | null;
  /** The drift as it is reported, held until this replica's write latches it (only when drifts are claimed through a store). */
  event: DriftEvent | null;
}

const BINS: Record<'length' | 'language', number> = { length: LENGTH_BINS.length + 1, language: LANGUAGES.length };
/** The language bins before Spanish, French, German, Italian, Portuguese and Dutch had bins of their own. */
const COARSE_LANGUAGE_BINS = LANGUAGES.indexOf('other') + 1;
const LATIN_BIN = LANGUAGES.indexOf('latin');

/** A language histogram as a coarse baseline counts it: every told-apart Latin-script language back in `latin`. */
function foldLanguage(c: number[]): number[] {
  const f = c.slice(0, COARSE_LANGUAGE_BINS);
  for (let i = COARSE_LANGUAGE_BINS; i < c.length; i++) f[LATIN_BIN]! += c[i]!;
  return f;
}
export const FEATURES: readonly Feature[] = ['length', 'language', ...BINARY_FEATURES];

export const emptyCounts = (): Counts => {
  const c = { length: new Array<number>(BINS.length).fill(0), language: new Array<number>(BINS.language).fill(0) } as Counts;
  for (const f of BINARY_FEATURES) c[f] = [0, 0];
  return c;
};

export function addSample(c: Counts, s: AnswerSample, by: 1 | -1): void {
  c.length[lengthBin(s.length)]! += by;
  c.language[LANGUAGES.indexOf(s.language)]! += by;
  for (const f of BINARY_FEATURES) c[f][s[f] ? 1 : 0]! += by;
}

function addCounts(into: Counts, from: Counts): void {
  for (const f of FEATURES) for (let i = 0; i < into[f].length; i++) into[f][i]! += from[f][i]!;
}

const emptyDelta = (r: DriftRecord): DriftDelta => ({ epoch: r.epoch, model: r.model, counts: emptyCounts(), n: 0, drift: null, event: null });

export const freshRecord = (model: string, epoch: number): DriftRecord => ({ model, epoch, phase: 'learning', baseline: emptyCounts(), baselineN: 0, approvedBy: null, approvedAt: null, drift: null });

/** A record read from the store, checked whole: a malformed one throws (the caller ignores it and says so). */
export function parseDriftRecord(v: unknown): DriftRecord {
  const r = v as Partial<DriftRecord> | null;
  const nat = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (!r || typeof r !== 'object' || typeof r.model !== 'string' || !nat(r.epoch) || !nat(r.baselineN)) throw new Error('a drift record needs model, epoch and baselineN');
  if (!['learning', 'awaiting_approval', 'watching', 'drifted'].includes(r.phase as string)) throw new Error(`unknown drift phase ${JSON.stringify(r.phase)}`);
  const b = r.baseline as Partial<Counts> | undefined;
  if (!b || typeof b !== 'object') throw new Error('a drift record needs its baseline counts');
  const coarse = r.coarseLanguage === true || (Array.isArray(b.language) && b.language.length === COARSE_LANGUAGE_BINS);
  if (r.coarseLanguage !== undefined && r.coarseLanguage !== true) throw new Error('coarseLanguage must be true or absent');
  if (Array.isArray(b.language) && b.language.length === COARSE_LANGUAGE_BINS) b.language = [...b.language, ...new Array<number>(BINS.language - COARSE_LANGUAGE_BINS).fill(0)];
  for (const f of FEATURES) {
    const want = f === 'length' || f === 'language' ? BINS[f] : 2;
    if (!Array.isArray(b[f]) || b[f].length !== want || !b[f].every(nat)) throw new Error(`drift baseline feature ${f}: ${want} counts expected`);
  }
  if (r.approvedBy !== null && typeof r.approvedBy !== 'string') throw new Error('approvedBy must be a string or null');
  if (r.approvedAt !== null && !nat(r.approvedAt)) throw new Error('approvedAt must be a time or null');
  if (r.drift !== null && (typeof r.drift !== 'object' || !FEATURES.includes(r.drift?.feature as Feature) || typeof r.drift?.psi !== 'number')) throw new Error('drift must be {feature, psi} or null');
  return { model: r.model, epoch: r.epoch!, phase: r.phase!, baseline: b as Counts, baselineN: r.baselineN!, approvedBy: r.approvedBy ?? null, approvedAt: r.approvedAt ?? null, drift: r.drift ?? null, ...(coarse ? { coarseLanguage: true as const } : {}) };
}

/**
 * One replica's delta merged into the stored record (null: none yet). Answers count only toward a baseline still
 * learning in the delta's epoch (after a relearn or an approval elsewhere they were learnt against a baseline no
 * longer in force); a drift latches only the baseline it was measured against.
 */
export function mergeDelta(old: DriftRecord | null, d: DriftDelta, o: { baselineAnswers: number; approval: DriftApproval }): DriftRecord {
  const r = old ? structuredClone(old) : freshRecord(d.model, d.epoch);
  if (r.epoch !== d.epoch) return r;
  if (!r.model) r.model = d.model;
  if (r.phase === 'learning' && d.n > 0) {
    addCounts(r.baseline, d.counts);
    r.baselineN += d.n;
    if (r.baselineN >= o.baselineAnswers) r.phase = o.approval === 'auto' ? 'watching' : 'awaiting_approval';
  }
  if (d.drift && r.phase === 'watching') {
    r.phase = 'drifted';
    r.drift = d.drift;
  }
  return r;
}

/** PSI of `window` against `baseline`, each bin smoothed by half an observation (an empty bin is not infinite). */
export function psi(baseline: number[], window: number[]): number {
  const nb = baseline.reduce((a, b) => a + b, 0) + baseline.length / 2;
  const nw = window.reduce((a, b) => a + b, 0) + window.length / 2;
  let sum = 0;
  for (let i = 0; i < baseline.length; i++) {
    const p = (baseline[i]! + 0.5) / nb;
    const q = (window[i]! + 0.5) / nw;
    sum += (q - p) * Math.log(q / p);
  }
  return sum;
}

/** What an operator reads of a moved feature: a share, a mean length bin, or the share of the baseline's main language. */
function centers(f: Feature, baseline: number[], window: number[]): { baseline: number; window: number } {
  const n = (c: number[]) => c.reduce((a, b) => a + b, 0) || 1;
  if (f === 'length') return { baseline: baseline.reduce((a, v, i) => a + v * i, 0) / n(baseline), window: window.reduce((a, v, i) => a + v * i, 0) / n(window) };
  const i = f === 'language' ? baseline.indexOf(Math.max(...baseline)) : 1;
  return { baseline: baseline[i]! / n(baseline), window: window[i]! / n(window) };
}

interface Profile {
  record: DriftRecord;
  delta: DriftDelta;
  recent: AnswerSample[];
  window: Counts;
  sinceBaseline: number;
  last: { psi: number; feature: Feature } | null;
}

export class DriftDetector {
  private readonly profiles = new Map<string, Profile>();
  private readonly dirtyKeys = new Set<string>();
  private claimThrough: ((deployment: string) => void) | null = null;
  readonly baselineAnswers: number;
  readonly approval: DriftApproval;
  private readonly windowAnswers: number;
  private readonly threshold: number;
  private readonly maxDeployments: number;

  constructor(private readonly o: DriftOptions) {
    this.baselineAnswers = o.baselineAnswers ?? 200;
    this.windowAnswers = o.windowAnswers ?? 50;
    this.threshold = o.threshold ?? 0.5;
    this.approval = o.approval ?? 'auto';
    this.maxDeployments = o.maxDeployments ?? 10_000;
    if (!(this.baselineAnswers >= 10)) throw new Error('monitor.drift.baselineAnswers must be at least 10');
    if (!(this.windowAnswers >= 5)) throw new Error('monitor.drift.windowAnswers must be at least 5');
    if (!(this.threshold > 0)) throw new Error('monitor.drift.threshold must be > 0');
  }

  /** One answer of `deployment` (serving `model`): counted, and judged against the approved baseline. */
  observe(deployment: string, model: string, s: AnswerSample): void {
    const p = this.profile(deployment, model);
    const r = p.record;
    if (r.phase === 'learning') {
      addSample(r.baseline, s, 1);
      addSample(p.delta.counts, s, 1);
      p.delta.n++;
      this.dirtyKeys.add(deployment);
      if (++r.baselineN >= this.baselineAnswers) r.phase = this.approval === 'auto' ? 'watching' : 'awaiting_approval';
      return;
    }
    if (r.phase === 'awaiting_approval') return; // not judged against a baseline nobody approved
    p.sinceBaseline++;
    p.recent.push(s);
    addSample(p.window, s, 1);
    if (p.recent.length > this.windowAnswers) addSample(p.window, p.recent.shift()!, -1);
    if (p.recent.length < this.windowAnswers) return;
    p.last = this.worst(p);
    if (r.phase === 'watching' && p.last.psi > this.threshold) {
      r.phase = 'drifted';
      const f = p.last.feature;
      r.drift = { feature: f, psi: round(p.last.psi) };
      p.delta.drift = r.drift;
      this.dirtyKeys.add(deployment);
      const c = centers(f, ...this.compared(p, f));
      const event: DriftEvent = { deployment, model: r.model || model, feature: f, psi: round(p.last.psi), answersSinceBaseline: p.sinceBaseline, baseline: round(c.baseline), window: round(c.window) };
      if (!this.claimThrough) return this.o.onDrift(event);
      p.delta.event = event;
      this.claimThrough(deployment);
    }
  }

  /**
   * Replicas sharing a store: a drift seen here is not reported at once but held in the delta, and `flush` is asked
   * to write it; only the replica whose write turns the stored record from watching to drifted reports it
   * (`announce`), the others adopt the latch silently (src/monitor/drift-shared.ts).
   */
  claimDriftsThrough(flush: (deployment: string) => void): void {
    this.claimThrough = flush;
  }

  /** Reports a drift held in a delta: this replica's write latched it (or the store could not be asked). */
  announce(e: DriftEvent): void {
    this.o.onDrift(e);
  }

  /** The profile's record as this replica sees it (null: none here). */
  record(deployment: string): DriftRecord | null {
    return this.profiles.get(deployment)?.record ?? null;
  }

  /** An operator approved the deployment's answers as they are now, here only (no store): learn the baseline again. */
  relearn(deployment: string): boolean {
    const p = this.profiles.get(deployment);
    if (!p) return false;
    this.adopt(deployment, freshRecord(p.record.model, p.record.epoch + 1));
    return true;
  }

  /** Profiles with something learnt (or a drift seen) since the last `takeDelta`. */
  dirty(): string[] {
    return [...this.dirtyKeys];
  }

  /** What was learnt here since the last call (null: nothing), to be merged into the shared record. */
  takeDelta(deployment: string): DriftDelta | null {
    this.dirtyKeys.delete(deployment);
    const p = this.profiles.get(deployment);
    if (!p || (p.delta.n === 0 && !p.delta.drift)) return null;
    const d = p.delta;
    p.delta = emptyDelta(p.record);
    return d;
  }

  /** A delta that could not be merged (the store did not answer) is kept for the next merge. */
  giveBack(deployment: string, d: DriftDelta): void {
    const p = this.profiles.get(deployment);
    if (!p || p.delta.epoch !== d.epoch) return;
    addCounts(p.delta.counts, d.counts);
    p.delta.n += d.n;
    p.delta.drift ??= d.drift;
    p.delta.event ??= d.event;
    this.dirtyKeys.add(deployment);
  }

  /**
   * The shared record as last read: the local view becomes it plus what was learnt here and not merged yet. A new
   * epoch (a relearn or an approved answer set) drops that, and a change of baseline empties the window.
   */
  adopt(deployment: string, rec: DriftRecord): void {
    const p = this.profiles.get(deployment);
    if (!p) {
      this.insert(deployment, this.fresh(rec));
      return;
    }
    const was = p.record;
    const view = mergeDelta(rec, p.delta, this);
    if (p.delta.epoch !== rec.epoch) p.delta = emptyDelta(rec);
    p.record = view;
    const sameBaseline = was.epoch === view.epoch && (was.phase === 'watching' || was.phase === 'drifted') && (view.phase === 'watching' || view.phase === 'drifted');
    if (!sameBaseline) {
      p.recent = [];
      p.window = emptyCounts();
      p.sinceBaseline = 0;
      p.last = null;
    }
  }

  report(): DriftReport[] {
    return [...this.profiles.entries()].map(([deployment, p]) => ({
      deployment,
      model: p.record.model,
      phase: p.record.phase,
      baselineAnswers: p.record.baselineN,
      windowAnswers: p.recent.length,
      psi: p.last ? round(p.last.psi) : null,
      feature: p.last?.feature ?? null,
      approvedBy: p.record.approvedBy,
      approvedAt: p.record.approvedAt,
    }));
  }

  /** The baseline's and the window's counts of `f` as they are compared (a coarse baseline's language folded). */
  private compared(p: Profile, f: Feature): [number[], number[]] {
    const b = p.record.baseline[f];
    const w = p.window[f];
    return f === 'language' && p.record.coarseLanguage ? [foldLanguage(b), foldLanguage(w)] : [b, w];
  }

  private worst(p: Profile): { psi: number; feature: Feature } {
    let best: { psi: number; feature: Feature } = { psi: -1, feature: 'length' };
    for (const f of FEATURES) {
      const v = psi(...this.compared(p, f));
      if (v > best.psi) best = { psi: v, feature: f };
    }
    return best;
  }

  private fresh(record: DriftRecord): Profile {
    return { record: structuredClone(record), delta: emptyDelta(record), recent: [], window: emptyCounts(), sinceBaseline: 0, last: null };
  }

  private insert(deployment: string, p: Profile): void {
    if (this.profiles.size >= this.maxDeployments) {
      const oldest = this.profiles.keys().next().value!;
      this.profiles.delete(oldest);
      this.dirtyKeys.delete(oldest);
    }
    this.profiles.set(deployment, p);
  }

  private profile(deployment: string, model: string): Profile {
    let p = this.profiles.get(deployment);
    if (p) {
      this.profiles.delete(deployment); // re-inserted: Map order is recency order
      this.profiles.set(deployment, p);
      if (!p.record.model) p.record.model = p.delta.model = model;
    } else {
      p = this.fresh(freshRecord(model, 0));
      this.insert(deployment, p);
    }
    return p;
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
