// Gateway throughput and latency, all in ONE run so that every figure that matters is a ratio against floors
// measured beside it: the demo upstream direct, a bare Node TLS proxy, nginx (Debian's, one process, TLS 1.3,
// keep-alive upstream), Warden with every plane on (API key, limits, inspection, Cedar, ledger, receipts)
// and Portkey. Each server is its own process; wrk (and, for streams, a small TTFB client in this process)
// drives them on loopback. The disk's fdatasync p50 is measured in Warden's data dir, because a buffered
// answer is released only after its ledger entry is durable. Writes bench/results/gateway.md.
// `node dist/bench/gateway.js` (or `node dist/bench/run.js gateway`); BENCH_SECONDS (≤ 10) is each target's load per
// level, split into BENCH_ROUNDS interleaved phases.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { hasWrk, machine, startChild, wrk, writeResult, type Child, type WrkResult } from './common.js';
import { fdatasyncLatency, type FsyncResult } from './fsync.js';
import { BODY, STREAM_BODY, startDemoUpstream, startWardenUnderTest, wrkScript } from './gateway-stack.js';
import { NGINX_MISSING, nginxVersion, startNginx } from './nginx.js';
import { streamTtfb, summarizeTtfb, type TtfbResult, type TtfbSamples } from './stream-ttfb.js';
import { createCa, issueServerCert } from '../src/network/dev-ca.js';

const PORTKEY = '@portkey-ai/gateway@1.15.2';
// Each target gets SECONDS of load per load level, in ROUNDS phases of SECONDS/ROUNDS interleaved with the
// other targets' (order rotated every round), so that a change in this shared machine's background load
// during the run falls on every target alike instead of on whichever ran last. Every phase is a new wrk,
// so new TLS handshakes (32 per phase at 32 connections): on a CPU-starved machine they cost a visible
// share of a short phase, hence few, long phases by default.
const SECONDS = Math.min(10, Number(process.env.BENCH_SECONDS ?? 10));
const ROUNDS = Math.max(1, Math.min(SECONDS, Number(process.env.BENCH_ROUNDS ?? 2)));
const PHASE = SECONDS / ROUNDS;
const HIGH = 32;
const LOW = 4;
const node = process.execPath;

/**
 * The Portkey gateway (a peer that does no security checks), installed on demand into bench/out so it is
 * never a project dependency. Returns its entry script, or the reason it could not be installed.
 */
