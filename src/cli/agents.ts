// `warden agents list|show|register|remove|approve-card` — the A2A agent registry over the admin API
// (docs/agents.md). Registering fetches and verifies the agent's card and pins its digest; a changed card
// quarantines the agent until `approve-card` names the digest the admin reviewed (`show` prints it).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';
import type { CliIo } from './approvals.js';

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const USAGE = `usage: warden agents <verb> [options]
  list [--json]
  show ID                               the agent, its pinned card digest and skills; when quarantined, the changed card
  register ID --url URL --grantees G1,G2 [--card-url URL] [--egress O1,O2] [--actions A1,A2] [--tenant T] [--card-keys JWKS.json]
  remove ID
  approve-card ID --digest D            re-approve the changed card you reviewed (ends the quarantine)
options: --data-dir DIR, --admin-url URL (credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN or --mfa-token-file)`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));

export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' }, url: { type: 'string' }, 'card-url': { type: 'string' }, grantees: { type: 'string' }, egress: { type: 'string' }, actions: { type: 'string' },
      tenant: { type: 'string' }, 'card-keys': { type: 'string' }, digest: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' },
    },
  });
  if (verb === undefined || verb === 'help' || verb === '--help') {
    io.out(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const o = adminClientOptions(values);
  const id = positionals[0];
  const path = (n: string) => `/admin/v1/agents/${encodeURIComponent(n)}`;
  switch (verb) {
    case 'list': {
      const r = (await adminCall(o, 'GET', '/admin/v1/agents')) as { data: { id: string; url: string; quarantined: boolean; card: { skills: { id: string }[] } }[] };
      if (values.json) io.out(JSON.stringify(r.data, null, 2) + '\n');
      else io.out(r.data.length ? r.data.map((a) => `${a.id}  ${a.url}  skills=${a.card.skills.map((s) => s.id).join(',')}${a.quarantined ? '  QUARANTINED' : ''}`).join('\n') + '\n' : 'no agents registered\n');
      return 0;
    }
    case 'show':
      if (!id) throw new CliError('show needs an agent id', 2);
      io.out(JSON.stringify(await adminCall(o, 'GET', path(id)), null, 2) + '\n');
      return 0;
    case 'register': {
      if (!id) throw new CliError('register needs an agent id', 2);
      if (!values.url) throw new CliError('--url is required: the agent\'s A2A JSON-RPC endpoint', 2);
      const grantees = list(values.grantees);
      if (!grantees?.length) throw new CliError('--grantees is required: the groups that may call the agent', 2);
      let cardKeys: unknown;
      if (values['card-keys']) {
        try {
          cardKeys = JSON.parse(readFileSync(values['card-keys'], 'utf8'));
        } catch (e) {
          throw new CliError(`cannot read the card keys ${values['card-keys']}: ${(e as Error).message}`, 2);
        }
      }
      const body = {
        id,
        url: values.url,
        grantees,
        ...(values['card-url'] ? { card_url: values['card-url'] } : {}),
        ...(values.egress ? { egress: list(values.egress) } : {}),
        ...(values.actions ? { actions: list(values.actions) } : {}),
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(cardKeys !== undefined ? { card_keys: cardKeys } : {}),
      };
      const a = (await adminCall(o, 'POST', '/admin/v1/agents', body)) as { id: string; card: { digest: string; skills: { id: string }[] } };
      io.out(`registered ${a.id}: card ${a.card.digest}, skills ${a.card.skills.map((s) => s.id).join(', ')}\n`);
      return 0;
    }
    case 'remove':
      if (!id) throw new CliError('remove needs an agent id', 2);
      await adminCall(o, 'DELETE', path(id));
      io.out(`removed ${id}\n`);
      return 0;
    case 'approve-card': {
      if (!id) throw new CliError('approve-card needs an agent id', 2);
      if (!values.digest) throw new CliError('--digest is required: the digest of the pending card (warden agents show ID)', 2);
      const a = (await adminCall(o, 'POST', `${path(id)}/card/approve`, { digest: values.digest })) as { card: { digest: string } };
      io.out(`approved the card of ${id}: pinned ${a.card.digest}\n`);
      return 0;
    }
    default:
      io.err(`warden agents: unknown verb ${JSON.stringify(verb)}\n${USAGE}\n`);
      return 2;
  }
}
