// `warden monitor list|reset`: the monitor plane over the admin API (what it sees of each principal, and an
// operator's reset after review). Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = `usage: warden monitor <verb> [options]
  list [--json]            principals by risk: signals in the window, throttled, revoked credentials
  reset KEY                forget a principal (KEY as listed: tenant/kind:id), lifting its throttle
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

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
    options: { json: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
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
  if (verb === 'reset') {
    if (!positionals[0]) throw new CliError('reset needs the principal key as `warden monitor list` shows it (tenant/kind:id)', 2);
    await adminCall(o, 'POST', `/admin/v1/monitor/${encodeURIComponent(positionals[0])}/reset`, {});
    process.stdout.write(`reset ${positionals[0]}\n`);
    return 0;
  }
  throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
}
