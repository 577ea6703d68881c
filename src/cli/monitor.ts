// `warden monitor list|reset|drift`: the monitor plane over the admin API (what it sees of each principal, an
// operator's reset after review, and each deployment's answer profile with its approval). Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError, readInputFile } from './admin-client.js';

const USAGE = `usage: warden monitor <verb> [options]
  list [--json]            principals by risk: signals in the window, throttled, revoked credentials
  reset KEY                forget a principal (KEY as listed: tenant/kind:id), lifting its throttle
  drift [list] [--json]    each deployment's answer profile (and each model's inputs): phase, answers, PSI
  drift approve ID [--from answers.jsonl] [--model M]
                           approve ID's learnt baseline, or make the answers in the file (one a line: a JSON
                           string, {"text"}, or a chat/completions response) its approved baseline
  drift relearn ID         learn ID's baseline again from its next answers
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

interface DriftRow {
  deployment: string;
  model: string;
  phase: string;
  baselineAnswers: number;
  windowAnswers: number;
  psi: number | null;
  feature: string | null;
  approvedBy: string | null;
}

/** The answer set of `--from`: one JSON value a line (blank lines skipped); a line that is not JSON names itself. */
function readAnswers(file: string): unknown[] {
  const out: unknown[] = [];
  readInputFile(file, 'the answer set')
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new CliError(`${file}:${i + 1}: not a JSON value (each line is an answer: a JSON string, {"text": …}, or a chat/completions response)`, 2);
      }
    });
  return out;
}

async function driftVerb(o: ReturnType<typeof adminClientOptions>, positionals: string[], values: { json?: boolean; from?: string; model?: string }): Promise<number> {
  const [sub = 'list', id] = positionals;
  if (sub === 'list') {
    const r = (await adminCall(o, 'GET', '/admin/v1/monitor/drift')) as { data: DriftRow[]; inputs: DriftRow[] };
    const line = (x: DriftRow) => `${x.deployment}  ${x.model}  ${x.phase}  baseline=${x.baselineAnswers} window=${x.windowAnswers}${x.psi === null ? '' : `  psi=${x.psi} (${x.feature})`}${x.approvedBy ? `  approved by ${x.approvedBy}` : ''}`;
    const rows = [...r.data, ...r.inputs];
    process.stdout.write((values.json ? JSON.stringify(r, null, 2) : rows.length ? rows.map(line).join('\n') : '(no profiles)') + '\n');
    return 0;
  }
  if (sub !== 'approve' && sub !== 'relearn') throw new CliError(`unknown drift verb ${JSON.stringify(sub)}\n${USAGE}`, 2);
  if (!id) throw new CliError(`drift ${sub} needs the deployment id as \`warden monitor drift\` lists it`, 2);
  if (sub === 'relearn') {
    await adminCall(o, 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/relearn`, {});
    process.stdout.write(`relearning ${id}\n`);
    return 0;
  }
  const body = { ...(values.from ? { answers: readAnswers(values.from) } : {}), ...(values.model ? { model: values.model } : {}) };
  const r = (await adminCall(o, 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/approve`, body)) as { phase: string; baselineAnswers: number };
  process.stdout.write(`approved ${id}: ${r.baselineAnswers} answers, ${r.phase}\n`);
  return 0;
}

interface Row {
  principal: string;
  risk: number;
  signals: { requests: number; denials: number; injections: number; secrets: number };
  throttled: boolean;
  revoked: string[];
}

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, from: { type: 'string' }, model: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  const o = adminClientOptions(values);
  if (verb === 'list') {
    const r = (await adminCall(o, 'GET', '/admin/v1/monitor')) as { data: Row[] };
    const line = (x: Row) =>
      `${x.principal}  risk=${x.risk.toFixed(3)}  requests=${x.signals.requests} denials=${x.signals.denials} injections=${x.signals.injections} secrets=${x.signals.secrets}` +
      `${x.throttled ? '  THROTTLED' : ''}${x.revoked.length ? `  revoked=${x.revoked.join(',')}` : ''}`;
    process.stdout.write((values.json ? JSON.stringify(r.data, null, 2) : r.data.length ? r.data.map(line).join('\n') : '(nothing observed)') + '\n');
    return 0;
  }
  if (verb === 'drift') return driftVerb(o, positionals, values);
  if (verb === 'reset') {
    if (!positionals[0]) throw new CliError('reset needs the principal key as `warden monitor list` shows it (tenant/kind:id)', 2);
    await adminCall(o, 'POST', `/admin/v1/monitor/${encodeURIComponent(positionals[0])}/reset`, {});
    process.stdout.write(`reset ${positionals[0]}\n`);
    return 0;
  }
  throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
}
