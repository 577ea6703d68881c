// Baselines per principal: what its own traffic usually looks like, kept as streaming statistics — an
// exponentially decayed histogram of the hour of day (UTC) and of source networks (/24 for IPv4, /48 for
// IPv6), the models it uses, and a quantile sketch (log-spaced buckets, DDSketch-style, relative accuracy
// ±2 %) with an EWMA of its prompt length. Once a principal has `minObservations` requests, each new
// request is compared with that baseline before it is learnt: a network it has (nearly) never used, an
// hour it is (nearly) never active, a model it never called, a prompt far beyond its own 99th percentile.
// At the end of the answer the same observation carries what it cost and what came of it: tokens in and out
// (the upstream's usage; a sketch each, judged like the prompt length), whether the answer was a refusal and
// whether inspection found anything (a decayed rate each, with a short EWMA of the recent rate: a jump of the
// recent rate far above one's own long-run rate deviates).
// The deviation (noisy-OR of those, with the reasons) lasts `holdMs` and feeds the risk: a compromised key
// used from a new network at odd hours stands out even when each request looks ordinary.
import { isIPv4 } from 'node:net';

export interface BaselineObservation {
  sourceIp: string;
  model: string | null;
  promptChars: number;
  /** The upstream's usage for the answer (prompt_tokens, completion_tokens); absent or null: not known, not learnt. */
  tokensIn?: number | null;
  tokensOut?: number | null;
  /** Whether the answer was a refusal (null: not known, e.g. a streamed answer or a tool call). */
  refusal?: boolean | null;
  /** How many inspection findings the request and its answer carried (null: not known). */
  findings?: number | null;
}

export interface Deviation {
  score: number;
  reasons: string[];
  at: number;
}

export interface BaselineOptions {
  /** Requests before a baseline is trusted (no deviation is reported before). */
  minObservations?: number;
  /** How long a deviation counts after the request that showed it. */
  holdMs?: number;
  /** Weight of an old observation halves every `halfLife` observations. */
  halfLife?: number;
  maxPrincipals?: number;
  /** Called when a principal's deviation rises past `reportAt` (once per crossing). */
  reportAt?: number;
  onDeviation?: (principal: string, d: Deviation) => void;
}

const WEIGHTS = { network: 0.35, hour: 0.25, model: 0.15, prompt: 0.2, tokensIn: 0.15, tokensOut: 0.2, refusals: 0.25, findings: 0.25 };
/** Below this many tokens a request or an answer is never "far beyond" its baseline (short ones vary a lot). */
const TOKENS_FLOOR = 100;
/**
 * Tokens far beyond one's own 99th percentile: three times it (twice, as for the prompt's characters, flagged a
 * few benign answers in 20,000 of a log-normal length; three times none, while 20× a usual answer is far past it).
 */
const TOKENS_BEYOND_P99 = 3;
/** The recent rate of refusals and findings: an EWMA over about the last 1/α answers. */
const RATE_ALPHA = 0.05;
/**
 * A recent rate deviates when it exceeds the long-run rate p by max(RATE_MARGIN, RATE_SIGMAS·σ), σ the standard
 * deviation of the EWMA of Bernoulli(p) answers, √(p(1−p)·α/(2−α)): at p = 2 % about six refusals among the last
 * twenty answers, which benign traffic almost never shows (measured in test/monitor/baselines.test.ts).
 */
const RATE_MARGIN = 0.25;
const RATE_SIGMAS = 6;
const RARE = 0.01;
const MAX_NETWORKS = 64;
const EWMA_ALPHA = 0.05;
const GAMMA = 1.04; // sketch bucket ratio: relative accuracy (γ − 1) / (γ + 1) ≈ 2 %

/** The network a source address belongs to: /24 for IPv4, /48 for IPv6. */
export function networkOf(ip: string): string {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return v4.split('.').slice(0, 3).join('.') + '.0/24';
  const groups = expandIPv6(ip);
  return groups ? `${groups.slice(0, 3).join(':')}::/48` : ip;
}

