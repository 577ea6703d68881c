// What cluster admission costs: the monitor plane's `admit` (the call the gateway makes for every request
// before policy) in process, against the same plane sharing its state through Redis (the cluster mode: the
// principal's window and risk, its baseline, its playbook holds and throttle allowance, its held peer deviation
// and its extraction score are read before the request is judged). The floor is one Redis PING on the same
// connection in the same run. Sequential (one admission at a time: the latency a request pays) and 32 in flight
// (what one replica can admit per second). Run: node dist/bench/monitor-admission.js (about 20 s; needs Redis at
// 127.0.0.1:6379, or REDIS_URL; without it the section says so and exits 0).
import { Redis } from 'ioredis';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/core/clock.js';
import type { AuditEvent, Principal } from '../src/core/types.js';
import { parseConfig } from '../src/config/config.js';
import { buildMonitor, type MonitorPlane } from '../src/monitor/plane.js';
import { playbookState } from '../src/monitor/playbook-state.js';
import { RedisBaselineStore } from '../src/store/baselines-redis.js';
import { machine, writeResult } from './common.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const PRINCIPALS = 200;

/** The monitor as the cluster walkthrough configures it: baselines, extraction, peers and one throttling playbook. */
const CONFIG = `
monitor:
  playbooks:
    - name: injections
      when: { signals: { injections: 2 } }
      steps: [{ do: throttle, requestsPerSecond: 1 }]
`;

function principal(i: number): Principal {
  return { kind: 'user', id: `u${i}`, tenant: 'bench', groups: ['consumers'], authn: { method: 'api_key', credentialId: `key_${i}` }, scope: { models: ['*'], actions: ['*'] } };
}

/** What the gateway reports of one answered chat request (the fields the monitor reads). */
function seen(p: Principal): Parameters<MonitorPlane['observe']>[0] {
  return {
    principal: p,
    endpoint: 'chat',
    model: 'demo-chat',
    sourceIp: '10.0.0.7',
    body: { model: 'demo-chat', messages: [{ role: 'user', content: `Summarize ticket ${p.id} in two sentences.` }] },
    usage: { prompt: 20, completion: 40 },
  };
}

interface Timing {
  p50: number;
  p99: number;
  perSecond: number;
  n: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** Runs `op` one at a time for `seconds`, then with 32 in flight for as long: latency from the first, rate from the second. */
async function measure(op: (i: number) => void | Promise<void>, seconds: number): Promise<Timing> {
  const lat: number[] = [];
  let i = 0;
  const end1 = performance.now() + seconds * 500;
  while (performance.now() < end1) {
    const t = performance.now();
    await op(i++);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  let done = 0;
  const end2 = performance.now() + seconds * 500;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end2) {
        await op(i++);
        done++;
      }
    }),
  );
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), perSecond: done / ((performance.now() - start) / 1000), n: lat.length };
}

