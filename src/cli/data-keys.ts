// `warden data migrate|rewrap|new-key` — content encryption at rest (docs/data-encryption.md), reached through `warden data`:
//   data migrate [--config F] [--data-dir D] [--remove-legacy-keys]   rewrap records of the pre-envelope formats
//   data rewrap  [--config F] [--data-dir D]                          move data keys to each tenant's current KEK
//   data new-key FILE                                                 a new 32-byte key file, mode 0600 (never overwrites)
// migrate and rewrap work on the data dir's SQLite files; with store.postgres, rewrap works on the shared tables
// (records there were never in the pre-envelope formats). Run them with Warden stopped (every replica).
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type WardenConfig } from '../config/config.js';
import { createKeyFile, keyringFromConfig, readKeyFile, subjectKeysFile } from '../data/crypto/index.js';
import { LEGACY_MODEL_KEK_FILE, LEGACY_PAYLOAD_KEK_FILE, migrateLegacy, rewrapAll, type MoveReport } from '../data/crypto/migrate.js';
import { SqlitePayloadStore } from '../store/ledger-payloads-sqlite.js';
import { SqliteModelKeyStore } from '../store/model-keys-sqlite.js';
import { PostgresModelKeyStore, PostgresPayloadStore, PostgresToolCredentialKeyStore } from '../store/sealed-postgres.js';
import { PostgresRetrievalStore } from '../store/retrieval-postgres.js';
import type { PostgresSubjectKeyStore } from '../store/subject-keys-postgres.js';
import { SqliteSubjectKeyStore } from '../store/subject-keys-store.js';
import { SqliteIdentityStore } from '../store/identity-sqlite.js';
import { PostgresIdentityStore } from '../store/identity-postgres.js';
import { SqliteRegistryStore } from '../store/registry-sqlite.js';
import type { IdentityStore } from '../store/identity-store.js';
import { openSqlite, type SqliteDb } from '../store/sqlite.js';
import { CliError } from './admin-client.js';
import { readTenantKekRecords } from './tenant-kek-records.js';
import { applyTenantKekRecords } from '../data/crypto/tenant-keks.js';

const USAGE = 'usage: warden data migrate|rewrap [--config FILE] [--data-dir DIR] [--remove-legacy-keys] | warden data new-key FILE';

function report(verb: string, r: MoveReport): number {
  process.stdout.write(`${verb}: ${r.payloadKeys} payload data key(s), ${r.modelKeys} model key(s)\n`);
  if (r.toolCredentialKeys !== undefined) process.stdout.write(`${verb}: ${r.toolCredentialKeys} tool credential key(s)\n`);
  if (r.subjectKeys !== undefined) process.stdout.write(`${verb}: ${r.subjectKeys} subject key(s)\n`);
  for (const s of r.skipped) process.stdout.write(`  not moved: ${s}\n`);
  return r.skipped.length ? 1 : 0;
}

async function withStores<T>(config: WardenConfig, fn: (s: { db: SqliteDb; payloads?: SqlitePayloadStore; models: SqliteModelKeyStore; subjectKeys?: SqliteSubjectKeyStore }) => Promise<T>): Promise<T> {
  const main = join(config.dataDir, 'warden.db');
  if (!existsSync(main)) throw new CliError(`no Warden data in ${config.dataDir} (warden.db is missing)`, 1);
  const db = openSqlite(main);
  const payloadFile = join(config.dataDir, 'payloads.db');
  const pdb = existsSync(payloadFile) ? openSqlite(payloadFile) : null;
  // The per-subject keys, where encryption.subjectKeys (or the data dir) keeps them.
  const subjects = existsSync(subjectKeysFile(config)) ? SqliteSubjectKeyStore.open(subjectKeysFile(config), { mustExist: true }) : null;
  try {
    return await fn({ db, models: new SqliteModelKeyStore(db), ...(pdb ? { payloads: new SqlitePayloadStore(pdb) } : {}), ...(subjects ? { subjectKeys: subjects } : {}) });
  } finally {
    await subjects?.close();
    pdb?.close();
    db.close();
  }
}