function expandIPv6(ip: string): string[] | null {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && h.length !== 8) return null;
  const fill = Array.from({ length: 8 - h.length - t.length }, () => '0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/**
 * A log-bucket quantile sketch (DDSketch-style) for positive values. Weights are given by the caller, so an
 * exponential decay is applied lazily: newer observations are added with larger weights (see `learn`).
 */
export class QuantileSketch {
  private readonly buckets = new Map<number, number>();
  private total = 0;

  add(x: number, weight = 1): void {
    const k = Math.ceil(Math.log(Math.max(1, x)) / Math.log(GAMMA));
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + weight);
    this.total += weight;
  }

  toJSON(): { buckets: [number, number][]; total: number } {
    return { buckets: [...this.buckets.entries()], total: this.total };
  }

  static fromJSON(j: unknown): QuantileSketch {
    const o = j as { buckets?: unknown; total?: unknown };
    if (!Array.isArray(o?.buckets) || !finite(o.total)) throw new Error('sketch: buckets and total expected');
    const q = new QuantileSketch();
    for (const e of o.buckets as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2 || !Number.isInteger(e[0]) || !finite(e[1])) throw new Error('sketch: a bucket is not [index, weight]');
      q.buckets.set(e[0] as number, e[1] as number);
    }
    q.total = o.total as number;
    return q;
  }

  scale(f: number): void {
    for (const [k, v] of this.buckets) this.buckets.set(k, v * f);
    this.total *= f;
  }

  /** The q-quantile (0..1), within ±2 %; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let acc = 0;
    for (const k of keys) {
      acc += this.buckets.get(k)!;
      if (acc >= q * this.total) return (2 * GAMMA ** k) / (GAMMA + 1);
    }
    return (2 * GAMMA ** keys.at(-1)!) / (GAMMA + 1);
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** A quantile sketch of one feature with the number of observations in it (its own maturity). */
export interface SketchJSON {
  n: number;
  sketch: { buckets: [number, number][]; total: number };
}

/** A yes/no feature: observations, their decayed weight, the weight of the yes, and the recent rate (EWMA). */
export interface RateJSON {
  n: number;
  weight: number;
  yes: number;
  recent: number;
}

/** The answer features (tokens, refusals, findings); optional in every stored form, so records older than them load. */
interface AnswerStatsJSON {
  tokensIn?: SketchJSON;
  tokensOut?: SketchJSON;
  refusals?: RateJSON;
  findings?: RateJSON;
}

/** What survives a restart (docs/monitor.md "Baselines per principal"); a deviation in progress does not. */
export interface BaselinesSnapshot {
  v: 1;
  principals: [string, { n: number; inc: number; hours: number[]; networks: [string, number][]; models: [string, number][]; weight: number; prompt: unknown; promptEwma: number } & AnswerStatsJSON][];
}

/**
 * A baseline's learnt statistics as replicas share them (docs/monitor.md "Baselines across replicas"):
 * normalised so that the newest observation weighs 1 and one `j` observations older weighs decayʲ.
 */
export interface SharedStats extends AnswerStatsJSON {
  n: number;
  weight: number;
  hours: number[];
  networks: [string, number][];
  models: [string, number][];
  prompt: { buckets: [number, number][]; total: number };
  promptEwma: number;
}

/** What the shared store keeps per principal: the merged statistics and the deviation last seen by any replica. */
export interface SharedBaseline {
  stats: SharedStats;
  deviation: Deviation | null;
}

/** The learnt part of a baseline; weights in the scale of `inc` (lazy decay). */
interface Stats {
  n: number;
  /** The weight of the next observation: 1/decayⁿ, so older ones weigh decayᵏ relative to it (lazy decay). */
  inc: number;
  hours: number[];
  networks: Map<string, number>;
  models: Map<string, number>;
  weight: number;
  prompt: QuantileSketch;
  promptEwma: number;
  tokensIn: { n: number; sketch: QuantileSketch };
  tokensOut: { n: number; sketch: QuantileSketch };
  refusals: RateJSON;
  findings: RateJSON;
}

