// Drift profiles that survive a restart and are shared by every replica (docs/monitor.md "Across restarts and
// replicas"). The baseline of each deployment (and of each model's inputs) is one record in a store: SQLite in the
// data dir by default, PostgreSQL with `store.postgres`. Answers are judged against the local view only; every
// `syncMs` each replica merges what it learnt by compare-and-set (as the principals' baselines do,
// src/monitor/baselines-shared.ts) and reads every record, so a baseline learnt or approved through one replica is
// judged on all of them, and a restarted gateway judges at once instead of learning again. Operators' approvals and
// relearns are written to the store before they are answered. A drift is a claim: the replica that sees it writes
// the latch at once, and only the one whose write turns the record from watching to drifted reports it (alert,
// playbooks, quarantine); a replica that saw the same drift and lost adopts the latch silently.
import type { Logger } from 'pino';
import { Conflict, NotFound } from '../core/errors.js';
import { freshRecord, mergeDelta, parseDriftRecord, addSample, emptyCounts, type DriftDetector, type DriftRecord } from './drift.js';
import type { AnswerSample } from './answer-profile.js';

/** One record per profile key (a deployment id, `upstream:NAME/MODEL`, or `input:MODEL`), with a version that changes on every write. */
export interface DriftProfileStore {
  get(key: string): Promise<{ version: number; record: string } | null>;
  /** Writes `record` as version `expected + 1` only if the stored version is still `expected` (0: absent). */
  put(key: string, expected: number, record: string): Promise<boolean>;
  list(): Promise<{ key: string; record: string }[]>;
}

const MAX_ATTEMPTS = 8;

export class SharedDrift {
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  /** A drift arrived while a sync was running (it may have passed its profile already): sync once more after it. */
  private again = false;

  /** `outputs` holds deployments' profiles, `inputs` (optional) the `input:MODEL` ones. */
  constructor(
    private readonly outputs: DriftDetector,
    private readonly inputs: DriftDetector | null,
    private readonly store: DriftProfileStore,
    private readonly o: { syncMs: number; clock: { now(): number }; log: Logger },
  ) {
    const flush = () => {
      if (this.syncing) this.again = true;
      else void this.sync();
    };
    outputs.claimDriftsThrough(flush);
    inputs?.claimDriftsThrough(flush);
  }

  private detector(key: string): DriftDetector | null {
    return key.startsWith('input:') ? this.inputs : this.outputs;
  }

  /** Reads every stored profile (before the gateway serves), then merges and reads again every `syncMs`. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.o.syncMs);
    this.timer.unref();
  }

  sync(): Promise<void> {
    this.syncing ??= this.syncAll().finally(() => {
      this.syncing = null;
      if (this.again) {
        this.again = false;
        void this.sync();
      }
    });
    return this.syncing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sync();
    // A drift claimed during that last merge is written by the follow-up sync: wait for it before the store closes.
    while (this.syncing) await this.syncing;
  }

  /**
   * An operator approves a baseline: the learnt one awaiting approval, or (`answers`) the profile of an answer set
   * given now, which replaces whatever was learnt. Refusals say why; nothing is written then.
   */
  async approve(key: string, by: string, answers: AnswerSample[] | null, model: string | null): Promise<DriftRecord> {
    const d = this.detector(key);
    if (!d) throw new NotFound('deployment_not_profiled', `input drift is off (monitor.drift.inputs): no profile ${key}`);
    return this.update(key, (old) => {
      const now = this.o.clock.now();
      if (answers) {
        const r = freshRecord(model ?? old?.model ?? d.record(key)?.model ?? '', Math.max(old?.epoch ?? 0, d.record(key)?.epoch ?? 0) + 1);
        const counts = emptyCounts();
        for (const s of answers) addSample(counts, s, 1);
        return { ...r, phase: 'watching', baseline: counts, baselineN: answers.length, approvedBy: by, approvedAt: now };
      }
      if (!old) throw new NotFound('deployment_not_profiled', `the monitor has no profile for ${key} (approve it with an answer set, or let it answer first)`);
      this.checkApprovable(key, old);
      return { ...old, phase: 'watching', approvedBy: by, approvedAt: now };
    });
  }

