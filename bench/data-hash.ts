// Dataset hashing throughput (issue 15): `signDataset` (file digests on the worker pool, JSONL record trees on
// the main thread in the same read) against `sha256sum` over the same files, in MB/s. Run on a quiet machine:
//   npx tsc -p tsconfig.json && node dist/bench/data-hash.js [MB per kind, default 256]
// It writes two datasets to a temp dir: binary shards (4 files) and JSONL shards (4 files, ~200-byte records).
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDataset } from '../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../src/workload/signing/keys.js';

const mb = Number(process.argv[2] ?? 256);
const tmp = mkdtempSync(join(tmpdir(), 'warden-bench-data-'));
const signer = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const META = { name: 'bench', version: '1', source: 'bench', owner: 'bench', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P1D' };

function makeBinary(dir: string): void {
  mkdirSync(dir);
  for (let i = 0; i < 4; i++) writeFileSync(join(dir, `shard-${i}.bin`), randomBytes((mb / 4) * 1024 * 1024));
}

function makeJsonl(dir: string): void {
  mkdirSync(dir);
  const line = (i: number) => JSON.stringify({ text: `record ${i} ${randomBytes(70).toString('hex')}`, label: i % 2 ? 'a' : 'b' }) + '\n';
  const perFile = Math.round(((mb / 4) * 1024 * 1024) / line(0).length);
  for (let f = 0; f < 4; f++) writeFileSync(join(dir, `shard-${f}.jsonl`), Array.from({ length: perFile }, (_, i) => line(i)).join(''));
}

async function measure(kind: string, dir: string): Promise<void> {
  const t0 = performance.now();
  const s = await signDataset(dir, META, signer, { hash: { inlineBelowBytes: 0 } });
  const warden = (s.bytes / 1e6) / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  const r = spawnSync('sh', ['-c', `sha256sum ${dir}/* > /dev/null`]);
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr.toString()}`);
  const ref = (s.bytes / 1e6) / ((performance.now() - t1) / 1000);
  console.log(`${kind.padEnd(7)} ${(s.bytes / 1e6).toFixed(0)} MB, ${s.records} records: warden ${warden.toFixed(0)} MB/s, sha256sum (one process) ${ref.toFixed(0)} MB/s, ratio ${(warden / ref).toFixed(2)}`);
}

try {
  makeBinary(join(tmp, 'bin'));
  makeJsonl(join(tmp, 'jsonl'));
  await measure('binary', join(tmp, 'bin'));
  await measure('jsonl', join(tmp, 'jsonl'));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
