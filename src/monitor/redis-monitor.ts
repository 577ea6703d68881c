// The monitor's windows and risk shared by every replica (cluster mode, `store.redis`): each principal's
// slices live in Redis and are expired, counted and read in one Lua script, so a principal's behaviour seen by
// any replica raises its risk on all of them, and a reset through any replica forgets it everywhere. The
// playbook (throttle with hysteresis, release, revoke once per credential) is decided in one more script whose
// SET-if-absent / DEL / SADD make exactly one replica report each crossing. Scoring is MonitorSettings.score,
// the same as the in-process monitor's.
//
// Time is the replicas' clock (ordinary NTP suffices: slices are windowMs/12 wide). A principal's state
// expires after ten windows without traffic (the in-process monitor forgets the least recently seen instead).
//
// Redis unreachable → admit() refuses with 503 `monitor_unavailable` (a throttle that cannot be checked is no
// throttle); an observation that cannot be recorded is logged (the answer has gone already).
import type { Redis } from 'ioredis';
import { FailClosed } from '../core/errors.js';
import { MonitorSettings, MonitorThrottled, type Bucket, type MonitorOptions, type Observation, type RiskReport, type Signals, type Who, type WindowState } from './monitor.js';

// KEYS[1] state. ARGV: now, sliceMs, windowMs, ttlMs, who (JSON), then the four deltas (all 0: read only).
// The slices are expired exactly as BehaviourMonitor.expire does (each one leaving feeds the average).
const RECORD = `
local now, slice, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local add = tonumber(ARGV[6]) > 0
if redis.call('EXISTS', KEYS[1]) == 0 and not add then return false end
local h = redis.call('HMGET', KEYS[1], 'avg', 'seen', 'slices')
local avg = tonumber(h[1]) or 0
local seen = tonumber(h[2]) or 0
local slices = {}
if h[3] then slices = cjson.decode(h[3]) end
while #slices > 0 and slices[1][1] <= now - window do
  local old = table.remove(slices, 1)
  seen = seen + 1
  avg = avg + (old[2] * (window / slice) - avg) / math.min(seen, 60)
end
if add then
  local start = now - (now % slice)
  local last = slices[#slices]
  if not last or last[1] ~= start then
    last = {start, 0, 0, 0, 0}
    table.insert(slices, last)
  end
  for k = 2, 5 do last[k] = last[k] + tonumber(ARGV[4 + k]) end
  redis.call('HSET', KEYS[1], 'who', ARGV[5])
end
local enc = '[]'
if #slices > 0 then enc = cjson.encode(slices) end
redis.call('HSET', KEYS[1], 'avg', string.format('%.17g', avg), 'seen', seen, 'slices', enc)
redis.call('PEXPIRE', KEYS[1], ttl)
return {string.format('%.17g', avg), seen, enc, redis.call('HGET', KEYS[1], 'who')}
`;

// KEYS[1] throttle bucket, KEYS[2] revoked credentials. ARGV: now, move (throttle|release|keep), rps,
// credential to revoke ('' none), take a token (1|0), ttlMs. Returns {1 throttled now | -1 released | 0,
// 1 if this call added the credential, seconds to wait (0: admitted), 1 if throttled}.
const RESPOND = `
local now, rps, ttl = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[6])
local changed = 0
local throttled = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[2] == 'throttle' and not throttled then
  redis.call('HSET', KEYS[1], 'tokens', '1', 'at', now)
  throttled = true
  changed = 1
elseif ARGV[2] == 'release' and throttled then
  redis.call('DEL', KEYS[1])
  throttled = false
  changed = -1
end
local revoked = 0
if ARGV[4] ~= '' then
  revoked = redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local wait = 0
if throttled then
  if ARGV[5] == '1' then
    local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
    local tokens = math.min(1, tonumber(s[1]) + math.max(0, now - tonumber(s[2])) / 1000 * rps)
    if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rps end
    redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', now)
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
local t = 0
if throttled then t = 1 end
return {changed, revoked, string.format('%.17g', wait), t}
`;

type Raw = [string, number, string, string | null] | null;
type Respond = [number, number, string, number];

export class MonitorUnavailable extends FailClosed {
  constructor(cause: unknown) {
    super('monitor_unavailable', `the shared monitor state (Redis) cannot be read: ${(cause as Error).message ?? String(cause)}`);
  }
}

