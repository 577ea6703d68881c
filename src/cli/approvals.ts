// `warden approvals list|show|approve|deny` — human in the loop for held tool calls, over the admin API.
// Approving needs recent MFA: pass a fresh token of your own (OIDC, amr mfa) with --mfa-token-file or
// WARDEN_MFA_TOKEN; it is sent as the RFC 9470 step-up proof, never on the command line.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const USAGE = `usage: warden approvals <verb> [options]
  list [--status pending|approved|denied|consumed] [--tool NAME] [--requester ID] [--newest-first]
       [--limit N] [--cursor C | --all] [--json]   oldest first, one page (default 50) unless --all
  show ID
  approve ID [--reason TEXT] [--mfa-token-file FILE]
  deny ID [--reason TEXT] [--mfa-token-file FILE]
options: --data-dir DIR, --admin-url URL (credential: WARDEN_ADMIN_KEY; MFA proof: WARDEN_MFA_TOKEN or --mfa-token-file)`;

interface ApprovalJson {
  id: string; tool: string; requester: string; agent: string | null; status: string; expires_at: string; arguments: unknown; decided_by: string | null;
}

function line(a: ApprovalJson): string {
  return `${a.id}  ${a.status.padEnd(8)}  ${a.tool}  requester=${a.requester}${a.agent ? ` agent=${a.agent}` : ''}  expires=${a.expires_at}  args=${JSON.stringify(a.arguments)}`;
}

export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      tool: { type: 'string' },
      requester: { type: 'string' },
      'newest-first': { type: 'boolean' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      reason: { type: 'string' },
      'mfa-token-file': { type: 'string' },
      'data-dir': { type: 'string' },
      'admin-url': { type: 'string' },
    },
  });
  if (verb === undefined || verb === 'help' || verb === '--help') {
    io.out(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const o = adminClientOptions(values);
  const id = positionals[0];
  switch (verb) {
    case 'list': {
      if (values.all && values.cursor) throw new CliError('--all and --cursor do not go together', 2);
      const q = new URLSearchParams();
      if (values.status) q.set('status', values.status);
      if (values.tool) q.set('tool', values.tool);
      if (values.requester) q.set('requester', values.requester);
      if (values['newest-first']) q.set('order', 'newest');
      if (values.limit) q.set('limit', values.limit);
      let cursor = values.cursor ?? null;
      const shown: ApprovalJson[] = [];
      // --all follows the cursors to the end; otherwise one page, and the command for the next one.
      for (;;) {
        if (cursor) q.set('cursor', cursor);
        const r = (await adminCall(o, 'GET', `/admin/v1/approvals?${q.toString()}`)) as { data: ApprovalJson[]; next_cursor: string | null };
        shown.push(...r.data);
        cursor = r.next_cursor;
        if (!values.all || !cursor) break;
      }
      if (values.json) io.out(JSON.stringify(shown, null, 2) + '\n');
      else io.out(shown.length ? shown.map(line).join('\n') + '\n' : 'no approval requests\n');
      if (cursor && !values.all) io.err(`more: warden approvals list --cursor ${cursor} (same filters), or --all\n`);
      return 0;
    }
    case 'show': {
      if (!id) throw new CliError('show needs an approval id', 2);
      io.out(JSON.stringify(await adminCall(o, 'GET', `/admin/v1/approvals/${encodeURIComponent(id)}`), null, 2) + '\n');
      return 0;
    }
    case 'approve':
    case 'deny': {
      if (!id) throw new CliError(`${verb} needs an approval id`, 2);
      // The step-up token (WARDEN_MFA_TOKEN or --mfa-token-file) travels as the Warden-MFA-Token header.
      const body = values.reason ? { reason: values.reason } : {};
      const a = (await adminCall(o, 'POST', `/admin/v1/approvals/${encodeURIComponent(id)}/${verb}`, body)) as ApprovalJson;
      io.out(`${verb === 'approve' ? 'approved' : 'denied'}: ${line(a)}\n`);
      return 0;
    }
    default:
      io.err(`warden approvals: unknown verb ${JSON.stringify(verb)}\n${USAGE}\n`);
      return 2;
  }
}
