// `npm run bench`: runs every benchmark (each bounded in time) and assembles bench/RESULTS.md from
// bench/results/*.md, with the machine and date on top.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machine } from './common.js';

const AREAS = ['gateway', 'gateway-notes', 'identity', 'ledger', 'policy', 'inspect', 'workload', 'attest', 'tools'];
const only = process.argv.slice(2);
const failed: string[] = [];
for (const area of AREAS) {
  if (only.length && !only.includes(area)) continue;
  const file = `dist/bench/${area}.js`;
  if (!existsSync(file)) continue;
  process.stdout.write(`\n=== bench: ${area} ===\n`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', timeout: 20 * 60_000 });
  if (r.status !== 0) failed.push(area);
}
const parts = existsSync('bench/results')
  ? readdirSync('bench/results')
      .filter((f) => f.endsWith('.md'))
      .sort((a, b) => AREAS.indexOf(a.replace(/\.md$/, '')) - AREAS.indexOf(b.replace(/\.md$/, '')))
      .map((f) => readFileSync(`bench/results/${f}`, 'utf8').trim())
  : [];
const header = [
  '# Benchmark results',
  '',
  `Assembled ${new Date().toISOString()} on ${machine()}.`,
  'Each section below was produced by `npm run bench` (or the section\'s own command) and names its own run date;',
  'this machine is shared and noisy, so every figure that matters is a ratio against a baseline measured in the same run.',
  '',
].join('\n');
writeFileSync('bench/RESULTS.md', header + '\n' + parts.join('\n\n') + '\n');
if (failed.length) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