function plane(redis: Redis | null, dataDir: string, prefix: string): MonitorPlane {
  const config = parseConfig(`dataDir: ${dataDir}\n${CONFIG}`, join(dataDir, 'warden.yaml'));
  const log = pino({ level: 'silent' });
  const audit = { append: async (_e: AuditEvent) => ({}) };
  const m = buildMonitor(config, {
    clock: systemClock,
    log,
    audit,
    revoke: async () => false,
    baselinesFile: join(dataDir, 'monitor-baselines.json'),
    playbookState: playbookState({ dataDir, redis, redisPrefix: prefix, log }),
    ...(redis ? { shared: { redis, prefix: `${prefix}monitor:` }, sharedBaselines: new RedisBaselineStore(redis, `${prefix}monitor:`) } : {}),
  });
  if (!m) throw new Error('the monitor is off in the bench configuration');
  return m;
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    process.stdout.write(`monitor-admission: Redis at ${url} is not reachable (${(e as Error).message}): section not run\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-admit-'));
  const prefix = `bench-admit-${process.pid}:`;
  const principals = Array.from({ length: PRINCIPALS }, (_, i) => principal(i));
  const local = plane(null, join(dir, 'local'), '');
  const shared = plane(redis, join(dir, 'shared'), prefix);
  try {
    await local.start();
    await shared.start();
    // Warm both (JIT), and let each principal be seen once (its window, baseline and extraction state exist, as
    // for a principal in steady use): an observed chat request each.
    for (const p of principals) {
      for (const m of [local, shared]) {
        await m.admit(p);
        m.observe(seen(p), { status: 200 } as AuditEvent);
      }
    }
    await new Promise((r) => setTimeout(r, 500)); // the shared observations' writes land
    const ping = await measure(() => redis.ping().then(() => undefined), SECONDS);
    const inProcess = await measure((i) => local.admit(principals[i % PRINCIPALS]!), SECONDS);
    const cluster = await measure((i) => shared.admit(principals[i % PRINCIPALS]!), SECONDS);
    const { count: calls, commands } = await countCalls(redis, () => shared.admit(principals[0]!));
    const row = (name: string, t: Timing) => `| ${name} | ${t.p50.toFixed(4)} | ${t.p99.toFixed(4)} | ${Math.round(t.perSecond)} | ${t.n} |`;
    const md = [
      '## Cluster admission: the monitor plane\'s shared reads per request (issue 17)',
      '',
      `Run ${new Date().toISOString()} on ${machine()}.`,
      `The monitor plane's \`admit\` (what the gateway awaits for every request before policy) with the state in process,`,
      `and with \`store.redis\` (windows and risk, baseline, playbook holds and throttle allowance, held peer deviation,`,
      `extraction score shared by the replicas), ${PRINCIPALS} principals in rotation, one throttling playbook configured.`,
      `Floor: one Redis PING on the same connection. Sequential for ${SECONDS / 2} s (latency), then 32 in flight for ${SECONDS / 2} s (rate).`,
      `Redis commands per admission (seen by Redis MONITOR for this connection): **${calls}**: ${commands}.`,
      'Command: `node dist/bench/monitor-admission.js`.',
      '',
      '| admission | p50 ms | p99 ms | per second (32 in flight) | sequential samples |',
      '|---|---|---|---|---|',
      row('Redis PING (floor)', ping),
      row('in process (one replica)', inProcess),
      row('shared through Redis (cluster)', cluster),
      '',
      `Added by the cluster mode per request: **${(cluster.p50 - inProcess.p50).toFixed(3)} ms** at p50, ${(cluster.p50 / ping.p50).toFixed(1)}× one Redis PING round trip;`,
      `one replica admits at most ${Math.round(cluster.perSecond)} requests per second through this path on this machine (scripts \`s\` = the principal's`,
      `window, \`x\` = its extraction score, \`t\` = its throttle allowance; \`pb\` = playbook holds, \`pd\` = held peer deviation).`,
    ].join('\n');
    writeResult('monitor-admission', md + '\n');
    process.stdout.write(md + '\n');
  } finally {
    await local.close();
    await shared.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Redis commands one admission issues (in order), seen by MONITOR on a second connection and counted for this connection's
 * address only (other clients of the same Redis do not count).
 */
async function countCalls(redis: Redis, op: () => void | Promise<void>): Promise<{ count: number; commands: string }> {
  const self = `${redis.stream.localAddress}:${redis.stream.localPort}`;
  const watcher = await redis.duplicate().monitor();
  const seen: { what: string }[] = [];
  watcher.on('monitor', (_time: string, args: string[], source: string) => {
    // A script is named by the key it works on (its first key), a plain command by itself.
    if (source.endsWith(self)) seen.push({ what: args[0] === 'eval' || args[0] === 'evalsha' ? `script on ${String(args[3]).replace(/^bench-admit-\d+:monitor:/, '').replace(/:.*$/, '')}` : `${args[0]} ${String(args[1]).replace(/^bench-admit-\d+:monitor:/, '').replace(/:.*$/, '')}` });
  });
  await op();
  await redis.ping(); // the last of this connection's commands MONITOR reports
  await new Promise((r) => setTimeout(r, 100));
  watcher.disconnect();
  seen.pop();
  return { count: seen.length, commands: seen.map((c) => c.what).join(', ') };
}

await main();
