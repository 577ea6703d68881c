// `warden backup create|verify|restore` (docs/data-encryption.md "Backups"):
//   backup create  --key BACKUP.key --out FILE [--config F] [--data-dir D]   online snapshot, sealed, verified after writing
//   backup verify  FILE --key BACKUP.key [--config F]                        decrypt, digests, integrity_check, ledger
//   backup restore FILE --key BACKUP.key --data-dir EMPTY [--config F]       verify, write, apply erasures since, re-verify the restored ledger
// The backup key is a key file of its own (`warden data new-key`), never a data KEK; the data KEKs are not in the
// backup, so restored payloads and model keys open only where the KEK is configured again; nor are the per-subject
// keys, so what an erasure shredded after the backup stays shredded in its restore.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type WardenConfig } from '../config/config.js';
import { LocalFileKek, keyringFromConfig, subjectKeysFile } from '../data/crypto/index.js';
import { ERASABLE_FILES, dropErasedSubjects } from '../data/backup/erased-subjects.js';
import { SqliteSubjectKeyStore } from '../store/subject-keys-store.js';
import { LEDGER_FILE, checkSqliteIntegrity, createBackup, dropExpiredRestored, dropWithdrawnRestored, openBackup, restoreFiles, verifyBackupLedger, type OpenedBackup } from '../data/backup/backup.js';
import { verifyLedgerFile } from '../data/backup/verify-ledger.js';
import { LEDGER_KEY_FILE } from '../ledger/key.js';
import { loadLedgerKeyRing, ringVerifiers } from '../ledger/key-ring.js';
import { parseVerifierKey } from '../ledger/note.js';
import { openPkcs11LedgerKey } from '../ledger/pkcs11-key.js';
import { CliError } from './admin-client.js';
import { readTenantKekRecords } from './tenant-kek-records.js';

const USAGE = 'usage: warden backup create --key KEY --out FILE [--config F] [--data-dir D] | backup verify FILE --key KEY [--config F] | backup restore FILE --key KEY --data-dir EMPTY_DIR [--config F]';

/** The token-held ledger key when configured; otherwise the backup's own ledger-key.pem is used. */
async function withLedgerKey<T>(config: WardenConfig | null, fn: (key: Parameters<typeof verifyLedgerFile>[1] | undefined) => Promise<T>): Promise<T> {
  const token = config?.ledger.signingKey ? openPkcs11LedgerKey(config.ledger.signingKey) : null;
  try {
    return await fn(token?.key);
  } finally {
    token?.close();
  }
}

