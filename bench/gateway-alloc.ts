// Bytes allocated per request, Warden against the bare Node TLS proxy, and which Warden code allocates them.
// Garbage collection is paid per byte allocated (V8's helper threads and the event loop's own pauses: about a
// quarter of Warden's CPU per request in gateway-cpu.md), and the figure does not move with this shared
// machine's load the way time does, so it is the one to hold a change to the pipeline against.
// Each process runs with dist/bench/heap-sampler.js preloaded (idle until signalled); after a warm-up, V8's
// sampling heap profiler records every allocation (sampled every 4 KiB, scaled by V8 to an estimate of all
// bytes, freed objects included) while this process drives 8 keep-alive connections of small buffered chat
// requests and counts the answers. `node dist/bench/run.js gateway-alloc` (Linux).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { machine, writeResult, type Child } from './common.js';
import { BODY, commitLine, startBareProxy, startDemoUpstream, startWardenUnderTest } from './gateway-stack.js';
import { fnKey, group, isWarden, type CallFrame } from './cpu-profile.js';

const SECONDS = Math.min(10, Number(process.env.BENCH_SECONDS ?? 5));
const CONNECTIONS = 8;
const SAMPLER = join(process.cwd(), 'dist/bench/heap-sampler.js');

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

interface Alloc {
  requests: number;
  bytes: number;
  byFolder: Map<string, number>;
  byWarden: Map<string, number>;
}

/** Sends requests on `CONNECTIONS` loops until `stop()`; counts the 200s. */
function drive(url: string, ca: string, headers: Record<string, string>): { count: () => number; stop: () => Promise<void> } {
  const agent = new Agent({ connect: { ca }, connections: CONNECTIONS });
  let n = 0;
  let running = true;
  const loops = Array.from({ length: CONNECTIONS }, async () => {
    while (running) {
      const r = await request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', ...headers }, body: BODY });
      await r.body.arrayBuffer();
      if (r.statusCode !== 200) throw new Error(`${url}: status ${r.statusCode}`);
      n++;
    }
  });
  return {
    count: () => n,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(pid: number, file: string, url: string, ca: string, headers: Record<string, string>): Promise<Alloc> {
  const load = drive(url, ca, headers);
  await sleep(2000); // warm-up: JIT, pools, TLS sessions
  process.kill(pid, 'SIGUSR2');
  await sleep(200); // the sampler is running once the signal was handled; count from here
  const from = load.count();
  await sleep(SECONDS * 1000);
  const requests = load.count() - from;
  process.kill(pid, 'SIGUSR2');
  await load.stop();
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const byFolder = new Map<string, number>();
  const byWarden = new Map<string, number>();
  let bytes = 0;
  const walk = (n: HeapNode, warden: CallFrame | null) => {
    const w = isWarden(n.callFrame) ? n.callFrame : warden;
    bytes += n.selfSize;
    if (n.selfSize > 0) {
      const folder = w ? group(w) : `(no Warden frame) ${group(n.callFrame)}`;
      byFolder.set(folder, (byFolder.get(folder) ?? 0) + n.selfSize);
      if (w) byWarden.set(fnKey(w), (byWarden.get(fnKey(w)) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, w);
  };
  walk(profile.head, null);
  return { requests, bytes, byFolder, byWarden };
}

const kib = (bytes: number, requests: number) => (bytes / requests / 1024).toFixed(1);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-alloc-'));
  const children: Child[] = [];
  try {
    const demo = await startDemoUpstream();
    children.push(demo.child);
    const bareFile = join(dir, 'bare.heapprofile');
    const bare = await startBareProxy(dir, demo.url, ['--import', SAMPLER], { HEAP_SAMPLE_FILE: bareFile });
    children.push(bare.child);
    const wardenFile = join(dir, 'warden.heapprofile');
    process.env.HEAP_SAMPLE_FILE = wardenFile; // inherited by `warden up` (startChild passes the environment on)
    const w = await startWardenUnderTest(dir, demo.url, ['--import', SAMPLER]);
    delete process.env.HEAP_SAMPLE_FILE;
    children.push(w.child);
    const b = await measure(bare.child.proc.pid!, bareFile, `${bare.url}/v1/chat/completions`, bare.caPem, {});
    const wr = await measure(w.child.proc.pid!, wardenFile, `${w.url}/v1/chat/completions`, w.ca, { authorization: `Bearer ${w.key}` });
    const top = (m: Map<string, number>, n: number) => [...m].sort((x, y) => y[1] - x[1]).slice(0, n);
    const commit = commitLine();
    const md = [
      '## Gateway allocation per request (Warden vs the bare Node TLS proxy)',
      '',
      `Run ${new Date().toISOString()} on ${machine()}; ${commit}.`,
      `V8's sampling heap profiler (every 4 KiB, freed objects included) for ${SECONDS} s after a 2 s warm-up, ${CONNECTIONS} keep-alive`,
      'connections of small buffered chat requests to the demo upstream, driven and counted by the benchmark process.',
      'Command: `node dist/bench/run.js gateway-alloc`.',
      '',
      `Bare proxy: **${kib(b.bytes, b.requests)} KiB** allocated per request (${b.requests} requests). Warden: **${kib(wr.bytes, wr.requests)} KiB** per request (${wr.requests} requests), **${(wr.bytes / wr.requests / (b.bytes / b.requests)).toFixed(1)}×** the bare proxy's.`,
      '',
      '**Warden, by the innermost Warden frame on the allocating stack (src/ folder)**',
      '',
      '| src/ folder | KiB/request | % |',
      '|---|---|---|',
      ...top(wr.byFolder, 14).map(([k, v]) => `| ${k} | ${kib(v, wr.requests)} | ${((v / wr.bytes) * 100).toFixed(1)}% |`),
      '',
      '**Warden functions allocating the most (with what they called)**',
      '',
      '| function | KiB/request | % |',
      '|---|---|---|',
      ...top(wr.byWarden, 20).map(([k, v]) => `| ${k} | ${kib(v, wr.requests)} | ${((v / wr.bytes) * 100).toFixed(1)}% |`),
    ].join('\n');
    writeResult('gateway-alloc', md + '\n');
    process.stdout.write(md + '\n');
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
