// The composition root: builds every plane from the config and starts both TLS listeners.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { mkdirSync, chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, destination, type Logger, type DestinationStream } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { PLATFORM_TENANT } from '../core/tenant.js';
import { newRequestId } from '../core/ids.js';
import { auditEvent } from '../core/audit-event.js';
import type { AuditEvent, Principal } from '../core/types.js';
import { ConfigError, classificationSchemeOf, type WardenConfig, type UpstreamConfig } from '../config/config.js';
import { ensureDevPki } from '../network/dev-ca.js';
import { createClientAddressResolver } from '../network/source.js';
import { listenerTlsOptions } from '../network/tls.js';
import { ListenerDrain } from '../network/drain.js';
import { startSiemExport } from '../ledger/export/plane.js';
import { LocalLimiter } from '../network/limits.js';
import { RedisLimiter } from '../network/redis-limiter.js';
import { Budgets, LocalBudgetStore } from '../network/budgets.js';
import { RedisBudgetStore } from '../network/redis-budgets.js';
import { SqliteBudgetPersistence } from '../store/budgets-sqlite.js';
import { createBudgetsRoute } from '../admin/budgets.js';
import { createTenantKeksRoute } from '../admin/tenant-keks.js';
import { TenantKekMismatch, TenantKeks } from '../data/crypto/tenant-keks.js';
import { tenantHoldings } from '../data/crypto/tenant-holdings.js';
import { SqliteModelKeyStore } from '../store/model-keys-sqlite.js';
import { SqliteTenantKekStore } from '../store/tenant-keks-store.js';
import { openClusterStores } from '../store/cluster.js';
import { createLedgerSearchRoute } from '../ledger/search.js';
import { SqliteConsoleSessionStore } from '../store/console-sessions-store.js';
import { RedisNonceStore } from '../identity/http-signature/redis-nonce-store.js';
import { RedisSourceRateLimiter } from '../network/redis-source-limit.js';
import { RedisChallengeStore } from '../workload/attestation-challenges.js';
import { openSharedSealedStores, platformSeedSeal, SHARED_KEK_REQUIRED, SharedKekMismatch } from '../store/sealed-postgres.js';
import { RedisRevocationStore } from '../identity/jit/redis-revocation-store.js';
import { UpstreamShare } from '../network/upstream-share.js';
import { openSqlite, type SqliteDb } from '../store/sqlite.js';
import { SqliteIdentityStore } from '../store/identity-sqlite.js';
import type { IdentityStore } from '../store/identity-store.js';
import { ApiKeyService, type KeyChange } from '../identity/api-keys.js';
import { buildPolicyPlane } from '../policy/plane.js';
import { buildRetention } from '../ledger/retention-plane.js';
import { createKeyRelease } from '../workload/key-release-routes.js';
import { keyringFromConfig, subjectKeysFile } from '../data/crypto/index.js';
import { buildRetrievalPlane } from '../data/retrieval/index.js';
import { expiryFor, localStoreRefusal, placementRequirements } from '../data/placement.js';
import { DEFAULT_SWEEP_INTERVAL_MS, RetentionSweep } from '../data/retention-sweep.js';
import { buildWorkloadPlane } from '../workload/plane.js';
import { buildMonitor } from '../monitor/plane.js';
import { SqliteDriftProfileStore } from '../store/drift-sqlite.js';
import { RedisDriftProfileStore } from '../store/drift-redis.js';
import { RedisBaselineStore } from '../store/baselines-redis.js';
import { playbookState } from '../monitor/playbook-state.js';
import { createInventoryRoute } from '../monitor/inventory.js';
import { KeyRotation } from '../monitor/rotation.js';
import { webhookChannel } from '../monitor/secret-delivery.js';
import { createToolsPlane, filterToolCalls, pdpToolDecider, toolAuthenticator, ToolCredentialKeys, SharedToolCredentialKeys, type ToolPolicyRequest, type ToolsPlane } from '../tools/index.js';
import { calleeActor, createAgentsPlane } from '../agents/index.js';
import { buildContext } from '../policy/index.js';
import { countFindings, redact } from '../inspect/index.js';
import { createBearerVerifier } from '../gateway/stages/identity.js';
import { loadOrCreateEd25519 } from '../identity/plane.js';
import { enforcers } from '../gateway/stages/obligations.js';
import { Gateway, type ModelInfo } from '../gateway/gateway.js';
import { RedisFailureBudget, UnauthenticatedRefusals } from '../gateway/refusals.js';
import { Metrics } from '../gateway/metrics.js';
import type { AuditSink } from '../core/audit-sink.js';
import { closeUpstreamTarget, createUpstreamTarget, setUpstreamSecret, type UpstreamTarget } from '../network/upstream.js';
import { UpstreamCredentialRotation } from '../network/upstream-credential.js';
import { DPOP_ALGORITHMS, parseTokenExchangeRequest, tokenServiceMetadata } from '../identity/index.js';
import { createEffectiveRoute } from '../admin/effective.js';
import { buildIdentity } from '../identity/plane.js';
import { AdminApi, type AdminRequest } from '../admin/admin.js';
import { createConsole } from '../console/index.js';
import { Ledger } from '../ledger/ledger.js';
import { buildDataPlane } from '../data/plane.js';
import type { TrainingDataAccess } from '../data/datasets/training-access.js';
import { fixedKeyRing, loadLedgerKeyRing, ringVerifiers } from '../ledger/key-ring.js';
import { LedgerKeyRotation } from '../ledger/key-rotation.js';
import { openPkcs11LedgerKey } from '../ledger/pkcs11-key.js';
import { createAuditHandler } from '../ledger/http.js';
import { ThreadedSqliteLedgerStore } from '../store/ledger-sqlite-threaded.js';
import { PostgresLedgerStore } from '../store/ledger-postgres.js';
import { LedgerAuditSink } from '../ledger/sink.js';
import { WITNESSED_CHECKPOINT_FILE, WitnessSubmitter } from '../ledger/witness-submitter.js';
import { Readiness } from '../admin/readiness.js';
import { inspectRequest, inspectText } from '../inspect/index.js';
import { BadRequest, StartupRefused, UpstreamError } from '../core/errors.js';
import { IdentityConfigError } from '../identity/errors.js';
import { loadServerCertificate, ServerCertificateInvalid } from '../network/server-cert.js';
import { sendJson } from '../http/respond.js';
import { RedTeam } from '../monitor/redteam/service.js';
import { createRedTeamRoute } from '../monitor/redteam/route.js';
import { DEMO_MODELS, DEMO_OWNER, startDemoUpstream } from '../demo/upstream.js';

export interface RunningWarden {
  /** The ledger's current public key (C2SP verifier key) that auditors pin. */
  readonly ledgerVerifierKey: string;
  /** Rotates the ledger key (docs/ledger.md); its `tick` runs the cadence. */
  ledgerKeyRotation: LedgerKeyRotation;
  /** Where the listeners are bound. */
  inferenceUrl: string;
  adminUrl: string;
  /** What clients call (listeners.*.publicUrl, else the bound URL): token issuer, DPoP htu, @target-uri. */
  inferenceOrigin: string;
  adminOrigin: string;
  /** The web console's address (null when console.enabled is false). */
  consoleUrl: string | null;
  caPemPath: string;
  dataDir: string;
  /** Shown only on the first start of a data dir. */
  bootstrapKey: string | null;
  /**
   * Re-reads the configured listener certificates (listeners.*.tls) for new connections, e.g. after a
   * rotation (`warden up` does it on SIGHUP). A pair that fails the start-up checks is refused and the
   * current certificate stays in service. Returns what was reloaded.
   */
  reloadTls(): { reloaded: string[] };
  /** Writes the pending per-source entries for refused unauthenticated requests now (else at each window's end). */
  flushRefusals(): Promise<void>;
  /** Runs one retention sweep round now (else every placement.sweepIntervalMs); what it deleted, or null. */
  sweepRetention(): Promise<Record<string, Record<string, number>> | null>;
  /** Runs one tool-credential key round now (else every monitor.rotation.intervalMs): what it did, 'skipped', or null (failed, logged). */
  rotateToolCredentialKeys(): Promise<unknown>;
  /** Runs one attestation round now (else every workload.attestation.reverifyEveryMs); with store.postgres, shared with the other replicas. */
  attestationRound(): Promise<void>;
  demoUpstreamUrl: string | null;
  /** Where the Envoy ext_authz servers listen (extAuthz.grpc / extAuthz.http), or null. */
  extAuthzGrpcPort: number | null;
  extAuthzHttpPort: number | null;
  log: Logger;
  /**
   * Graceful shutdown (SIGTERM): /readyz answers 503 draining, the inference listener stops accepting, requests
   * and streams under way get shutdown.drainTimeoutMs to finish (then are cut, each with its error and entry),
   * then everything closes as in close(). /healthz answers until then.
   */
  shutdown(): Promise<void>;
  /** Closes at once: connections still open are dropped. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Log destination; defaults to stdout. */
  logStream?: NodeJS.WritableStream;
  /** The worker's number under `warden up --workers N` (each log line names it). */
  worker?: number;
}

