// CPU time per request, Warden against the bare Node TLS proxy, per thread. Throughput on this shared 2-core
// machine moves with whatever else runs; the CPU a process spends per request it relays moves far less, so it
// is the figure to compare before and after a change to the pipeline. Each target gets the same wrk load
// (8 connections, small buffered chat requests to the demo upstream); the process's threads are read from
// /proc before and after, and their CPU is divided by the requests wrk completed.
// `node dist/bench/run.js gateway-cpu` (Linux only: /proc).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasWrk, machine, wrk, wrkWithCpu, writeResult, type Child } from './common.js';
import { BODY, commitLine, startBareProxy, startDemoUpstream, startWardenUnderTest, wrkScript } from './gateway-stack.js';

const SECONDS = Math.min(10, Number(process.env.BENCH_SECONDS ?? 5));
const CONNECTIONS = 8;
const TICK_US = 1e6 / 100; // USER_HZ: /proc reports CPU in 1/100 s on Linux
const LEAN_CONFIG = 'monitor: { enabled: false }\nlog: { accessLog: false }\n';

type ThreadCpu = Map<string, number>; // thread name -> CPU µs (threads of one name summed)

/** CPU µs so far of every thread of `pid`, by thread name (/proc/PID/task/TID/{comm,stat}). */
function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
      // The main thread carries the process's name; worker threads, libuv's pool and V8's helpers their own.
      const label = tid === String(pid) ? 'main (event loop)' : `${name} (tid ${tid})`;
      out.set(label, (out.get(label) ?? 0) + ticks * TICK_US);
    } catch {
      // a thread that ended between readdir and read: its CPU is gone from both snapshots' view
    }
  }
  return out;
}

interface CpuResult {
  requests: number;
  rps: number;
  errors: number;
  perRequest: Map<string, number>;
  total: number;
  /** The other two processes on the path, per request: the load generator (wrk) and the demo model server. */
  client: number;
  upstream: number;
}

const sum = (m: ThreadCpu): number => [...m.values()].reduce((a, b) => a + b, 0);

