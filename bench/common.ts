// Shared plumbing for benchmarks: the machine header, child processes, wrk runs, result files.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function writeResult(area: string, markdown: string): void {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(join('bench/results', `${area}.md`), markdown.trimEnd() + '\n');
  process.stdout.write(markdown + '\n');
}

export interface Child {
  proc: ChildProcess;
  match: RegExpMatchArray;
  stop(): Promise<void>;
}

/** Starts a process and waits for a line matching `ready`. Its other output is discarded. */
export function startChild(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const onData = (c: Buffer) => {
      if (done) return;
      out += c.toString();
      const m = out.match(ready);
      if (m) {
        done = true;
        resolve({
          proc,
          match: m,
          stop: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
              setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      if (!done) reject(new Error(`${cmd} ${args.join(' ')} exited ${code} before ready: ${out.slice(-2000)}`));
    });
    setTimeout(() => {
      if (!done) {
        proc.kill('SIGKILL');
        reject(new Error(`${cmd} not ready in 30 s: ${out.slice(-2000)}`));
      }
    }, 30_000).unref();
  });
}

export interface WrkResult {
  rps: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  requests: number;
  errors: number;
}

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { status?: number }).status === 1; // wrk --version exits 1 after printing its version
  }
}

/** Runs wrk (bounded by duration) with a Lua script that sets the method, body and headers. */
export function wrk(url: string, luaFile: string, connections: number, seconds: number): WrkResult {
  return parseWrk(execFileSync('wrk', wrkArgs(url, luaFile, connections, seconds), { encoding: 'utf8', timeout: (seconds + 30) * 1000 }));
}

const wrkArgs = (url: string, luaFile: string, connections: number, seconds: number): string[] => ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', luaFile, url];

/**
 * As `wrk`, plus the CPU the load generator itself spent (µs, user + system): run under bash, whose `times`
 * builtin prints its children's CPU after wrk exits. The client shares this machine's cores with the servers.
 */
export function wrkWithCpu(url: string, luaFile: string, connections: number, seconds: number): WrkResult & { clientCpuUs: number } {
  const out = execFileSync('bash', ['-c', 'wrk "$@" && times', 'wrk', ...wrkArgs(url, luaFile, connections, seconds)], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  // `times` prints the shell's user/system times, then its children's: "0m1.234s 0m0.567s".
  const lines = out.trimEnd().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`could not read wrk's CPU time from bash's times: ${JSON.stringify(lines.slice(-2))}`);
  const clientCpuUs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1e6;
  return { ...parseWrk(out), clientCpuUs };
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = (p: string) => ms(new RegExp(`\\s${p}%\\s+(\\S+)`).exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? Number(sockErr[1]) + Number(sockErr[2]) + Number(sockErr[3]) + Number(sockErr[4]) : 0);
  return { rps, p50ms: pct('50'), p90ms: pct('90'), p99ms: pct('99'), requests, errors };
}
