// Where Warden's request path spends its CPU: `warden up` (every plane on, as in the gateway benchmark) runs
// under `node --cpu-prof` while wrk drives small buffered chat requests at 32 connections; only the samples
// taken during that load phase are counted. Writes bench/results/gateway-profile.md, so a change to the
// request path can be compared before/after. Not part of a plain `npm run bench` (the profiler slows the
// gateway): `node dist/bench/run.js gateway-profile`, or BENCH_PROFILE=1 npm run bench.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasWrk, machine, wrk, writeResult, type Child } from './common.js';
import { profileMarkdown, summarizeProfile, type CpuProfile } from './cpu-profile.js';
import { BODY, startDemoUpstream, startWardenUnderTest, wrkScript } from './gateway-stack.js';

const SECONDS = Math.min(10, Number(process.env.BENCH_SECONDS ?? 10));
const CONNECTIONS = 32;
const INTERVAL_US = 250;

/** SIGTERM, then wait for a clean exit: the profile is written when the process exits, not when it is killed. */
function stopAndWait(c: Child, ms = 30_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (c.proc.exitCode !== null) return resolve(c.proc.exitCode);
    const timer = setTimeout(() => {
      c.proc.kill('SIGKILL');
      reject(new Error(`warden did not exit within ${ms / 1000} s of SIGTERM, so it wrote no profile`));
    }, ms);
    c.proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    c.proc.kill('SIGTERM');
  });
}

/** The commit the profile is of (and whether src/ differs from it), so before/after profiles can be told apart. */
function commitUnderTest(): string {
  try {
    // The last commit that changed src/: the code profiled, whatever bench/ commits came after it.
    const head = execFileSync('git', ['log', '-1', '--format=%h %s', '--', 'src'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return `\`${head.slice(0, 100)}\`${dirty ? ' (plus uncommitted changes in src/)' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-profile-'));
  const profDir = join(dir, 'prof');
  const children: Child[] = [];
  try {
    const demo = await startDemoUpstream();
    children.push(demo.child);
    const w = await startWardenUnderTest(dir, demo.url, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${INTERVAL_US}`]);
    children.push(w.child);
    const url = `${w.url}/v1/chat/completions`;
    const script = wrkScript(dir, 'warden', BODY, { Authorization: `Bearer ${w.key}` });
    wrk(url, script, 8, 2); // warm-up, outside the window
    const from = nowUs();
    const r = wrk(url, script, CONNECTIONS, SECONDS);
    const to = nowUs();
    if (r.errors) throw new Error(`${r.errors} of ${r.requests} requests failed under the profiler`);
    const code = await stopAndWait(w.child);
    children.pop();
    if (code !== 0) throw new Error(`warden exited ${code}`);
    // --cpu-prof writes one file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the event loop.
    const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    const threadOf = (f: string) => Number(f.split('.')[4]);
    const mainFile = files.find((f) => threadOf(f) === 0);
    if (!mainFile) throw new Error(`no main-thread .cpuprofile in ${profDir} (found: ${files.join(', ') || 'none'})`);
    const load = (f: string) => JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile;
    const profile = load(mainFile);
    // BENCH_PROFILE_KEEP=DIR keeps the raw .cpuprofile files (for a call-tree look in Chrome DevTools or a script).
    if (process.env.BENCH_PROFILE_KEEP) cpSync(profDir, process.env.BENCH_PROFILE_KEEP, { recursive: true });
    if (from < profile.startTime || to > profile.endTime) {
      throw new Error(`the load window (${from}–${to} µs) is not inside the profile (${profile.startTime}–${profile.endTime} µs): the clocks differ`);
    }
    const summary = summarizeProfile(profile, from, to);
    const workers = files
      .filter((f) => f !== mainFile)
      .sort()
      .map((f) => {
        const ws = summarizeProfile(load(f), from, to);
        return [
          `### Worker thread ${threadOf(f)}`,
          '',
          `Busy ${ws.busyMs.toFixed(0)} ms of ${ws.windowMs.toFixed(0)} ms (${((100 * ws.busyMs) / ws.windowMs).toFixed(0)}%). Top functions by self time:`,
          '',
          '| function | ms | % of its busy time |',
          '|---|---|---|',
          ...ws.topSelf.slice(0, 12).map(([k, ms]) => `| ${k.replace(/\|/g, '\\|')} | ${ms.toFixed(0)} | ${((100 * ms) / ws.busyMs).toFixed(1)}% |`),
          '',
        ].join('\n');
      });
    const md = [
      '## Gateway CPU profile (where the time goes)',
      '',
      `Run ${new Date().toISOString()} on ${machine()}, src/ as of ${commitUnderTest()}.`,
      `\`warden up\` (every plane on, as in the gateway table) under \`node --cpu-prof --cpu-prof-interval=${INTERVAL_US}\`; wrk -t1 -c${CONNECTIONS}`,
      `for ${SECONDS} s after a 2 s warm-up, small buffered chat requests to the demo upstream: ${r.rps.toFixed(0)} req/s with the profiler on`,
      `(p50 ${r.p50ms.toFixed(2)} ms). Every thread is sampled (the event loop, and worker threads such as the ledger's writer); only samples taken`,
      'during the load phase count. A thread blocked in a native call (a socket write, SQLite’s fsync) is sampled as busy in it. Locations are mapped to src/*.ts through the source maps.',
      'Command: `node dist/bench/run.js gateway-profile` (or `BENCH_PROFILE=1 npm run bench`).',
      '',
      '### Main thread (the event loop)',
      '',
      profileMarkdown(summary),
      ...workers,
    ].join('\n');
    writeResult('gateway-profile', md);
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