function installPortkey(): { script: string } | { error: string } {
  const dir = resolve('bench/out/portkey');
  const script = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (existsSync(script)) return { script };
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', PORTKEY], { stdio: 'ignore', timeout: 300_000 });
    return existsSync(script) ? { script } : { error: 'installed, but build/start-server.js is missing' };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

interface Target {
  id: 'direct' | 'bare' | 'nginx' | 'warden' | 'portkey';
  name: string;
  /** Chat completions URL (Portkey's path differs from the others' only in having no TLS). */
  chatUrl: string;
  headers: Record<string, string>;
  /** CA that signed its certificate (TLS targets only). */
  ca?: string;
  script?: string;
  high?: WrkResult;
  low?: WrkResult;
  stream?: TtfbResult;
}

/** One buffered and one streamed request through a TLS target, so a misconfigured floor fails loudly, not fast. */
async function preflight(t: Target): Promise<void> {
  const agent = new Agent({ connect: { ca: t.ca! } });
  try {
    const headers = { ...t.headers, 'content-type': 'application/json' };
    const r = await request(t.chatUrl, { method: 'POST', dispatcher: agent, headers, body: BODY });
    const text = await r.body.text();
    if (r.statusCode !== 200 || !text.includes('You said:')) throw new Error(`${t.name}: preflight answered ${r.statusCode}: ${text.slice(0, 300)}`);
    if (t.id === 'warden' && !r.headers['warden-receipt']) throw new Error(`${t.name}: preflight answer has no Warden-Receipt header`);
    const s = await request(t.chatUrl, { method: 'POST', dispatcher: agent, headers, body: STREAM_BODY });
    const events = await s.body.text();
    if (s.statusCode !== 200 || (!events.startsWith('data:') && !events.startsWith('event:'))) throw new Error(`${t.name}: stream preflight answered ${s.statusCode}: ${events.slice(0, 300)}`);
    if (t.id === 'warden' && !/receipt/i.test(events)) throw new Error(`${t.name}: stream preflight has no receipt event`);
  } finally {
    await agent.close();
  }
}

/**
 * One figure from interleaved wrk phases: throughput over all of them; latency percentiles as the median of
 * the phases' (wrk reports percentiles, not samples, so they cannot be pooled).
 */
function combine(runs: WrkResult[]): WrkResult {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return {
    rps: runs.reduce((n, r) => n + r.rps, 0) / runs.length,
    p50ms: median(runs.map((r) => r.p50ms)),
    p90ms: median(runs.map((r) => r.p90ms)),
    p99ms: median(runs.map((r) => r.p99ms)),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

const f0 = (n: number) => n.toFixed(0);
const f2 = (n: number) => n.toFixed(2);
const mark = (ok: boolean) => (ok ? 'met' : '**not met**');

function cpuModel(): string {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    const model = /^Model name:\s+(.+)$/m.exec(out)?.[1]?.trim();
    const cpus = /^CPU\(s\):\s+(\d+)$/m.exec(out)?.[1];
    return `${model ?? 'unknown CPU'}, ${cpus ?? '?'} CPUs (lscpu)`;
  } catch {
    return 'lscpu unavailable';
  }
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const children: Child[] = [];
  const loadBefore = loadavg()[0]!;
  try {
    const demo = await startDemoUpstream();
    children.push(demo.child);
    const upstream = demo.url;

    // One certificate for both floors, so nginx and the bare proxy do the same TLS handshake.
    const benchCa = await createCa('bench CA');
    const cert = await issueServerCert(benchCa, ['127.0.0.1', 'localhost']);
    const certFile = join(dir, 'floor-cert.pem');
    const keyFile = join(dir, 'floor-key.pem');
    writeFileSync(certFile, cert.certPem);
    writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });

    const bare = await startChild(node, ['dist/bench/bare-proxy.js', upstream, certFile, keyFile], /listening at (https:\/\/127\.0\.0\.1:\d+)/);
    children.push(bare);
    const nginxBin = nginxVersion();
    const nginx = nginxBin ? await startNginx(nginxBin.bin, join(dir, 'nginx'), upstream, certFile, keyFile) : null;
    if (nginx) children.push(nginx);
    const w = await startWardenUnderTest(dir, upstream);
    children.push(w.child);

    const targets: Target[] = [
      { id: 'direct', name: 'direct upstream (plain HTTP, no proxy)', chatUrl: `${upstream}/chat/completions`, headers: {} },
      { id: 'bare', name: 'bare Node TLS proxy (floor, no checks)', chatUrl: `${bare.match[1]}/v1/chat/completions`, headers: {}, ca: benchCa.certPem },
      ...(nginx && nginxBin
        ? [{ id: 'nginx' as const, name: `${nginxBin.version} (1 process, TLS 1.3, keep-alive upstream, no checks)`, chatUrl: `${nginx.match[1]}/v1/chat/completions`, headers: {}, ca: benchCa.certPem }]
        : []),
      { id: 'warden', name: 'Warden (TLS 1.3, API key, limits, inspection, Cedar, ledger, receipts)', chatUrl: `${w.url}/v1/chat/completions`, headers: { authorization: `Bearer ${w.key}` }, ca: w.ca },
    ];
    const portkey = installPortkey();
    if ('script' in portkey) {
      const port = 18000 + Math.floor(Math.random() * 1000);
      const pk = await startChild(node, [portkey.script, `--port=${port}`], /Ready for connections/);
      children.push(pk);
      targets.push({
        id: 'portkey',
        name: 'Portkey gateway 1.15.2 (plain HTTP, no security checks)',
        chatUrl: `http://127.0.0.1:${port}/v1/chat/completions`,
        headers: { Authorization: 'Bearer sk-demo', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream },
      });
    }
    for (const t of targets) {
      if (t.ca) await preflight(t);
      t.script = wrkScript(dir, t.id, BODY, t.headers);
    }
    const byId = (id: Target['id']) => targets.find((t) => t.id === id);

    for (const t of targets) wrk(t.chatUrl, t.script!, 8, 2); // warm-up: JIT, pools, TLS sessions
    const rotated = (round: number) => targets.map((_, i) => targets[(i + round) % targets.length]!);
    const interleaved = (connections: number): Map<Target, WrkResult> => {
      const runs = new Map<Target, WrkResult[]>(targets.map((t) => [t, []]));
      for (let round = 0; round < ROUNDS; round++) for (const t of rotated(round)) runs.get(t)!.push(wrk(t.chatUrl, t.script!, connections, PHASE));
      return new Map([...runs].map(([t, r]) => [t, combine(r)]));
    };
    for (const [t, r] of interleaved(HIGH)) {
      t.high = r;
      process.stdout.write(`${t.id}: ${f0(r.rps)} req/s @${HIGH}\n`);
    }
    const fsync: FsyncResult = fdatasyncLatency(w.dataDir, 200);
    process.stdout.write(`fdatasync (4 KiB append) in Warden's data dir: p50 ${f2(fsync.p50ms)} ms\n`);
    for (const [t, r] of interleaved(LOW)) {
      t.low = r;
      process.stdout.write(`${t.id}: p50 ${f2(r.p50ms)} ms @${LOW}\n`);
    }
    // The stream floors are the TLS proxies; direct and Portkey are not compared here.
    const streamed = targets.filter((t) => t.ca);
    const streamRuns = new Map<Target, TtfbSamples[]>(streamed.map((t) => [t, []]));
    for (const t of streamed) await streamTtfb({ url: t.chatUrl, headers: t.headers, ca: t.ca! }, STREAM_BODY, LOW, 1); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < streamed.length; i++) {
        const t = streamed[(i + round) % streamed.length]!;
        streamRuns.get(t)!.push(await streamTtfb({ url: t.chatUrl, headers: t.headers, ca: t.ca! }, STREAM_BODY, LOW, PHASE));
      }
    }
    for (const [t, runs] of streamRuns) {
      t.stream = summarizeTtfb(runs);
      process.stdout.write(`${t.id}: stream TTFB p50 ${f2(t.stream.p50ms)} ms @${LOW} (${t.stream.requests} streams, ${t.stream.errors} errors)\n`);
    }

    const bareR = byId('bare')!;
    const nginxR = byId('nginx');
    const wardenR = byId('warden')!;
    const directR = byId('direct')!;
    const portkeyR = byId('portkey');
    const ratio = wardenR.high!.rps / bareR.high!.rps;
    const bound = fsync.p50ms + 0.5;
    const addedP50 = wardenR.low!.p50ms - bareR.low!.p50ms;
    const addedTtfb = wardenR.stream!.p50ms - bareR.stream!.p50ms;
    const row = (t: Target) =>
      `| ${t.name} | ${f0(t.high!.rps)} | ${f2(t.high!.p50ms)} | ${f2(t.high!.p99ms)} | ${f0(t.low!.rps)} | ${f2(t.low!.p50ms)} | ${f2(t.low!.p99ms)} | ${t.stream ? f2(t.stream.p50ms) : '–'} | ${t.high!.errors + t.low!.errors + (t.stream?.errors ?? 0)} |`;
    const nginxText = nginxR ? `nginx ${f0(nginxR.high!.rps)} req/s` : NGINX_MISSING;
    const summary =
      `**Gateway summary (${new Date().toISOString().slice(0, 10)}, one run, ${HIGH} connections):** bare Node TLS proxy ${f0(bareR.high!.rps)} req/s, ${nginxText}, ` +
      `Warden ${f0(wardenR.high!.rps)} req/s: Warden/bare **${f2(ratio)}×** (target ≥ 0.5×, stretch 0.7×)${nginxR ? `, Warden/nginx ${f2(wardenR.high!.rps / nginxR.high!.rps)}×` : ''}. ` +
      `At ${LOW} connections Warden adds **${f2(addedP50)} ms** p50 (buffered) and **${f2(addedTtfb)} ms** p50 stream TTFB over the bare proxy; ` +
      `bound = fdatasync p50 ${f2(fsync.p50ms)} ms + 0.5 ms = ${f2(bound)} ms.`;
    const streamErrors = targets.filter((t) => t.stream?.errors).map((t) => `- ${t.id}: ${t.stream!.errors} stream errors, the first: ${t.stream!.firstError}`);
    const md = [
      '## Gateway throughput and latency',
      '',
      summary,
      '',
      `Run ${new Date().toISOString()}. Machine: ${cpuModel()}; ${machine()}. Load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (the cores are shared).`,
      `Each server in its own process; load from \`wrk -t1\` on loopback (which shares the cores). After a 2 s warm-up, each target gets`,
      `${SECONDS} s per load level in ${ROUNDS} phases of ${PHASE} s interleaved with the other targets' (so background load falls on all alike);`,
      `req/s is the mean over its phases, latency percentiles the median of its phases'. "@${HIGH}" = ${HIGH} connections,`,
      `"@${LOW}" = ${LOW} connections. Small non-streaming chat request to the demo upstream (a fake model server);`,
      `"stream TTFB" = time from sending a \`stream: true\` chat request to the first SSE event of the body, ${LOW} keep-alive`,
      'connections, from a client in the benchmark process (its samples pooled over the phases).',
      'Command: `npm run bench`, or only this section: `node dist/bench/run.js gateway` (BENCH_SECONDS, BENCH_ROUNDS: load per level and phases).',
      '',
      `| target | req/s @${HIGH} | p50 ms @${HIGH} | p99 ms @${HIGH} | req/s @${LOW} | p50 ms @${LOW} | p99 ms @${LOW} | stream TTFB p50 ms @${LOW} | errors |`,
      '|---|---|---|---|---|---|---|---|---|',
      ...targets.map(row),
      ...(nginxR ? [] : [`| ${NGINX_MISSING} | – | – | – | – | – | – | – | – |`]),
      '',
      `Summary (the "One enforcement path" targets, item 8):`,
      '',
      `| figure | value | target |`,
      '|---|---|---|',
      `| bare Node TLS proxy, req/s @${HIGH} | ${f0(bareR.high!.rps)} | |`,
      `| nginx, req/s @${HIGH} | ${nginxR ? f0(nginxR.high!.rps) : NGINX_MISSING} | |`,
      `| Warden, req/s @${HIGH} | ${f0(wardenR.high!.rps)} | |`,
      `| **Warden / bare proxy @${HIGH}** | **${f2(ratio)}×** | ≥ 0.5× (stretch 0.7×): ${mark(ratio >= 0.5)}${ratio >= 0.7 ? ', stretch met' : ''} |`,
      `| Warden / nginx @${HIGH} | ${nginxR ? `${f2(wardenR.high!.rps / nginxR.high!.rps)}×` : '–'} | |`,
      `| fdatasync p50 (4 KiB append, N=${fsync.n}, Warden's data dir; p90 ${f2(fsync.p90ms)} ms) | ${f2(fsync.p50ms)} ms | |`,
      `| **added p50 @${LOW}, Warden − bare proxy** (buffered) | **${f2(addedP50)} ms** | ≤ fsync p50 + 0.5 ms = ${f2(bound)} ms: ${mark(addedP50 <= bound)} |`,
      `| **added stream TTFB p50 @${LOW}, Warden − bare proxy** | **${f2(addedTtfb)} ms** | ≤ ${f2(bound)} ms: ${mark(addedTtfb <= bound)} |`,
      `| added p50 @${LOW}, Warden − nginx (buffered) | ${nginxR ? `${f2(wardenR.low!.p50ms - nginxR.low!.p50ms)} ms` : '–'} | |`,
      `| Warden / direct upstream @${HIGH} | ${f2(wardenR.high!.rps / directR.high!.rps)}× | |`,
      `| Portkey / bare proxy @${HIGH} | ${portkeyR ? `${f2(portkeyR.high!.rps / bareR.high!.rps)}× (plain HTTP: it skips the TLS cost the others pay)` : `not measured: it did not install (${'error' in portkey ? portkey.error : '?'})`} | |`,
      '',
      `Streams @${LOW}: ` +
        targets
          .filter((t) => t.stream)
          .map((t) => `${t.id} TTFB p90 ${f2(t.stream!.p90ms)} ms, p99 ${f2(t.stream!.p99ms)} ms, whole stream p50 ${f2(t.stream!.totalP50ms)} ms (${t.stream!.requests} streams)`)
          .join('; ') +
        '.',
      '',
      ...(streamErrors.length ? ['Stream errors:', '', ...streamErrors, ''] : []),
    ].join('\n');
    writeResult('gateway', md);
    const line = `SUMMARY bare ${f0(bareR.high!.rps)} req/s, nginx ${nginxR ? f0(nginxR.high!.rps) : 'n/a'} req/s, Warden ${f0(wardenR.high!.rps)} req/s @${HIGH}: Warden/bare ${f2(ratio)}x${nginxR ? `, Warden/nginx ${f2(wardenR.high!.rps / nginxR.high!.rps)}x` : ''}; added p50 @${LOW} ${f2(addedP50)} ms, added stream TTFB p50 ${f2(addedTtfb)} ms, bound fsync p50 ${f2(fsync.p50ms)} + 0.5 = ${f2(bound)} ms`;
    process.stdout.write(line + '\n');
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