/** Mirrors each appended audit event into the structured log (for SIEMs that read logs), after the ledger. */
class LoggedAuditSink implements AuditSink {
  constructor(
    private readonly inner: AuditSink,
    private readonly log: Logger,
  ) {}
  async append(event: AuditEvent) {
    const r = await this.inner.append(event);
    this.log.info({ audit: event, leafIndex: r.index }, 'audit');
    return r;
  }
}

/** The bootstrap admin principal exists from the first start on (config may name it, e.g. an httpSignatures client). */
async function ensureAdminPrincipal(store: IdentityStore, clock: Clock): Promise<void> {
  // Replicas starting together on one store: one of them creates it, the others find it.
  await store.exclusive('bootstrap', async () => {
    if ((await store.getMeta('bootstrap')) !== null || (await store.getPrincipal('admin'))) return;
    await store.insertPrincipal({ id: 'admin', kind: 'user', tenant: 'system', groups: ['admins'], admin: true, sourceCidrs: null, limits: null, createdAt: clock.now(), erasedAt: null });
  });
}

/**
 * Creates the one-time bootstrap credential. Called only once every other start-up step has succeeded (ports
 * bound, every plane built): a start refused after it would have stored a credential nobody ever saw, and later
 * starts, finding it, print none.
 */
async function bootstrapAdmin(store: IdentityStore, keys: ApiKeyService, clock: Clock): Promise<string | null> {
  await ensureAdminPrincipal(store, clock);
  // Exactly one credential however many replicas start together: the first to hold the lock creates it.
  return store.exclusive('bootstrap', async () => {
    if ((await store.getMeta('bootstrap')) !== null) return null;
    const created = await keys.create({ principalId: 'admin', models: ['*'], actions: ['*'], description: 'bootstrap admin credential' });
    await store.setMeta('bootstrap', created.record.id);
    return created.key;
  });
}