interface Baseline extends Stats {
  deviation: Deviation | null;
  reported: boolean;
  /** Shared mode: what this replica learnt since it last merged into the shared store. */
  delta: Stats | null;
  /** Shared mode: when this replica last took the shared view (0: never). */
  syncedAt: number;
}

const emptyRate = (): RateJSON => ({ n: 0, weight: 0, yes: 0, recent: 0 });
const emptyAnswerStats = () => ({ tokensIn: { n: 0, sketch: new QuantileSketch() }, tokensOut: { n: 0, sketch: new QuantileSketch() }, refusals: emptyRate(), findings: emptyRate() });
const emptyStats = (): Stats => ({ n: 0, inc: 1, hours: new Array<number>(24).fill(0), networks: new Map(), models: new Map(), weight: 0, prompt: new QuantileSketch(), promptEwma: 0, ...emptyAnswerStats() });

const pairsOk = (v: unknown): v is [string, number][] => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && finite(p[1]));

/**
 * The answer features of a stored record: each absent one is empty (a record written before they existed loads,
 * and they mature from the next answers on); a present one that is malformed refuses the record whole.
 */
function parseAnswerStats(x: AnswerStatsJSON, who: string): Required<AnswerStatsJSON> {
  const sketch = (j: SketchJSON | undefined, name: string): SketchJSON => {
    if (j === undefined) return { n: 0, sketch: { buckets: [], total: 0 } };
    if (!Number.isInteger(j?.n) || j.n < 0) throw new Error(`the ${name} of ${who} is malformed`);
    return { n: j.n, sketch: QuantileSketch.fromJSON(j.sketch).toJSON() };
  };
  const rate = (j: RateJSON | undefined, name: string): RateJSON => {
    if (j === undefined) return emptyRate();
    if (!Number.isInteger(j?.n) || j.n < 0 || !finite(j.weight) || !finite(j.yes) || j.yes > j.weight * (1 + 1e-9) || !finite(j.recent) || j.recent > 1) throw new Error(`the ${name} of ${who} is malformed`);
    return { n: j.n, weight: j.weight, yes: j.yes, recent: j.recent };
  };
  return { tokensIn: sketch(x.tokensIn, 'tokensIn'), tokensOut: sketch(x.tokensOut, 'tokensOut'), refusals: rate(x.refusals, 'refusals'), findings: rate(x.findings, 'findings') };
}

function importAnswerStats(x: Required<AnswerStatsJSON>): Pick<Stats, 'tokensIn' | 'tokensOut' | 'refusals' | 'findings'> {
  return {
    tokensIn: { n: x.tokensIn.n, sketch: QuantileSketch.fromJSON(x.tokensIn.sketch) },
    tokensOut: { n: x.tokensOut.n, sketch: QuantileSketch.fromJSON(x.tokensOut.sketch) },
    refusals: { ...x.refusals },
    findings: { ...x.findings },
  };
}

/** The answer features as stored, weights multiplied by `f` (1/inc normalises them; 1 keeps them as they are). */
function exportAnswerStats(s: Stats, f: number): Required<AnswerStatsJSON> {
  const sketch = (t: Stats['tokensIn']): SketchJSON => {
    const j = t.sketch.toJSON();
    return { n: t.n, sketch: { buckets: j.buckets.map(([k, v]) => [k, v * f]), total: j.total * f } };
  };
  const rate = (r: RateJSON): RateJSON => ({ n: r.n, weight: r.weight * f, yes: r.yes * f, recent: r.recent });
  return { tokensIn: sketch(s.tokensIn), tokensOut: sketch(s.tokensOut), refusals: rate(s.refusals), findings: rate(s.findings) };
}

