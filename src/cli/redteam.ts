// `warden redteam run|history|show|attacks`: the continuous red team (monitor.redteam, docs/monitor.md "Red
// team") through the admin API (WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN). `run` starts a run on
// the gateway and waits for it (polling), then prints attack success per model and kind.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { KindSummary, RedTeamRun } from '../monitor/redteam/runner.js';
import type { RunSummary } from '../monitor/redteam/service.js';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';
import { UsageError, verbMain } from './verb-main.js';

const USAGE = `usage: warden redteam <verb> [options]
  run [--model M]... [--kind K]... [--timeout SECONDS] [--json]
                      attack the configured models now (as monitor.redteam.principal) and print the results
  history [--json]    every run kept: when, policy version, attempts, blocked, succeeded
  show RUN_ID [--json] one run with every attack's outcome
  attacks [--json]    the attack suite (id, kind, what it tries)
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);

function table(summary: readonly KindSummary[]): string {
  const rows = summary.map((s) => [s.model, s.kind, String(s.attempts), String(s.blocked), String(s.resisted), String(s.succeeded), String(s.errors), pct(s.successRate)]);
  const head = ['MODEL', 'KIND', 'ATTEMPTS', 'BLOCKED', 'RESISTED', 'SUCCEEDED', 'ERRORS', 'SUCCESS'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [head, ...rows].map((r) => r.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function main(args: string[]): Promise<number> {
  return verbMain('redteam', USAGE, args, run);
}

async function run(verb: string | undefined, rest: string[]): Promise<number> {
  if (verb === undefined) throw new UsageError('give a verb');
  if (!['run', 'history', 'show', 'attacks'].includes(verb)) throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      model: { type: 'string', multiple: true },
      kind: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      'data-dir': { type: 'string' },
      'admin-url': { type: 'string' },
      'mfa-token-file': { type: 'string' },
    },
  });
  const out = (s: string) => process.stdout.write(s + '\n');
  const o = adminClientOptions(values);
  if (verb === 'attacks') {
    const r = (await adminCall(o, 'GET', '/admin/v1/redteam/attacks')) as { data: { id: string; kind: string; title: string }[] };
    out(values.json ? JSON.stringify(r.data, null, 2) : r.data.map((a) => `${a.id.padEnd(26)}  ${a.kind.padEnd(18)}  ${a.title}`).join('\n'));
    return 0;
  }
  if (verb === 'history') {
    const r = (await adminCall(o, 'GET', '/admin/v1/redteam/runs')) as { data: RunSummary[]; running: string | null };
    if (values.json) {
      out(JSON.stringify(r, null, 2));
      return 0;
    }
    const lines = r.data.map((h) => `${h.id}  ${h.startedAt}  policy ${h.policyVersion}  ${h.attempts} attack(s): ${h.blocked} blocked, ${h.succeeded} succeeded`);
    if (r.running) lines.push(`${r.running}  running`);
    out(lines.length ? lines.join('\n') : '(no red-team runs yet)');
    return 0;
  }
  if (verb === 'show') {
    if (!positionals[0]) throw new CliError('show needs a run id as `warden redteam history` prints it (rt_…)', 2);
    const r = (await adminCall(o, 'GET', `/admin/v1/redteam/runs/${encodeURIComponent(positionals[0])}`)) as RedTeamRun | { id: string; status: string };
    if (values.json || !('results' in r)) {
      out(JSON.stringify(r, null, 2));
      return 0;
    }
    out(`${r.id}  ${r.startedAt} – ${r.finishedAt}  principal ${r.principal}  policy ${r.policyVersion}\n\n${table(r.summary)}\n`);
    out(r.results.map((x) => `${x.outcome.toUpperCase().padEnd(9)}  ${x.model}  ${x.attack}${x.code ? `  (${x.status} ${x.code})` : ''}`).join('\n'));
    return 0;
  }
  if (verb === 'run') {
    const timeoutS = values.timeout === undefined ? 600 : Number(values.timeout);
    if (!(Number.isFinite(timeoutS) && timeoutS > 0)) throw new CliError(`--timeout must be a positive number of seconds, got ${values.timeout}`, 2);
    const started = (await adminCall(o, 'POST', '/admin/v1/redteam/runs', { ...(values.model ? { models: values.model } : {}), ...(values.kind ? { kinds: values.kind } : {}) })) as { id: string };
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const r = (await adminCall(o, 'GET', `/admin/v1/redteam/runs/${encodeURIComponent(started.id)}`)) as RedTeamRun | { id: string; status: 'running' } | { id: string; status: 'failed'; error: { code: string; message: string } };
      if ('results' in r) {
        out(values.json ? JSON.stringify(r, null, 2) : `red-team run ${r.id} (policy ${r.policyVersion})\n${table(r.summary)}`);
        // Exit 3 when an attack worked: a scheduler or CI job can act on it.
        return r.results.some((x) => x.outcome === 'succeeded') ? 3 : 0;
      }
      if (r.status === 'failed') throw new CliError(`run ${r.id} failed: ${r.error.code}: ${r.error.message}`);
      if (Date.now() > deadline) throw new CliError(`run ${started.id} still running after ${timeoutS} s (see: warden redteam show ${started.id})`);
      await sleep(500);
    }
  }
  throw new UsageError(`unknown verb ${JSON.stringify(verb)}`); // not reached: checked above
}
