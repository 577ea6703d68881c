// The monitor plane, first cut: per-principal behaviour over a sliding window, turned into a risk score the
// PDP sees (context.riskScorePermille) and into responses — throttle the principal, and optionally revoke
// the credential in use — each of which the caller records in the ledger.
//
// Signals (counted per request over the last `windowMs`, in `buckets` slices, so they fade on their own):
//   denials     requests refused by identity or policy (401 / 403)
//   injections  requests whose prompt-injection score exceeded `injectionThreshold` (default: the blocking cut,
//               INJECTION_BLOCK_CUT in src/core/injection-cuts.ts)
//   secrets     requests that carried a secret (an API key, a private key…) to a model
//   burst       requests beyond `burstPerWindow` (or 4× the principal's own average window, if higher), once
//               the principal has a window of history
// Risk = 1 − Π(1 − weightᵢ · signalᵢ) (noisy-OR), each signal saturating at its `full` count. What it does not
// do yet: long-term baselines per model or tool, extraction (high-volume diverse prompts) and drift detection.
import type { Clock } from '../core/clock.js';
import { RateLimited } from '../core/errors.js';
import { INJECTION_BLOCK_CUT } from '../core/injection-cuts.js';
import { TokenBucket } from '../core/token-bucket.js';
import type { AuthnMethod } from '../core/types.js';

/** Who a principal is, for the responses the monitor reports. */
export interface Who {
  id: string;
  kind: string;
  tenant: string;
}

export interface Observation {
  /** The key the principal is tracked under (unique across tenants and identity providers). */
  principal: string;
  who: Who;
  authn: AuthnMethod;
  credentialId: string;
  status: number;
  /** Refused by identity or policy (not by a limit, a bad request or an upstream failure). */
  denied: boolean;
  injectionScore: number;
  secrets: number;
}

export interface MonitorOptions {
  clock: Clock;
  windowMs?: number;
  buckets?: number;
  injectionThreshold?: number;
  burstPerWindow?: number;
  /** Risk at which a principal is throttled to `throttleRps`; released below half of it. */
  throttleAt?: number;
  throttleRps?: number;
  /** Risk at which the credential in use is revoked; null: never (the default). */
  revokeAt?: number | null;
  /** Principals remembered at most (least recently seen forgotten first). */
  maxPrincipals?: number;
  /** Called for every response the monitor takes; the caller records it (ledger) and carries it out (revoke). */
  onAction?: (a: MonitorAction) => void;
}

export type MonitorAction =
  | { kind: 'throttle' | 'release'; principal: string; who: Who; risk: number; signals: Signals }
  | { kind: 'revoke'; principal: string; who: Who; risk: number; signals: Signals; authn: AuthnMethod; credentialId: string };

export interface Signals {
  requests: number;
  denials: number;
  injections: number;
  secrets: number;
}

export interface RiskReport {
  principal: string;
  who: Who;
  risk: number;
  signals: Signals;
  throttled: boolean;
  revoked: string[];
}

export interface Bucket extends Signals {
  start: number;
}

/** What the monitor keeps of one principal's traffic: the slices of the current window and its history. */
export interface WindowState {
  buckets: Bucket[];
  /** Average requests per window (estimated per expired slice) and how many slices fed it (for the burst signal). */
  avgWindow: number;
  slicesSeen: number;
}

interface State extends WindowState {
  who: Who;
  /** Set while throttled: the principal's allowance. */
  throttle: TokenBucket | null;
  revoked: Set<string>;
}

const WEIGHTS = { denials: 0.6, injections: 0.9, secrets: 0.5, burst: 0.5 };
const FULL = { denials: 10, injections: 3, secrets: 5 };

/** The options with their defaults, checked: shared by the in-process monitor and the Redis-backed one. */
/** 429: the principal is throttled and has used its allowance. */
export class MonitorThrottled extends RateLimited {
  constructor(rps: number, retryAfterSeconds: number) {
    super('monitor_throttled', `unusual behaviour: this principal is limited to ${rps} request(s)/s until its risk falls`, retryAfterSeconds);
  }
}

