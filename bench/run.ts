// `npm run bench`: runs every benchmark (each bounded in time) and assembles bench/RESULTS.md from
// bench/results/*.md, with the machine and date on top. `node dist/bench/run.js AREA...` runs only those
// areas (e.g. `gateway`). The gateway CPU profile runs only when named (`gateway-profile`) or with
// BENCH_PROFILE=1, because the profiler slows the gateway it measures. BENCH_ASSEMBLE_ONLY=1 only reassembles.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machine } from './common.js';

const AREAS = ['gateway', 'gateway-cpu', 'gateway-alloc', 'gateway-profile', 'gateway-notes', 'identity', 'ledger', 'policy', 'inspect', 'workload', 'attest', 'tools', 'sandbox', 'budgets', 'data-hash', 'retrieval', 'monitor-admission'];
const ON_REQUEST = new Set(['gateway-profile']);
const only = process.argv.slice(2);
const unknown = only.filter((a) => !AREAS.includes(a));
if (unknown.length) {
  process.stderr.write(`bench: unknown area ${unknown.join(', ')} (areas: ${AREAS.join(', ')})\n`);
  process.exit(2);
}
const failed: string[] = [];
// BENCH_ASSEMBLE_ONLY=1: rebuild RESULTS.md from bench/results/*.md without running anything (after a merge).
for (const area of process.env.BENCH_ASSEMBLE_ONLY === '1' ? [] : AREAS) {
  if (only.length && !only.includes(area)) continue;
  if (!only.length && ON_REQUEST.has(area) && process.env.BENCH_PROFILE !== '1') continue;
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
const gatewaySummary = existsSync('bench/results/gateway.md')
  ? readFileSync('bench/results/gateway.md', 'utf8').split('\n').find((l) => l.startsWith('**Gateway summary'))
  : undefined;
const header = [
  '# Benchmark results',
  '',
  `Assembled ${new Date().toISOString()} on ${machine()}.`,
  'Each section below was produced by `npm run bench` (or the section\'s own command) and names its own run date;',
  'this machine is shared and noisy, so every figure that matters is a ratio against a baseline measured in the same run.',
  '',
  // The gateway's headline figures (the request-path targets), copied from its section.
  ...(gatewaySummary ? [gatewaySummary, ''] : []),
].join('\n');
writeFileSync('bench/RESULTS.md', header + '\n' + parts.join('\n\n') + '\n');
if (failed.length) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
