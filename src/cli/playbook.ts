// `warden playbook list|revert|simulate`: response playbooks (monitor.playbooks). `list` and `revert` go
// through the admin API (WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN); `simulate` is offline: it
// replays scripted traffic (JSON lines, see src/monitor/simulate.ts) against the config's playbooks, all
// in dry run, and prints what would have fired.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { simulatePlaybooks, SimulationInputError } from '../monitor/simulate.js';
import type { StepRecord } from '../monitor/playbooks.js';
import { adminCall, adminClientOptions, CliError, readInputFile } from './admin-client.js';

const USAGE = `usage: warden playbook <verb> [options]
  list [--json]                              the configured playbooks and the steps they ran (newest first)
  revert STEP_ID                             undo a step (step-up, throttle, credential suspension)
  simulate --config warden.yaml --traffic F  replay scripted traffic (JSON lines; - for stdin) in dry run
           [--json]                          and report which playbooks would have fired, and when
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, config: { type: 'string' }, traffic: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  if (verb === 'simulate') {
    if (!values.traffic) throw new CliError('simulate needs --traffic FILE (JSON lines; - for stdin)', 2);
    const config = loadConfig(values.config);
    if (config.monitor.playbooks.length === 0) throw new CliError('the config declares no monitor.playbooks to simulate', 2);
    const text = readInputFile(values.traffic === '-' ? 0 : values.traffic, 'the traffic file').toString('utf8');
    let report;
    try {
      report = await simulatePlaybooks(config.monitor, config.monitor.playbooks, text);
    } catch (e) {
      if (e instanceof SimulationInputError) throw new CliError(`${values.traffic}: ${e.message}`, 2);
      throw e;
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    const out = [`replayed ${report.lines} line(s): ${report.principals} principal(s), ${report.deployments} deployment(s) (dry run: nothing was done)`];
    for (const [name, b] of Object.entries(report.byPlaybook)) out.push(`${name}  ${b.steps ? `would fire: ${b.steps} step(s), first at +${b.firstAt} ms` : 'would not fire'}`);
    for (const f of report.fired) out.push(`  +${f.at} ms (line ${f.line})  ${f.playbook}  ${f.step}  ${f.subject}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  }
  const o = adminClientOptions(values);
  if (verb === 'list') {
    const r = (await adminCall(o, 'GET', '/admin/v1/playbooks')) as { playbooks: { name: string; dryRun?: boolean }[]; steps: StepRecord[] };
    if (values.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return 0;
    }
    const lines = r.playbooks.map((p) => `playbook ${p.name}${p.dryRun ? ' (dry run)' : ''}`);
    for (const s of r.steps) {
      const state = s.dryRun ? 'DRY-RUN' : s.revertedAt !== null ? 'REVERTED' : s.done ? 'DONE' : 'NOT DONE';
      lines.push(`${s.id}  ${new Date(s.at).toISOString()}  ${s.playbook}  ${s.step}  ${s.subject}  ${state}${s.reversible && s.revertedAt === null ? '  (revertible)' : ''}`);
    }
    process.stdout.write((lines.length ? lines.join('\n') : '(no playbooks configured)') + '\n');
    return 0;
  }
  if (verb === 'revert') {
    if (!positionals[0]) throw new CliError('revert needs the step id as `warden playbook list` shows it (pbs_…)', 2);
    await adminCall(o, 'POST', `/admin/v1/playbooks/steps/${encodeURIComponent(positionals[0])}/revert`, {});
    process.stdout.write(`reverted ${positionals[0]}\n`);
    return 0;
  }
  throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
}