/** A record read back from a file or a shared store: anything malformed is refused whole. */
export function parseSharedBaseline(x: unknown, who: string): SharedBaseline {
  const r = x as Partial<SharedBaseline>;
  const s = r?.stats as SharedStats | undefined;
  if (!s || !Number.isInteger(s.n) || s.n < 0 || !finite(s.weight) || !finite(s.promptEwma) || !Array.isArray(s.hours) || s.hours.length !== 24 || !s.hours.every(finite) || !pairsOk(s.networks) || !pairsOk(s.models)) {
    throw new Error(`the shared baseline of ${who} is malformed`);
  }
  const prompt = QuantileSketch.fromJSON(s.prompt).toJSON();
  const answers = parseAnswerStats(s, `the shared baseline of ${who}`);
  const d = r.deviation;
  if (d !== null && (typeof d !== 'object' || !finite(d.score) || !finite(d.at) || !Array.isArray(d.reasons) || !d.reasons.every((x) => typeof x === 'string'))) throw new Error(`the shared deviation of ${who} is malformed`);
  return { stats: { ...s, prompt, ...answers }, deviation: d ?? null };
}

/** The statistics normalised (newest observation weighs 1), to share. */
function exportStats(s: Stats): SharedStats {
  const f = 1 / s.inc;
  const sketch = s.prompt.toJSON();
  return {
    n: s.n,
    weight: s.weight * f,
    hours: s.hours.map((h) => h * f),
    networks: [...s.networks].map(([k, v]) => [k, v * f]),
    models: [...s.models].map(([k, v]) => [k, v * f]),
    prompt: { buckets: sketch.buckets.map(([k, v]) => [k, v * f]), total: sketch.total * f },
    promptEwma: s.promptEwma,
    ...exportAnswerStats(s, f),
  };
}

function importStats(s: SharedStats): Stats {
  return { n: s.n, inc: 1, weight: s.weight, hours: [...s.hours], networks: new Map(s.networks), models: new Map(s.models), prompt: QuantileSketch.fromJSON(s.prompt), promptEwma: s.promptEwma, ...importAnswerStats(parseAnswerStats(s, 'a baseline')) };
}

/** The `max` heaviest entries, tiny ones (decayed to nothing next to the total) dropped. */
function heaviest<K>(m: Map<K, number>, total: number, max: number): [K, number][] {
  return [...m].filter(([, v]) => v > total * 1e-12).sort((a, b) => b[1] - a[1]).slice(0, max);
}

/**
 * `newer` learnt after `older`: older × decayⁿ⁽ⁿᵉʷᵉʳ⁾ + newer. Exact when every observation of `newer` came after
 * every one of `older`; replicas merging every few seconds interleave within that interval only, which a
 * statistic with a half-life of thousands of observations does not notice. The EWMA is blended the same way.
 */
export function mergeStats(older: SharedStats | null, newer: SharedStats, decay: number): SharedStats {
  if (!older || older.n === 0) return newer;
  const f = decay ** newer.n;
  const weight = older.weight * f + newer.weight;
  const add = <K>(a: [K, number][], b: [K, number][], max: number) => {
    const m = new Map<K, number>(a.map(([k, v]) => [k, v * f]));
    for (const [k, v] of b) m.set(k, (m.get(k) ?? 0) + v);
    return heaviest(m, weight, max);
  };
  const keep = (1 - EWMA_ALPHA) ** newer.n;
  const [oa, na] = [parseAnswerStats(older, 'a baseline'), parseAnswerStats(newer, 'a baseline')];
  const sketch = (a: SketchJSON, b: SketchJSON): SketchJSON => (a.n === 0 ? b : { n: a.n + b.n, sketch: { buckets: add(a.sketch.buckets, b.sketch.buckets, Number.MAX_SAFE_INTEGER), total: a.sketch.total * f + b.sketch.total } });
  const rate = (a: RateJSON, b: RateJSON): RateJSON => {
    if (a.n === 0) return b;
    const k = (1 - RATE_ALPHA) ** b.n;
    return { n: a.n + b.n, weight: a.weight * f + b.weight, yes: a.yes * f + b.yes, recent: a.recent * k + b.recent * (1 - k) };
  };
  return {
    n: older.n + newer.n,
    weight,
    hours: older.hours.map((h, i) => h * f + newer.hours[i]!),
    networks: add(older.networks, newer.networks, MAX_NETWORKS),
    models: add(older.models, newer.models, MAX_NETWORKS),
    prompt: { buckets: add(older.prompt.buckets, newer.prompt.buckets, Number.MAX_SAFE_INTEGER), total: older.prompt.total * f + newer.prompt.total },
    promptEwma: older.promptEwma * keep + newer.promptEwma * (1 - keep),
    tokensIn: sketch(oa.tokensIn, na.tokensIn),
    tokensOut: sketch(oa.tokensOut, na.tokensOut),
    refusals: rate(oa.refusals, na.refusals),
    findings: rate(oa.findings, na.findings),
  };
}

