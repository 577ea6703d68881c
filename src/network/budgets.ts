// Token and cost budgets per key, principal and tenant, over calendar windows in UTC (day, ISO week, month)
// and a lifetime (docs/budgets.md). A request reserves its estimate on every budget that applies to it before
// the upstream is called, and settles with the upstream's reported usage after: the difference is charged or
// refunded. A reservation that does not fit the remainder of any budget is refused (429 `budget_exhausted`),
// so in-flight requests can never together overspend: what is reserved is already counted.
//
// Two stores behind one contract, like the limiter: LocalBudgetStore (in process, the embedded default,
// persisted to SQLite) and RedisBudgetStore (one Lua script per reserve, shared by every replica).
import type { Clock } from '../core/clock.js';
import { BudgetExhausted, FailClosed } from '../core/errors.js';
import type { Principal } from '../core/types.js';

export const BUDGET_SCOPES = ['key', 'principal', 'tenant'] as const;
export const BUDGET_WINDOWS = ['day', 'week', 'month', 'lifetime'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number];

/** One budget: `id` `*` is the default for every subject of the scope (each has its own counter). */
export interface BudgetLimit {
  scope: BudgetScope;
  id: string;
  window: BudgetWindow;
  /** Model tokens (prompt + completion); null: no token limit. */
  tokens: number | null;
  /** Cost in the price table's currency; null: no cost limit. */
  cost: number | null;
}

export interface ModelPrice {
  inputPer1k: number;
  outputPer1k: number;
}

export interface BudgetsConfig {
  limits: BudgetLimit[];
  /** Per model id; `*` prices every model not named. */
  prices: Record<string, ModelPrice>;
  /** Output tokens reserved when a request names no max_tokens (or an alias). */
  defaultMaxTokens: number;
}

/** An amount: model tokens and cost in micro-units of the currency (integers, so counters stay exact). */
export interface Charge {
  tokens: number;
  micros: number;
}

/** One counter a reservation touches, with its limits (micro-units for cost). */
export interface BudgetCounter {
  key: string;
  tokens: number | null;
  micros: number | null;
  /** When the counter can be forgotten (ms since the epoch); null: never (lifetime). */
  expiresAt: number | null;
}

export type ReserveOutcome = { ok: true; used: Charge[] } | { ok: false; refused: number; used: Charge };

/** Where counters (and the overrides set through the admin API) live. */
export interface BudgetStore {
  /** Adds `amount` to every counter if it fits every limit (used + amount ≤ limit), else to none: atomically. */
  reserve(counters: BudgetCounter[], amount: Charge): ReserveOutcome | Promise<ReserveOutcome>;
  /** Adds `delta` (negative: a refund) to each counter. */
  adjust(counters: BudgetCounter[], delta: Charge): void | Promise<void>;
  /** What each counter has used (settled plus reserved). */
  read(keys: string[]): Promise<Charge[]>;
  overrides(): Promise<BudgetLimit[]>;
  setOverride(l: BudgetLimit): Promise<void>;
}

const DAY = 86_400_000;
const MICROS = 1_000_000;

/** The calendar window (UTC) containing `now`: its start, its end (the reset; null for lifetime) and a label. */
export function windowAt(w: BudgetWindow, now: number): { start: number; end: number | null; label: string } {
  const d = new Date(now);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  switch (w) {
    case 'day':
      return { start: day, end: day + DAY, label: new Date(day).toISOString().slice(0, 10) };
    case 'week': {
      // ISO 8601 weeks start on Monday.
      const start = day - ((d.getUTCDay() + 6) % 7) * DAY;
      return { start, end: start + 7 * DAY, label: 'w' + new Date(start).toISOString().slice(0, 10) };
    }
    case 'month': {
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1), label: new Date(start).toISOString().slice(0, 7) };
    }
    case 'lifetime':
      return { start: 0, end: null, label: 'lifetime' };
  }
}