export class MonitorSettings {
  readonly windowMs: number;
  readonly sliceMs: number;
  readonly slicesPerWindow: number;
  readonly injectionThreshold: number;
  readonly burstPerWindow: number;
  readonly throttleAt: number;
  readonly throttleRps: number;
  readonly revokeAt: number | null;
  readonly maxPrincipals: number;

  constructor(o: Omit<MonitorOptions, 'clock' | 'onAction'>) {
    this.windowMs = o.windowMs ?? 60_000;
    const buckets = o.buckets ?? 12;
    this.sliceMs = Math.max(1, Math.floor(this.windowMs / buckets));
    this.slicesPerWindow = Math.ceil(this.windowMs / this.sliceMs);
    this.injectionThreshold = o.injectionThreshold ?? INJECTION_BLOCK_CUT;
    this.burstPerWindow = o.burstPerWindow ?? 3_000;
    this.throttleAt = o.throttleAt ?? 0.6;
    this.throttleRps = o.throttleRps ?? 1;
    this.revokeAt = o.revokeAt ?? null;
    this.maxPrincipals = o.maxPrincipals ?? 100_000;
    if (!(this.throttleAt > 0 && this.throttleAt <= 1)) throw new Error('monitor.throttleAt must be in (0, 1]');
    if (this.revokeAt !== null && !(this.revokeAt > 0 && this.revokeAt <= 1)) throw new Error('monitor.revokeAt must be in (0, 1]');
    if (!(this.throttleRps > 0)) throw new Error('monitor.throttleRequestsPerSecond must be > 0');
  }

  /** What one observation adds to its slice. */
  delta(ob: Observation): Signals {
    return { requests: 1, denials: ob.denied ? 1 : 0, injections: ob.injectionScore > this.injectionThreshold ? 1 : 0, secrets: ob.secrets > 0 ? 1 : 0 };
  }

  /** Risk from the live slices (already expired to `now`): noisy-OR of the saturated signals. */
  score(s: WindowState): { risk: number; signals: Signals } {
    const signals: Signals = { requests: 0, denials: 0, injections: 0, secrets: 0 };
    for (const b of s.buckets) {
      signals.requests += b.requests;
      signals.denials += b.denials;
      signals.injections += b.injections;
      signals.secrets += b.secrets;
    }
    // A burst is judged against the principal's own history: never in its first window (nor after a restart),
    // so a busy service is not throttled for being busy when the monitor first meets it.
    const burstAt = s.slicesSeen < this.slicesPerWindow ? Number.POSITIVE_INFINITY : Math.max(this.burstPerWindow, 4 * s.avgWindow);
    const parts = [
      WEIGHTS.denials * Math.min(1, signals.denials / FULL.denials),
      WEIGHTS.injections * Math.min(1, signals.injections / FULL.injections),
      WEIGHTS.secrets * Math.min(1, signals.secrets / FULL.secrets),
      Number.isFinite(burstAt) ? WEIGHTS.burst * Math.min(1, Math.max(0, signals.requests - burstAt) / burstAt) : 0,
    ];
    const risk = 1 - parts.reduce((acc, p) => acc * (1 - p), 1);
    return { risk: Math.round(risk * 1000) / 1000, signals };
  }

  /** The throttle's playbook, with hysteresis: on at `throttleAt`, off below half of it. */
  throttleMove(risk: number): 'throttle' | 'release' | 'keep' {
    return risk >= this.throttleAt ? 'throttle' : risk < this.throttleAt / 2 ? 'release' : 'keep';
  }

  /** Whether the credential in use is to be revoked at this risk. */
  revokes(risk: number): boolean {
    return this.revokeAt !== null && risk >= this.revokeAt;
  }
}

export class BehaviourMonitor {
  private readonly states = new Map<string, State>();
  private readonly set: MonitorSettings;

  constructor(private readonly o: MonitorOptions) {
    this.set = new MonitorSettings(o);
  }

