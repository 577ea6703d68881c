// Gateway throughput/latency: demo upstream direct vs a bare Node TLS proxy vs Warden (API-key auth + limits
// + the whole pipeline), each in its own process, driven by wrk on loopback. Writes bench/results/gateway.md.
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { hasWrk, machine, startChild, wrk, writeResult, type Child, type WrkResult } from './common.js';

const PORTKEY = '@portkey-ai/gateway@1.15.2';

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

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BODY = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'Summarize the quarterly report in two sentences.' }] });
const node = process.execPath;
const warden = resolve('bin/warden.js');

function lua(dir: string, name: string, key: string | null): string {
  const f = join(dir, `${name}.lua`);
  writeFileSync(
    f,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n` +
      (key ? `wrk.headers["Authorization"] = "Bearer ${key}"\n` : ''),
  );
  return f;
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const children: Child[] = [];
  try {
    const demo = await startChild(node, [warden, 'demo-upstream', '--port', '0'], /listening at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    children.push(demo);
    const upstream = demo.match[1]!;
    const bare = await startChild(node, ['dist/bench/bare-proxy.js', upstream], /listening at (https:\/\/127\.0\.0\.1:\d+)/);
    children.push(bare);
    const dataDir = join(dir, 'data');
    const cfg = join(dir, 'warden.yaml');
    writeFileSync(
      cfg,
      `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\n` +
        `limits: { requestsPerSecond: 1000000, burst: 1000000, concurrency: 10000, tokensPerMinute: 1000000000 }\n` +
        `upstreams:\n  - { name: demo, baseUrl: "${upstream}", models: [demo-chat] }\n`,
    );
    const w = await startChild(node, [warden, 'up', '--config', cfg], /Bootstrap admin credential[^\n]*\n\s+(wdn_\S+)/);
    children.push(w);
    const out = w.proc.stdout!;
    let banner = '';
    out.on('data', (c) => (banner += c));
    const adminKey = w.match[1]!;
    await new Promise((r) => setTimeout(r, 300));
    const infUrl = /inference\s+(https:\/\/\S+)\/v1/.exec(w.match.input ?? '')?.[1] ?? /inference\s+(https:\/\/\S+)\/v1/.exec(banner)?.[1];
    const admUrl = /admin\s+(https:\/\/\S+)/.exec(w.match.input ?? '')?.[1];
    if (!infUrl || !admUrl) throw new Error('could not read Warden URLs from its banner');
    const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8') } });
    const adm = async (path: string, body: unknown) => {
      const r = await request(admUrl + path, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const j = (await r.body.json()) as Record<string, unknown>;
      if (r.statusCode >= 300) throw new Error(`admin ${path}: ${JSON.stringify(j)}`);
      return j;
    };
    await adm('/admin/v1/principals', { id: 'bench', tenant: 'bench' });
    const key = (await adm('/admin/v1/keys', { principal: 'bench', models: ['demo-chat'], actions: ['chat'] })).key as string;
    await agent.close();

    const portkey = installPortkey();
    let portkeyRow: [string, string, string] | null = null;
    if ('script' in portkey) {
      const port = 18000 + Math.floor(Math.random() * 1000);
      const pk = await startChild(node, [portkey.script, `--port=${port}`], /Ready for connections/);
      children.push(pk);
      const f = join(dir, 'portkey.lua');
      writeFileSync(
        f,
        `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n` +
          `wrk.headers["Authorization"] = "Bearer sk-demo"\nwrk.headers["x-portkey-provider"] = "openai"\nwrk.headers["x-portkey-custom-host"] = "${upstream}"\n`,
      );
      portkeyRow = ['Portkey gateway 1.15.2 (plain HTTP, no security checks)', `http://127.0.0.1:${port}/v1/chat/completions`, f];
    }
    const targets: [string, string, string][] = [
      ['direct upstream (plain HTTP, no proxy)', `${upstream}/chat/completions`, lua(dir, 'direct', null)],
      ['bare Node TLS proxy (floor, no checks)', `${bare.match[1]}/v1/chat/completions`, lua(dir, 'bare', null)],
      ['Warden (TLS 1.3, API key, limits, pipeline, audit)', `${infUrl}/v1/chat/completions`, lua(dir, 'warden', key)],
      ...(portkeyRow ? [portkeyRow] : []),
    ];
    const results: Record<string, { high: WrkResult; moderate: WrkResult }> = {};
    for (const [name, url, script] of targets) {
      wrk(url, script, 8, 2); // warm-up: JIT, pools, TLS sessions
      const high = wrk(url, script, 32, SECONDS);
      const moderate = wrk(url, script, 4, SECONDS);
      results[name] = { high, moderate };
      process.stdout.write(`${name}: ${high.rps.toFixed(0)} req/s @32, p50 ${moderate.p50ms} ms @4\n`);
    }
    const [direct, bareR, wardenR] = targets.map(([n]) => results[n]!);
    const row = (n: string, r: { high: WrkResult; moderate: WrkResult }) =>
      `| ${n} | ${r.high.rps.toFixed(0)} | ${r.high.p50ms.toFixed(2)} | ${r.high.p99ms.toFixed(2)} | ${r.moderate.rps.toFixed(0)} | ${r.moderate.p50ms.toFixed(2)} | ${r.moderate.p99ms.toFixed(2)} | ${r.high.errors + r.moderate.errors} |`;
    const md = [
      '## Gateway throughput and latency',
      '',
      `Machine: ${machine()}. Each server in its own process; load from \`wrk -t1\` on loopback (which shares the 2 cores),`,
      `${SECONDS} s per run after a 2 s warm-up; "high" = 32 connections, "moderate" = 4 connections. Small non-streaming chat`,
      'request to the demo upstream. Command: `npm run bench` (or `node dist/bench/gateway.js`).',
      '',
      '| target | req/s @32 | p50 ms @32 | p99 ms @32 | req/s @4 | p50 ms @4 | p99 ms @4 | errors |',
      '|---|---|---|---|---|---|---|---|',
      ...targets.map(([n]) => row(n, results[n]!)),
      '',
      `- Warden / bare proxy throughput: **${(wardenR!.high.rps / bareR!.high.rps).toFixed(2)}×** (target ≥ 0.7×)`,
      `- Warden / direct upstream throughput: ${(wardenR!.high.rps / direct!.high.rps).toFixed(2)}×`,
      `- Added p50 over direct at moderate load: ${(wardenR!.moderate.p50ms - direct!.moderate.p50ms).toFixed(2)} ms (target ≤ 0.5 ms); added p99: ${(wardenR!.moderate.p99ms - direct!.moderate.p99ms).toFixed(2)} ms (target ≤ 2 ms)`,
      `- Added p50 over the bare proxy at moderate load: ${(wardenR!.moderate.p50ms - bareR!.moderate.p50ms).toFixed(2)} ms`,
      'error' in portkey ? `- Portkey gateway: not measured: it did not install (${portkey.error})` : `- Portkey / bare proxy throughput: ${(results[portkeyRow![0]]!.high.rps / bareR!.high.rps).toFixed(2)}× (Portkey speaks plain HTTP here, so it skips the TLS cost the other two pay)`,
      '',
    ].join('\n');
    writeResult('gateway', md);
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
