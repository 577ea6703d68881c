// `warden tools list|show|create|update|delete|definition|approve-definition|quarantine|release` — the tool registry over the admin API. Definitions are
// JSON or YAML files in the admin API's shape (name, description, input_schema, risk, needs_approval,
// backend, egress, grantees, tenant); docs/tools.md describes every field.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';
import type { CliIo } from './approvals.js';

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const USAGE = `usage: warden tools <verb> [options]
  list [--json]
  show NAME
  create --file DEF.{json,yaml}
  update NAME --file DEF.{json,yaml} [--expected-version N]
  delete NAME
  definition NAME                      the pinned MCP definition; when quarantined, the changed one and the diff
  approve-definition NAME --digest D   re-approve the changed definition you reviewed (ends the quarantine)
  quarantine NAME --reason TEXT        take the tool out of service: every call is refused (403 tool_quarantined)
  release NAME                         end its quarantine
options: --data-dir DIR, --admin-url URL (credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN or --mfa-token-file)`;

function readDefinition(file: string | undefined): Record<string, unknown> {
  if (!file) throw new CliError('--file is required', 2);
  let v: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    v = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new CliError(`cannot read the definition ${file}: ${(e as Error).message}`, 2);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${file}: a tool definition is an object`, 2);
  return v as Record<string, unknown>;
}

export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, file: { type: 'string' }, digest: { type: 'string' }, reason: { type: 'string' }, 'expected-version': { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  if (verb === undefined || verb === 'help' || verb === '--help') {
    io.out(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const o = adminClientOptions(values);
  const name = positionals[0];
  const path = (n: string) => `/admin/v1/tools/${encodeURIComponent(n)}`;
  switch (verb) {
    case 'list': {
      const r = (await adminCall(o, 'GET', '/admin/v1/tools')) as { data: { name: string; risk: string; needs_approval: boolean; backend: { type: string; url?: string }; version: number }[] };
      if (values.json) io.out(JSON.stringify(r.data, null, 2) + '\n');
      else io.out(r.data.length ? r.data.map((t) => `${t.name}  risk=${t.risk}${t.needs_approval ? ' approval' : ''}  ${t.backend.type} ${t.backend.url ?? ''}  v${t.version}`).join('\n') + '\n' : 'no tools registered\n');
      return 0;
    }
    case 'show':
      if (!name) throw new CliError('show needs a tool name', 2);
      io.out(JSON.stringify(await adminCall(o, 'GET', path(name)), null, 2) + '\n');
      return 0;
    case 'create': {
      const t = (await adminCall(o, 'POST', '/admin/v1/tools', readDefinition(values.file))) as { name: string; version: number };
      io.out(`created ${t.name} (version ${t.version})\n`);
      return 0;
    }
    case 'update': {
      if (!name) throw new CliError('update needs a tool name', 2);
      const def = readDefinition(values.file);
      if (values['expected-version'] !== undefined) def.expected_version = Number(values['expected-version']);
      const t = (await adminCall(o, 'PUT' as 'POST', path(name), def)) as { name: string; version: number };
      io.out(`updated ${t.name} (version ${t.version})\n`);
      return 0;
    }
    case 'delete':
      if (!name) throw new CliError('delete needs a tool name', 2);
      await adminCall(o, 'DELETE', path(name));
      io.out(`deleted ${name}\n`);
      return 0;
    case 'definition':
      if (!name) throw new CliError('definition needs a tool name', 2);
      io.out(JSON.stringify(await adminCall(o, 'GET', `${path(name)}/definition`), null, 2) + '\n');
      return 0;
    case 'approve-definition': {
      if (!name) throw new CliError('approve-definition needs a tool name', 2);
      if (!values.digest) throw new CliError('--digest is required: the digest of the pending definition (warden tools definition NAME)', 2);
      const r = (await adminCall(o, 'POST', `${path(name)}/definition/approve`, { digest: values.digest })) as { pinned: { digest: string } };
      io.out(`approved the definition of ${name}: pinned ${r.pinned.digest}\n`);
      return 0;
    }
    case 'quarantine': {
      if (!name) throw new CliError('quarantine needs a tool name', 2);
      if (!values.reason) throw new CliError('--reason is required: it goes in the ledger and tells whoever releases the tool why', 2);
      await adminCall(o, 'POST', `${path(name)}/quarantine`, { reason: values.reason });
      io.out(`quarantined ${name}: every call is refused until it is released\n`);
      return 0;
    }
    case 'release':
      if (!name) throw new CliError('release needs a tool name', 2);
      await adminCall(o, 'POST', `${path(name)}/release`, {});
      io.out(`released ${name}\n`);
      return 0;
    default:
      io.err(`warden tools: unknown verb ${JSON.stringify(verb)}\n${USAGE}\n`);
      return 2;
  }
}
