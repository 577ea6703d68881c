// Where response playbooks keep what must outlive one process (docs/monitor.md "Response playbooks"):
// - step records, so that an operator can revert a step after a restart (a quarantineTool step's record names
//   the quarantine it made, which its revert lifts) or through another replica than the one that ran it;
// - holds (step-up, suspended credentials, throttle), so that a hold set by one replica is honoured by every one.
// Embedded: the step records in `<dataDir>/playbook-steps.json` (mode 0600, written whole and renamed over the
// old one); holds stay in the process (one process, nothing to share). Cluster (`store.redis`): both in Redis.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { redisBucketWait } from '../network/redis-source-limit.js';
import type { StepRecord } from './playbooks.js';

/** A principal's holds as every replica reads them (with `throttle`, a throttle's bucket is shared too). */
export interface SharedHold {
  stepUp?: { at: number; maxAgeSec: number; id: string };
  throttle?: { rps: number; id: string };
  /** credential id → the step that suspended it */
  suspended: [string, string][];
}

export interface StepStore {
  put(r: StepRecord): Promise<void>;
  get(id: string): Promise<StepRecord | null>;
  /** The newest `max` records, oldest first. */
  list(max: number): Promise<StepRecord[]>;
}

export interface HoldStore {
  put(principal: string, hold: SharedHold | null): Promise<void>;
  get(principal: string): Promise<SharedHold | null>;
  /**
   * A playbook fires once per subject while its conditions hold, whichever replica sees them first: true when this
   * replica claimed the firing (`key`: playbook and subject), false when another one had.
   */
  claim(key: string): Promise<boolean>;
  /** The conditions stopped holding (or the principal was reset): the playbook is armed again. */
  unclaim(key: string): Promise<void>;
  /**
   * A throttle step's allowance, one bucket for the cluster (burst 1): seconds until the principal may send again,
   * 0 when it may (the token is spent). Absent: each replica keeps its own bucket. Throws when it cannot tell.
   */
  throttle?(principal: string, stepId: string, requestsPerSecond: number): Promise<number>;
}

const isRecord = (x: unknown): x is StepRecord => {
  const r = x as Partial<StepRecord> | null;
  return !!r && typeof r.id === 'string' && typeof r.playbook === 'string' && typeof r.step === 'string' && typeof r.subject === 'string' && typeof r.at === 'number' && typeof r.reversible === 'boolean' && typeof r.detail === 'object';
};

/** The embedded store: every record in one file (steps are rare; the file is rewritten whole on each). */
export class FileStepStore implements StepStore {
  private readonly records = new Map<string, StepRecord>();

  /** Loads the file; one that cannot be read is an error (the caller logs it and moves it aside). */
  constructor(
    private readonly file: string,
    private readonly max = 10_000,
  ) {
    if (!existsSync(file)) return;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { v?: unknown; steps?: unknown };
    if (parsed?.v !== 1 || !Array.isArray(parsed.steps) || !parsed.steps.every(isRecord)) throw new Error(`${file} is not a playbook step file (v 1)`);
    for (const r of parsed.steps) this.records.set(r.id, r);
  }

  put(r: StepRecord): Promise<void> {
    this.records.delete(r.id);
    if (this.records.size >= this.max) this.records.delete(this.records.keys().next().value!);
    this.records.set(r.id, structuredClone(r));
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ v: 1, steps: [...this.records.values()] }), { mode: 0o600 });
    renameSync(tmp, this.file);
    return Promise.resolve();
  }

  get(id: string): Promise<StepRecord | null> {
    const r = this.records.get(id);
    return Promise.resolve(r ? structuredClone(r) : null);
  }

  list(max: number): Promise<StepRecord[]> {
    return Promise.resolve([...this.records.values()].sort((a, b) => a.at - b.at).slice(-max).map((r) => structuredClone(r)));
  }
}

/**
 * Cluster: `<prefix>pb:s:<id>` a step record (JSON), `<prefix>pb:steps` a sorted set of ids by time (trimmed to
 * `max`), `<prefix>pb:h:<principal>` a principal's holds (JSON, kept `holdTtlMs` after the last change: a hold
 * nobody reverts ends with the principal's monitor state, as a process restart used to end it).
 */