export class SharedBehaviourMonitor {
  private readonly set: MonitorSettings;
  private readonly ttlMs: number;
  /** principal → the risk and signals last read from Redis on this replica, for the PDP's synchronous context (bounded). */
  private readonly lastRisk = new Map<string, { risk: number; signals: Signals }>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: MonitorOptions,
  ) {
    this.set = new MonitorSettings(o);
    this.ttlMs = this.set.windowMs * 10;
  }

  private keys(principal: string) {
    return { state: `${this.prefix}s:${principal}`, throttle: `${this.prefix}t:${principal}`, revoked: `${this.prefix}r:${principal}` };
  }

  private async record(principal: string, who: Who | null, now: number, d: Signals | null): Promise<{ who: Who; state: WindowState } | null> {
    const k = this.keys(principal);
    const r = (await this.redis.eval(RECORD, 1, k.state, now, this.set.sliceMs, this.set.windowMs, this.ttlMs, JSON.stringify(who), d?.requests ?? 0, d?.denials ?? 0, d?.injections ?? 0, d?.secrets ?? 0)) as Raw;
    if (!r) return null;
    const slices = JSON.parse(r[2]) as number[][];
    const buckets: Bucket[] = slices.map(([start, requests, denials, injections, secrets]) => ({ start: start!, requests: requests!, denials: denials!, injections: injections!, secrets: secrets! }));
    return { who: JSON.parse(r[3] ?? 'null') as Who, state: { buckets, avgWindow: Number(r[0]), slicesSeen: Number(r[1]) } };
  }

  private async respond(principal: string, who: Who, now: number, risk: number, signals: Signals, ob: Observation | null, take: boolean): Promise<number> {
    const k = this.keys(principal);
    const credential = ob && this.set.revokes(risk) ? ob.credentialId : '';
    const [changed, revoked, wait] = (await this.redis.eval(RESPOND, 2, k.throttle, k.revoked, now, this.set.throttleMove(risk), this.set.throttleRps, credential, take ? 1 : 0, this.ttlMs)) as Respond;
    if (changed === 1) this.o.onAction?.({ kind: 'throttle', principal, who, risk, signals });
    else if (changed === -1) this.o.onAction?.({ kind: 'release', principal, who, risk, signals });
    if (ob && revoked === 1) this.o.onAction?.({ kind: 'revoke', principal, who, risk, signals, authn: ob.authn, credentialId: ob.credentialId });
    return Number(wait);
  }

  private remember(principal: string, risk: number, signals: Signals): number {
    this.lastRisk.delete(principal);
    if (this.lastRisk.size >= this.set.maxPrincipals) this.lastRisk.delete(this.lastRisk.keys().next().value!);
    this.lastRisk.set(principal, { risk, signals });
    return risk;
  }

  /** One answered request, counted where every replica sees it; the playbook runs on the shared score. */
  async observe(ob: Observation): Promise<void> {
    const now = this.o.clock.now();
    const r = (await this.record(ob.principal, ob.who, now, this.set.delta(ob)))!;
    const { risk, signals } = this.set.score(r.state);
    this.remember(ob.principal, risk, signals);
    await this.respond(ob.principal, r.who, now, risk, signals, ob, false);
  }

  /**
   * Reads the principal's shared risk (kept for `risk()`), runs the playbook and takes a token when throttled:
   * 429 `monitor_throttled` beyond the allowance, 503 `monitor_unavailable` when Redis does not answer.
   */
  async admit(principal: string): Promise<void> {
    const now = this.o.clock.now();
    let wait: number;
    try {
      const r = await this.record(principal, null, now, null);
      if (!r) {
        this.remember(principal, 0, { requests: 0, denials: 0, injections: 0, secrets: 0 });
        return;
      }
      const { risk, signals } = this.set.score(r.state);
      this.remember(principal, risk, signals);
      wait = await this.respond(principal, r.who, now, risk, signals, null, true);
    } catch (e) {
      throw new MonitorUnavailable(e);
    }
    if (wait > 0) throw new MonitorThrottled(this.set.throttleRps, wait);
  }

  /** The risk last read for the principal on this replica (admit() reads it before every decision); 0 if none. */
  risk(principal: string): number {
    return this.lastRisk.get(principal)?.risk ?? 0;
  }

  /** Risk and window signals as this replica last read them (after its last observation or admission); null if none. */
  assess(principal: string): { risk: number; signals: Signals } | null {
    return this.lastRisk.get(principal) ?? null;
  }

  /** The shared risk now (one read), for operators and tests. */
  async currentRisk(principal: string): Promise<number> {
    const r = await this.record(principal, null, this.o.clock.now(), null);
    return r ? this.set.score(r.state).risk : 0;
  }

  /** Every principal any replica has seen in the last ten windows. */
  async report(): Promise<RiskReport[]> {
    const now = this.o.clock.now();
    const out: RiskReport[] = [];
    const statePrefix = `${this.prefix}s:`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${statePrefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const principal = key.slice(statePrefix.length);
        const r = await this.record(principal, null, now, null);
        if (!r) continue;
        const { risk, signals } = this.set.score(r.state);
        const k = this.keys(principal);
        const [throttled, revoked] = await Promise.all([this.redis.exists(k.throttle), this.redis.smembers(k.revoked)]);
        out.push({ principal, who: r.who, risk, signals, throttled: throttled === 1, revoked: revoked.sort() });
      }
    } while (cursor !== '0');
    return out;
  }

  /** Forgets the principal on every replica: unthrottled at once. False when no replica had seen it. */
  async reset(principal: string): Promise<boolean> {
    const k = this.keys(principal);
    this.lastRisk.delete(principal);
    return (await this.redis.del(k.state, k.throttle, k.revoked)) > 0;
  }
}
