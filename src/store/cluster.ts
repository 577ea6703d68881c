// The cluster stores named by `store:` in warden.yaml: PostgreSQL (identity records, policies, tools and approvals, the model registry, A2A agents, vector stores, change announcements;
// the ledger connects on its own) and Redis (limits, token revocations, replay caches). Both are reached at
// start or the start is refused; later outages fail closed where they are used (503) and turn /readyz.
import { Redis } from 'ioredis';
import type { WardenConfig } from '../config/config.js';
import { PostgresIdentityStore } from './identity-postgres.js';
import { PgChangeFeed } from './pg-changes.js';
import { PostgresPolicyStore } from './policy-postgres.js';
import { PostgresRegistryStore } from './registry-postgres.js';
import { PostgresAttestationVerdictStore } from './attestation-verdicts-postgres.js';
import { PostgresToolStore } from './tools-postgres.js';
import { PostgresAgentStore } from './agents-postgres.js';
import { PostgresDatasetsStore } from './datasets-postgres.js';
import { PostgresConsoleSessionStore } from './console-sessions-postgres.js';
import { PostgresBaselineStore } from './baselines-postgres.js';
import { PostgresRetrievalStore } from './retrieval-postgres.js';

export interface ClusterStores {
  identity: PostgresIdentityStore | null;
  changes: PgChangeFeed | null;
  /** Tools and approvals (the tools plane). */
  tools: PostgresToolStore | null;
  /** Published policy sets and which one is live. */
  policies: PostgresPolicyStore | null;
  /** The model registry: versions, deployments and their states (the workload plane). */
  registry: PostgresRegistryStore | null;
  /** Attestation verdicts of confidential deployments, one replica challenging at a time (src/workload/attestation/shared-verdicts.ts). */
  attestationVerdicts: PostgresAttestationVerdictStore | null;
  /** Registered A2A agents (the agents plane). */
  agents: PostgresAgentStore | null;
  /** Data sources, datasets, their lineage and trainOn decisions (the data plane). */
  datasets: PostgresDatasetsStore | null;
  /** The console's browser sessions (src/console/sessions.ts). */
  consoleSessions: PostgresConsoleSessionStore | null;
  /** The monitor's per-principal baselines, merged by every replica (src/monitor/baselines-shared.ts); its pool also holds the drift profiles (`driftProfiles()`). */
  baselines: PostgresBaselineStore | null;
  /** Vector stores, their files and chunks (the retrieval plane, src/data/retrieval). */
  retrieval: PostgresRetrievalStore | null;
  redis: Redis | null;
  /** Readiness probes for what is configured (none in embedded mode). */
  probes: { name: string; probe: () => Promise<boolean> }[];
  close(): Promise<void>;
}

/** A configured cluster store could not be reached or set up at start. */
export class ClusterStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterStoreUnavailable';
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export async function openClusterStores(cfg: WardenConfig['store'], onError: (e: unknown, what: string) => void): Promise<ClusterStores> {
  let identity: PostgresIdentityStore | null = null;
  let changes: PgChangeFeed | null = null;
  let tools: PostgresToolStore | null = null;
  let policies: PostgresPolicyStore | null = null;
  let registry: PostgresRegistryStore | null = null;
  let attestationVerdicts: PostgresAttestationVerdictStore | null = null;
  let agents: PostgresAgentStore | null = null;
  let datasets: PostgresDatasetsStore | null = null;
  let consoleSessions: PostgresConsoleSessionStore | null = null;
  let baselines: PostgresBaselineStore | null = null;
  let retrieval: PostgresRetrievalStore | null = null;
  let redis: Redis | null = null;
  const close = async () => {
    await Promise.allSettled([changes?.close(), identity?.close(), tools?.close(), policies?.close(), registry?.close(), attestationVerdicts?.close(), agents?.close(), datasets?.close(), consoleSessions?.close(), baselines?.close(), retrieval?.close(), redis?.disconnect()]);
  };
  try {
    if (cfg.postgres) {
      const { connectionString, prefix } = cfg.postgres;
      try {
        identity = await PostgresIdentityStore.connect({ connectionString, prefix });
        tools = await PostgresToolStore.connect({ connectionString, prefix });
        policies = await PostgresPolicyStore.connect({ connectionString, prefix });
        registry = await PostgresRegistryStore.connect({ connectionString, prefix });
        attestationVerdicts = await PostgresAttestationVerdictStore.connect({ connectionString, prefix });
        agents = await PostgresAgentStore.connect({ connectionString, prefix });
        datasets = await PostgresDatasetsStore.connect({ connectionString, prefix });
        consoleSessions = await PostgresConsoleSessionStore.connect({ connectionString, prefix });
        baselines = await PostgresBaselineStore.connect({ connectionString, prefix });
        retrieval = await PostgresRetrievalStore.connect({ connectionString, prefix });
        changes = await PgChangeFeed.connect({ connectionString, prefix, onError: (e) => onError(e, 'postgres change listener') });
      } catch (e) {
        throw new ClusterStoreUnavailable(`store.postgres: cannot use ${redact(connectionString)}: ${(e as Error).message}`);
      }
    }
    if (cfg.redis) {
      // No offline queue: while Redis is away a command fails at once (503) instead of waiting unbounded.
      redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 });
      redis.on('error', (e) => onError(e, 'redis'));
      try {
        await redis.connect();
        await redis.ping();
      } catch (e) {
        throw new ClusterStoreUnavailable(`store.redis: cannot reach ${redact(cfg.redis.url)}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  const probes: ClusterStores['probes'] = [];
  if (identity) {
    const id = identity;
    const ch = changes!;
    probes.push({ name: 'postgres', probe: async () => (await id.getMeta('readiness-probe'), true) });
    // Without the listener, peers' revocations could be missed; caches are bypassed, but say so.
    probes.push({ name: 'postgres_changes', probe: async () => ch.healthy });
  }
  if (redis) {
    const r = redis;
    probes.push({ name: 'redis', probe: async () => (await r.ping()) === 'PONG' });
  }
  return { identity, changes, tools, policies, registry, attestationVerdicts, agents, datasets, consoleSessions, baselines, retrieval, redis, probes, close };
}
