// `warden migrate [--config warden.yaml]`: brings the PostgreSQL schema named by `store.postgres` up to this
// release (the same versioned, locked migrations `warden up` runs at start), so an operator can upgrade the
// store before rolling replicas. Embedded SQLite stores migrate themselves when opened.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { PostgresIdentityStore } from '../store/identity-postgres.js';
import { PostgresPolicyStore } from '../store/policy-postgres.js';
import { PostgresModelKeyStore } from '../store/sealed-postgres.js';
import { PostgresAgentStore } from '../store/agents-postgres.js';
import { PostgresRegistryStore } from '../store/registry-postgres.js';
import { PostgresToolStore } from '../store/tools-postgres.js';
import { PostgresDatasetsStore } from '../store/datasets-postgres.js';
import { PostgresConsoleSessionStore } from '../store/console-sessions-postgres.js';
import { PostgresBaselineStore } from '../store/baselines-postgres.js';
import { PostgresRetrievalStore } from '../store/retrieval-postgres.js';
import { CliError } from './admin-client.js';

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const config = loadConfig(values.config);
  const pg = config.store.postgres;
  if (!pg) {
    process.stdout.write('nothing to migrate: no store.postgres in the config (the embedded SQLite stores migrate themselves when opened)\n');
    return 0;
  }
  // Every PostgreSQL store of the control plane, each with its own versions (the ledger migrates when opened).
  const stores = [
    (o: { connectionString: string; prefix: string }) => PostgresIdentityStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresToolStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresPolicyStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresRegistryStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresModelKeyStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresAgentStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresDatasetsStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresConsoleSessionStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresBaselineStore.connect(o),
    (o: { connectionString: string; prefix: string }) => PostgresRetrievalStore.connect(o),
  ];
  for (const connect of stores) {
    let store: Awaited<ReturnType<typeof connect>>;
    try {
      store = await connect({ connectionString: pg.connectionString, prefix: pg.prefix });
    } catch (e) {
      throw new CliError(`migrate: ${(e as Error).message}`, 1);
    }
    const m = store.migration;
    await store.close();
    const what = m.applied.length ? `applied ${m.applied.join(', ')}` : 'already current';
    process.stdout.write(`${m.store} (${pg.prefix}*): schema ${m.from} -> ${m.to}, ${what}\n`);
  }
  return 0;
}
