// `warden budgets show|set`: token and cost budgets over the admin API (what each has used and has left, and
// overrides of a budget's limits). Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = `usage: warden budgets <verb> [options]
  show [SCOPE ID] [--json]                      every budget (or one subject's: SCOPE is key, principal or tenant)
  set SCOPE ID WINDOW [--tokens N] [--cost X]   override a budget (WINDOW: day, week, month, lifetime; ID * is the
                                                scope's default; "none" lifts that limit)
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

interface Row {
  scope: string;
  id: string;
  window: string;
  limit: { tokens: number | null; cost: number | null };
  used: { tokens: number; cost: number };
  remaining: { tokens: number | null; cost: number | null };
  resetsAt: string | null;
  source: string;
}

function amount(v: string | undefined, what: 'tokens' | 'cost'): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'none') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (what === 'tokens' && !Number.isInteger(n))) throw new CliError(`--${what} must be ${what === 'tokens' ? 'a whole number' : 'a number'} ≥ 0, or none`, 2);
  return n;
}

const line = (r: Row) => {
  const part = (unit: 'tokens' | 'cost') => (r.limit[unit] === null ? null : `${unit} ${r.used[unit]}/${r.limit[unit]} (left ${r.remaining[unit]})`);
  return `${r.scope} ${r.id}  ${r.window}  ${[part('tokens'), part('cost')].filter(Boolean).join('  ')}  ${r.resetsAt ? `resets ${r.resetsAt}` : 'never resets'}  [${r.source}]`;
};

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, tokens: { type: 'string' }, cost: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  if (verb === 'show') {
    if (positionals.length !== 0 && positionals.length !== 2) throw new CliError(`show takes no argument, or SCOPE and ID\n${USAGE}`, 2);
    const o = adminClientOptions(values);
    const path = positionals.length ? `/admin/v1/budgets/${encodeURIComponent(positionals[0]!)}/${encodeURIComponent(positionals[1]!)}` : '/admin/v1/budgets';
    const r = (await adminCall(o, 'GET', path)) as { data: Row[] };
    process.stdout.write((values.json ? JSON.stringify(r.data, null, 2) : r.data.length ? r.data.map(line).join('\n') : '(no budgets)') + '\n');
    return 0;
  }
  if (verb === 'set') {
    if (positionals.length !== 3) throw new CliError(`set needs SCOPE ID WINDOW\n${USAGE}`, 2);
    const tokens = amount(values.tokens, 'tokens');
    const cost = amount(values.cost, 'cost');
    if (tokens === undefined && cost === undefined) throw new CliError('set needs --tokens, --cost or both', 2);
    const o = adminClientOptions(values);
    const [scope, id, window] = positionals as [string, string, string];
    const r = (await adminCall(o, 'PUT', `/admin/v1/budgets/${encodeURIComponent(scope)}/${encodeURIComponent(id)}/${encodeURIComponent(window)}`, {
      ...(tokens !== undefined ? { tokens } : {}),
      ...(cost !== undefined ? { cost } : {}),
    })) as { data: Row[] };
    process.stdout.write((values.json ? JSON.stringify(r.data, null, 2) : `set ${scope} ${id} ${window}\n${r.data.map(line).join('\n')}`) + '\n');
    return 0;
  }
  throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
}