export interface BaselineReport {
  principal: string;
  observations: number;
  networks: string[];
  activeHoursUtc: number[];
  models: string[];
  promptChars: { ewma: number; p50: number; p99: number };
  /** Tokens per request and per answer (null until some answer reported its usage). */
  tokensIn: { p50: number; p99: number } | null;
  tokensOut: { p50: number; p99: number } | null;
  /** Share of answers that were refusals, and of requests with inspection findings: long-run and recent (null: none seen). */
  refusalRate: { rate: number; recent: number } | null;
  findingRate: { rate: number; recent: number } | null;
  deviation: Deviation | null;
}

export class PrincipalBaselines {
  private readonly states = new Map<string, Baseline>();
  private readonly minObservations: number;
  private readonly holdMs: number;
  private readonly decay: number;
  private readonly maxPrincipals: number;
  private readonly reportAt: number;
  private tracking = false;

  constructor(private readonly o: BaselineOptions & { clock: { now(): number } }) {
    this.minObservations = o.minObservations ?? 200;
    this.holdMs = o.holdMs ?? 600_000;
    this.decay = 0.5 ** (1 / (o.halfLife ?? 2_000));
    this.maxPrincipals = o.maxPrincipals ?? 100_000;
    this.reportAt = o.reportAt ?? 0.5;
    if (!(this.minObservations >= 1)) throw new Error('monitor.baselines.minObservations must be at least 1');
  }

  /** Compares the request with the principal's baseline (once mature), then learns it. */
  observe(principal: string, ob: BaselineObservation): Deviation | null {
    const now = this.o.clock.now();
    const b = this.state(principal);
    const hour = new Date(now).getUTCHours();
    const net = networkOf(ob.sourceIp);
    const found = this.compare(b, hour, net, ob);
    if (found) {
      const held = this.current(b, now);
      if (found.score >= (held?.score ?? 0)) b.deviation = { ...found, at: now };
    }
    if (b.n >= this.minObservations) {
      const d = this.current(b, now);
      if (d && d.score >= this.reportAt && !b.reported) {
        b.reported = true;
        this.o.onDeviation?.(principal, d);
      } else if (!d || d.score < this.reportAt) b.reported = false;
    }
    this.learn(b, hour, net, ob);
    return this.current(b, now);
  }

  /**
   * Compares an observation with the baseline under `key` and learns it, holding nothing (the caller attributes
   * the deviation: a peer group's or a model's baseline judges the principal that made the request).
   */
  judgeAndLearn(key: string, ob: BaselineObservation): { score: number; reasons: string[] } | null {
    const b = this.state(key);
    const hour = new Date(this.o.clock.now()).getUTCHours();
    const net = networkOf(ob.sourceIp);
    // A recent rate is the whole baseline's, not one request's: a model's refusal rate jumping is its drift, and a
    // group's is its members'; only one's own rate is held against one (the resource still learns the rates).
    const found = this.compare(b, hour, net, ob, false);
    this.learn(b, hour, net, ob);
    return found;
  }

