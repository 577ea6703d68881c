// Budget counters shared by every replica (cluster mode): a reservation checks and charges every counter it
// touches in one Lua script, so replicas never race between reading a counter and charging it; settlement is
// one HINCRBY per counter (a refund is a negative one). All keys carry one hash tag ({budgets}) so that a
// script's keys share a slot on Redis Cluster. Overrides live in one hash that every replica re-reads each
// second. Redis unreachable → 503 `budgets_unavailable` (fail closed: an unchecked budget is no budget).
import type { Redis } from 'ioredis';
import type { BudgetCounter, BudgetLimit, BudgetStore, Charge, ReserveOutcome } from './budgets.js';

// KEYS: counters. ARGV: amount tokens, amount micros, then per counter: token limit, micros limit, expiry
// (ms since the epoch); -1 means none. Reply: {0, t1, c1, t2, c2, ...} reserved, or {i, t, c} refused by i.
const RESERVE = `
local at, am = tonumber(ARGV[1]), tonumber(ARGV[2])
local used = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 't', 'c')
  local t, c = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  local lt, lc = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  if (lt >= 0 and t + at > lt) or (lc >= 0 and c + am > lc) then return {i, t, c} end
  used[i] = {t, c}
end
local out = {0}
for i, k in ipairs(KEYS) do
  redis.call('HSET', k, 't', used[i][1] + at, 'c', used[i][2] + am)
  local exp = tonumber(ARGV[3 * i + 2])
  if exp >= 0 then redis.call('PEXPIREAT', k, exp) end
  out[#out + 1] = used[i][1] + at
  out[#out + 1] = used[i][2] + am
end
return out
`;

const ADJUST = `
for i, k in ipairs(KEYS) do
  redis.call('HINCRBY', k, 't', tonumber(ARGV[1]))
  redis.call('HINCRBY', k, 'c', tonumber(ARGV[2]))
  local exp = tonumber(ARGV[2 + i])
  if exp >= 0 then redis.call('PEXPIREAT', k, exp) end
end
return 1
`;

type Scripted = Redis & {
  wardenBudgetReserve(...args: (string | number)[]): Promise<number[]>;
  wardenBudgetAdjust(...args: (string | number)[]): Promise<number>;
};

export class RedisBudgetStore implements BudgetStore {
  private readonly r: Scripted;
  private readonly prefix: string;

  /** `prefix`: one per deployment (default `warden:budgets:`). */
  constructor(redis: Redis, prefix = 'warden:budgets:') {
    this.prefix = `${prefix}{budgets}:`;
    redis.defineCommand('wardenBudgetReserve', { lua: RESERVE });
    redis.defineCommand('wardenBudgetAdjust', { lua: ADJUST });
    this.r = redis as Scripted;
  }

  private key(k: string): string {
    return this.prefix + k;
  }

  async reserve(counters: BudgetCounter[], amount: Charge): Promise<ReserveOutcome> {
    const args: (string | number)[] = [counters.length, ...counters.map((c) => this.key(c.key)), amount.tokens, amount.micros];
    for (const c of counters) args.push(c.tokens ?? -1, c.micros ?? -1, c.expiresAt ?? -1);
    const reply = await this.r.wardenBudgetReserve(...args);
    if (reply[0] !== 0) return { ok: false, refused: reply[0]! - 1, used: { tokens: reply[1]!, micros: reply[2]! } };
    return { ok: true, used: counters.map((_, i) => ({ tokens: reply[1 + 2 * i]!, micros: reply[2 + 2 * i]! })) };
  }

  async adjust(counters: BudgetCounter[], delta: Charge): Promise<void> {
    await this.r.wardenBudgetAdjust(counters.length, ...counters.map((c) => this.key(c.key)), delta.tokens, delta.micros, ...counters.map((c) => c.expiresAt ?? -1));
  }

  async read(keys: string[]): Promise<Charge[]> {
    if (keys.length === 0) return [];
    const p = this.r.pipeline();
    for (const k of keys) p.hmget(this.key(k), 't', 'c');
    const rows = (await p.exec()) ?? [];
    return rows.map(([err, v]) => {
      if (err) throw err;
      const [t, c] = v as [string | null, string | null];
      return { tokens: Number(t ?? 0), micros: Number(c ?? 0) };
    });
  }

  async overrides(): Promise<BudgetLimit[]> {
    const all = await this.r.hgetall(this.key('overrides'));
    return Object.values(all).map((v) => JSON.parse(v) as BudgetLimit);
  }

  async setOverride(l: BudgetLimit): Promise<void> {
    await this.r.hset(this.key('overrides'), `${l.scope}\n${l.id}\n${l.window}`, JSON.stringify(l));
  }
}
