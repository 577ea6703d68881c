// Budget cost per request: reserve (the estimate on every budget of key, principal and tenant) plus settle
// (the usage), p50 and p99, for the in-process store and for Redis, with the limiter's acquire + release on
// the same store as the baseline measured in the same run (LocalLimiter against RedisLimiter). Sequential,
// one request at a time, so each figure is the added latency of one request. Run: node dist/bench/budgets.js
// (bounded: about twenty seconds; the Redis rows need a Redis on 127.0.0.1:6379 and are skipped without one).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { systemClock } from '../src/core/clock.js';
import type { Principal } from '../src/core/types.js';
import { Budgets, LocalBudgetStore, type BudgetStore, type BudgetsConfig } from '../src/network/budgets.js';
import { LocalLimiter, type Limiter } from '../src/network/limits.js';
import { RedisBudgetStore } from '../src/network/redis-budgets.js';
import { RedisLimiter } from '../src/network/redis-limiter.js';
import { machine, writeResult } from './common.js';

const N = 5000;
const clock = systemClock;
const principal = (i: number): Principal => ({ kind: 'user', id: `u${i % 50}`, tenant: `t${i % 5}`, groups: [], authn: { method: 'api_key', credentialId: `key_${i % 100}` }, scope: { models: ['*'], actions: ['*'] } }) as unknown as Principal;
// Three counters per request (tenant month tokens + cost, principal day tokens, key lifetime cost): a realistic set.
const CONFIG: BudgetsConfig = {
  limits: [
    { scope: 'tenant', id: '*', window: 'month', tokens: 1e15, cost: 1e9 },
    { scope: 'principal', id: '*', window: 'day', tokens: 1e15, cost: null },
    { scope: 'key', id: '*', window: 'lifetime', tokens: null, cost: 1e9 },
  ],
  prices: { '*': { inputPer1k: 0.001, outputPer1k: 0.002 } },
  defaultMaxTokens: 1024,
};
const OPEN = { requestsPerSecond: 1e9, burst: 1e9, concurrency: 1e9, tokensPerMinute: 1e15 };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function timeBudgets(store: BudgetStore): Promise<number[]> {
  const b = new Budgets(store, CONFIG, { clock, refreshMs: 0 });
  await b.refresh();
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    const h = await b.reserve(principal(i), 'm', { prompt: 100, completion: 200 });
    h!.settle({ prompt: 90, completion: 50 });
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  b.close();
  return out;
}

async function timeLimiter(l: Limiter): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    const lease = await l.acquire(`user:u${i % 50}`, OPEN);
    lease.release(140);
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return out;
}

const rows: string[] = [];
const row = (name: string, xs: number[]) => rows.push(`| ${name} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} |`);
row('limiter, in process (baseline)', await timeLimiter(new LocalLimiter(clock)));
row('budgets, in process: reserve + settle (3 counters: tenant, principal, key)', await timeBudgets(new LocalBudgetStore(clock)));
const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
let redisNote = '';
try {
  await redis.connect();
  const prefix = `warden-bench:${randomUUID()}:`;
  row('limiter, Redis (baseline)', await timeLimiter(new RedisLimiter(redis, { prefix: `${prefix}limits:` })));
  // Settle is not awaited on the request path; the reserve round trip is what a request waits for.
  row('budgets, Redis: reserve + settle (3 counters: tenant, principal, key)', await timeBudgets(new RedisBudgetStore(redis, `${prefix}budgets:`)));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
} catch (e) {
  redisNote = `\nRedis rows skipped: ${(e as Error).message}\n`;
} finally {
  redis.disconnect();
}

writeResult(
  'budgets',
  `## Budgets (reserve before, settle after)

Run ${new Date().toISOString()} on ${machine()}. ${N} sequential requests per row, microseconds per request
(the time a request waits; a Redis settle is sent without waiting). \`node dist/bench/budgets.js\`.

| path | p50 µs | p99 µs |
|---|---|---|
${rows.join('\n')}
${redisNote}`,
);
process.stdout.write(rows.join('\n') + '\n' + redisNote);
