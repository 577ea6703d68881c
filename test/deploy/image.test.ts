// The container image, without a Docker daemon: the Dockerfile's choices are checked (non-root numeric user,
// production dependencies from the lockfile, volumes for the data dir and the config so the root filesystem can
// be read-only, SIGTERM as the stop signal, a HEALTHCHECK, exec-form ENTRYPOINT/CMD), and the image's own
// ENTRYPOINT + CMD and HEALTHCHECK are run from this checkout (the image's /app) against a temporary config and
// data dir: Warden starts, the health check passes, nothing is written outside the data dir, SIGTERM exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CONFIG_DIR, DATA_DIR } from '../../src/deploy/k8s.js';

const ROOT = resolve('.');

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const l of logical) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(l)!;
    if (op!.toUpperCase() === 'FROM') stage++;
    out.push({ op: op!.toUpperCase(), args: args!.trim(), stage });
  }
  return out;
}

const execForm = (args: string): string[] => {
  const v = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), `exec form expected: ${args}`);
  return v as string[];
};

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const last = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === last);
const one = (op: string) => {
  const found = final.filter((i) => i.op === op);
  assert.equal(found.length, 1, `the runtime stage has one ${op}`);
  return found[0]!.args;
};

test('Dockerfile: non-root, read-only-root friendly, lockfile-only production install, SIGTERM, health check, exec form', () => {
  // Node as the project supports it; the runtime stage is the slim image (no compilers, no package manager caches).
  for (const f of dockerfile.filter((i) => i.op === 'FROM')) assert.match(f.args, /^node:20-bookworm(-slim)?( AS \w+)?$/i);
  assert.match(final[0]!.args, /^node:20-bookworm-slim$/);
  // The last USER of the runtime stage is a numeric non-root uid:gid (runAsNonRoot can check it), and no RUN follows it.
  const users = final.filter((i) => i.op === 'USER');
  const user = users.at(-1)!;
  assert.match(user.args, /^[1-9]\d*:[1-9]\d*$/);
  assert.ok(final.indexOf(user) > Math.max(...final.map((i, k) => (i.op === 'RUN' ? k : -1))), 'nothing runs as root after USER');
  // Dependencies only from the lockfile: npm ci (never npm install), production only for what ships.
  const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /\bnpm ci --omit=dev\b/.test(r)));
  assert.ok(!runs.some((r) => /\bnpm (i|install)\b|\bcurl\b|\bwget\b/.test(r)), 'no unlocked installs or downloads');
  assert.ok(!dockerfile.some((i) => i.op === 'ADD'), 'COPY, not ADD (no remote URLs, no implicit unpacking)');
  const lockCopy = dockerfile.findIndex((i) => i.op === 'COPY' && i.args.includes('package-lock.json'));
  const omitDev = dockerfile.findIndex((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev'));
  assert.ok(lockCopy >= 0 && lockCopy < omitDev, 'the lockfile is in place before npm ci');
  // The runtime stage ships compiled code and production modules, never the dev tree or tests.
  assert.ok(final.some((i) => i.op === 'COPY' && /--from=deps \/app\/node_modules/.test(i.args)));
  const sources = final.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
  assert.deepEqual(sources.filter((src) => /(^|\/)(src|test|bench)$/.test(src) && src !== '/app/dist/src'), [], 'no sources, tests or benchmarks in the runtime stage');
  // Writable state lives in volumes only: the data dir and the config, at the paths the manifests mount.
  assert.deepEqual(execForm(one('VOLUME')).sort(), [CONFIG_DIR, DATA_DIR].sort());
  assert.equal(one('STOPSIGNAL'), 'SIGTERM');
  const hc = /^(?:--\S+\s+)*CMD\s+(\[.*\])$/.exec(one('HEALTHCHECK'));
  assert.ok(hc, 'HEALTHCHECK CMD in exec form');
  assert.deepEqual(execForm(hc[1]!), ['node', '/app/scripts/healthcheck.mjs']);
  assert.deepEqual(execForm(one('ENTRYPOINT')), ['node', '/app/bin/warden.js']);
  assert.deepEqual(execForm(one('CMD')), ['up', '--config', `${CONFIG_DIR}/warden.yaml`, '--data-dir', DATA_DIR]);
  // Everything the runtime stage copies from the context exists.
  for (const c of final.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
    for (const src of c.args.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}`);
  }
  // The build context leaves out what must never be in an image layer.
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['.git', 'node_modules', 'dist', '**/*-key.pem', '**/*.db']) assert.ok(ignored.includes(p), `.dockerignore: ${p}`);
});

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** The image's command with its paths mapped: /app → this checkout, the volumes → temporary directories. */
function mapped(argv: string[], map: Record<string, string>): string[] {
  return argv.map((a) => Object.entries(map).reduce((s, [from, to]) => (s.startsWith(from) ? to + s.slice(from.length) : s), a)).map((a, i) => (i === 0 && a === 'node' ? process.execPath : a));
}

test('the image\'s ENTRYPOINT + CMD start Warden from the volumes alone; its HEALTHCHECK passes; SIGTERM exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-image-'));
  const configDir = join(dir, 'etc-warden');
  const dataDir = join(dir, 'var-lib-warden');
  spawnSync('mkdir', ['-p', configDir]);
  const adminPort = await freePort();
  writeFileSync(join(configDir, 'warden.yaml'), `listeners:\n  inference: { port: 0 }\n  admin: { port: ${adminPort} }\nlog: { level: warn }\n`);
  const map = { '/app/': `${ROOT}/`, [CONFIG_DIR]: configDir, [DATA_DIR]: dataDir };
  const argv = mapped([...execForm(one('ENTRYPOINT')), ...execForm(one('CMD'))], map);
  const env = { ...process.env, NODE_ENV: 'production' };
  // What the runtime stage holds (other test files may write elsewhere in the checkout meanwhile).
  const gitStatus = () => spawnSync('git', ['status', '--porcelain', '--untracked-files=all', '--', 'bin', 'policies', 'scripts', 'package.json', '.warden'], { cwd: ROOT, encoding: 'utf8' }).stdout;
  const before = gitStatus();
  const healthcheck = () => {
    const hc = mapped(execForm(/CMD\s+(\[.*\])$/.exec(one('HEALTHCHECK'))![1]!), map);
    return spawnSync(hc[0]!, hc.slice(1), { env: { ...env, WARDEN_ADMIN_PORT: String(adminPort) }, encoding: 'utf8' });
  };
  assert.equal(healthcheck().status, 1, 'the health check fails while nothing listens');
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  try {
    for (let i = 0; !out.includes('Warden is running.'); i++) {
      assert.ok(i < 1200 && child.exitCode === null, `warden did not start: ${out}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.equal(healthcheck().status, 0, 'HEALTHCHECK passes');
    assert.ok(existsSync(join(dataDir, 'warden.db')) && existsSync(join(dataDir, 'ledger.db')), 'state is in the data volume');
    assert.equal(gitStatus(), before, 'nothing was written into /app');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