/** Cost in micro-units of `prompt` input and `completion` output tokens, rounded up. */
export function costMicros(price: ModelPrice, prompt: number, completion: number): number {
  const x = (prompt * price.inputPer1k + completion * price.outputPer1k) * 1000;
  return Math.max(0, Math.ceil(x - 1e-6));
}

export const toMicros = (cost: number): number => Math.round(cost * MICROS);
export const fromMicros = (m: number): number => m / MICROS;

/** The subjects a principal's request is charged to, one per scope. */
export function subjectsOf(p: Principal): { scope: BudgetScope; id: string }[] {
  return [
    { scope: 'key', id: p.authn.credentialId },
    { scope: 'principal', id: p.id },
    { scope: 'tenant', id: p.tenant },
  ];
}

export const counterKey = (scope: BudgetScope, id: string, w: BudgetWindow, label: string): string => `${scope}:${encodeURIComponent(id)}:${w}:${label}`;

/** Usage as the upstream reported it (or the gateway's estimate of a stream that reported none). */
export interface Usage {
  prompt: number;
  completion: number;
}

/** A reservation held while the upstream answers; settle exactly once (further calls do nothing). */
export interface BudgetHold {
  /** What was reserved for (the prompt part is charged for a stream whose upstream reported no usage). */
  readonly estimate: Usage;
  /** Usage known: charge it. `reserved`: the upstream was called but said nothing, keep the estimate. null: refund all. */
  settle(usage: Usage | 'reserved' | null): void;
}

interface Resolved {
  limit: BudgetLimit;
  counter: BudgetCounter;
  resetsAt: number | null;
}

export interface BudgetRow {
  scope: BudgetScope;
  id: string;
  window: BudgetWindow;
  limit: { tokens: number | null; cost: number | null };
  used: { tokens: number; cost: number };
  remaining: { tokens: number | null; cost: number | null };
  resetsAt: string | null;
  source: 'config' | 'override';
}

export class Budgets {
  private overrideList: BudgetLimit[] = [];
  private readonly timer: ReturnType<typeof setInterval> | null;

  constructor(
    private readonly store: BudgetStore,
    private readonly config: BudgetsConfig,
    private readonly d: {
      clock: Clock;
      /** Remaining budget after a reserve or settle (Prometheus gauges). */
      onRemaining?: (l: BudgetLimit, remaining: { tokens: number | null; micros: number | null }) => void;
      onError?: (e: unknown) => void;
      /** How often overrides set on other replicas are read again (ms); 0: never. */
      refreshMs?: number;
    },
  ) {
    const every = d.refreshMs ?? 1000;
    this.timer = every > 0 ? setInterval(() => void this.refresh().catch((e: unknown) => d.onError?.(e)), every) : null;
    this.timer?.unref();
  }