export class RedisPlaybookState implements StepStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: { max?: number; holdTtlMs?: number } = {},
  ) {}

  async put(r: StepRecord): Promise<void> {
    const max = this.o.max ?? 10_000;
    await this.redis
      .multi()
      .set(`${this.prefix}pb:s:${r.id}`, JSON.stringify(r))
      .zadd(`${this.prefix}pb:steps`, r.at, r.id)
      .zremrangebyrank(`${this.prefix}pb:steps`, 0, -(max + 1))
      .exec();
  }

  async get(id: string): Promise<StepRecord | null> {
    const text = await this.redis.get(`${this.prefix}pb:s:${id}`);
    if (text === null) return null;
    const r = JSON.parse(text) as unknown;
    return isRecord(r) ? r : null;
  }

  async list(max: number): Promise<StepRecord[]> {
    const ids = await this.redis.zrange(`${this.prefix}pb:steps`, -max, -1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => `${this.prefix}pb:s:${id}`));
    return texts.flatMap((t) => {
      const r = t === null ? null : (JSON.parse(t) as unknown);
      return isRecord(r) ? [r] : [];
    });
  }

  /** The hold store's face of this object (put/get by principal). */
  holds(): HoldStore {
    const latch = (k: string) => `${this.prefix}pb:l:${k}`;
    return {
      put: (p, h) => this.putHold(p, h),
      get: (p) => this.getHold(p),
      // Kept an hour at most: a claim whose conditions faded where no replica saw it arms the playbook again by then.
      claim: async (k) => (await this.redis.set(latch(k), '1', 'PX', 3_600_000, 'NX')) === 'OK',
      unclaim: async (k) => void (await this.redis.del(latch(k))),
      // One bucket per throttle step and principal on Redis's clock, whichever replica the request lands on; idle
      // past one refill it is full again and forgotten.
      throttle: (p, id, rps) => redisBucketWait(this.redis, `${this.prefix}pb:t:${id}:${p}`, rps, 1, Math.max(1000, Math.ceil(1000 / rps)), 'take'),
    };
  }

  private async putHold(principal: string, hold: SharedHold | null): Promise<void> {
    const key = `${this.prefix}pb:h:${principal}`;
    if (!hold || (!hold.stepUp && !hold.throttle && hold.suspended.length === 0)) {
      await this.redis.del(key);
      return;
    }
    await this.redis.set(key, JSON.stringify(hold), 'PX', this.o.holdTtlMs ?? 30 * 24 * 3_600_000);
  }

  private async getHold(principal: string): Promise<SharedHold | null> {
    const text = await this.redis.get(`${this.prefix}pb:h:${principal}`);
    if (text === null) return null;
    const h = JSON.parse(text) as Partial<SharedHold>;
    // Warden's own record: a damaged one is unreadable, and the caller fails closed (503), as when Redis is away.
    if (!h || typeof h !== 'object' || !Array.isArray(h.suspended)) throw new Error(`the playbook hold of ${principal} is malformed`);
    return { ...(h.stepUp ? { stepUp: h.stepUp } : {}), ...(h.throttle ? { throttle: h.throttle } : {}), suspended: h.suspended };
  }
}

/**
 * The embedded step store on `file`: one that cannot be read is moved aside (`.unreadable-<time>`) with an error
 * in the log, and the gateway starts without the old records (their steps can no longer be reverted through the
 * playbook: a tool's quarantine is then lifted with `warden tools release`).
 */
export function openStepFile(file: string, log: { error(o: object, msg: string): void }): FileStepStore {
  try {
    return new FileStepStore(file);
  } catch (err) {
    const aside = `${file}.unreadable-${Date.now()}`;
    renameSync(file, aside);
    log.error({ err, file, movedTo: aside }, 'playbook step records could not be read: earlier steps cannot be reverted through their playbook');
    return new FileStepStore(file);
  }
}

/** Cluster (`redis`): step records and holds in Redis under `<prefix>monitor:pb:`; else the step file in the data dir. */
export function playbookState(o: { dataDir: string; redis: Redis | null; redisPrefix: string; log: { error(o: object, msg: string): void } }): { steps: StepStore; holds?: HoldStore } {
  if (!o.redis) return { steps: openStepFile(join(o.dataDir, 'playbook-steps.json'), o.log) };
  const r = new RedisPlaybookState(o.redis, `${o.redisPrefix}monitor:`);
  return { steps: r, holds: r.holds() };
}