  /** A learnt baseline can be approved once it is complete, and once. */
  checkApprovable(key: string, r: DriftRecord): void {
    const need = this.detector(key)?.baselineAnswers ?? 0;
    if (r.phase === 'learning') throw new Conflict('baseline_still_learning', `${key} has ${r.baselineN} of the ${need} answers its baseline needs; approve it when it is awaiting approval, or give an answer set`);
    if (r.phase !== 'awaiting_approval') throw new Conflict('baseline_already_approved', `${key}'s baseline is already approved (${r.phase}); relearn it to approve another`);
  }

  /**
   * The stored record (null: none, or malformed), what an approval is checked against: this replica's learning is
   * merged into the store first, so an approval right after the answers that completed a baseline sees them.
   */
  async peek(key: string): Promise<DriftRecord | null> {
    await this.sync();
    const cur = await this.store.get(key);
    return cur ? this.parse(key, cur.record) : null;
  }

  /** An operator's relearn: the baseline is learnt again from the next answers (a new epoch: older learning is dropped). */
  async relearn(key: string): Promise<DriftRecord> {
    const d = this.detector(key);
    return this.update(key, (old) => {
      const local = d?.record(key) ?? null;
      if (!old && !local) throw new NotFound('deployment_not_profiled', `the monitor has no ${key.startsWith('input:') ? 'input' : 'answer'} profile for ${key}`);
      return freshRecord(old?.model ?? local!.model, Math.max(old?.epoch ?? 0, local?.epoch ?? 0) + 1);
    });
  }

  /** Whether the store or this replica knows the profile. */
  async known(key: string): Promise<boolean> {
    return Boolean(this.detector(key)?.record(key)) || (await this.store.get(key)) !== null;
  }

  private async update(key: string, change: (old: DriftRecord | null) => DriftRecord): Promise<DriftRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.store.get(key);
      const next = change(cur ? this.parse(key, cur.record) : null);
      if (await this.store.put(key, cur?.version ?? 0, JSON.stringify(next))) {
        this.detector(key)?.adopt(key, next);
        return next;
      }
    }
    throw new Error(`the drift profile ${key} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
  }

  private parse(key: string, record: string): DriftRecord | null {
    try {
      return parseDriftRecord(JSON.parse(record) as unknown);
    } catch (e) {
      this.o.log.error({ err: e, profile: key }, 'monitor: a stored drift profile is malformed (ignored; the next merge replaces it)');
      return null;
    }
  }

  private async syncAll(): Promise<void> {
    let failed = 0;
    for (const d of [this.outputs, this.inputs]) {
      if (!d) continue;
      for (const key of d.dirty()) {
        const delta = d.takeDelta(key);
        if (!delta) continue;
        const o = { baselineAnswers: d.baselineAnswers, approval: d.approval };
        let latched = false;
        try {
          await this.update(key, (old) => {
            const next = mergeDelta(old, delta, o);
            // Won: this write is the one that turns the record (with what was learnt here) from watching to drifted.
            latched = delta.event !== null && next.phase === 'drifted' && mergeDelta(old, { ...delta, drift: null }, o).phase === 'watching';
            return next;
          });
        } catch (e) {
          if (failed++ === 0) this.o.log.error({ err: e, profile: key }, 'monitor: could not merge a drift profile into its store (kept, retried at the next sync)');
          if (delta.event) {
            // Acting alone beats nobody acting: reported here unclaimed (another replica may report it too); the latch is written at the next merge.
            this.o.log.error({ profile: key }, 'monitor: a drift could not be claimed in the store; reported by this replica unclaimed');
            d.announce(delta.event);
          }
          d.giveBack(key, { ...delta, event: null });
          continue;
        }
        if (latched) d.announce(delta.event!);
      }
    }
    let all: { key: string; record: string }[];
    try {
      all = await this.store.list();
    } catch (e) {
      this.o.log.error({ err: e }, 'monitor: could not read the drift profiles (judging on the last ones read)');
      return;
    }
    for (const { key, record } of all) {
      const r = this.parse(key, record);
      if (r) this.detector(key)?.adopt(key, r);
    }
  }
}
