// `warden ledger search`: the ledger's entries by principal, model, decision and time, through the admin API
// (GET /admin/v1/audit/entries: readAudit, and the search itself is a ledger entry). Newest first; a search
// reads at most 20,000 entries per call and prints the cursor to continue from (--before).
// Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = `usage: warden ledger search [--principal ID] [--model NAME] [--decision allow|deny|error] [--since ISO] [--until ISO]
                             [--limit N] [--before INDEX] [--json]
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

interface Found { index: number; entry: { time: string; principal: { id: string } | null; action: string; resource: { type: string; id: string } | null; decision: string; status: number; errorCode?: string } }

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'search') throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
  const { values } = parseArgs({
    args: rest,
    options: {
      principal: { type: 'string' }, model: { type: 'string' }, decision: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
      limit: { type: 'string' }, before: { type: 'string' }, json: { type: 'boolean' },
      'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' },
    },
  });
  const q = new URLSearchParams();
  for (const k of ['principal', 'model', 'decision', 'since', 'until', 'limit', 'before'] as const) if (values[k] !== undefined) q.set(k, values[k]);
  const r = (await adminCall(adminClientOptions(values), 'GET', `/admin/v1/audit/entries${q.size ? `?${q}` : ''}`)) as { data: Found[]; next_before: number | null; scanned: number };
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const line = ({ index, entry: e }: Found) =>
    `${index}  ${e.time}  ${e.principal?.id ?? '-'}  ${e.action}  ${e.resource ? `${e.resource.type}::${e.resource.id}` : '-'}  ${e.decision} ${e.status}${e.errorCode ? ` ${e.errorCode}` : ''}`;
  process.stdout.write((r.data.length ? r.data.map(line).join('\n') : '(no matching entries)') + '\n');
  if (r.next_before !== null) process.stdout.write(`(read ${r.scanned} entries; older ones: --before ${r.next_before})\n`);
  return 0;
}
