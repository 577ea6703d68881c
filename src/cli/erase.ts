// `warden erase SUBJECT`: the right to erasure for a data subject (a principal) over the admin API: its retained
// payloads, the retrieval chunks added about it (`subject`) and the files it uploaded (/v1/files) are deleted and
// its subject keys destroyed (so a backup's copies of them no longer open),
// the records naming it in a dataset's declared subject field are withheld from the data read API, its data key destroyed (crypto-shredding copies the delete cannot reach, such as backups),
// its API keys revoked, and one ledger entry (`principal.erase`) says what was erased. The tree keeps only digests.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const USAGE = 'usage: warden erase SUBJECT [--json] [--data-dir DIR] [--admin-url URL] [--mfa-token-file FILE]';

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new CliError(USAGE, 2);
  const r = (await adminCall(adminClientOptions(values), 'POST', `/admin/v1/principals/${encodeURIComponent(positionals[0]!)}/erase`, {})) as { principal: string; key_destroyed: boolean; payloads_deleted: number; retrieval_chunks_deleted: number; retrieval_uploads_deleted: number; subject_keys_destroyed: number; dataset_records_erased: number };
  process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : `erased ${r.principal}: ${r.payloads_deleted} retained payload(s) deleted, data key ${r.key_destroyed ? 'destroyed' : 'absent'}, ${r.retrieval_chunks_deleted} retrieval chunk(s) deleted, ${r.retrieval_uploads_deleted} uploaded file(s) deleted, ${r.subject_keys_destroyed} subject key(s) destroyed, ${r.dataset_records_erased} dataset record(s) withheld, API keys revoked\n`);
  return 0;
}