function measure(pid: number, upstreamPid: number, url: string, script: string): CpuResult {
  const before = threadCpu(pid);
  const upBefore = sum(threadCpu(upstreamPid));
  const r = wrkWithCpu(url, script, CONNECTIONS, SECONDS);
  const after = threadCpu(pid);
  const upAfter = sum(threadCpu(upstreamPid));
  const perRequest = new Map<string, number>();
  for (const [name, us] of after) {
    const d = us - (before.get(name) ?? 0);
    if (d > 0) perRequest.set(name, d / r.requests);
  }
  const total = [...perRequest.values()].reduce((a, b) => a + b, 0);
  return { requests: r.requests, rps: r.rps, errors: r.errors, perRequest, total, client: r.clientCpuUs / r.requests, upstream: (upAfter - upBefore) / r.requests };
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-cpu-'));
  const children: Child[] = [];
  try {
    const demo = await startDemoUpstream();
    children.push(demo.child);
    const bareProxy = await startBareProxy(dir, demo.url);
    const bare = bareProxy.child;
    children.push(bare);
    const w = await startWardenUnderTest(dir, demo.url);
    children.push(w.child);
    // The same gateway with the behaviour monitor and the access log off: what those two cost per request (the
    // issue's speed target names API key, limits, inspection, Cedar, ledger and receipts; the default has both on).
    const leanDir = join(dir, 'lean');
    mkdirSync(leanDir);
    const lean = await startWardenUnderTest(leanDir, demo.url, [], LEAN_CONFIG);
    children.push(lean.child);
    const targets = [
      { id: 'bare', pid: bare.proc.pid!, url: `${bare.match[1]}/v1/chat/completions`, script: wrkScript(dir, 'bare', BODY, {}) },
      { id: 'warden', pid: w.child.proc.pid!, url: `${w.url}/v1/chat/completions`, script: wrkScript(dir, 'warden', BODY, { authorization: `Bearer ${w.key}` }) },
      { id: 'lean', pid: lean.child.proc.pid!, url: `${lean.url}/v1/chat/completions`, script: wrkScript(dir, 'lean', BODY, { authorization: `Bearer ${lean.key}` }) },
    ];
    for (const t of targets) wrk(t.url, t.script, CONNECTIONS, 2); // warm-up: JIT, pools, TLS sessions
    // Two interleaved rounds each; the lower total of the two is kept (noise only ever adds CPU: cache misses, steal).
    const best = new Map<string, CpuResult>();
    for (let round = 0; round < 2; round++) {
      for (const t of round === 0 ? targets : [...targets].reverse()) {
        const r = measure(t.pid, demo.child.proc.pid!, t.url, t.script);
        if (r.errors > 0) throw new Error(`${t.id}: ${r.errors} errors under load`);
        process.stdout.write(`${t.id}: ${r.rps.toFixed(0)} req/s, ${r.total.toFixed(0)} µs CPU per request\n`);
        const prev = best.get(t.id);
        if (!prev || r.total < prev.total) best.set(t.id, r);
      }
    }
    const b = best.get('bare')!;
    const wr = best.get('warden')!;
    const ln = best.get('lean')!;
    const names = [...new Set([...wr.perRequest.keys(), ...b.perRequest.keys()])].sort((x, y) => (wr.perRequest.get(y) ?? 0) - (wr.perRequest.get(x) ?? 0));
    const rows = names
      .filter((n) => (wr.perRequest.get(n) ?? 0) >= 1 || (b.perRequest.get(n) ?? 0) >= 1)
      .map((n) => `| ${n} | ${(b.perRequest.get(n) ?? 0).toFixed(0)} | ${(wr.perRequest.get(n) ?? 0).toFixed(0)} |`);
    // What the 0.5× target leaves Warden on this machine: at half the bare proxy's rate, the cores minus
    // what the client and the model server spend on each request (measured beside the bare proxy), per request.
    const cores = availableParallelism();
    const halfRate = b.rps / 2;
    const others = b.client + b.upstream;
    const budget = (cores * 1e6) / halfRate - others;
    const commit = commitLine();
    writeResult(
      'gateway-cpu',
      [
        '## Gateway CPU per request (Warden vs the bare Node TLS proxy)',
        '',
        `Run ${new Date().toISOString()} on ${machine()}; load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}; ${commit}.`,
        `wrk -t1 -c${CONNECTIONS} for ${SECONDS} s per target, two interleaved rounds, the round with less CPU kept; small buffered chat requests to the demo upstream.`,
        'CPU from /proc/PID/task/*/stat (user + system, 10 ms ticks) divided by the requests completed; the figure that moves least with this shared machine\'s load.',
        'Command: `node dist/bench/run.js gateway-cpu`.',
        '',
        `Bare proxy: ${b.rps.toFixed(0)} req/s, **${b.total.toFixed(0)} µs** CPU per request. Warden: ${wr.rps.toFixed(0)} req/s, **${wr.total.toFixed(0)} µs** CPU per request (**${(wr.total / b.total).toFixed(2)}×** the bare proxy's).`,
        '',
        '| thread | bare proxy µs/request | Warden µs/request |',
        '|---|---|---|',
        ...rows,
        '',
        `Warden with the behaviour monitor and the access log off (\`${LEAN_CONFIG.trim().replace(/\n/g, '; ')}\`): ${ln.rps.toFixed(0)} req/s, **${ln.total.toFixed(0)} µs** CPU per request ` +
          `(${(ln.total / b.total).toFixed(2)}× the bare proxy's; the two cost ${(wr.total - ln.total).toFixed(0)} µs per request in this run).`,
        '',
        `The rest of the path, per request, beside the bare proxy / beside Warden: the load generator (wrk) ${b.client.toFixed(0)} / ${wr.client.toFixed(0)} µs, the demo model server ${b.upstream.toFixed(0)} / ${wr.upstream.toFixed(0)} µs.`,
        `**CPU budget at half the bare proxy's rate** (${halfRate.toFixed(0)} req/s) on these ${cores} cores, if the gateway could use every cycle the client and the model server leave: ` +
          `${cores} × 10⁶ µs ÷ ${halfRate.toFixed(0)} − ${others.toFixed(0)} = **${budget.toFixed(0)} µs per request**; Warden spends ${wr.total.toFixed(0)} µs (${(wr.total / budget).toFixed(1)}× the budget).`,
      ].join('\n'),
    );
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
