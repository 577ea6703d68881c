// `warden inventory [--json]`: every model, deployment, dataset, A2A agent, vector store, tool, key and principal Warden knows, with its risk
// flags (GET /admin/v1/inventory). Credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN.
import { parseArgs } from 'node:util';
import type { InventoryItem } from '../monitor/inventory.js';
import { adminCall, adminClientOptions } from './admin-client.js';

export async function main(args: string[]): Promise<number> {
  if (args[0] === 'help' || args[0] === '--help') {
    process.stdout.write('usage: warden inventory [--json] [--flagged]   (options: --data-dir DIR, --admin-url URL, --mfa-token-file FILE)\n');
    return 0;
  }
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, flagged: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } } });
  const r = (await adminCall(adminClientOptions(values), 'GET', '/admin/v1/inventory')) as { data: InventoryItem[]; summary: { items: number; flagged: number } };
  const data = values.flagged ? r.data.filter((i) => i.flags.length > 0) : r.data;
  if (values.json) {
    process.stdout.write(JSON.stringify({ data, summary: r.summary }, null, 2) + '\n');
    return 0;
  }
  const rows = data.map((i) => [i.kind, i.id, i.flags.join(',') || '-', summary(i)]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((x) => x[c]!.length), ['KIND', 'ID', 'FLAGS'][c]!.length));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  process.stdout.write([line(['KIND', 'ID', 'FLAGS', 'DETAIL']), ...rows.map(line), `${r.summary.items} item(s), ${r.summary.flagged} flagged`].join('\n') + '\n');
  return 0;
}

function summary(i: InventoryItem): string {
  const d = i.detail;
  switch (i.kind) {
    case 'model':
      return `upstream ${String(d.upstream)}`;
    case 'deployment':
      return `${String(d.model)}@${String(d.version)} ${String(d.state)} ${String(d.tier)}/${String(d.region)}`;
    case 'dataset':
      return `${String(d.name)}@${String(d.version)} ${String(d.state)} ${String(d.classification)} (tenant ${String(d.tenant)})`;
    case 'agent':
      return `${String(d.url)} (tenant ${String(d.tenant ?? '-')})`;
    case 'vector_store':
      return `${String(d.name) || '-'} ${String(d.classification)} (tenant ${String(d.tenant)})`;
    case 'tool':
      return `risk ${String(d.risk)}, approval ${d.needsApproval ? 'yes' : 'no'}`;
    case 'key':
      return `${String(d.principal)} ${String(d.status)}, last used ${String(d.lastUsedAt ?? 'never')}`;
    case 'principal':
      return `risk ${d.risk ?? '-'}${Array.isArray(d.reasons) && d.reasons.length ? ` (${d.reasons.join('; ')})` : ''}`;
  }
}
