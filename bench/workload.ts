// Workload-plane benchmark: model hashing (the cost of `warden model sign/verify`) in MB/s against
// `sha256sum` on the same files in the same run, plus the full sign and verify paths.
// Run: node dist/bench/workload.js  (bounded: WARDEN_BENCH_MB, default 256 MiB of files, 3 rounds).
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFiles } from '../src/workload/signing/hash-pool.js';
import { pemSigner } from '../src/workload/signing/keys.js';
import { signModel } from '../src/workload/signing/sign-model.js';
import { verifyModel } from '../src/workload/signing/verify-model.js';
import { listModelFiles } from '../src/workload/signing/walk.js';
import { machine, writeResult } from './common.js';

const TOTAL_MB = Number(process.env.WARDEN_BENCH_MB ?? 256);
const SHARDS = 4;
const ROUNDS = 3;

function sha256sum(paths: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('sha256sum', paths, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sha256sum exited ${code}`))));
  });
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-model-'));
  try {
    const block = randomBytes(1024 * 1024);
    const shardMb = Math.max(1, Math.floor(TOTAL_MB / SHARDS));
    for (let i = 0; i < SHARDS; i++) writeFileSync(join(dir, `model-0000${i + 1}-of-0000${SHARDS}.safetensors`), Buffer.concat(Array.from({ length: shardMb }, () => block)));
    writeFileSync(join(dir, 'config.json'), '{}');
    const files = await listModelFiles(dir, []);
    const paths = files.map((f) => f.path);
    const mb = files.reduce((s, f) => s + f.size, 0) / 1e6;
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const signer = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await sha256sum(paths); // warm the page cache: we measure hashing, not the disk
    const { bundle } = await signModel(dir, signer, { signaturePath: join(tmpdir(), 'unused.sig') });

    const rows: Record<string, number[]> = { seq: [], par: [], pool: [], one: [], bigSum: [], bigOurs: [], sign: [], verify: [] };
    for (let r = 0; r < ROUNDS; r++) {
      rows.seq!.push(await seconds(() => sha256sum(paths)));
      rows.par!.push(await seconds(() => Promise.all(paths.map((p) => sha256sum([p])))));
      rows.pool!.push(await seconds(() => hashFiles(files, { inlineBelowBytes: 0 })));
      rows.one!.push(await seconds(() => hashFiles(files, { inlineBelowBytes: 0, concurrency: 1 })));
      rows.bigSum!.push(await seconds(() => sha256sum([big.path])));
      rows.bigOurs!.push(await seconds(() => hashFiles([big], { inlineBelowBytes: 0 })));
      rows.sign!.push(await seconds(() => signModel(dir, signer, { signaturePath: join(tmpdir(), 'unused.sig') })));
      rows.verify!.push(await seconds(() => verifyModel(dir, bundle, signer.publicKey, { signaturePath: join(tmpdir(), 'unused.sig') })));
    }
    const m = (k: string) => median(rows[k]!);
    const t = { seq: m('seq'), par: m('par'), pool: m('pool'), one: m('one'), bigSum: m('bigSum'), bigOurs: m('bigOurs'), sign: m('sign'), verify: m('verify') };
    const rate = (s: number, m = mb) => (m / s).toFixed(0);
    const bigMb = big.size / 1e6;
    const line = (name: string, s: number, base: number, m = mb) => `| ${name} | ${rate(s, m)} | ${(base / s).toFixed(2)}× |`;
    const md = `## Workload plane: model hashing, sign and verify

Machine: ${machine()}; \`nproc\` = ${availableParallelism()}.
Model: ${SHARDS} shards × ${shardMb} MiB + config.json = ${mb.toFixed(0)} MB, page cache warm (we measure hashing, not the disk).
Median of ${ROUNDS} rounds. Ratios are against \`sha256sum\` (GNU coreutils) over the same files in the same run.

| what | MB/s | vs \`sha256sum\` (one process, files in sequence) |
|---|---:|---:|
| \`sha256sum\` all files, one process | ${rate(t.seq)} | 1.00× |
| \`sha256sum\`, one process per file, in parallel | ${rate(t.par)} | ${(t.seq / t.par).toFixed(2)}× |
| Warden hash pool, ${availableParallelism()} worker threads | ${rate(t.pool)} | ${(t.seq / t.pool).toFixed(2)}× |
| Warden hash pool, 1 worker thread | ${rate(t.one)} | ${(t.seq / t.one).toFixed(2)}× |
${line('`warden model sign` path (hash + statement + DSSE Ed25519)', t.sign, t.seq)}
${line('`warden model verify` path (DSSE verify + hash + compare)', t.verify, t.seq)}

One ${bigMb.toFixed(0)} MB file (SHA-256 of one file is sequential, so no parallelism is possible):

| what | MB/s | vs \`sha256sum\` |
|---|---:|---:|
| \`sha256sum\` | ${rate(t.bigSum, bigMb)} | 1.00× |
| Warden hash pool | ${rate(t.bigOurs, bigMb)} | ${(t.bigSum / t.bigOurs).toFixed(2)}× |

Reading: per core Warden hashes at OpenSSL speed (the worker streams 4 MiB chunks into node:crypto, which uses the CPU's
SHA extensions; this coreutils build runs at portable-C speed), so even one worker beats \`sha256sum\`. The pool's further gain is
bounded by the free cores: on this shared 2-core machine other jobs often hold one, and 2 workers can measure no faster than 1.
`;
    writeResult('workload', md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
