// Runs the real `warden` CLI (bin/warden.js → dist) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const WARDEN_BIN = resolve(process.cwd(), 'bin/warden.js');

export interface Started {
  child: ChildProcess;
  output: () => string;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function startWardenProcess(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [WARDEN_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    // warden up takes a few seconds on a quiet machine and over ten on a loaded 2-core one (first start makes its PKI).
    waitFor: (re, timeoutMs = 60_000) =>
      new Promise((resolveP, reject) => {
        const started = Date.now();
        const tick = () => {
          const m = out.match(re);
          if (m) return resolveP(m);
          if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before ${re}: ${out}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${re}: ${out}`));
          setTimeout(tick, 25);
        };
        tick();
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function runWarden(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveP) => {
    const child = spawn(process.execPath, [WARDEN_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => resolveP({ code, stdout, stderr }));
  });
}