  /** One answered request (allowed or not). */
  observe(ob: Observation): void {
    const now = this.o.clock.now();
    const s = this.state(ob.principal, ob.who, now);
    const b = this.currentBucket(s, now);
    const d = this.set.delta(ob);
    b.requests += d.requests;
    b.denials += d.denials;
    b.injections += d.injections;
    b.secrets += d.secrets;
    this.respond(ob.principal, s, now, ob);
  }

  /** The principal's risk now, 0..1 (0 for a principal never seen). */
  risk(principal: string): number {
    const s = this.states.get(principal);
    if (!s) return 0;
    return this.score(s, this.o.clock.now()).risk;
  }

  /** The principal's risk and the signals in its window now (null for a principal never seen). */
  assess(principal: string): { risk: number; signals: Signals } | null {
    const s = this.states.get(principal);
    return s ? this.score(s, this.o.clock.now()) : null;
  }

  /** Throws 429 `monitor_throttled` when the principal is throttled and has used its allowance. */
  admit(principal: string): void {
    const s = this.states.get(principal);
    if (!s) return;
    const now = this.o.clock.now();
    this.respond(principal, s, now, null);
    const wait = s.throttle?.take(now) ?? 0;
    if (wait > 0) throw new MonitorThrottled(this.set.throttleRps, wait);
  }

  report(): RiskReport[] {
    const now = this.o.clock.now();
    return [...this.states.entries()].map(([principal, s]) => {
      const { risk, signals } = this.score(s, now);
      return { principal, who: s.who, risk, signals, throttled: s.throttle !== null, revoked: [...s.revoked] };
    });
  }

  /** Forgets what was seen of a principal (an operator's decision after review): unthrottled at once. */
  reset(principal: string): boolean {
    return this.states.delete(principal);
  }

  private state(principal: string, who: Who, _now: number): State {
    let s = this.states.get(principal);
    if (s) {
      this.states.delete(principal); // re-inserted: Map order is recency order
    } else {
      if (this.states.size >= this.set.maxPrincipals) this.states.delete(this.states.keys().next().value!);
      s = { who, buckets: [], avgWindow: 0, slicesSeen: 0, throttle: null, revoked: new Set() };
    }
    this.states.set(principal, s);
    return s;
  }

  private currentBucket(s: State, now: number): Bucket {
    const start = now - (now % this.set.sliceMs);
    this.expire(s, now);
    const last = s.buckets.at(-1);
    if (last && last.start === start) return last;
    const b: Bucket = { start, requests: 0, denials: 0, injections: 0, secrets: 0 };
    s.buckets.push(b);
    return b;
  }

  /** Drops slices older than the window; each dropped window's traffic feeds the principal's average. */
  private expire(s: State, now: number): void {
    // The same steps as EXPIRE in redis-monitor.ts (the shared monitor does them inside Redis).
    while (s.buckets.length && s.buckets[0]!.start <= now - this.set.windowMs) {
      const old = s.buckets.shift()!;
      s.slicesSeen++;
      s.avgWindow += (old.requests * (this.set.windowMs / this.set.sliceMs) - s.avgWindow) / Math.min(s.slicesSeen, 60);
    }
  }

  private score(s: State, now: number): { risk: number; signals: Signals } {
    this.expire(s, now);
    return this.set.score(s);
  }

  /** Applies the playbook on threshold crossings (once per crossing, with hysteresis for the throttle). */
  private respond(principal: string, s: State, now: number, ob: Observation | null): void {
    const { risk, signals } = this.score(s, now);
    const move = this.set.throttleMove(risk);
    if (!s.throttle && move === 'throttle') {
      s.throttle = new TokenBucket(this.set.throttleRps, 1, now);
      this.o.onAction?.({ kind: 'throttle', principal, who: s.who, risk, signals });
    } else if (s.throttle && move === 'release') {
      s.throttle = null;
      this.o.onAction?.({ kind: 'release', principal, who: s.who, risk, signals });
    }
    if (ob && this.set.revokes(risk) && !s.revoked.has(ob.credentialId)) {
      s.revoked.add(ob.credentialId);
      this.o.onAction?.({ kind: 'revoke', principal, who: s.who, risk, signals, authn: ob.authn, credentialId: ob.credentialId });
    }
  }
}
