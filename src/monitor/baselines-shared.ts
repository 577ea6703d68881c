// Baselines shared by every replica (docs/monitor.md "Baselines across replicas"). Each replica judges a request
// against its local view — the shared baseline as last read plus what it learnt since — and every `syncMs`
// merges what it learnt into the shared store by compare-and-set (read the record and its version, merge,
// write only if the version is unchanged, else read again), then takes the merged view. A principal this
// replica holds no view of (or one older than `syncMs`) is read from the store before its request is admitted,
// so a key that has only ever been used through replica A is judged on replica B against what A learnt.
//
// Why periodic merges rather than one atomic update per request: the statistics move slowly (an observation's
// weight halves every `halfLife` ≈ 2,000 newer ones), so a few seconds of lag between replicas changes no
// verdict, while a per-request read-modify-write of a record of a few kilobytes would cost a store round trip
// and its CPU on every request (the speed budget is ~30 µs for all planes) and serialise a busy principal's
// requests on one row. Merging by compare-and-set keeps every replica's observations (none is lost to a
// concurrent writer) with one store implementation of "atomic" per backend: a Lua check-and-set in Redis, a
// conditional UPDATE in PostgreSQL.
import type { Logger } from 'pino';
import { FailClosed } from '../core/errors.js';
import { mergeStats, parseSharedBaseline, type PrincipalBaselines, type SharedBaseline } from './baselines.js';

/** One record per principal, with a version that changes on every write. */
export interface SharedBaselineStore {
  /** The record (a JSON text) and its version; null when the store has none. */
  get(principal: string): Promise<{ version: number; record: string } | null>;
  /** Writes `record` as version `expected + 1` only if the stored version is still `expected` (0: absent). */
  put(principal: string, expected: number, record: string): Promise<boolean>;
  delete(principal: string): Promise<boolean>;
}

/** The same store with every key under `prefix` (the peer-group, model and tool baselines beside the principals'). */
export function prefixedStore(store: SharedBaselineStore, prefix: string): SharedBaselineStore {
  return {
    get: (k) => store.get(prefix + k),
    put: (k, v, r) => store.put(prefix + k, v, r),
    delete: (k) => store.delete(prefix + k),
  };
}

export class BaselinesUnavailable extends FailClosed {
  constructor(cause: unknown) {
    super('monitor_unavailable', `the shared baselines cannot be read: ${(cause as Error).message ?? String(cause)}`);
  }
}

const MAX_ATTEMPTS = 8;

export class SharedBaselines {
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly local: PrincipalBaselines,
    private readonly store: SharedBaselineStore,
    private readonly o: { syncMs: number; clock: { now(): number }; log: Logger },
  ) {
    local.trackDeltas();
  }

  start(): void {
    this.timer = setInterval(() => void this.sync(), this.o.syncMs);
    this.timer.unref();
  }

  /** Before a request: a principal not known here, or known from longer than `syncMs` ago, is read first. */
  async admit(principal: string): Promise<void> {
    if (this.o.clock.now() - this.local.syncedAt(principal) < this.o.syncMs) return;
    try {
      this.local.adopt(principal, await this.read(principal));
    } catch (e) {
      throw new BaselinesUnavailable(e);
    }
  }

  /** Merges every principal's delta into the store and takes the merged views (one sync at a time). */
  sync(): Promise<void> {
    this.syncing ??= this.syncAll().finally(() => (this.syncing = null));
    return this.syncing;
  }

  /** Forgets the principal in the store (every replica takes that at its next read) and here. */
  async reset(principal: string): Promise<void> {
    this.local.reset(principal);
    await this.store.delete(principal);
  }

  /** Stops the timer and merges what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sync();
  }

  /** The shared record; a malformed one counts as none (logged; the next merge replaces it), an unreachable store throws. */
  private async read(principal: string): Promise<SharedBaseline | null> {
    const r = await this.store.get(principal);
    return r ? this.parse(principal, r.record) : null;
  }

  private parse(principal: string, record: string): SharedBaseline | null {
    try {
      return parseSharedBaseline(JSON.parse(record) as unknown, principal);
    } catch (e) {
      // A record no Warden wrote (or a damaged one) is replaced at the next merge, not merged into: say so.
      this.o.log.error({ err: e, principal }, 'monitor: a shared baseline is malformed (ignored; the next merge replaces it)');
      return null;
    }
  }

  private async syncAll(): Promise<void> {
    let failed = 0;
    for (const principal of this.local.dirty()) {
      const delta = this.local.takeDelta(principal);
      if (!delta) continue;
      try {
        this.local.adopt(principal, await this.merge(principal, delta));
      } catch (e) {
        this.local.giveBack(principal, delta.stats);
        if (failed++ === 0) this.o.log.error({ err: e, principal }, 'monitor: could not merge baselines into the shared store (kept, retried at the next sync)');
      }
    }
  }

  /** Compare-and-set: read, merge, write if nobody wrote in between; else again. */
  private async merge(principal: string, delta: SharedBaseline): Promise<SharedBaseline> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.store.get(principal);
      const old = cur ? this.parse(principal, cur.record) : null;
      const merged: SharedBaseline = {
        stats: mergeStats(old?.stats ?? null, delta.stats, this.local.decayPerObservation),
        deviation: this.local.stronger(old?.deviation ?? null, delta.deviation),
      };
      if (await this.store.put(principal, cur?.version ?? 0, JSON.stringify(merged))) return merged;
    }
    throw new Error(`the shared baseline of ${principal} kept changing under ${MAX_ATTEMPTS} attempts to merge`);
  }
}
