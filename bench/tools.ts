// Tools plane benchmark and evaluation: the attack suite's success rate (target 0), the benign completion
// rate (target ≥ 95%), how many BIPIA-poisoned documents the result policy withholds, and the cost of a
// mediated call (delegated token, ajv, PDP twice, per-call credential, egress guard, result inspection,
// ledger) against calling the same backend directly — the baseline, measured in the same run.
// Run: node dist/bench/tools.js (bounded: well under a minute).
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { FixedClock } from '../src/core/clock.js';
import { writeResult } from './common.js';
import { startToolsWorld } from '../test/tools/fixtures.js';
import { attackScenarios, benignScenarios, poisonedResults, type ScenarioResult } from '../test/tools/scenarios.js';

const CALLS = 300;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const w = await startToolsWorld();
  const clock = new FixedClock(Date.now());
  const x = await startToolsWorld({ clock });
  try {
    const attacks: ScenarioResult[] = await attackScenarios(w, { world: x, advance: (ms) => clock.advance(ms) });
    const benign = await benignScenarios(w, 40);
    const poison = await poisonedResults(w, 60);

    // Latency: sequential calls, mediated vs direct (same backend, same body; the direct call has no credential check to pass, so it gets a valid one).
    const token = await w.delegate(w.keys.alice, w.keys.agent, 'callTool', 3600);
    const mediated: number[] = [];
    for (let i = 0; i < 20; i++) await w.invoke(token, 'orders_lookup', { customer_id: 'alice' }); // warm-up
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      const r = await w.invoke(token, 'orders_lookup', { customer_id: 'alice' });
      mediated.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`mediated call failed: ${r.status}`);
    }
    const direct: number[] = [];
    // Direct baseline: a bare loopback HTTP round trip to the same backend (without a credential it
    // answers 401 at once, so this excludes even the backend's JWT check): what a call costs without Warden.
    for (let i = 0; i < 20; i++) await (await request(`${w.backendUrl}/orders`, { method: 'POST', body: '{"customer_id":"alice"}', headers: { 'content-type': 'application/json' } })).body.text();
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      const r = await request(`${w.backendUrl}/orders`, { method: 'POST', body: '{"customer_id":"alice"}', headers: { 'content-type': 'application/json' } });
      await r.body.text();
      direct.push(performance.now() - t0);
    }

    const atk = attacks.filter((r) => r.succeeded).length;
    const ok = benign.filter((r) => r.succeeded && r.recorded).length;
    const recorded = attacks.filter((r) => r.recorded).length;
    const nproc = execFileSync('nproc').toString().trim();
    const lines = [
      '## Tools plane (issue 7)',
      '',
      `Run ${new Date().toISOString()} · nproc ${nproc} · Node ${process.version} · \`node dist/bench/tools.js\``,
      '',
      '| measure | result | target |',
      '|---|---|---|',
      `| attack success rate | **${atk}/${attacks.length} (${((100 * atk) / attacks.length).toFixed(1)}%)** | 0 |`,
      `| attacks refused and recorded in the ledger | ${recorded}/${attacks.length} | all |`,
      `| benign completion rate | **${ok}/${benign.length} (${((100 * ok) / benign.length).toFixed(1)}%)** | ≥ 95% |`,
      `| BIPIA-poisoned documents withheld by result policy (detector > 0.9) | ${poison.withheld}/${poison.total} (${((100 * poison.withheld) / poison.total).toFixed(0)}%) | (detection only; the structural controls above do not depend on it) |`,
      '',
      'Attack scenarios (the simulated agent obeys every injected instruction; success = the harmful side effect happened):',
      '',
      '| attack | succeeded | stopped by |',
      '|---|---|---|',
      ...attacks.map((r) => `| ${r.name} | ${r.succeeded ? 'YES' : 'no'} | \`${r.blockedBy ?? '-'}\` |`),
      '',
      `Cost of mediation, ${CALLS} sequential calls of \`orders_lookup\` over loopback (one warm-up of 20 each):`,
      '',
      '| path | p50 ms | p99 ms |',
      '|---|---|---|',
      `| direct plain-HTTP round trip to the backend (baseline, same run; no TLS, no credential check) | ${pct(direct, 50).toFixed(2)} | ${pct(direct, 99).toFixed(2)} |`,
      `| through Warden /v1/tools/{name}/invoke (TLS, JIT token, ajv, PDP ×2, credential, egress guard, inspection, ledger) | ${pct(mediated, 50).toFixed(2)} | ${pct(mediated, 99).toFixed(2)} |`,
      `| ratio mediated / direct (p50) | ${(pct(mediated, 50) / pct(direct, 50)).toFixed(1)}× | |`,
      '',
    ];
    writeResult('tools', lines.join('\n'));
  } finally {
    await w.stop();
    await x.stop();
  }
}

await main();