  /** How the observation deviates from a mature baseline (null: immature, or it does not). */
  private compare(b: Stats, hour: number, net: string, ob: BaselineObservation, judgeRates = true): { score: number; reasons: string[] } | null {
    if (b.n < this.minObservations) return null;
    const reasons: string[] = [];
    const parts: number[] = [];
    if ((b.networks.get(net) ?? 0) / b.weight < RARE) {
      reasons.push(`new_network ${net}`);
      parts.push(WEIGHTS.network);
    }
    if (b.hours[hour]! / b.weight < RARE) {
      reasons.push(`unusual_hour ${String(hour).padStart(2, '0')}h UTC`);
      parts.push(WEIGHTS.hour);
    }
    // Rare rather than never: one odd call must not teach a peer group (or the principal) that the model is usual.
    if (ob.model && (b.models.get(ob.model) ?? 0) / b.weight < RARE) {
      reasons.push(`new_model ${ob.model}`);
      parts.push(WEIGHTS.model);
    }
    const p99 = b.prompt.quantile(0.99);
    if (ob.promptChars > 2 * p99 && ob.promptChars > 200) {
      reasons.push(`prompt_length ${ob.promptChars} > 2 × p99 ${Math.round(p99)}`);
      parts.push(WEIGHTS.prompt);
    }
    for (const [name, t, x, w] of [['tokens_in', b.tokensIn, ob.tokensIn, WEIGHTS.tokensIn], ['tokens_out', b.tokensOut, ob.tokensOut, WEIGHTS.tokensOut]] as const) {
      if (x === undefined || x === null || t.n < this.minObservations) continue;
      const q = t.sketch.quantile(0.99);
      if (x > TOKENS_BEYOND_P99 * q && x > TOKENS_FLOOR) {
        reasons.push(`${name} ${x} > ${TOKENS_BEYOND_P99} × p99 ${Math.round(q)}`);
        parts.push(w);
      }
    }
    if (judgeRates) {
      for (const [name, r, x, w] of [['refusal_rate', b.refusals, ob.refusal, WEIGHTS.refusals], ['finding_rate', b.findings, ob.findings, WEIGHTS.findings]] as const) {
        if (x === undefined || x === null || r.n < this.minObservations) continue;
        const recent = r.recent + RATE_ALPHA * (Number(x !== false && x !== 0) - r.recent);
        const p = r.yes / r.weight;
        const sigma = Math.sqrt((p * (1 - p) * RATE_ALPHA) / (2 - RATE_ALPHA));
        if (recent > p + Math.max(RATE_MARGIN, RATE_SIGMAS * sigma)) {
          reasons.push(`${name} ${round2(recent)} recently > ${round2(p)} usually`);
          parts.push(w);
        }
      }
    }
    const score = Math.round((1 - parts.reduce((acc, p) => acc * (1 - p), 1)) * 1000) / 1000;
    return score > 0 ? { score, reasons } : null;
  }

  /** The principal's deviation now (null: none, or it has faded). */
  deviation(principal: string): Deviation | null {
    const b = this.states.get(principal);
    return b ? this.current(b, this.o.clock.now()) : null;
  }

  report(principal: string): BaselineReport | null {
    const b = this.states.get(principal);
    if (!b) return null;
    const share = (m: Map<string, number>) => [...m.entries()].filter(([, w]) => w / b.weight >= RARE).map(([k]) => k);
    return {
      principal,
      observations: b.n,
      networks: share(b.networks),
      activeHoursUtc: b.hours.map((w, h) => [w, h] as const).filter(([w]) => w / b.weight >= RARE).map(([, h]) => h),
      models: [...b.models.keys()],
      promptChars: { ewma: Math.round(b.promptEwma), p50: Math.round(b.prompt.quantile(0.5)), p99: Math.round(b.prompt.quantile(0.99)) },
      tokensIn: b.tokensIn.n ? { p50: Math.round(b.tokensIn.sketch.quantile(0.5)), p99: Math.round(b.tokensIn.sketch.quantile(0.99)) } : null,
      tokensOut: b.tokensOut.n ? { p50: Math.round(b.tokensOut.sketch.quantile(0.5)), p99: Math.round(b.tokensOut.sketch.quantile(0.99)) } : null,
      refusalRate: b.refusals.n ? { rate: round2(b.refusals.yes / b.refusals.weight), recent: round2(b.refusals.recent) } : null,
      findingRate: b.findings.n ? { rate: round2(b.findings.yes / b.findings.weight), recent: round2(b.findings.recent) } : null,
      deviation: this.current(b, this.o.clock.now()),
    };
  }

  reset(principal: string): void {
    this.states.delete(principal);
  }

