// The deviations held against principals by the peer-group, model and tool baselines, shared by every replica
// (cluster mode, `store.redis`; docs/monitor.md "Peer groups, models and tools"): `<prefix>pd:<principal>` holds
// the strongest deviation any replica saw, expiring `holdMs` after it was seen, and a flag set by the one replica
// that reports its crossing of `reportAt` (so a `monitor.peer_deviation` entry is written once for the cluster).
import type { Redis } from 'ioredis';
import type { Deviation } from './baselines.js';
import type { SharedPeerDeviations } from './peers.js';

// KEYS[1]. ARGV: the new deviation (JSON {score, reasons, at}), holdMs, reportAt, now. Returns 1 when this call
// reports the crossing.
const PUT = `
local new = cjson.decode(ARGV[1])
local hold, reportAt, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local reported = false
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = cjson.decode(cur)
  if now - c.at < hold then
    reported = c.reported == true
    if c.score > new.score then return 0 end
  end
end
local first = 0
if new.score >= reportAt and not reported then
  first = 1
  reported = true
end
new.reported = reported
local ttl = math.max(1, math.floor(hold - (now - new.at)))
redis.call('SET', KEYS[1], cjson.encode(new), 'PX', ttl)
return first
`;

export class RedisPeerDeviations implements SharedPeerDeviations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: { holdMs: number; clock: { now(): number } },
  ) {}

  async put(principal: string, d: Deviation, reportAt: number): Promise<boolean> {
    const first = (await this.redis.eval(PUT, 1, `${this.prefix}pd:${principal}`, JSON.stringify({ score: d.score, reasons: d.reasons, at: d.at }), this.o.holdMs, reportAt, this.o.clock.now())) as number;
    return first === 1;
  }

  async get(principal: string): Promise<Deviation | null> {
    const text = await this.redis.get(`${this.prefix}pd:${principal}`);
    if (text === null) return null;
    const d = JSON.parse(text) as Partial<Deviation>;
    // Warden's own record; a damaged one is unreadable and the caller refuses the request (503), as when Redis is away.
    if (typeof d?.score !== 'number' || typeof d.at !== 'number' || !Array.isArray(d.reasons) || !d.reasons.every((r) => typeof r === 'string')) throw new Error(`the shared peer deviation of ${principal} is malformed`);
    return { score: d.score, reasons: d.reasons, at: d.at };
  }

  async delete(principal: string): Promise<void> {
    await this.redis.del(`${this.prefix}pd:${principal}`);
  }
}
