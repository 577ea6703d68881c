// `warden vector-stores list|show|delete` — every tenant's vector stores over the admin API (docs/retrieval.md).
// Deleting a store removes its files and chunks (their vectors overwritten first) after one ledger entry.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = `usage: warden vector-stores <verb> [options]
  list [--tenant T] [--json]
  show ID [--json]
  delete ID
options: --data-dir DIR, --admin-url URL (credential: WARDEN_ADMIN_KEY; MFA step-up proof: WARDEN_MFA_TOKEN or --mfa-token-file)`;

interface StoreView {
  id: string;
  tenant: string;
  name: string;
  classification: string;
  embeddingModel: string;
  dims: number | null;
  files: number | { id: string; filename: string; classification: string; chunks: number; subject: string | null }[];
}

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, tenant: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  if (verb === undefined || verb === 'help' || verb === '--help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  const o = adminClientOptions(values);
  const id = positionals[0];
  const path = (n: string) => `/admin/v1/vector-stores/${encodeURIComponent(n)}`;
  const out = (t: string) => process.stdout.write(t);
  switch (verb) {
    case 'list': {
      const q = values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : '';
      const r = (await adminCall(o, 'GET', `/admin/v1/vector-stores${q}`)) as { vector_stores: StoreView[] };
      if (values.json) out(JSON.stringify(r.vector_stores, null, 2) + '\n');
      else out(r.vector_stores.length ? r.vector_stores.map((s) => `${s.id}  ${s.tenant}  ${s.classification}  model=${s.embeddingModel}  files=${String(s.files)}  ${s.name}`).join('\n') + '\n' : 'no vector stores\n');
      return 0;
    }
    case 'show': {
      if (!id) throw new CliError('show needs a vector store id', 2);
      const s = (await adminCall(o, 'GET', path(id))) as StoreView;
      if (values.json) out(JSON.stringify(s, null, 2) + '\n');
      else {
        const files = Array.isArray(s.files) ? s.files : [];
        out(`${s.id}  tenant=${s.tenant}  class=${s.classification}  model=${s.embeddingModel}  dims=${s.dims ?? '-'}  ${s.name}\n`);
        for (const f of files) out(`  ${f.id}  ${f.classification}  chunks=${f.chunks}${f.subject ? `  subject=${f.subject}` : ''}  ${f.filename}\n`);
      }
      return 0;
    }
    case 'delete': {
      if (!id) throw new CliError('delete needs a vector store id', 2);
      const r = (await adminCall(o, 'DELETE', path(id))) as { id: string; files: number; chunks: number };
      out(`deleted ${r.id}: ${r.files} file(s), ${r.chunks} chunk(s)\n`);
      return 0;
    }
    default:
      throw new CliError(`unknown verb ${verb}\n${USAGE}`, 2);
  }
}