  /** Reads the overrides (at start, then every refreshMs, and after each set). */
  async refresh(): Promise<void> {
    this.overrideList = await this.store.overrides();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** True when no budget can apply to anything (the stage is then skipped). */
  get empty(): boolean {
    return this.config.limits.length === 0 && this.overrideList.length === 0;
  }

  /** The limit for one subject and window: override for the id, config for the id, override `*`, config `*`. */
  limitFor(scope: BudgetScope, id: string, w: BudgetWindow): (BudgetLimit & { source: 'config' | 'override' }) | null {
    const find = (list: BudgetLimit[], want: string) => {
      for (const l of list) if (l.scope === scope && l.window === w && l.id === want) return l;
      return undefined;
    };
    let l = find(this.overrideList, id);
    let source: 'config' | 'override' = 'override';
    if (!l) [l, source] = [find(this.config.limits, id), 'config'];
    if (!l) [l, source] = [find(this.overrideList, '*'), 'override'];
    if (!l) [l, source] = [find(this.config.limits, '*'), 'config'];
    if (!l || (l.tokens === null && l.cost === null)) return null;
    return { ...l, id, source };
  }

  private readonly windows = new Map<BudgetWindow, ReturnType<typeof windowAt>>();

  /** windowAt, computed once per window and reused until it ends (Date formatting is the costly part). */
  private windowOf(w: BudgetWindow, now: number): ReturnType<typeof windowAt> {
    const c = this.windows.get(w);
    if (c && now >= c.start && (c.end === null || now < c.end)) return c;
    const fresh = windowAt(w, now);
    this.windows.set(w, fresh);
    return fresh;
  }

  private resolve(subjects: { scope: BudgetScope; id: string }[], now: number): Resolved[] {
    const out: Resolved[] = [];
    for (const s of subjects) {
      for (const w of BUDGET_WINDOWS) {
        const l = this.limitFor(s.scope, s.id, w);
        if (!l) continue;
        const win = this.windowOf(w, now);
        out.push({
          limit: l,
          resetsAt: win.end,
          // Kept a day past its reset so `budgets show` and a late settlement still find it.
          counter: { key: counterKey(s.scope, s.id, w, win.label), tokens: l.tokens, micros: l.cost === null ? null : toMicros(l.cost), expiresAt: win.end === null ? null : win.end + DAY },
        });
      }
    }
    return out;
  }

  private price(model: string): ModelPrice | null {
    return this.config.prices[model] ?? this.config.prices['*'] ?? null;
  }

  private charge(model: string, u: Usage, needPrice: boolean): Charge {
    const price = this.price(model);
    if (!price && needPrice) throw new FailClosed('model_unpriced', `a cost budget applies but model ${model} has no price in budgets.prices (nor a "*" price); the request is refused rather than left uncounted`);
    return { tokens: Math.max(0, Math.ceil(u.prompt + u.completion)), micros: price ? costMicros(price, u.prompt, u.completion) : 0 };
  }

  /**
   * Reserves `estimate` on every budget of `p` (none: null). Refused with BudgetExhausted naming the first
   * budget it does not fit; FailClosed when the store cannot answer.
   */
  reserve(p: Principal, model: string, estimate: Usage): BudgetHold | null | Promise<BudgetHold | null> {
    if (this.empty) return null;
    const now = this.d.clock.now();
    const rs = this.resolve(subjectsOf(p), now);
    if (rs.length === 0) return null;
    const amount = this.charge(model, estimate, rs.some((r) => r.counter.micros !== null));
    const counters = rs.map((r) => r.counter);
    let out: ReserveOutcome | Promise<ReserveOutcome>;
    try {
      out = this.store.reserve(counters, amount);
    } catch (e) {
      throw unavailable(e);
    }
    const decide = (o: ReserveOutcome): BudgetHold => {
      if (!o.ok) {
        const r = rs[o.refused]!;
        this.report(r, o.used);
        throw exhausted(r, o.used, amount, now);
      }
      rs.forEach((r, i) => this.report(r, o.used[i]!));
      return this.hold(rs, model, amount, estimate);
    };
    if (out instanceof Promise) return out.then(decide, (e: unknown) => Promise.reject(unavailable(e)));
    return decide(out);
  }

  private hold(rs: Resolved[], model: string, reserved: Charge, estimate: Usage): BudgetHold {
    let settled = false;
    return {
      estimate,
      settle: (usage) => {
        if (settled) return;
        settled = true;
        if (usage === 'reserved') return;
        const actual = usage === null ? { tokens: 0, micros: 0 } : this.charge(model, usage, false);
        const delta = { tokens: actual.tokens - reserved.tokens, micros: actual.micros - reserved.micros };
        if (delta.tokens === 0 && delta.micros === 0) return;
        const counters = rs.map((r) => r.counter);
        const after = () => {
          if (!this.d.onRemaining) return;
          this.store.read(counters.map((c) => c.key)).then(
            (used) => rs.forEach((r, i) => this.report(r, used[i]!)),
            () => {},
          );
        };
        try {
          const done = this.store.adjust(counters, delta);
          if (done instanceof Promise) done.then(after, (e: unknown) => this.d.onError?.(e));
          else after();
        } catch (e) {
          this.d.onError?.(e);
        }
      },
    };
  }

  private report(r: Resolved, used: Charge): void {
    this.d.onRemaining?.(r.limit, { tokens: r.counter.tokens === null ? null : r.counter.tokens - used.tokens, micros: r.counter.micros === null ? null : r.counter.micros - used.micros });
  }

  /** Every budget that applies to the named subjects (or every configured / overridden id), with its usage now. */
  async show(filter: { scope?: BudgetScope; id?: string } = {}): Promise<BudgetRow[]> {
    const now = this.d.clock.now();
    const ids = new Map<string, { scope: BudgetScope; id: string }>();
    for (const l of [...this.config.limits, ...this.overrideList]) {
      if (l.id === '*') continue;
      ids.set(`${l.scope}\n${l.id}`, { scope: l.scope, id: l.id });
    }
    if (filter.scope && filter.id) ids.set(`${filter.scope}\n${filter.id}`, { scope: filter.scope, id: filter.id });
    const subjects = [...ids.values()].filter((s) => (!filter.scope || s.scope === filter.scope) && (!filter.id || s.id === filter.id));
    const rs = this.resolve(subjects, now);
    const used = rs.length ? await this.store.read(rs.map((r) => r.counter.key)) : [];
    return rs.map((r, i) => {
      const u = used[i]!;
      this.report(r, u);
      const c = r.counter;
      return {
        scope: r.limit.scope,
        id: r.limit.id,
        window: r.limit.window,
        limit: { tokens: c.tokens, cost: r.limit.cost },
        used: { tokens: u.tokens, cost: fromMicros(u.micros) },
        remaining: { tokens: c.tokens === null ? null : Math.max(0, c.tokens - u.tokens), cost: c.micros === null ? null : fromMicros(Math.max(0, c.micros - u.micros)) },
        resetsAt: r.resetsAt === null ? null : new Date(r.resetsAt).toISOString(),
        source: (r.limit as BudgetLimit & { source: 'config' | 'override' }).source,
      };
    });
  }

  /** Stores an override (shared by every replica with the Redis store) and uses it at once here. */
  async set(l: BudgetLimit): Promise<void> {
    await this.store.setOverride(l);
    await this.refresh();
  }

  /** The remaining budget of a principal, over every budget that applies: the least, per unit (PDP context). */
  async remaining(p: Principal): Promise<{ tokens: number | null; cost: number | null }> {
    const rs = this.resolve(subjectsOf(p), this.d.clock.now());
    if (rs.length === 0) return { tokens: null, cost: null };
    let used: Charge[];
    try {
      used = await this.store.read(rs.map((r) => r.counter.key));
    } catch (e) {
      throw unavailable(e);
    }
    let tokens: number | null = null;
    let micros: number | null = null;
    rs.forEach((r, i) => {
      const u = used[i]!;
      if (r.counter.tokens !== null) tokens = Math.min(tokens ?? Infinity, Math.max(0, r.counter.tokens - u.tokens));
      if (r.counter.micros !== null) micros = Math.min(micros ?? Infinity, Math.max(0, r.counter.micros - u.micros));
    });
    return { tokens, cost: micros === null ? null : fromMicros(micros) };
  }
}

function unavailable(e: unknown): unknown {
  if (e instanceof BudgetExhausted) return e;
  return new FailClosed('budgets_unavailable', 'the budget store cannot be reached; the request is refused rather than left uncounted');
}

function exhausted(r: Resolved, used: Charge, amount: Charge, now: number): BudgetExhausted {
  const l = r.limit;
  const c = r.counter;
  const overTokens = c.tokens !== null && used.tokens + amount.tokens > c.tokens;
  const what = overTokens
    ? `${Math.max(0, c.tokens! - used.tokens)} of ${c.tokens} tokens left, this request reserves ${amount.tokens}`
    : `${fromMicros(Math.max(0, c.micros! - used.micros))} of ${l.cost} cost left, this request reserves ${fromMicros(amount.micros)}`;
  const resets = r.resetsAt === null ? 'it never resets' : `it resets at ${new Date(r.resetsAt).toISOString()}`;
  return new BudgetExhausted(`the ${l.window} ${overTokens ? 'token' : 'cost'} budget of ${l.scope} ${l.id} is exhausted (${what}); ${resets}`, {
    scope: l.scope,
    id: l.id,
    window: l.window,
    unit: overTokens ? 'tokens' : 'cost',
    resetsAt: r.resetsAt,
    retryAfterSeconds: r.resetsAt === null ? null : (r.resetsAt - now) / 1000,
  });
}

/** The in-process store (embedded default); `persist` writes settled counters and overrides through. */
export interface BudgetPersistence {
  load(): { counters: [string, Charge, number | null][]; overrides: BudgetLimit[] };
  saveCounters(rows: [string, Charge, number | null][]): void;
  saveOverride(l: BudgetLimit): void;
  prune(before: number): void;
}

interface LocalCounter extends Charge {
  expiresAt: number | null;
}

export class LocalBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, LocalCounter>();
  private readonly dirty = new Set<string>();
  private overrideList: BudgetLimit[] = [];
  private readonly timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly persist: BudgetPersistence | null = null,
    flushMs = 1000,
  ) {
    if (persist) {
      const { counters, overrides } = persist.load();
      for (const [k, c, exp] of counters) this.counters.set(k, { ...c, expiresAt: exp });
      this.overrideList = overrides;
      this.timer = setInterval(() => this.flush(), flushMs);
      this.timer.unref();
    }
  }

  private get(c: BudgetCounter): LocalCounter {
    let x = this.counters.get(c.key);
    if (!x) {
      x = { tokens: 0, micros: 0, expiresAt: c.expiresAt };
      this.counters.set(c.key, x);
    }
    return x;
  }

  // Synchronous: nothing else runs between the check and the charge in one process.
  reserve(counters: BudgetCounter[], amount: Charge): ReserveOutcome {
    const xs = counters.map((c) => this.get(c));
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const c = counters[i]!;
      if ((c.tokens !== null && x.tokens + amount.tokens > c.tokens) || (c.micros !== null && x.micros + amount.micros > c.micros)) return { ok: false, refused: i, used: { tokens: x.tokens, micros: x.micros } };
    }
    for (let i = 0; i < xs.length; i++) {
      xs[i]!.tokens += amount.tokens;
      xs[i]!.micros += amount.micros;
      this.dirty.add(counters[i]!.key);
    }
    return { ok: true, used: xs.map((x) => ({ tokens: x.tokens, micros: x.micros })) };
  }

  adjust(counters: BudgetCounter[], delta: Charge): void {
    for (const c of counters) {
      const x = this.get(c);
      x.tokens += delta.tokens;
      x.micros += delta.micros;
      this.dirty.add(c.key);
    }
  }

  async read(keys: string[]): Promise<Charge[]> {
    return keys.map((k) => {
      const x = this.counters.get(k);
      return { tokens: x?.tokens ?? 0, micros: x?.micros ?? 0 };
    });
  }

  async overrides(): Promise<BudgetLimit[]> {
    return this.overrideList;
  }

  async setOverride(l: BudgetLimit): Promise<void> {
    this.persist?.saveOverride(l);
    this.overrideList = [...this.overrideList.filter((o) => !(o.scope === l.scope && o.id === l.id && o.window === l.window)), l];
  }

  /**
   * Writes changed counters (in-flight reservations included: a crash keeps them charged, which errs on the
   * side of the budget) and forgets windows that ended more than a day ago.
   */
  flush(): void {
    if (!this.persist) return;
    const now = this.clock.now();
    const rows: [string, Charge, number | null][] = [];
    for (const k of this.dirty) {
      const x = this.counters.get(k);
      if (x) rows.push([k, { tokens: x.tokens, micros: x.micros }, x.expiresAt]);
    }
    this.dirty.clear();
    if (rows.length) this.persist.saveCounters(rows);
    for (const [k, x] of this.counters) if (x.expiresAt !== null && x.expiresAt < now) this.counters.delete(k);
    this.persist.prune(now);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
  }
}
