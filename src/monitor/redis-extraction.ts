// Model-extraction windows shared by every replica (cluster mode, `store.redis`; docs/monitor.md "Model
// extraction"): a campaign spread over the replicas behind a load balancer is counted as one. Per principal,
// under `<prefix>x:<principal>`: a hash with the window's slices (counts per slice), the templated-request count,
// the overflow and the suspected flag; `…:p` the window's short-prompt fingerprints and `…:t` its templates, each
// with its count; `…:p:<slice>` and `…:t:<slice>` what each slice added, taken out of the window when the slice
// leaves it. One Lua script expires, adds and counts (the in-process detector's arithmetic, extraction.ts), so the
// scoring (ExtractionDetector.assessCounts) sees the window every replica filled.
//
// The script names keys it derives from the principal's (standalone Redis, as the rest of the monitor).
import type { Redis } from 'ioredis';
import type { ExtractionAssessment, ExtractionDetector, ExtractionRequest, WindowCounts } from './extraction.js';
import { requestFeatures, TEMPLATE_MIN_REQUESTS } from './extraction.js';

// KEYS[1] the principal's key. ARGV: now, sliceMs, windowMs, ttlMs, maxPrompts, add (1|0), logprobs (1|0),
// samples, embeddingInputs, template ('' none), short-prompt fingerprint ('' none), templateMin.
// Returns {requests, logprobRequests, samples, embeddingInputs, shortPrompts, distinctShort, templatedRequests, suspected}.
const OBSERVE = `
local k = KEYS[1]
local now, slice, window, ttl, maxp = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local add, tmin = ARGV[6] == '1', tonumber(ARGV[12])
if redis.call('EXISTS', k) == 0 and not add then return false end
local h = redis.call('HMGET', k, 'slices', 'templated', 'overflow', 'suspected')
local slices = {}
if h[1] then slices = cjson.decode(h[1]) end
local templated, overflow = tonumber(h[2]) or 0, tonumber(h[3]) or 0
local function contrib(c) if c >= tmin then return c end return 0 end
while #slices > 0 and slices[1].start <= now - window do
  local old = table.remove(slices, 1)
  local sp = redis.call('HGETALL', k .. ':p:' .. old.start)
  for i = 1, #sp, 2 do
    if redis.call('HINCRBY', k .. ':p', sp[i], -tonumber(sp[i + 1])) <= 0 then redis.call('HDEL', k .. ':p', sp[i]) end
  end
  overflow = overflow - old.overflow
  local st = redis.call('HGETALL', k .. ':t:' .. old.start)
  for i = 1, #st, 2 do
    local before = tonumber(redis.call('HGET', k .. ':t', st[i]) or '0')
    local after = before - tonumber(st[i + 1])
    templated = templated + contrib(after) - contrib(before)
    if after <= 0 then redis.call('HDEL', k .. ':t', st[i]) else redis.call('HSET', k .. ':t', st[i], after) end
  end
  redis.call('DEL', k .. ':p:' .. old.start, k .. ':t:' .. old.start)
end
if add then
  local start = now - (now % slice)
  local last = slices[#slices]
  if not last or last.start ~= start then
    last = {start = start, requests = 0, logprobs = 0, samples = 0, embeddings = 0, short = 0, overflow = 0}
    table.insert(slices, last)
  end
  last.requests = last.requests + 1
  if ARGV[7] == '1' then last.logprobs = last.logprobs + 1 end
  last.samples = last.samples + tonumber(ARGV[8])
  last.embeddings = last.embeddings + tonumber(ARGV[9])
  if ARGV[10] ~= '' then
    local after = redis.call('HINCRBY', k .. ':t', ARGV[10], 1)
    templated = templated + contrib(after) - contrib(after - 1)
    redis.call('HINCRBY', k .. ':t:' .. start, ARGV[10], 1)
    redis.call('PEXPIRE', k .. ':t:' .. start, ttl)
  end
  if ARGV[11] ~= '' then
    last.short = last.short + 1
    if redis.call('HEXISTS', k .. ':p', ARGV[11]) == 1 or redis.call('HLEN', k .. ':p') < maxp then
      redis.call('HINCRBY', k .. ':p', ARGV[11], 1)
      redis.call('HINCRBY', k .. ':p:' .. start, ARGV[11], 1)
      redis.call('PEXPIRE', k .. ':p:' .. start, ttl)
    else
      overflow = overflow + 1
      last.overflow = last.overflow + 1
    end
  end
end
local requests, logprobs, samples, embeddings, short = 0, 0, 0, 0, 0
for _, s in ipairs(slices) do
  requests = requests + s.requests
  logprobs = logprobs + s.logprobs
  samples = samples + s.samples
  embeddings = embeddings + s.embeddings
  short = short + s.short
end
local enc = '[]'
if #slices > 0 then enc = cjson.encode(slices) end
redis.call('HSET', k, 'slices', enc, 'templated', templated, 'overflow', overflow)
for _, key in ipairs({k, k .. ':p', k .. ':t'}) do redis.call('PEXPIRE', key, ttl) end
local suspected = 0
if h[4] == '1' then suspected = 1 end
return {requests, logprobs, samples, embeddings, short, redis.call('HLEN', k .. ':p') + overflow, templated, suspected}
`;

