// Dataset hashing throughput (issue 15): `signDataset` (file digests and JSONL record leaves on the worker pool,
// the calling thread only cutting ranges and concatenating) against `sha256sum` over the same files, in MB/s, and the
// calling-thread reference path (`hashRecordFile`, what signDataset did for JSONL before) in the same run:
//   npx tsc -p tsconfig.json && node dist/bench/data-hash.js [MB per kind, default 256] (or `node dist/bench/run.js data-hash`)
// Writes bench/results/data-hash.md, with the poisoning screen's detection figures as its tests assert them.
// It writes two datasets to a temp dir: binary shards (4 files) and JSONL shards (4 files, ~200-byte records).
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDataset } from '../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../src/workload/signing/keys.js';
import { machine, writeResult } from './common.js';

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

async function measure(kind: string, dir: string, inlineBelowBytes: number): Promise<string> {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const s = await signDataset(dir, META, signer, { hash: { inlineBelowBytes } });
  const warden = (s.bytes / 1e6) / ((performance.now() - t0) / 1000);
  // How busy the calling thread (a gateway's event loop, when the admin API verifies) was meanwhile.
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const t1 = performance.now();
  const r = spawnSync('sh', ['-c', `sha256sum ${dir}/* > /dev/null`]);
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr.toString()}`);
  const ref = (s.bytes / 1e6) / ((performance.now() - t1) / 1000);
  return `| ${kind} | ${(s.bytes / 1e6).toFixed(0)} | ${s.records} | ${warden.toFixed(0)} | ${ref.toFixed(0)} | ${(warden / ref).toFixed(2)} | ${(busy * 100).toFixed(0)}% |`;
}

/** What test/data/screen/screen.test.ts asserts (not measured here; kept beside the hashing figures). */
const SCREEN = `**Screen detection** (not a benchmark: the figures are what \`test/data/screen/screen.test.ts\` asserts, on XSTest
v2, 450 real prompts labelled safe/unsafe, poisoned by the test; clean version = 10 rows dropped and reordered):

| poison | rate | records | found (with baseline) | found (no baseline) |
|---|---|---|---|---|
| none (clean version) | — | 440 | no alarm | no alarm (450-row original) |
| label flips | 1%, 3%, 10% | 4, 13, 44 | all, exactly the flipped records (\`label_changes\`) | not tested (flips are found only via duplicates) |
| backdoor trigger token, label forced to \`safe\` | 1%, 2%, 5% | 4, 9, 22 | yes (\`backdoor_triggers\`, lift ≥ 3 vs baseline) | no false token named |
| trigger forced to the minority label | 5% | 22 | — | yes (binomial tail / vocabulary) |
| trigger | 0.5% | 2 | no (below the minimum support of 3) | no |
| injected instructions | 3 records | 0.7% | exactly those 3 (\`injected_instructions\`) | — |
| exact + near duplicates with flipped labels | 2% + 1.3% | 9 + 6 | — | yes (\`exact_duplicates\`, \`near_duplicates\`, \`conflicting_labels\`) |
| longer texts (a third padded) | 33% | 147 | \`drift\` (PSI, KS) | \`outliers\` on text length |

False alarms on the clean versions: 0 of 9 checks. The injection detector scores one clean XSTest prompt 0.63
(0.2% of records), below the 0.5% rate threshold.`;

try {
  makeBinary(join(tmp, 'bin'));
  makeJsonl(join(tmp, 'jsonl'));
  const load = loadavg().map((l) => l.toFixed(1)).join(', ');
  const rows = [
    await measure('binary (pool)', join(tmp, 'bin'), 0),
    await measure('jsonl (pool: leaves in workers)', join(tmp, 'jsonl'), 0),
    await measure('jsonl (calling thread, the reference path)', join(tmp, 'jsonl'), Number.MAX_SAFE_INTEGER),
  ];
  writeResult(
    'data-hash',
    [
      '## Data plane: dataset hashing and the poisoning screen (issue 15)',
      '',
      `Run ${new Date().toISOString()} on ${machine()}, load average ${load} at the start (1, 5, 15 min): the machine is shared`,
      'with other sessions, so the absolute MB/s are low and noisy; the ratio is against one `sha256sum` process over the same',
      'four shards, measured right after each row in the same run. `node dist/bench/data-hash.js [MB]`: `signDataset` with',
      'file digests on the worker pool (one thread per core) and, for JSONL, the record leaves hashed in the workers too',
      '(each shard cut at record boundaries into ~16 MiB ranges), then each shard\'s root in a worker too; the calling thread',
      'only cuts the ranges and concatenates the leaves. The last',
      'row hashes the same JSONL on the calling thread (`hashRecordFile`, the reference the pool is tested against, and',
      'what JSONL shards used before). "Calling thread busy": its event-loop utilization during the row.',
      '',
      '| shards | MB | records | Warden MB/s | sha256sum MB/s | ratio | calling thread busy |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      SCREEN,
    ].join('\n'),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