async function verified(file: string, key: LocalFileKek, config: WardenConfig | null): Promise<OpenedBackup> {
  const b = await openBackup(file, key);
  checkSqliteIntegrity(b);
  const ledger = await withLedgerKey(config, (k) => verifyBackupLedger(b, k, tokenPreviousKeys(config)));
  const bytes = b.files.reduce((n, f) => n + f.entry.size, 0);
  process.stdout.write(`backup ${file}: ${b.files.length} files, ${bytes} bytes, created ${b.header.created}; digests and SQLite integrity OK\n`);
  process.stdout.write(ledger ? `  ledger: ${ledger.size} entries, checkpoint signature and every leaf verify (root ${ledger.rootHash})\n` : '  ledger: not in this backup (PostgreSQL ledger: back it up with the database)\n');
  for (const t of b.excludedTenants) process.stdout.write(`  tenant ${t.tenant} excluded: its own KEK is ${t.withdrawn}; none of its content is in this backup\n`);
  return b;
}

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== 'create' && verb !== 'verify' && verb !== 'restore') throw new CliError(USAGE, 2);
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, key: { type: 'string' }, out: { type: 'string' } } });
  if (!values.key) throw new CliError(`--key is required\n${USAGE}`, 2);
  const backupKek = LocalFileKek.open(resolve(values.key));
  if (verb === 'create') {
    if (!values.out) throw new CliError(`--out is required\n${USAGE}`, 2);
    const config = loadConfig(values.config);
    if (values['data-dir']) config.dataDir = resolve(values['data-dir']);
    if (!existsSync(join(config.dataDir, 'warden.db'))) throw new CliError(`no Warden data in ${config.dataDir} (warden.db is missing)`, 1);
    const keyring = keyringFromConfig(config);
    let dataKekIds: string[];
    try {
      dataKekIds = keyring.kekIds();
    } finally {
      keyring.close();
    }
    const out = resolve(values.out);
    // A KEK file given elsewhere than the data dir is not in the walk; one kept inside it is left out by name.
    // So is the subject-key store: a backup never holds a key an erasure may destroy.
    const exclude = [...[...(config.encryption.kek ? [config.encryption.kek] : []), ...config.encryption.previous, ...Object.values(config.encryption.tenants)].flatMap((k) => ('file' in k ? [k.file] : [])), subjectKeysFile(config)]
      .flatMap((f) => (f.startsWith(config.dataDir + '/') ? [f.slice(config.dataDir.length + 1)] : []));
    const { expiredLeftOut, withdrawnLeftOut } = await createBackup({ dataDir: config.dataDir, out, backupKek, dataKekIds, tenantKeks: await readTenantKekRecords(config), now: new Date(), exclude });
    await verified(out, backupKek, config);
    process.stdout.write(`  expired data left out (its class's retention had ended): ${counts(expiredLeftOut)}\n`);
    process.stdout.write(`  withdrawn tenants' data left out: ${counts(withdrawnLeftOut)}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(USAGE, 2);
  const file = resolve(positionals[0]!);
  const config = values.config ? loadConfig(values.config) : null;
  const b = await verified(file, backupKek, config);
  if (verb === 'verify') return 0;
  if (!values['data-dir']) throw new CliError(`--data-dir is required for restore\n${USAGE}`, 2);
  const dataDir = resolve(values['data-dir']);
  // Erasures made since the backup are applied from the subject-key store (named by --config; it is never in a
  // backup). It must open before anything is written: a restore that cannot tell what was erased is refused.
  const holdsErasable = b.files.some((f) => ERASABLE_FILES.includes(f.entry.path));
  let subjectKeys: SqliteSubjectKeyStore | null = null;
  if (config && holdsErasable) {
    const file = subjectKeysFile(config);
    try {
      subjectKeys = SqliteSubjectKeyStore.open(file, { mustExist: true });
    } catch (e) {
      throw new CliError(`the subject-key store ${file} cannot be read (${(e as Error).message}): erasures made since the backup could not be applied; nothing restored`, 1);
    }
  }
  try {
    restoreFiles(b, dataDir);
  } catch (e) {
    await subjectKeys?.close();
    throw e;
  }
  // Data that expired since the backup was taken is not brought back (ledger.db is not touched).
  const expired = await dropExpiredRestored(dataDir, Date.now());
  // Nothing of a tenant the backup excluded is brought back, whatever the file holds.
  const withdrawn = dropWithdrawnRestored(dataDir, b.excludedTenants);
  let erased: Record<string, number> | null = null;
  if (subjectKeys) {
    try {
      erased = await dropErasedSubjects(dataDir, subjectKeys);
    } finally {
      await subjectKeys.close();
    }
  }
  if (existsSync(join(dataDir, LEDGER_FILE))) {
    const r = await withLedgerKey(config, (k) => {
      if (k) return verifyLedgerFile(join(dataDir, LEDGER_FILE), k, tokenPreviousKeys(config));
      const ring = restoredKey(dataDir);
      return verifyLedgerFile(join(dataDir, LEDGER_FILE), ring.current, ringVerifiers(ring).slice(1));
    });
    process.stdout.write(`restored into ${dataDir}; the restored ledger verifies: ${r.size} entries (root ${r.rootHash})\n`);
  } else {
    process.stdout.write(`restored into ${dataDir}\n`);
  }
  process.stdout.write(`  expired since the backup, not restored: ${counts(expired)}\n`);
  if (erased) process.stdout.write(`  unreadable, their subject erased since the backup (subject key destroyed), not restored: ${counts(erased)}\n`);
  else if (holdsErasable) process.stdout.write('  erasures since the backup not checked (no --config naming the subject-key store): chunks and uploads of an erased subject stay unreadable and are skipped; restore again with --config to drop them and its retained payloads\n');
  if (b.excludedTenants.length) process.stdout.write(`  excluded tenants (${b.excludedTenants.map((t) => t.tenant).join(', ')}): not restored; found in the backup and deleted: ${counts(withdrawn)}\n`);
  process.stdout.write('the data KEKs and the subject keys are not in a backup: configure encryption.kek (and tenants) and encryption.subjectKeys as before, or retained payloads, model keys and subject-sealed content stay unreadable\n');
  return 0;
}

/** The keys a token-held ledger key replaced (ledger.previousKeys). */
function tokenPreviousKeys(config: WardenConfig | null) {
  return (config?.ledger.previousKeys ?? []).map(parseVerifierKey);
}

function restoredKey(dataDir: string) {
  if (!existsSync(join(dataDir, LEDGER_KEY_FILE))) throw new CliError(`the restored ${LEDGER_FILE} has no ${LEDGER_KEY_FILE} beside it; give --config with ledger.signingKey`, 1);
  return loadLedgerKeyRing(dataDir, Date.now());
}

function counts(c: Record<string, number>): string {
  const parts = Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}