export class SharedExtraction {
  private readonly last = new Map<string, ExtractionAssessment>();
  private readonly sliceMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly detector: ExtractionDetector,
    private readonly o: { clock: { now(): number }; onSuspect?: (principal: string, a: ExtractionAssessment) => void; maxPrincipals?: number },
  ) {
    this.sliceMs = Math.max(1, Math.floor(detector.settings.windowMs / 10));
    this.ttlMs = detector.settings.windowMs * 2;
  }

  private async run(principal: string, r: ExtractionRequest | null): Promise<ExtractionAssessment | null> {
    const f = r ? requestFeatures(r) : null;
    const key = `${this.prefix}x:${principal}`;
    const out = (await this.redis.eval(OBSERVE, 1, key, this.o.clock.now(), this.sliceMs, this.detector.settings.windowMs, this.ttlMs, this.detector.settings.maxPrompts, f ? 1 : 0, f?.logprobs ? 1 : 0, f?.samples ?? 0, f?.embeddingInputs ?? 0, f?.template ?? '', f?.shortPrompt ?? '', TEMPLATE_MIN_REQUESTS)) as number[] | null;
    if (!out) {
      this.last.delete(principal);
      return null;
    }
    const [requests, logprobRequests, samples, embeddingInputs, shortPrompts, distinctShort, templatedRequests, suspected] = out.map(Number) as [number, number, number, number, number, number, number, number];
    const counts: WindowCounts = { requests, logprobRequests, samples, embeddingInputs, shortPrompts, distinctShort, templatedRequests };
    const a = this.detector.assessCounts(counts);
    this.last.delete(principal);
    if (this.last.size >= (this.o.maxPrincipals ?? 100_000)) this.last.delete(this.last.keys().next().value!);
    this.last.set(principal, a);
    const threshold = this.detector.settings.threshold;
    // One replica reports each crossing: the one whose HSETNX sets the flag.
    if (a.score >= threshold && suspected === 0 && (await this.redis.hsetnx(key, 'suspected', '1')) === 1) this.o.onSuspect?.(principal, a);
    else if (a.score < threshold / 2 && suspected === 1) await this.redis.hdel(key, 'suspected');
    return a;
  }

  /** One answered model request, counted where every replica sees it. */
  async observe(principal: string, r: ExtractionRequest): Promise<void> {
    await this.run(principal, r);
  }

  /** Before a request: the window as every replica filled it (kept for the PDP's synchronous risk). */
  async admit(principal: string): Promise<void> {
    await this.run(principal, null);
  }

  /** The assessment last read on this replica (all zero for a principal it has not read). */
  assessment(principal: string): ExtractionAssessment {
    return this.last.get(principal) ?? this.detector.assessCounts({ requests: 0, logprobRequests: 0, samples: 0, embeddingInputs: 0, shortPrompts: 0, distinctShort: 0, templatedRequests: 0 });
  }

  score(principal: string): number {
    return this.last.get(principal)?.score ?? 0;
  }

  /** Forgets the principal's window on every replica. */
  async reset(principal: string): Promise<void> {
    this.last.delete(principal);
    const k = `${this.prefix}x:${principal}`;
    const slices = await this.redis.hget(k, 'slices');
    const starts = slices ? (JSON.parse(slices) as { start: number }[]).map((s) => s.start) : [];
    await this.redis.del(k, `${k}:p`, `${k}:t`, ...starts.flatMap((s) => [`${k}:p:${s}`, `${k}:t:${s}`]));
  }
}