  /** Every principal's learnt statistics (oldest seen first), for a restart. */
  snapshot(): BaselinesSnapshot {
    return {
      v: 1,
      principals: [...this.states.entries()].map(([k, b]) => [k, { n: b.n, inc: b.inc, hours: b.hours, networks: [...b.networks.entries()], models: [...b.models.entries()], weight: b.weight, prompt: b.prompt.toJSON(), promptEwma: b.promptEwma, ...exportAnswerStats(b, 1) }]),
    };
  }

  /** Loads a snapshot taken by snapshot() (replacing nothing learnt since); throws on anything malformed. */
  restore(snap: unknown): number {
    const s = snap as Partial<BaselinesSnapshot>;
    if (s?.v !== 1 || !Array.isArray(s.principals)) throw new Error('not a baselines snapshot (v 1)');
    const loaded: [string, Baseline][] = [];
    for (const entry of s.principals as unknown[]) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new Error('a snapshot entry is not [principal, state]');
      const x = entry[1] as BaselinesSnapshot['principals'][number][1];
      if (!Number.isInteger(x?.n) || !finite(x.inc) || !finite(x.weight) || !finite(x.promptEwma) || !Array.isArray(x.hours) || x.hours.length !== 24 || !x.hours.every(finite) || !pairsOk(x.networks) || !pairsOk(x.models)) {
        throw new Error(`the snapshot of ${entry[0]} is malformed`);
      }
      const answers = importAnswerStats(parseAnswerStats(x, `the snapshot of ${entry[0]}`));
      loaded.push([entry[0], { n: x.n, inc: x.inc, hours: [...x.hours], networks: new Map(x.networks), models: new Map(x.models), weight: x.weight, prompt: QuantileSketch.fromJSON(x.prompt), promptEwma: x.promptEwma, ...answers, deviation: null, reported: false, delta: null, syncedAt: 0 }]);
    }
    for (const [k, b] of loaded) if (!this.states.has(k) && this.states.size < this.maxPrincipals) this.states.set(k, b);
    return loaded.length;
  }

  private current(b: Baseline, now: number): Deviation | null {
    return b.deviation && now - b.deviation.at < this.holdMs ? b.deviation : null;
  }

  private learn(b: Baseline, hour: number, net: string, ob: BaselineObservation): void {
    this.learnInto(b, hour, net, ob);
    if (b.delta) this.learnInto(b.delta, hour, net, ob);
  }

  private learnInto(b: Stats, hour: number, net: string, ob: BaselineObservation): void {
    b.n++;
    b.inc /= this.decay;
    if (b.inc > 1e150) this.renormalize(b);
    const w = b.inc;
    b.weight += w;
    b.hours[hour]! += w;
    b.networks.set(net, (b.networks.get(net) ?? 0) + w);
    if (b.networks.size > MAX_NETWORKS) b.networks.delete([...b.networks.entries()].sort((x, y) => x[1] - y[1])[0]![0]);
    if (ob.model) b.models.set(ob.model, (b.models.get(ob.model) ?? 0) + w);
    if (b.models.size > MAX_NETWORKS) b.models.delete([...b.models.entries()].sort((x, y) => x[1] - y[1])[0]![0]);
    b.prompt.add(ob.promptChars, w);
    // EWMA: the usual prompt length lately.
    b.promptEwma = b.n === 1 ? ob.promptChars : b.promptEwma + EWMA_ALPHA * (ob.promptChars - b.promptEwma);
    for (const [t, x] of [[b.tokensIn, ob.tokensIn], [b.tokensOut, ob.tokensOut]] as const) {
      if (x === undefined || x === null) continue;
      t.n++;
      t.sketch.add(x, w);
    }
    for (const [r, x] of [[b.refusals, ob.refusal], [b.findings, ob.findings]] as const) {
      if (x === undefined || x === null) continue;
      const yes = Number(x !== false && x !== 0);
      r.n++;
      r.weight += w;
      r.yes += yes * w;
      // The first answers set the recent rate as their mean, so that it starts where the long-run rate does.
      r.recent += (yes - r.recent) / Math.min(r.n, 1 / RATE_ALPHA);
    }
  }

  /** Brings the lazily inflated weights back to the scale of 1 (shares are unchanged). */
  private renormalize(b: Stats): void {
    const f = 1 / b.inc;
    b.inc = 1;
    b.weight *= f;
    for (let h = 0; h < 24; h++) b.hours[h]! *= f;
    for (const m of [b.networks, b.models]) for (const [k, v] of m) m.set(k, v * f);
    b.prompt.scale(f);
    b.tokensIn.sketch.scale(f);
    b.tokensOut.sketch.scale(f);
    for (const r of [b.refusals, b.findings]) {
      r.weight *= f;
      r.yes *= f;
    }
  }

  // --- Shared mode (baselines-shared.ts): this replica's view is the shared baseline plus what it learnt since.

  /** Starts keeping, per principal, what is learnt from now on apart (to be merged into the shared store). */
  trackDeltas(): void {
    this.tracking = true;
    for (const b of this.states.values()) b.delta ??= emptyStats();
  }

  /** Principals with observations not yet merged into the shared store. */
  dirty(): string[] {
    return [...this.states].filter(([, b]) => b.delta && b.delta.n > 0).map(([k]) => k);
  }

  /** What this replica learnt of the principal since the last merge (normalised), and its deviation; the delta starts again. */
  takeDelta(principal: string): { stats: SharedStats; deviation: Deviation | null } | null {
    const b = this.states.get(principal);
    if (!b?.delta || b.delta.n === 0) return null;
    const stats = exportStats(b.delta);
    b.delta = emptyStats();
    return { stats, deviation: this.current(b, this.o.clock.now()) };
  }

  /** A delta that could not be merged, kept for the next attempt (older than what was learnt since). */
  giveBack(principal: string, older: SharedStats): void {
    const b = this.states.get(principal);
    if (!b?.delta) return;
    b.delta = importStats(mergeStats(older, exportStats(b.delta), this.decay));
  }

  /** When this replica last took the shared view of the principal (0: never, or not known here). */
  syncedAt(principal: string): number {
    return this.states.get(principal)?.syncedAt ?? 0;
  }

  /**
   * Takes the shared view (null: the store has nothing on the principal) plus what this replica learnt since it
   * was read. A deviation another replica saw counts here too (and is not reported again).
   */
  adopt(principal: string, shared: SharedBaseline | null): void {
    const b = this.state(principal);
    const now = this.o.clock.now();
    if (shared) {
      const mine = b.delta ?? emptyStats();
      Object.assign(b, importStats(mergeStats(shared.stats, exportStats(mine), this.decay)));
      const theirs = this.stronger(shared.deviation, null);
      const held = this.current(b, now);
      if (theirs && theirs.score > (held?.score ?? 0)) {
        b.deviation = theirs;
        if (theirs.score >= this.reportAt) b.reported = true;
      }
    } else if (b.syncedAt > 0) {
      // Forgotten in the store since this replica read it (an operator's reset through another replica): only
      // what was learnt here since remains, and no deviation.
      Object.assign(b, importStats(exportStats(b.delta ?? emptyStats())));
      b.deviation = null;
      b.reported = false;
    }
    b.syncedAt = now;
  }

  /** Of two deviations, the one still held now with the higher score (null: neither is held). */
  stronger(a: Deviation | null, b: Deviation | null): Deviation | null {
    const now = this.o.clock.now();
    const [x, y] = [a, b].map((d) => (d && now - d.at < this.holdMs ? d : null));
    return x && y ? (y.score >= x.score ? y : x) : (x ?? y ?? null);
  }

  /** The weight decay per observation (for merging). */
  get decayPerObservation(): number {
    return this.decay;
  }

  private state(principal: string): Baseline {
    let b = this.states.get(principal);
    if (b) {
      this.states.delete(principal);
    } else {
      if (this.states.size >= this.maxPrincipals) this.states.delete(this.states.keys().next().value!);
      b = { ...emptyStats(), deviation: null, reported: false, delta: this.tracking ? emptyStats() : null, syncedAt: 0 };
    }
    this.states.set(principal, b);
    return b;
  }
}