function listen(server: Server | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new StartupRefused('environment', `port ${host}:${port} is already in use (set listeners.*.port in the config)`, { cause: e })
          : new StartupRefused('environment', `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }),
      ),
    );
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Why a start was refused, as one StartupRefused: a mistake in the configuration (a key, a file or principal it
 * names, a certificate that does not fit its key) or else something in the environment.
 */
export function startupRefusal(e: unknown): StartupRefused {
  if (e instanceof StartupRefused) return e;
  const message = e instanceof Error ? e.message : String(e);
  const config = e instanceof ConfigError || e instanceof IdentityConfigError || e instanceof ServerCertificateInvalid;
  return new StartupRefused(config ? 'config' : 'environment', message, { cause: e });
}

/**
 * Starts Warden. If any step fails, everything started so far is closed again before StartupRefused is thrown,
 * so a refused start (e.g. a ledger that does not verify, a busy port) leaves no listener or lock behind.
 */
export async function startWarden(config: WardenConfig, opts: StartOptions = {}): Promise<RunningWarden> {
  const started: (() => unknown)[] = [];
  try {
    return await startWardenSteps(config, opts, started);
  } catch (e) {
    for (const undo of started.reverse()) await Promise.resolve().then(undo).catch(() => {});
    throw startupRefusal(e);
  }
}

async function startWardenSteps(config: WardenConfig, opts: StartOptions, started: (() => unknown)[]): Promise<RunningWarden> {
  const clock = opts.clock ?? systemClock;
  // The classification levels every plane ranks and parses labels against (refused here when the config is bad).
  const classification = classificationSchemeOf(config);
  // Log lines are written in blocks of at least 4 KiB or every 200 ms, whichever comes first (one write per
  // access-log line was a syscall per request); pino flushes what is buffered when the process exits. Only a
  // SIGKILL can lose the last 200 ms of log lines; the ledger, not the log, is the record of requests.
  const log = pino(
    { level: config.log.level, base: { svc: 'warden', ...(opts.worker ? { worker: opts.worker } : {}) } },
    (opts.logStream ?? destination({ sync: false, minLength: 4096, periodicFlush: 200 })) as DestinationStream,
  );
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const db: SqliteDb = openSqlite(join(config.dataDir, 'warden.db'));
  started.push(() => db.close());
  // Envelope encryption of content at rest (retained payloads, model keys): the platform KEK must open, or no start.
  // With store.postgres those records are shared, so every replica must name one KEK (not a per-data-dir file).
  if (config.store.postgres && !config.encryption.kek) throw new StartupRefused('config', SHARED_KEK_REQUIRED);
  const keyring = keyringFromConfig(config);
  started.push(() => keyring.close());
  const publicHosts = [config.listeners.inference.publicUrl, config.listeners.admin.publicUrl].flatMap((u) => (u ? [new URL(u).hostname] : []));
  const hosts = [...new Set([config.listeners.inference.host, config.listeners.admin.host, ...publicHosts, 'localhost', '127.0.0.1'])];
  const pki = await ensureDevPki(config.dataDir, hosts);
  // Cluster stores (store.postgres / store.redis) when configured: reached now or the start is refused.
  const cluster = await openClusterStores(config.store, (e, what) => log.error({ err: e }, `${what}: connection error`));
  started.push(() => cluster.close());
  const sealed = config.store.postgres
    ? await openSharedSealedStores(config.store.postgres, keyring.platformKekIds(), { payloads: config.ledger.retainPayloads, now: clock.now() }).catch((e: unknown) => {
        throw e instanceof SharedKekMismatch ? new StartupRefused('config', e.message, { cause: e }) : e;
      })
    : null;
  if (sealed) started.push(() => sealed.close());
  // Tenants' own KEKs: recorded and checked where every replica reads them, withdrawn on all at once.
  const tenantKeks = await TenantKeks.start({ keyring, store: sealed?.tenantKeks ?? new SqliteTenantKekStore(db), clock, log, changes: cluster.changes }).catch((e: unknown) => {
    throw e instanceof TenantKekMismatch ? new StartupRefused('config', e.message, { cause: e }) : e;
  });
  started.push(() => tenantKeks.close());
  const identityStore: IdentityStore = cluster.identity ?? new SqliteIdentityStore(db);
  // Key changes reach the policy plane (built below) so each key's scope policies stay in step.
  let onKeyChange: (e: KeyChange) => void = () => {};
  const keys = new ApiKeyService(identityStore, clock, {
    onChange: (e) => onKeyChange(e),
    onError: (e) => log.error({ err: e }, 'could not record API key last-use times; will retry'),
    ...(cluster.changes ? { changes: cluster.changes } : {}),
  });
  started.push(() => keys.close());
  await ensureAdminPrincipal(identityStore, clock);
  const metrics = new Metrics();

  // Upstreams: the configured ones, or the labelled demo model server when none is configured.
  const upstreamCfgs: UpstreamConfig[] = [...config.upstreams];
  let demo: { server: Server; url: string } | null = null;
  const useDemo = config.demoUpstream.enabled === true || (config.demoUpstream.enabled === 'auto' && config.upstreams.length === 0);
  if (useDemo) {
    demo = await startDemoUpstream(config.demoUpstream.port);
    const demoServer = demo.server;
    started.push(() => new Promise<void>((r) => demoServer.close(() => r())));
    log.warn({ url: demo.url, models: DEMO_MODELS }, 'DEMO upstream started: a fake echo model server, not a real LLM');
    upstreamCfgs.push({
      name: 'demo',
      baseUrl: demo.url,
      models: [...DEMO_MODELS],
      connections: 128,
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 60_000,
      bodyTimeoutMs: 300_000,
      demo: true,
    });
  }
  // Registry deployments get their upstream pools when first routed to: check their client certificate now.
  const wlClient = config.workload.upstream.clientTls;
  if (wlClient) loadServerCertificate(wlClient.certFile, wlClient.keyFile, clock.now());
  const routes = new Map<string, UpstreamTarget>();
  const models: ModelInfo[] = [];
  const targets: UpstreamTarget[] = [];
  for (const u of upstreamCfgs) {
    const t = createUpstreamTarget(u);
    targets.push(t);
    started.push(() => closeUpstreamTarget(t));
    for (const m of u.models) {
      routes.set(m, t);
      models.push({ id: m, ownedBy: u.demo ? DEMO_OWNER : u.name, demo: u.demo === true });
    }
  }

  // The ledger: its own SQLite file (its own fsync stream), resumed on restart; refuses to start on a
  // tampered store (fail closed).
  // The signing key lives in a PKCS#11 token when configured; a token that cannot sign refuses the start.
  const tokenKey = config.ledger.signingKey ? openPkcs11LedgerKey(config.ledger.signingKey) : null;
  if (tokenKey) started.push(() => tokenKey.close());
  // A key file keeps its own history across rotations (ledger-keys.json); a token key is given its predecessors.
  if (!tokenKey && config.ledger.previousKeys.length > 0) throw new ConfigError('ledger.previousKeys applies to a ledger.signingKey in a PKCS#11 token; a key file records the keys it replaced in ledger-keys.json');
  const ledgerRing = tokenKey ? fixedKeyRing(tokenKey.key, config.ledger.previousKeys, clock.now()) : loadLedgerKeyRing(config.dataDir, clock.now());
  const ledgerKey = ledgerRing.current;
  // Its batch commits (and their fsync) run on a worker thread so the event loop keeps serving meanwhile.
  // Cluster mode: the tree lives in PostgreSQL and every replica appends to it (batches serialized by a
  // lock; replicas must share the ledger key).
  const ledgerPg = config.ledger.postgres ?? (config.store.postgres ? { connectionString: config.store.postgres.connectionString, prefix: `${config.store.postgres.prefix}ledger_` } : undefined);
  const ledgerStore = ledgerPg
    ? await PostgresLedgerStore.connect({ connectionString: ledgerPg.connectionString, ...(ledgerPg.prefix ? { prefix: ledgerPg.prefix } : {}) })
    : await ThreadedSqliteLedgerStore.open(join(config.dataDir, 'ledger.db'));
  const ledger = await Ledger.open({ store: ledgerStore, key: ledgerKey, cosigners: ledgerRing.cosigners, previousKeys: ringVerifiers(ledgerRing).slice(1) }).catch(async (e: unknown) => {
    // Release the store before refusing to start.
    await ledgerStore.close().catch(() => {});
    throw e;
  });
  started.push(() => ledger.close());
  // C2SP tlog-witness: each new checkpoint goes to the configured witnesses; what they cosign is served at
  // /audit/v1/witnessed-checkpoint, so an auditor need not trust the key that sits beside this ledger.
  const witnessing = config.ledger.witnesses.length > 0
    ? new WitnessSubmitter({ ledger, logKey: ledgerKey.verifier, previousLogKeys: ringVerifiers(ledgerRing).slice(1), witnesses: config.ledger.witnesses, intervalMs: config.ledger.witnessIntervalMs, clock, statePath: join(config.dataDir, WITNESSED_CHECKPOINT_FILE),
        log: log.child({ component: 'witness-submitter' }),
        onResult: (witness, cosigned, atMs) => {
          metrics.witnessSubmissions.inc({ witness, result: cosigned ? 'cosigned' : 'failed' });
          if (cosigned) metrics.witnessLastCosigned.set({ witness }, Math.floor(atMs / 1000));
        },
      })
    : null;
  if (witnessing) {
    witnessing.start();
    started.push(() => witnessing.close());
  }
  const ledgerSink = new LedgerAuditSink(ledger, () => clock.now());
  const audit: AuditSink = config.log.auditToLog ? new LoggedAuditSink(ledgerSink, log) : ledgerSink;
  // The ledger key on demand and on a cadence (ledger.keyRotation, off by default): each rotation recorded
  // before it takes effect, the old key co-signing through the overlap (docs/ledger.md).
  const kr = config.ledger.keyRotation;
  const ledgerKeyRotation = new LedgerKeyRotation({
    ledger,
    ring: ledgerRing,
    dataDir: tokenKey ? null : config.dataDir,
    shared: ledgerPg !== undefined,
    clock,
    rotateAfterMs: kr.enabled ? kr.rotateAfterDays * 86_400_000 : null,
    overlapMs: kr.overlapDays * 86_400_000,
    record: async (action, details) => {
      await audit.append(auditEvent({ time: new Date(clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: 'allow', status: 200, resource: { type: 'System', id: 'ledger-key' }, details }));
    },
  });
  if (kr.enabled || ledgerRing.cosigners.length > 0) {
    const timer = setInterval(() => {
      ledgerKeyRotation.tick().catch((e: unknown) => log.error({ err: e }, 'ledger key rotation tick failed'));
    }, kr.intervalMs);
    timer.unref();
    started.push(() => clearInterval(timer));
  }

  const systemEvent = (action: string, details: AuditEvent['details'], policyVersion: string | null = null): AuditEvent =>
    auditEvent({ time: new Date(clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: 'allow', status: 200, policyVersion, ...(details ? { details } : {}) });
  // Upstream secrets from an apiKeySource are re-read every refreshMs: a change is used from the next request, an
  // unreadable source takes the upstream out of use (503) until it reads again; each a ledger entry.
  upstreamCfgs.forEach((u, i) => {
    if (!u.apiKeySource) return;
    const target = targets[i]!;
    const rotation = new UpstreamCredentialRotation({
      target: { name: u.name, setSecret: (secret) => setUpstreamSecret(target, secret) },
      source: u.apiKeySource,
      initial: target.authorization!.slice('Bearer '.length),
      record: (action, ok, details) => {
        (ok ? log.info : log.error).call(log, { upstream: u.name, action }, 'upstream credential');
        audit
          .append(auditEvent({ time: new Date(clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: ok ? 'allow' : 'deny', status: 200, resource: { type: 'System', id: `upstream:${u.name}` }, details }))
          .catch((e: unknown) => log.error({ err: e, action }, 'could not record an upstream credential change in the ledger'));
      },
    });
    const timer = setInterval(() => void rotation.tick(), u.apiKeySource.refreshMs);
    timer.unref();
    started.push(() => clearInterval(timer));
  });
  // The monitor plane: behaviour → risk (the PDP's riskScorePermille) and responses, each in the ledger.
  // Revoking a Warden token needs the identity plane, built once the listeners have their ports.
  let revokeJit: ((jti: string) => Promise<void>) | null = null;
  // Quarantining a drifting deployment needs the workload plane, built after the policy plane (which needs the monitor).
  let quarantineDeployment: ((id: string, reason: string) => Promise<boolean>) | null = null;
  let revokeTokensOf: ((principalId: string) => Promise<void>) | null = null;
  // A playbook's quarantineTool needs the tools plane, built after the workload plane.
  let toolQuarantine: Pick<ToolsPlane, 'quarantineTool' | 'releaseTool'> | null = null;
  const monitor = buildMonitor(config, {
    tools: {
      quarantineTool: (name, reason, by) => (toolQuarantine ? toolQuarantine.quarantineTool(name, reason, by) : Promise.resolve(null)),
      releaseTool: (name, by, made) => (toolQuarantine ? toolQuarantine.releaseTool(name, by, made) : Promise.resolve(false)),
    },
    quarantine: (id, reason) => (quarantineDeployment ? quarantineDeployment(id, reason) : Promise.resolve(false)),
    revokeTokens: async (principalId) => (revokeTokensOf ? (await revokeTokensOf(principalId), true) : false),
    clock,
    log,
    audit,
    revoke: async (method, credentialId) => {
      // Never the bootstrap credential: it may be the only way in (like the policy lockout guard).
      if (method === 'api_key') return (await keys.revoke(credentialId), true);
      if (method === 'jit_token' && revokeJit) return (await revokeJit(credentialId), true);
      return false;
    },
    baselinesFile: join(config.dataDir, 'monitor-baselines.json'),
    // Playbook step records outlive the process (a revert after a restart); with Redis, shared with the holds.
    playbookState: playbookState({ dataDir: config.dataDir, redis: cluster.redis ?? null, redisPrefix: config.store.redis?.prefix ?? '', log }),
    // Replicas share every principal's windows and risk (docs/monitor.md, "Across replicas").
    ...(cluster.redis ? { shared: { redis: cluster.redis, prefix: `${config.store.redis?.prefix ?? ''}monitor:` } } : {}),
    // Baselines are durable learnt state: PostgreSQL when configured, else Redis (docs/monitor.md, "Baselines across replicas").
    ...(cluster.baselines ? { sharedBaselines: cluster.baselines } : cluster.redis ? { sharedBaselines: new RedisBaselineStore(cluster.redis, `${config.store.redis?.prefix ?? ''}monitor:`) } : {}),
    // Drift baselines survive a restart and are shared: PostgreSQL when configured, else Redis, else warden.db (docs/monitor.md, "Drift profiles across restarts and replicas").
    driftStore: cluster.baselines
      ? cluster.baselines.driftProfiles()
      : cluster.redis
        ? new RedisDriftProfileStore(cluster.redis, `${config.store.redis?.prefix ?? ''}monitor:`)
        : new SqliteDriftProfileStore(db),
  });
  // A restarted gateway judges answers against the approved baselines at once: they are read before it serves.
  await monitor?.start();
  // API keys on a cadence (monitor.rotation; off by default): rotated with an overlap, the new secret in a
  // 0600 file under the data dir for a secret manager, reminders, unused keys disabled; never the bootstrap key.
  if (config.monitor.rotation.enabled) {
    const rc = config.monitor.rotation;
    let bootstrapId: string | null = null;
    const rotation = new KeyRotation({
      clock,
      keys,
      rotateAfterDays: rc.rotateAfterDays,
      overlapDays: rc.overlapDays,
      remindDaysBefore: rc.remindDaysBefore,
      disableUnusedAfterDays: rc.disableUnusedAfterDays,
      deliverDir: resolve(config.dataDir, rc.deliverDir),
      ...(rc.webhook
        ? { channel: webhookChannel({ url: rc.webhook.url, signingSecret: process.env[rc.webhook.signingSecretEnv]!, attempts: rc.webhook.attempts, backoffMs: rc.webhook.backoffMs, timeoutMs: rc.webhook.timeoutMs, clock, ...(rc.webhook.caFile ? { caFile: rc.webhook.caFile } : {}) }) }
        : {}),
      exempt: (id) => id === bootstrapId,
      record: (action, ok, details) =>
        void audit
          .append(auditEvent({ time: new Date(clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: ok ? 'allow' : 'deny', status: 200, resource: { type: 'Key', id: String(details.key) }, details }))
          .catch((e: unknown) => log.error({ err: e, action }, 'could not record a key rotation step in the ledger')),
    });
    const timer = setInterval(() => {
      void (async () => {
        bootstrapId = await identityStore.getMeta('bootstrap');
        await rotation.tick();
      })().catch((e: unknown) => log.error({ err: e }, 'key rotation tick failed'));
    }, rc.intervalMs);
    timer.unref();
    started.push(() => clearInterval(timer));
  }
  const policy = await buildPolicyPlane(config, {
    ...(monitor ? { risk: (p: Principal) => monitor.risk(p) } : {}),
    ...(cluster.policies && cluster.changes ? { shared: { store: cluster.policies, changes: cluster.changes } } : {}),
    db,
    clock,
    log,
    identityStore,
    upstreams: upstreamCfgs,
    onShadowDiff: (d) => log.warn({ shadow: { principal: d.principal, action: d.action, resource: d.resource, live: d.live.allow, candidate: d.candidate.allow, liveObligations: d.live.obligations, candidateObligations: d.candidate.obligations } }, 'shadow policy set decides differently'),
    onPublished: (version, reason) => {
      audit.append(systemEvent('policy.change', { reason }, version)).catch((e) => log.error({ err: e }, 'could not record a policy change in the ledger'));
    },
  });
  onKeyChange = (e) => policy.onKeyChange(e);
  started.push(() => policy.close());
  const limits = { requestsPerSecond: config.limits.requestsPerSecond, burst: config.limits.burst, concurrency: config.limits.concurrency, tokensPerMinute: config.limits.tokensPerMinute };

  const inf = config.listeners.inference;
  const adm = config.listeners.admin;
  // Each listener serves the operator's certificate when one is configured (checked now: a wrong file fails
  // the start), else the dev CA's.
  const serverTls = (l: typeof inf) => {
    if (!l.tls) return { certPem: pki.server.certPem, keyPem: pki.server.keyPem };
    const c = loadServerCertificate(l.tls.certFile, l.tls.keyFile, clock.now());
    log.info({ subject: c.subject, notAfter: c.notAfter, listener: l === inf ? 'inference' : 'admin' }, 'serving the configured TLS certificate');
    return { certPem: c.certPem, keyPem: c.keyPem };
  };
  const clientCa = (l: typeof inf) => {
    const f = l.clientCaFile ?? config.spiffe.clientCaFile;
    return f ? { clientCaPem: readFileSync(f, 'utf8') } : {};
  };
  const serverOptions = { connectionsCheckingInterval: 1000 };
  const infServer = createHttpsServer({ ...listenerTlsOptions({ ...serverTls(inf), mtls: inf.mtls, ...clientCa(inf) }), ...serverOptions });
  const admServer = createHttpsServer({ ...listenerTlsOptions({ ...serverTls(adm), mtls: adm.mtls, ...clientCa(adm) }), ...serverOptions });
  const reloadTls = () => {
    const reloaded: string[] = [];
    for (const [name, l, server] of [['inference', inf, infServer], ['admin', adm, admServer]] as const) {
      if (!l.tls) continue;
      // serverTls throws on a bad pair, before anything changes: the current certificate stays in service.
      server.setSecureContext(listenerTlsOptions({ ...serverTls(l), mtls: l.mtls, ...clientCa(l) }));
      reloaded.push(name);
    }
    return { reloaded };
  };
  // A client gets headersTimeoutMs for its headers and requestTimeoutMs for its whole request (a slow body is
  // cut off), checked every second rather than Node's default 30 s, so slow clients cannot hold sockets.
  for (const s of [infServer, admServer]) {
    s.keepAliveTimeout = 65_000;
    s.headersTimeout = config.limits.headersTimeoutMs;
    s.requestTimeout = config.limits.requestTimeoutMs;
  }
  // Bind first so that the public origins (used for RFC 9421 @target-uri) carry the real ports.
  started.push(() => infServer.close(), () => admServer.close());
  const infPort = await listen(infServer, inf.port, inf.host);
  const admPort = await listen(admServer, adm.port, adm.host);
  const inferenceUrl = `https://${inf.host}:${infPort}`;
  const adminUrl = `https://${adm.host}:${admPort}`;
  // What clients call (a load balancer's origin, when one fronts Warden): tokens, proofs and signatures name it.
  const inferenceOrigin = inf.publicUrl ?? inferenceUrl;
  const adminOrigin = adm.publicUrl ?? adminUrl;

  const redisPrefix = config.store.redis?.prefix ?? '';
  const identity = await buildIdentity(config, {
    clock,
    keys,
    store: identityStore,
    inferenceUrl: inferenceOrigin,
    db,
    ...(cluster.redis ? { revocations: new RedisRevocationStore(cluster.redis, `${redisPrefix}revoked:`, clock), nonces: new RedisNonceStore(cluster.redis, `${redisPrefix}nonce:`) } : {}),
    ...(cluster.identity ? { jitKeys: cluster.identity } : {}),
  });
  revokeJit = async (jti) => {
    await identity.jit.revoke(jti);
    policy.revokeJitToken(jti);
  };
  revokeTokensOf = (principalId) => identity.jit.revokeDerived({ principal: principalId });
  started.push(() => identity.close());
  const verifiers = identity.verifiers;
  // The model registry routes registered models (signed, verified, promoted, attested); config upstreams serve the rest.
  // Retrieval: /v1/vector_stores; the store, and each chunk a search would return, decided by the same PDP.
  const retrieval = buildRetrievalPlane(config.dataDir, config.retrieval, {
    keyring,
    subjectKeysFile: subjectKeysFile(config),
    clock,
    log,
    classification,
    inspect: (t) => inspectText(t, { scheme: classification }),
    storeRefusal: (tenant) => localStoreRefusal(config.placement, tenant),
    expiryFor: (c, nowMs) => expiryFor(config.placement, c, nowMs, classification.highest),
    authorize: (principal, action, resource, findings, sourceIp) => policy.authorizer.authorize({ principal, action, resource, context: { now: clock.now(), sourceIp, listener: 'inference', findings } }),
  }, cluster.retrieval);
  started.push(() => retrieval.close());
  // Dataset records about an erased subject: the data plane is built below, and erasure only runs once serving.
  let datasetSubjects: TrainingDataAccess | null = null;
  const datasetRecords = {
    subjectRecords: (id: string, tenant: string) => datasetSubjects!.subjectRecords(id, tenant),
    eraseSubject: (id: string, tenant: string) => datasetSubjects!.eraseSubject(id, tenant),
  };
  const retention = buildRetention(config, { clock, log, ledger, identityStore, keys, keyring, subjectData: retrieval.plane, datasetRecords, shared: sealed?.payloads ?? null });
  started.push(() => retention.close());
  // Retention by class: what has expired is already refused on read; the sweep deletes it, one ledger entry a round.
  const sweep = new RetentionSweep({
    kinds: [
      ...(retention.expired ? [{ name: 'payloads', count: async (t: number) => ({ deleted: await retention.expired!.count(t) }), delete: async (t: number) => ({ deleted: await retention.expired!.delete(t) }) }] : []),
      { name: 'retrievalChunks', count: (t: number) => retrieval.store.countExpired(t), delete: (t: number) => retrieval.store.deleteExpired(t) },
      // Uploads (/v1/files) nobody added to a store within retrieval.uploadTtlMs (or their own expires_after).
      { name: 'retrievalUploads', count: async (t: number) => ({ deleted: await retrieval.store.countExpiredUploads(t) }), delete: async (t: number) => ({ deleted: await retrieval.store.deleteExpiredUploads(t) }) },
    ],
    audit,
    clock,
    log: log.child({ component: 'retention-sweep' }),
    intervalMs: config.placement.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    // Replicas share the retained payloads: one sweeps at a time, so an expiry is counted and recorded once.
    ...(cluster.identity ? { exclusive: <T>(fn: () => Promise<T>) => cluster.identity!.exclusive('retention-sweep', fn) } : {}),
  });
  sweep.start();
  started.push(() => sweep.close());
  // SIEM export (ledger.export): pulls committed entries from the ledger, so requests never wait for it.
  const siem = await startSiemExport(config, {
    log: ledger,
    store: identityStore,
    logger: log.child({ component: 'siem-export' }),
    now: () => clock.now(),
    onLag: (d, lag) => metrics.siemExportLag.set({ destination: d }, lag),
    onFailure: (d) => metrics.siemExportFailures.inc({ destination: d }),
  });
  started.push(() => siem.close());
  // Data plane: data sources and signed datasets (/admin/v1/data-sources, /admin/v1/datasets), each change in the ledger.
  const data = buildDataPlane({
    db, audit, clock, placement: config.placement, classification,
    ...(cluster.datasets ? { store: cluster.datasets } : {}),
    // trainOn is asked with the model as principal; the context is the admin listener's, at the caller's address.
    decideTrainOn: (sourceIp) => (principal, resource, purpose) =>
      policy.pdp.decide({ principal, action: 'trainOn', resource, context: buildContext({ principal, now: clock.now(), sourceIp, listener: 'admin', findings: null, riskScore: 0, tenant: principal.tenant, ...(purpose !== undefined ? { purpose } : {}) }) }),
    decideEvaluateOn: (sourceIp) => (principal, resource) =>
      policy.pdp.decide({ principal, action: 'evaluateOn', resource, context: buildContext({ principal, now: clock.now(), sourceIp, listener: 'admin', findings: null, riskScore: 0, tenant: principal.tenant }) }),
    // Each read by a training token is asked again on the inference listener, under the token's generated cap.
    decideRead: (sourceIp) => (principal, resource, purpose) =>
      policy.pdp.decide({ principal, action: 'trainOn', resource, context: buildContext({ principal, now: clock.now(), sourceIp, listener: 'inference', findings: null, riskScore: 0, tenant: principal.tenant, ...(purpose !== undefined ? { purpose } : {}) }) }),
    mintTrainingToken: async (subject, ttlSec) => {
      const issued = await identity.jit.exchange({ subject, requested: ttlSec !== undefined ? { ttlSec } : {} });
      const v = await identity.jit.verifyDetailed(issued.access_token);
      policy.grantJitToken(v.jti, v.principal, v.expiresAt);
      return { accessToken: issued.access_token, tokenType: issued.token_type, expiresIn: issued.expires_in, jti: v.jti };
    },
    revokeTrainingToken: (jti, expiresAt) => identity.jit.revoke(jti, expiresAt),
    ...(config.data.lineage ? { lineagePush: { ...config.data.lineage, ...(config.data.lineage.caFile ? { caPem: readFileSync(config.data.lineage.caFile, 'utf8') } : {}) } } : {}),
    sweepIntervalMs: config.data.sweepIntervalMs,
    onError: (e) => log.warn({ err: e.message, component: 'data-plane' }, 'data plane background task failed'),
  });
  started.push(() => data.close());
  datasetSubjects = data.training;
  const workload = await buildWorkloadPlane({
    config, db, clock, log, audit, pdp: policy.pdp, stepUp: createBearerVerifier(verifiers), onModels: (m) => policy.syncRegisteredModels(m),
    // A deployment whose attestation fails: the monitor's playbooks act on it (`when: { attestation: true }`).
    ...(monitor ? { onAttestationFailure: (e: Parameters<typeof monitor.onAttestationFailure>[0]) => monitor.onAttestationFailure(e) } : {}),
    ...(cluster.registry && cluster.changes ? { shared: { store: cluster.registry, changes: cluster.changes, ...(cluster.attestationVerdicts ? { verdicts: cluster.attestationVerdicts } : {}) } } : {}),
    // Promotion refuses a model whose provenance names a dataset that is unregistered, unverified or not trainOn-approved.
    trainingData: { gate: (dep, datasets) => data.trainingDataGate(dep, datasets), explain: (dep, datasets) => data.explainTrainingData(dep, datasets) },
  });
  started.push(() => workload.close());
  quarantineDeployment = async (id, reason) => (await workload.registry.quarantine(null, id, reason)).state === 'quarantined';
  const keyRelease = createKeyRelease({ db, keyring, registry: workload.registry, trust: workload.trust, audit, clock, log, maxEvidenceAgeMs: config.workload.attestation.maxEvidenceAgeMs, perSource: config.limits.attestationPerSource, maxConsumedNonces: config.limits.attestationUsedNonces, ...(cluster.redis ? { challenges: new RedisChallengeStore(cluster.redis, `${redisPrefix}attestation:`), sourceLimiter: new RedisSourceRateLimiter(cluster.redis, `${redisPrefix}attestation:source:`, config.limits.attestationPerSource) } : {}), ...(sealed ? { modelKeys: sealed.modelKeys } : {}) });
  // The keys that sign per-call tool credentials: one key for good, or rotated on a cadence with an overlap
  // (monitor.rotation.toolCredentialKeys; docs/monitor.md), each rotation and retirement a ledger entry. With
  // store.postgres the replicas share them (wrapped under the shared KEK): one signs what all publish, and one
  // replica at a time rotates (docs/cluster.md).
  let toolCredentialRound: () => Promise<unknown> = async () => null;
  const toolCredentialKeys = async (): Promise<KeyObject | ToolCredentialKeys | SharedToolCredentialKeys> => {
    const legacyFile = join(config.dataDir, 'tool-credential-key.pem');
    const tk = config.monitor.rotation.toolCredentialKeys;
    const record: ConstructorParameters<typeof ToolCredentialKeys>[0]['record'] = (action, details) =>
      void audit
        .append(auditEvent({ time: new Date(clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: 'allow', status: 200, resource: { type: 'System', id: 'tool-credential-keys' }, details }))
        .catch((e: unknown) => log.error({ err: e, action }, 'could not record a tool credential key rotation in the ledger'));
    const schedule = { clock, rotateAfterMs: tk.enabled ? tk.rotateAfterDays * 86_400_000 : Infinity, overlapMs: tk.overlapMinutes * 60_000, publishAheadMs: tk.publishAheadMinutes * 60_000, record };
    let keys: ToolCredentialKeys | SharedToolCredentialKeys;
    if (sealed) {
      const changes = cluster.changes;
      const store = sealed.toolCredentialKeys.sealWith(platformSeedSeal(keyring, PLATFORM_TENANT));
      const shared = await SharedToolCredentialKeys.start({
        ...schedule,
        store,
        announce: async () => void (await changes?.publish({ type: 'tool_credential_keys' })),
        // This replica's key from before the keys were shared becomes the store's first (backends may pin it).
        firstKey: () => (existsSync(legacyFile) ? { key: loadOrCreateEd25519(legacyFile), since: Math.floor(statSync(legacyFile).mtimeMs) } : null),
      });
      if (changes) {
        const reload = () => void shared.reload().catch((e: unknown) => log.error({ err: e }, 'could not reload the shared tool credential keys (the loaded ones keep signing)'));
        started.push(changes.subscribe((c) => (c.type === 'tool_credential_keys' || c.type === 'resync') && reload()));
      }
      keys = shared;
    } else {
      if (!tk.enabled) return loadOrCreateEd25519(legacyFile);
      keys = new ToolCredentialKeys({ ...schedule, dir: join(config.dataDir, 'tool-credential-keys'), legacyFile });
    }
    // A round that fails (the shared store unreachable) is skipped and logged: never run on local state.
    toolCredentialRound = async () => {
      try {
        return await keys.tick();
      } catch (e) {
        log.error({ err: e }, 'tool credential key rotation skipped (the current key keeps signing)');
        return null;
      }
    };
    if (tk.enabled) {
      const timer = setInterval(() => void toolCredentialRound(), config.monitor.rotation.intervalMs);
      timer.unref();
      started.push(() => clearInterval(timer));
    }
    await toolCredentialRound();
    return keys;
  };
  // Tools plane: /v1/tools, /mcp and /admin/v1/tools|approvals; tool calls decided by the same PDP.
  const tools = await createToolsPlane({
    clock,
    log,
    db,
    ...(cluster.tools && cluster.changes ? { shared: { store: cluster.tools, changes: cluster.changes } } : {}),
    audit,
    decide: pdpToolDecider(policy.pdp, buildContext),
    inspector: { inspect: (t) => inspectText(t), count: countFindings, redact },
    authenticate: toolAuthenticator(createBearerVerifier(verifiers), { issuer: inferenceOrigin, verifyDetailed: (t) => identity.jit.verifyDetailed(t) }),
    publicOrigin: inferenceOrigin,
    // MCP clients log users in at the configured OIDC issuers; Warden's own token service (exchange) comes last.
    authorizationServers: [...config.oidc.issuers.map((i) => i.issuer), inferenceOrigin],
    credentialKey: await toolCredentialKeys(),
    ...(monitor
      ? { risk: (p: Principal) => monitor.risk(p), observe: (p: Principal, o: Parameters<typeof monitor.observeTool>[1]) => monitor.observeTool(p, o) }
      : {}),
  });
  started.push(() => tools.close());
  toolQuarantine = tools;
  // A2A plane: /a2a/{id} and /admin/v1/agents; agent calls decided by the same PDP (pdpToolDecider passes the
  // action and resource through: callAgent on AgentSkill), callees get JIT tokens naming them as the actor.
  const decideForTools = pdpToolDecider(policy.pdp, buildContext);
  const agents = createAgentsPlane({
    clock,
    log,
    db,
    ...(cluster.agents ? { store: cluster.agents } : {}),
    audit,
    decide: (r) => decideForTools(r as unknown as ToolPolicyRequest),
    inspector: { inspect: (t) => inspectText(t), count: countFindings, redact },
    publicOrigin: inferenceOrigin,
    config: config.agents,
    mint: async (caller, agent) => (await identity.jit.exchange({ subject: caller, actor: calleeActor(caller, agent), requested: {} })).access_token,
    ...(monitor ? { risk: (p: Principal) => monitor.risk(p), observe: (p: Principal, o: Parameters<typeof monitor.observeTool>[1]) => monitor.observeTool(p, o) } : {}),
  });
  started.push(() => agents.close());
  // Budgets: counters in Redis when it is configured (shared by every replica), else in process (SQLite-backed).
  const budgetStore = cluster.redis ? new RedisBudgetStore(cluster.redis, `${redisPrefix}budgets:`) : new LocalBudgetStore(clock, new SqliteBudgetPersistence(db));
  if (budgetStore instanceof LocalBudgetStore) started.push(() => budgetStore.close());
  const budgets = new Budgets(budgetStore, config.budgets, {
    clock,
    onRemaining: (l, r) => {
      if (r.tokens !== null) metrics.budgetRemaining.set({ scope: l.scope, id: l.id, window: l.window, unit: 'tokens' }, r.tokens);
      if (r.micros !== null) metrics.budgetRemaining.set({ scope: l.scope, id: l.id, window: l.window, unit: 'cost' }, r.micros / 1e6);
    },
    onError: (e) => log.error({ err: e }, 'could not settle or refresh budgets'),
  });
  started.push(() => budgets.close());
  await budgets.refresh();
  const u = config.limits.unauthenticated;
  const perSource = { requestsPerSecond: u.requestsPerSecond, burst: u.burst };
  // With store.redis every replica spends one failed-attempt bucket per source (docs/cluster.md).
  const failureBudget = cluster.redis ? new RedisFailureBudget(new RedisSourceRateLimiter(cluster.redis, `${redisPrefix}unauthenticated:source:`, perSource), clock) : undefined;
  const refusals = new UnauthenticatedRefusals({ perSource, windowMs: u.accountingWindowMs }, { clock, audit, log, ...(failureBudget ? { budget: failureBudget } : {}) });
  started.push(() => refusals.close());
  // Traces only when configured: the OpenTelemetry SDK is not even loaded otherwise.
  const tracing = config.telemetry.traces ? (await import('../telemetry/tracing.js')).startTracing(config.telemetry.traces, log) : undefined;
  if (tracing) started.push(() => tracing.shutdown());
  const metricsExport = config.telemetry.metrics ? (await import('../telemetry/metrics-otlp.js')).startMetricsExport(metrics.registry, config.telemetry.metrics, log, () => clock.now()) : undefined;
  if (metricsExport) started.push(() => metricsExport.shutdown());
  const gateway = new Gateway({
    ...(tracing ? { tracing } : {}),
    refusals,
    clock,
    log,
    metrics,
    verifiers,
    limiter: cluster.redis
      ? new RedisLimiter(cluster.redis, { prefix: `${redisPrefix}limits:`, onError: (e) => log.error({ err: e }, 'could not release or renew a shared limit lease; it expires on its own') })
      : new LocalLimiter(clock),
    limits,
    upstreamShare: new UpstreamShare(config.limits.upstreamShare),
    budgets: { budgets, defaultMaxTokens: config.budgets.defaultMaxTokens },
    maxBodyBytes: config.limits.maxBodyBytes,
    authorizer: policy.authorizer,
    obligations: enforcers,
    routes,
    models,
    audit,
    accessLog: config.log.accessLog,
    publicOrigin: inferenceOrigin,
    tools: tools.routes,
    agents: agents.routes,
    retrieval: retrieval.routes,
    placementFor: (c, tenant) => placementRequirements(config.placement, c, tenant),
    classification,
    datasets: { read: (call) => data.readRecords(call) },
    attestation: keyRelease.inferenceRoute,
    routeWith: workload.routeWith,
    filterToolCalls: (ctx, json) => filterToolCalls(json, ctx.principal!, (p, t, a) => tools.assess(p, t, a, ctx.sourceIp)),
    ...(retention.retain ? { retain: retention.retain } : {}),
    verifyServed: workload.verifyServed,
    ...(monitor ? { monitor } : {}),
    // Input inspection: findings (types and counts) go into the ledger entry and the policy context.
    inspector: { inspectRequest: (endpoint, body) => inspectRequest(endpoint, body, { scheme: classification }) },
    tokens: {
      parse: (b) => parseTokenExchangeRequest(b),
      metadata: () => tokenServiceMetadata({ issuer: inferenceOrigin, tokenEndpoint: `${inferenceOrigin}/v1/token`, dpopAlgorithms: DPOP_ALGORITHMS }),
      exchange: async (i) => {
        const issued = await identity.jit.exchange(i);
        // The token's narrowed scope becomes its generated cap (a ceiling: grants still come from policy).
        const v = await identity.jit.verifyDetailed(issued.access_token);
        policy.grantJitToken(v.jti, v.principal, v.expiresAt);
        return issued;
      },
    },
  });
  // /readyz: the ledger can commit (no response is released otherwise) and the identity database answers.
  const readiness = new Readiness(
    [
      { name: 'ledger', probe: () => ledgerSink.probe(audit) },
      { name: 'identity_store', probe: async () => db.prepare('SELECT 1 AS ok').get() !== undefined },
      ...cluster.probes,
    ],
    log,
  );
  // Entry bundles name principals and decisions: an admin allowed readAudit reads them (unless
  // ledger.publicEntries); checkpoints, hash tiles and proofs stay public for witnesses and receipt holders.
  const witnessedCheckpoint = () => witnessing?.witnessedCheckpoint() ?? null;
  const auditHandler = createAuditHandler(ledger, { previousKeys: () => ledgerKeyRotation.previous(), currentSince: () => ledgerKeyRotation.since(), now: () => clock.now(), ...(config.ledger.publicEntries ? { witnessedCheckpoint } : {
    witnessedCheckpoint,
    authorizeEntries: async (req, requestId) => {
      return admin.authorizeRead(req, requestId, 'readAudit', { type: 'System', id: 'audit' });
    },
  }) });
  // The continuous red team (docs/monitor.md "Red team"): attacks sent through this process's own inference
  // listener as the configured principal, with a key minted per run and revoked after it.
  const redTeam = new RedTeam({
    config: config.monitor.redteam,
    dataDir: config.dataDir,
    clock,
    log,
    audit,
    metrics,
    inferenceUrl: `https://${inf.host === '0.0.0.0' || inf.host === '' ? '127.0.0.1' : inf.host === '::' ? '[::1]' : inf.host}:${infPort}`,
    ca: () => readFileSync(pki.caPemPath, 'utf8'),
    models: () => upstreamCfgs.flatMap((u) => u.models),
    policyVersion: () => policy.pdp.version ?? 'none',
    principalUsable: async (id) => {
      const p = await identityStore.getPrincipal(id);
      return p !== null && !p.erasedAt && !p.disabledAt;
    },
    mintKey: async (principalId, ttlMs, description) => {
      const k = await keys.create({ principalId, models: ['*'], actions: ['chat'], ttlMs, description });
      return { id: k.record.id, key: k.key };
    },
    revokeKey: async (id) => void (await keys.revoke(id)),
    ...(monitor
      ? {
          forgetRisk: async (id: string) => {
            const p = await identityStore.getPrincipal(id);
            if (p) await monitor.forget({ tenant: p.tenant, kind: p.kind, id: p.id });
          },
        }
      : {}),
  });
  started.push(() => redTeam.stop());
  // The console (src/console): browser sessions as admin credentials, and its assets and sign-in under /console/.
  const consoleUi = config.console.enabled ? await createConsole(config, { clock, audit, store: identityStore, sessionStore: cluster.consoleSessions ?? new SqliteConsoleSessionStore(db), verifiers, adminOrigin, adminUrl }) : null;
  if (consoleUi) started.push(() => consoleUi.close());
  // Declared after the audit handler that reads it: requests start only once it exists.
  const admin: AdminApi = new AdminApi({
    clock,
    log,
    metrics,
    verifiers,
    keys,
    store: identityStore,
    audit,
    publicOrigin: adminOrigin,
    ready: () => readiness.report(),
    extraRoutes: [auditHandler, ...(consoleUi ? [consoleUi.handler] : [])],
    ...(consoleUi ? { session: consoleUi.session } : {}),
    // Every admin request is a PDP decision (adminActionFor; starter set: admins with MFA < 15 min, or the bootstrap credential).
    authorize: (principal, action, resource, sourceIp, opts) =>
      policy.authorizer.authorize({ principal, action, resource, context: { now: clock.now(), sourceIp, listener: 'admin', findings: null } }, opts),
    // RFC 9470 step-up for any admin request (Warden-MFA-Token): the starter set wants MFA < 15 min for admin
    // actions. Only OIDC tokens carry MFA (amr + auth_time), so without an OIDC issuer there is no step-up.
    ...(verifiers.oidc ? { stepUp: createBearerVerifier(verifiers), oidcIssuers: config.oidc.issuers.map((i) => i.issuer) } : {}),
    adminRoutes: [
      (req, res, ar) => policy.adminRoute(req, res, ar),
      // Everything Warden knows of, with its risk flags (GET /admin/v1/inventory, `warden inventory`).
      createInventoryRoute({
        clock,
        principals: () => identityStore.listPrincipals(),
        // Pending last-use touches first, so a key in use is not listed as never used.
        keys: async () => (await keys.flushTouches(), keys.list()),
        tools: () => tools.registry.list(),
        toolQuarantined: (name) => tools.quarantines.isQuarantined(name),
        deployments: () => workload.registry.list(),
        datasets: () => data.registry.listAll(),
        agents: () => agents.store.list(),
        vectorStores: () => retrieval.store.listStores(null),
        configuredModels: () => upstreamCfgs.flatMap((u) => u.models.map((model) => ({ model, upstream: u.name }))),
        ...(monitor ? { risk: (p: { tenant: string; kind: string; id: string }) => monitor.riskWithReasons(p) } : {}),
        unusedAfterDays: config.monitor.inventory.unusedAfterDays,
        rotateAfterDays: config.monitor.inventory.rotateAfterDays,
      }),
      // The continuous red team's runs and history (`warden redteam`).
      createRedTeamRoute(redTeam),
      // What a key can actually do: its scope ∩ what policy grants its principal (`warden keys effective`).
      createEffectiveRoute({
        clock,
        store: identityStore,
        authorize: (r, o) => policy.authorizer.authorize(r, o),
        models: () => policy.modelIds(),
        tools: () => tools.registry.list().map((t) => t.name),
        assessTool: (p, tool, ip) => tools.assess(p, tool, undefined, ip),
      }),
      // Revoking a JIT token before it expires (and every token exchanged from it).
      async (req, res, ar) => {
        if (ar.path !== '/admin/v1/tokens/revoke') return false;
        if (req.method !== 'POST') throw new BadRequest('method_not_allowed', '/admin/v1/tokens/revoke accepts POST only');
        const b = await ar.body();
        let jti = typeof b.jti === 'string' && b.jti ? b.jti : null;
        let exp: number | undefined;
        if (!jti && typeof b.token === 'string') {
          // Read without verifying: revoking an id is harmless even if the token was forged.
          try {
            const claims = JSON.parse(Buffer.from(b.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown; exp?: unknown };
            if (typeof claims.jti === 'string') jti = claims.jti;
            if (typeof claims.exp === 'number') exp = claims.exp * 1000;
          } catch {
            /* reported below */
          }
        }
        if (!jti) throw new BadRequest('invalid_field', 'give jti, or token (a Warden JIT token)', 'jti');
        await ar.record('token.revoke', { type: 'Key', id: jti });
        await identity.jit.revoke(jti, exp);
        policy.revokeJitToken(jti);
        sendJson(res, 200, { revoked: jti }, { 'x-request-id': ar.requestId });
        return true;
      },
      (req, res, ar) => retention.adminRoute(req, res, ar),
      createLedgerSearchRoute(ledger),
      createBudgetsRoute(budgets),
      createTenantKeksRoute(tenantKeks, tenantHoldings({ payloadKeys: () => retention.payloadKeys(), models: sealed?.modelKeys ?? new SqliteModelKeyStore(db), retrieval: (t) => retrieval.store.countTenant(t), subjectKeys: (t) => retrieval.subjectKeys.countTenant(t) })),
      (req, res, ar) => ledgerKeyRotation.adminRoute(req, res, ar),
      ...(monitor ? [(req: IncomingMessage, res: ServerResponse, ar: AdminRequest) => monitor.adminRoute(req, res, ar)] : []),
      (req, res, ar) => keyRelease.adminRoute(req, res, ar),
      (req, res, ar) => workload.adminRoute(req, res, ar),
      data.adminRoute,
      tools.adminRoute,
      agents.adminRoute,
      retrieval.adminRoute,
      // /admin/v1/inspect: the same detectors as the request path, for scripting and evaluation (findings, never values).
      async (req, res, ar) => {
        if (ar.path !== '/admin/v1/inspect') return false;
        if (req.method !== 'POST') throw new BadRequest('method_not_allowed', '/admin/v1/inspect accepts POST only');
        const b = await ar.body();
        if (typeof b.text !== 'string') throw new BadRequest('invalid_field', 'text must be a string', 'text');
        const label = b.label === undefined ? undefined : classification.parse(b.label, 'label');
        const f = inspectText(b.text, { scheme: classification, ...(label ? { assertedLabel: label } : {}) });
        sendJson(res, 200, { classification: f.classification, injectionScore: f.injectionScore, injectionSignals: f.injectionSignals, findings: f.items }, { 'x-request-id': ar.requestId });
        return true;
      },
    ],
  });
  // Behind trusted proxies the client is who X-Forwarded-For names (src/network/source.ts clientAddress).
  const withClient = (trusted: string[], handle: (req: IncomingMessage, res: ServerResponse) => void) => {
    if (trusted.length === 0) return handle;
    const resolve = createClientAddressResolver(trusted);
    return (req: IncomingMessage, res: ServerResponse) => {
      resolve(req);
      handle(req, res);
    };
  };
  // Envoy ext_authz: a mesh asks the gateway for decisions on traffic it routes itself (same stages, same ledger).
  const extAuthz = config.extAuthz
    ? await (await import('../gateway/ext-authz/index.js')).startExtAuthz(config.extAuthz, {
        check: (x) => gateway.check(x),
        serverTls: config.extAuthz.tls ? (() => {
          const c = loadServerCertificate(config.extAuthz.tls.certFile, config.extAuthz.tls.keyFile, clock.now());
          return { certPem: c.certPem, keyPem: c.keyPem };
        })() : serverTls(inf),
        ...(inf.mtls !== 'off' ? { inferenceClientCaPem: clientCa(inf).clientCaPem } : {}),
        maxBodyBytes: config.limits.maxBodyBytes,
        now: () => clock.now(),
        log: log.child({ component: 'ext-authz' }),
      })
    : null;
  if (extAuthz) started.push(() => extAuthz.close());
  // Last: everything above can still refuse the start (see bootstrapAdmin).
  const bootstrapKey = await bootstrapAdmin(identityStore, keys, clock);
  keys.setBootstrapKey(await identityStore.getMeta('bootstrap'));
  const infDrain = new ListenerDrain(infServer);
  infServer.on('request', infDrain.track(withClient(inf.trustedProxies, gateway.handle)));
  admServer.on('request', withClient(adm.trustedProxies, admin.handle));
  readiness.markStarted();
  log.info({ inferenceUrl, adminUrl, inferenceOrigin, adminOrigin, ca: pki.caPemPath, dataDir: config.dataDir }, 'warden started');
  redTeam.schedule();

  let closed = false;
  const running: RunningWarden = {
    inferenceUrl,
    adminUrl,
    inferenceOrigin,
    adminOrigin,
    consoleUrl: consoleUi ? `${adminOrigin}/console/` : null,
    caPemPath: pki.caPemPath,
    dataDir: config.dataDir,
    bootstrapKey,
    reloadTls,
    flushRefusals: () => refusals.flush(),
    sweepRetention: () => sweep.sweep(),
    rotateToolCredentialKeys: () => toolCredentialRound(),
    attestationRound: () => workload.monitor.tick(),
    demoUpstreamUrl: demo?.url ?? null,
    extAuthzGrpcPort: extAuthz?.grpcPort ?? null,
    extAuthzHttpPort: extAuthz?.httpPort ?? null,
    get ledgerVerifierKey() {
      return ledger.key.vkey;
    },
    ledgerKeyRotation,
    log,
    async shutdown() {
      if (closed) return;
      readiness.markStopping();
      log.info({ inFlight: infDrain.active, drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining: no new connections; finishing requests under way');
      const shuttingDown = () => new UpstreamError(503, 'shutting_down', 'Warden is shutting down: the answer was cut at the drain deadline (shutdown.drainTimeoutMs)');
      const r = await infDrain.drain(config.shutdown.drainTimeoutMs, () => gateway.cutInFlight(shuttingDown));
      if (r.cut > 0 || r.dropped > 0) log.warn(r, 'drain deadline passed: requests under way were cut');
      await running.close();
    },
    async close() {
      if (closed) return;
      closed = true;
      readiness.markStopping();
      const stop = (s: Server | HttpsServer) =>
        new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        });
      await Promise.all([stop(infServer), stop(admServer), ...(demo ? [stop(demo.server)] : []), extAuthz?.close()]);
      await Promise.all(targets.map((t) => closeUpstreamTarget(t)));
      await redTeam.stop();
      await monitor?.close();
      await refusals.close();
      await tracing?.shutdown();
      await metricsExport?.shutdown();
      await keys.close();
      await identity.close();
      await tools.close();
      await agents.close();
      await sweep.close(); // before the stores it deletes from
      await retrieval.close();
      policy.close();
      await workload.close();
      await retention.close();
      await siem.close(); // after the last entries were appended, before the ledger closes
      budgets.close();
      if (budgetStore instanceof LocalBudgetStore) budgetStore.close();
      await witnessing?.close();
      await ledger.close(); // closes ledger.db after the last batch
      // Timers and pools that would keep the process alive after everything else closed (the tenant KEKs re-read
      // every second; the console's sessions; the shared sealed stores' PostgreSQL pools).
      tenantKeks.close();
      await consoleUi?.close();
      await sealed?.close();
      await cluster.close();
      tokenKey?.close();
      keyring.close();
      db.close();
      log.flush();
    },
  };
  return running;
}
