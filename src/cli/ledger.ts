// `warden ledger search`: the ledger's entries by principal, model, decision and time, through the admin API
// (GET /admin/v1/audit/entries: readAudit, and the search itself is a ledger entry). Newest first; a search
// reads at most 20,000 entries per call and prints the cursor to continue from (--before).
// `warden ledger key list|rotate`: the ledger's signing key and the keys it replaced (GET /audit/v1/keys), and
// a rotation through the admin API (POST /admin/v1/ledger/key/rotate: manageKeys on System::"ledger-key"), or
// `--offline` on a stopped Warden's data dir (how replicas sharing one log switch together; docs/ledger.md).
// Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { loadLedgerKeyRing, rotateLedgerKey } from '../ledger/key-ring.js';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = `usage: warden ledger search [--principal ID] [--model NAME] [--decision allow|deny|error] [--flag LABEL]
                             [--since ISO] [--until ISO] [--limit N] [--before INDEX] [--json]
       warden ledger key list [--vkeys] [--json]
       warden ledger key rotate [--overlap 30d] [--reason TEXT]
       warden ledger key rotate --offline --data-dir DIR [--overlap 30d]   (Warden stopped)
options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE`;

const CLIENT = { 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } } as const;

interface KeyHistory { vkey: string; kid: string; status: string; since: string | null; retiredAt?: string; overlapUntil?: string }

async function keyVerb(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'list') {
    const { values } = parseArgs({ args: rest, options: { ...CLIENT, vkeys: { type: 'boolean' }, json: { type: 'boolean' } } });
    const r = (await adminCall(adminClientOptions(values), 'GET', '/audit/v1/keys')) as { history: KeyHistory[] };
    if (values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    // One vkey per line: what `warden audit verify --key FILE` and `warden receipt verify --key FILE` read.
    else if (values.vkeys) process.stdout.write(r.history.map((h) => h.vkey).join('\n') + '\n');
    else process.stdout.write(r.history.map((h) => `${h.status.padEnd(9)}  ${h.vkey}  since ${h.since ?? '?'}${h.retiredAt ? `  replaced ${h.retiredAt}, co-signed until ${h.overlapUntil}` : ''}`).join('\n') + '\n');
    return 0;
  }
  if (verb === 'rotate') {
    const { values } = parseArgs({ args: rest, options: { ...CLIENT, overlap: { type: 'string' }, reason: { type: 'string' }, offline: { type: 'boolean' } } });
    if (values.offline) {
      if (!values['data-dir']) throw new CliError(`--offline needs --data-dir DIR (the data dir of a stopped Warden)\n${USAGE}`, 2);
      if (values.reason !== undefined) throw new CliError('--reason is recorded by a running Warden; offline, the next start does not know it', 2);
      const dir = resolve(values['data-dir']);
      const now = systemClock.now();
      let overlapMs: number;
      try {
        overlapMs = parseDuration(values.overlap ?? '30d', '--overlap');
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
      const ring = rotateLedgerKey(dir, loadLedgerKeyRing(dir, now), now, overlapMs);
      process.stdout.write(`rotated: the ledger key is now ${ring.current.vkey}\nreplaced: ${ring.previous[0]!.vkey} (co-signs until ${new Date(ring.previous[0]!.overlapUntil).toISOString()})\n` +
        `replicas sharing this log: copy ledger-key.pem, ledger-key.previous.pem (if present) and ledger-keys.json from ${dir} to each replica's data dir before starting them\n`);
      return 0;
    }
    const body = { ...(values.overlap !== undefined ? { overlap: values.overlap } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) };
    const r = (await adminCall(adminClientOptions(values), 'POST', '/admin/v1/ledger/key/rotate', body)) as { previous: string; current: string; overlapUntil: string };
    process.stdout.write(`rotated: the ledger key is now ${r.current}\nreplaced: ${r.previous} (co-signs until ${r.overlapUntil})\n`);
    return 0;
  }
  throw new CliError(`unknown verb ledger key ${JSON.stringify(verb ?? '')}\n${USAGE}`, 2);
}

interface Found { index: number; entry: { time: string; principal: { id: string } | null; action: string; resource: { type: string; id: string } | null; decision: string; status: number; errorCode?: string; details?: { flags?: string } } }

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb === 'key') return keyVerb(rest);
  if (verb !== 'search') throw new CliError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`, 2);
  const { values } = parseArgs({
    args: rest,
    options: {
      principal: { type: 'string' }, model: { type: 'string' }, decision: { type: 'string' }, flag: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
      limit: { type: 'string' }, before: { type: 'string' }, json: { type: 'boolean' },
      'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' },
    },
  });
  const q = new URLSearchParams();
  for (const k of ['principal', 'model', 'decision', 'flag', 'since', 'until', 'limit', 'before'] as const) if (values[k] !== undefined) q.set(k, values[k]);
  const r = (await adminCall(adminClientOptions(values), 'GET', `/admin/v1/audit/entries${q.size ? `?${q}` : ''}`)) as { data: Found[]; next_before: number | null; scanned: number };
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const line = ({ index, entry: e }: Found) =>
    `${index}  ${e.time}  ${e.principal?.id ?? '-'}  ${e.action}  ${e.resource ? `${e.resource.type}::${e.resource.id}` : '-'}  ${e.decision} ${e.status}${e.errorCode ? ` ${e.errorCode}` : ''}${e.details?.flags ? `  flags=${e.details.flags}` : ''}`;
  process.stdout.write((r.data.length ? r.data.map(line).join('\n') : '(no matching entries)') + '\n');
  if (r.next_before !== null) process.stdout.write(`(read ${r.scanned} entries; older ones: --before ${r.next_before})\n`);
  return 0;
}