async function withSharedStores<T>(pg: { connectionString: string; prefix: string }, fn: (s: { payloads: PostgresPayloadStore; models: PostgresModelKeyStore; toolCredentialKeys: PostgresToolCredentialKeyStore; subjectKeys: PostgresSubjectKeyStore }) => Promise<T>): Promise<T> {
  let payloads: PostgresPayloadStore | null = null;
  let models: PostgresModelKeyStore | null = null;
  let toolCredentialKeys: PostgresToolCredentialKeyStore | null = null;
  let retrieval: PostgresRetrievalStore | null = null;
  try {
    payloads = await PostgresPayloadStore.connect(pg);
    models = await PostgresModelKeyStore.connect(pg);
    toolCredentialKeys = await PostgresToolCredentialKeyStore.connect(pg);
    // The per-subject keys live beside the retrieval tables (retrieval migration 3).
    retrieval = await PostgresRetrievalStore.connect(pg);
  } catch (e) {
    await Promise.allSettled([payloads?.close(), models?.close(), toolCredentialKeys?.close(), retrieval?.close()]);
    throw new CliError(`data: store.postgres: ${(e as Error).message}`, 1);
  }
  try {
    return await fn({ payloads, models, toolCredentialKeys, subjectKeys: retrieval.subjectKeys() });
  } finally {
    await Promise.allSettled([payloads.close(), models.close(), toolCredentialKeys.close(), retrieval.close()]);
  }
}

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'new-key') {
    if (rest.length !== 1) throw new CliError(USAGE, 2);
    createKeyFile(resolve(rest[0]!));
    process.stdout.write(`created ${resolve(rest[0]!)} (32 random bytes, mode 0600)\n`);
    return 0;
  }
  if (verb !== 'migrate' && verb !== 'rewrap') throw new CliError(USAGE, 2);
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, 'remove-legacy-keys': { type: 'boolean' } } });
  const config = loadConfig(values.config);
  if (values['data-dir']) config.dataDir = resolve(values['data-dir']);
  const keyring = keyringFromConfig(config);
  try {
    // A withdrawn tenant's data keys are not moved (listed as not moved, exit 1): docs/data-encryption.md.
    if (verb === 'rewrap') applyTenantKekRecords(keyring, await readTenantKekRecords(config));
    if (verb === 'rewrap' && config.store.postgres) return report('rewrapped', await withSharedStores(config.store.postgres, (s) => rewrapAll(keyring, s, Date.now())));
    if (verb === 'rewrap') return report('rewrapped', await withStores(config, (s) => rewrapAll(keyring, s, Date.now())));
    const legacy = (name: string) => (existsSync(join(config.dataDir, name)) ? readKeyFile(join(config.dataDir, name)) : undefined);
    const payloadKek = legacy(LEGACY_PAYLOAD_KEK_FILE);
    const modelKek = legacy(LEGACY_MODEL_KEK_FILE);
    const pg = config.store.postgres ? await PostgresIdentityStore.connect({ connectionString: config.store.postgres.connectionString, prefix: config.store.postgres.prefix }) : null;
    try {
      const r = await withStores(config, async (s) => {
        const identity: IdentityStore = pg ?? new SqliteIdentityStore(s.db);
        const registry = new SqliteRegistryStore(s.db);
        return migrateLegacy(keyring, s, {
          ...(payloadKek ? { payloadKek } : {}),
          ...(modelKek ? { modelKek } : {}),
          // A principal or deployment no longer registered keeps its data under the platform KEK (tenant "default").
          tenantOfPrincipal: async (id) => (await identity.getPrincipal(id))?.tenant ?? 'default',
          tenantOfDeployment: async (id) => (await registry.getDeployment(id))?.tenant ?? 'default',
          now: Date.now(),
        });
      });
      const code = report('migrated', r);
      if (values['remove-legacy-keys'] && code === 0) {
        for (const f of [LEGACY_PAYLOAD_KEK_FILE, LEGACY_MODEL_KEK_FILE]) {
          if (existsSync(join(config.dataDir, f))) {
            rmSync(join(config.dataDir, f));
            process.stdout.write(`removed ${join(config.dataDir, f)}\n`);
          }
        }
      }
      return code;
    } finally {
      await pg?.close();
    }
  } finally {
    keyring.close();
  }
}
