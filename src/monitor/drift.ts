// Output drift per deployment: each deployment's first `baselineAnswers` answers are its approved baseline
// (re-learnt when an operator approves a change); the last `windowAnswers` answers are compared with it by
// the population stability index, PSI = Σ (qᵢ − pᵢ) · ln(qᵢ / pᵢ), per feature (the length histogram, and
// yes/no for SQL, shell, code, URL, refusal, tool call, finding). The largest PSI past `threshold` is a
// drift, reported once (latched) with the feature that moved, until an operator re-learns the baseline.
// A PSI of 0.1 is the usual "slight shift", 0.25 "significant"; the default 0.5 keeps a 50-answer window's
// sampling noise from alarming on benign traffic (test/monitor/drift.test.ts measures it).
import { BINARY_FEATURES, LENGTH_BINS, lengthBin, type AnswerSample, type Feature } from './answer-profile.js';

export interface DriftOptions {
  baselineAnswers?: number;
  windowAnswers?: number;
  threshold?: number;
  /** Deployments watched at most (least recently answered forgotten first). */
  maxDeployments?: number;
  onDrift: (e: DriftEvent) => void;
}

export interface DriftEvent {
  deployment: string;
  model: string;
  feature: Feature;
  psi: number;
  /** Answers seen since the baseline was approved. */
  answersSinceBaseline: number;
  /** The moved feature's share (binary) or mean length bin, in the baseline and in the window. */
  baseline: number;
  window: number;
}

export interface DriftReport {
  deployment: string;
  model: string;
  phase: 'learning' | 'watching' | 'drifted';
  baselineAnswers: number;
  windowAnswers: number;
  /** The largest PSI now, and its feature (null while learning or before the window fills). */
  psi: number | null;
  feature: Feature | null;
}

/** Counts per feature: index 0 = no, 1 = yes for binary features; length bins for `length`. */
type Counts = Record<Feature, number[]>;

const emptyCounts = (): Counts => {
  const c = { length: new Array<number>(LENGTH_BINS.length + 1).fill(0) } as Counts;
  for (const f of BINARY_FEATURES) c[f] = [0, 0];
  return c;
};

function add(c: Counts, s: AnswerSample, by: 1 | -1): void {
  c.length[lengthBin(s.length)]! += by;
  for (const f of BINARY_FEATURES) c[f][s[f] ? 1 : 0]! += by;
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

const center = (c: number[]): number => {
  const n = c.reduce((a, b) => a + b, 0);
  if (n === 0) return 0;
  return c.length === 2 ? c[1]! / n : c.reduce((a, v, i) => a + v * i, 0) / n;
};

interface Profile {
  model: string;
  phase: DriftReport['phase'];
  baseline: Counts;
  baselineN: number;
  recent: AnswerSample[];
  window: Counts;
  sinceBaseline: number;
  last: { psi: number; feature: Feature } | null;
}

export class DriftDetector {
  private readonly profiles = new Map<string, Profile>();
  private readonly baselineAnswers: number;
  private readonly windowAnswers: number;
  private readonly threshold: number;
  private readonly maxDeployments: number;

  constructor(private readonly o: DriftOptions) {
    this.baselineAnswers = o.baselineAnswers ?? 200;
    this.windowAnswers = o.windowAnswers ?? 50;
    this.threshold = o.threshold ?? 0.5;
    this.maxDeployments = o.maxDeployments ?? 10_000;
    if (!(this.baselineAnswers >= 10)) throw new Error('monitor.drift.baselineAnswers must be at least 10');
    if (!(this.windowAnswers >= 5)) throw new Error('monitor.drift.windowAnswers must be at least 5');
    if (!(this.threshold > 0)) throw new Error('monitor.drift.threshold must be > 0');
  }

  /** One answer of `deployment` (serving `model`). */
  observe(deployment: string, model: string, s: AnswerSample): void {
    const p = this.profile(deployment, model);
    if (p.phase === 'learning') {
      add(p.baseline, s, 1);
      if (++p.baselineN >= this.baselineAnswers) p.phase = 'watching';
      return;
    }
    p.sinceBaseline++;
    p.recent.push(s);
    add(p.window, s, 1);
    if (p.recent.length > this.windowAnswers) add(p.window, p.recent.shift()!, -1);
    if (p.recent.length < this.windowAnswers) return;
    p.last = this.worst(p);
    if (p.phase === 'watching' && p.last.psi > this.threshold) {
      p.phase = 'drifted';
      const f = p.last.feature;
      this.o.onDrift({ deployment, model, feature: f, psi: round(p.last.psi), answersSinceBaseline: p.sinceBaseline, baseline: round(center(p.baseline[f])), window: round(center(p.window[f])) });
    }
  }

  /** An operator approved the deployment's answers as they are now: learn the baseline again. */
  relearn(deployment: string): boolean {
    const p = this.profiles.get(deployment);
    if (!p) return false;
    this.profiles.set(deployment, this.fresh(p.model));
    return true;
  }

  report(): DriftReport[] {
    return [...this.profiles.entries()].map(([deployment, p]) => ({
      deployment,
      model: p.model,
      phase: p.phase,
      baselineAnswers: p.baselineN,
      windowAnswers: p.recent.length,
      psi: p.last ? round(p.last.psi) : null,
      feature: p.last?.feature ?? null,
    }));
  }

  private worst(p: Profile): { psi: number; feature: Feature } {
    let best: { psi: number; feature: Feature } = { psi: psi(p.baseline.length, p.window.length), feature: 'length' };
    for (const f of BINARY_FEATURES) {
      const v = psi(p.baseline[f], p.window[f]);
      if (v > best.psi) best = { psi: v, feature: f };
    }
    return best;
  }

  private fresh(model: string): Profile {
    return { model, phase: 'learning', baseline: emptyCounts(), baselineN: 0, recent: [], window: emptyCounts(), sinceBaseline: 0, last: null };
  }

  private profile(deployment: string, model: string): Profile {
    let p = this.profiles.get(deployment);
    if (p) {
      this.profiles.delete(deployment); // re-inserted: Map order is recency order
    } else {
      if (this.profiles.size >= this.maxDeployments) this.profiles.delete(this.profiles.keys().next().value!);
      p = this.fresh(model);
    }
    this.profiles.set(deployment, p);
    return p;
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
