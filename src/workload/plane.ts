// The workload plane in the running gateway: the model registry (in warden.db) decides WHERE a request for a
// registered model may go. Only a promoted deployment (signed by a trusted signer, scanned, verified) that
// meets the policy's placement obligations and, when confidential, holds fresh attestation evidence gets
// traffic; the upstream must then report the pinned artifact digest before any byte of the answer is
// released. Models the registry does not know fall back to the configured upstreams, unless
// `workload.requireRegistered`. Everything else fails closed with a typed error (issue 6, docs/models.md).
import { createRegistrySpool } from './registry/spool.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { createRemoteJWKSet } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { canonicalJson } from '../core/canonical-json.js';
import { Forbidden } from '../core/errors.js';
import type { AuditEvent, Principal, Resource } from '../core/types.js';
import type { WardenConfig } from '../config/config.js';
import type { AdminRequest } from '../admin/admin.js';
import type { AuditSink } from '../core/audit-sink.js';
import { unmetRequirement, type RouteRequirement } from '../core/types.js';
import { createUpstreamTarget, type UpstreamTarget } from '../network/upstream.js';
import { buildContext, type PolicyDecisionPoint } from '../policy/index.js';
import type { ChangeFeed } from '../store/pg-changes.js';
import { AnnouncingRegistryStore } from '../store/registry-announce.js';
import { SqliteRegistryStore } from '../store/registry-sqlite.js';
import type { DeploymentRecord, RegistryStore } from '../store/registry-store.js';
import type { SqliteDb } from '../store/sqlite.js';
import { AttestationMonitor, createTrustAnchors, INTEL_SGX_ROOT_CA_PEM, tdxCollateralDirectory, type AttestationStatus, type TrustAnchors } from './attestation/index.js';
import { ModelRegistry, type Authorize, type TrainingDataGate } from './registry/registry.js';
import type { DatasetRef } from './provenance/slsa.js';
import { loadPublicKey } from './signing/keys.js';
import { createEvidenceFetcher } from './attestation/evidence-fetch.js';
import { createModelAdminRoute } from './admin-routes.js';
import { DeploymentUntrusted, ModelNotRegistered, NoPromotedDeployment } from './routing-errors.js';
import { referenceFromRequirement } from './attestation/requirement.js';
import type { AttestationVerdictStore } from './attestation/shared-verdicts.js';

export interface WorkloadPlaneDeps {
  config: WardenConfig;
  /** warden.db, already open (the registry tables live beside the identity and policy tables). */
  db: SqliteDb;
  clock: Clock;
  log: Logger;
  /** The gateway's ledger sink: every registry transition and attestation verdict is an entry. */
  audit: AuditSink;
  /** Promotion and rollback are `promoteModel` decisions of this PDP. */
  pdp: PolicyDecisionPoint;
  /** Verifies the promoter's MFA step-up token (the identity plane's bearer verifier). */
  stepUp: (token: string) => Promise<Principal>;
  /**
   * Shared store (cluster): the registry lives in PostgreSQL; every change is announced and every replica
   * reloads its routing snapshot when told (and every `workload.refreshIntervalMs` in case it missed one).
   * With `verdicts`, attestation verdicts are shared too: one replica at a time challenges a deployment, every
   * replica routes on the stored verdict (docs/cluster.md, "Attestation across replicas").
   */
  shared?: { store: RegistryStore; changes: ChangeFeed; verdicts?: AttestationVerdictStore };
  /** Told when a deployment's attestation verdict turns untrusted (the monitor's playbooks act on it). */
  onAttestationFailure?: (e: { deployment: string; code: string | null; reason: string | null }) => void;
  /** Told the registry's models (placement of the promoted deployment, else of any) after each refresh, for the policies. */
  onModels?: (models: { id: string; tier: string; region: string }[]) => void;
  /** The data plane's training-data gate on promotion, and its per-dataset explanation for `warden model show`. */
  trainingData?: { gate: TrainingDataGate; explain: (deployment: DeploymentRecord, datasets: readonly DatasetRef[]) => unknown };
}

/** What the route stage knows of a request, and where the plane writes its choice (the gateway's context). */
export interface RoutableRequest {
  model: string | null;
  routeRequirements?: RouteRequirement[];
  target?: UpstreamTarget;
  deployment?: { id: string; artifactDigest: string; evidenceDigest?: string };
}

export interface WorkloadPlane {
  /** Trust anchors for attestation evidence (also used by model-key release). */
  trust: TrustAnchors;
  registry: ModelRegistry;
  monitor: AttestationMonitor;
  /** GatewayDeps.routeWith */
  routeWith<R extends RoutableRequest>(ctx: R, fallback: (ctx: R) => void): void;
  /** GatewayDeps.verifyServed */
  verifyServed(ctx: RoutableRequest, headers: Record<string, string | string[] | undefined>): Promise<void>;
  /** AdminApi adminRoutes hook for /admin/v1/models. */
  adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean>;
  /** Re-reads the registry (CLI changes), (un)registers confidential deployments with the monitor and challenges new ones. */
  sync(): Promise<void>;
  attestationStatus(deploymentId: string): AttestationStatus | null;
  close(): Promise<void>;
}

/** Loads `workload.trustedSigners` (PEM public keys or certificates); a bad file fails the start. */
export function loadTrustedSigners(files: string[], what = 'workload.trustedSigners'): KeyObject[] {
  return files.map((f) => {
    try {
      return loadPublicKey(readFileSync(f));
    } catch (e) {
      throw new Error(`${what}: ${f}: ${(e as Error).message}`);
    }
  });
}

export async function buildWorkloadPlane(d: WorkloadPlaneDeps): Promise<WorkloadPlane> {
  const wl = d.config.workload;
  const store: RegistryStore = d.shared ? new AnnouncingRegistryStore(d.shared.store, d.shared.changes) : new SqliteRegistryStore(d.db);
  const trustedSigners = loadTrustedSigners(wl.trustedSigners);
  const registryAudit = async (e: AuditEvent): Promise<void> => {
    await d.audit.append(e);
  };
  // SLSA provenance and SBOM: judged when attached, refused when missing and required (config workload.*).
  const provenance = wl.provenance
    ? {
        allowedBuilderIds: wl.provenance.allowedBuilderIds,
        ...(wl.provenance.allowedSourcePrefixes ? { allowedSourcePrefixes: wl.provenance.allowedSourcePrefixes } : {}),
        builderKeys: loadTrustedSigners(wl.provenance.builderKeys, 'workload.provenance.builderKeys'),
        allowUnsigned: wl.provenance.allowUnsigned,
        requireDatasets: wl.provenance.requireDatasets,
      }
    : undefined;
  const policy = {
    trustedSigners,
    requireSecondApprover: wl.requireSecondApprover,
    requireSbom: wl.requireSbom,
    requireProvenance: wl.provenance?.require ?? false,
    ...(provenance ? { provenance } : {}),
    ...(d.trainingData ? { trainingData: d.trainingData.gate } : {}),
  };

  // The PDP decides promoteModel with the admin listener's context (the starter set asks for MFA < 15 min).
  const authorizeFrom = (sourceIp: string): Authorize => (principal: Principal, action, resource: Resource) => {
    const context = buildContext({ principal, now: d.clock.now(), sourceIp, listener: 'admin', findings: null, riskScore: 0, tenant: principal.tenant });
    return d.pdp.decide({ principal, action, resource, context }).allow;
  };
  // The routing registry never promotes: only the admin API's per-request registries carry the caller's context.
  const registry = new ModelRegistry({ store, audit: registryAudit, authorize: () => false, policy, clock: d.clock });

  const targets = new Map<string, UpstreamTarget>();
  const targetFor = (dep: DeploymentRecord): UpstreamTarget => {
    let t = targets.get(dep.id);
    if (!t) {
      t = createUpstreamTarget({ name: `${dep.model}@${dep.version}/${dep.id}`, baseUrl: dep.upstream, models: [dep.model], ...wl.upstream, tier: dep.tier, region: dep.region });
      targets.set(dep.id, t);
    }
    return t;
  };

  const att = wl.attestation;
  const trust = createTrustAnchors({
    nitroRootsPem: att.nitroRoots.map((f) => readFileSync(f, 'utf8')),
    amdPem: att.amdCerts.map((f) => readFileSync(f, 'utf8')),
    // Intel has one SGX Root CA for all PCK chains; it is pinned in the source (tdx/intel-root.ts).
    intelRootsPem: [INTEL_SGX_ROOT_CA_PEM],
    jwtIssuers: Object.fromEntries(att.jwtIssuers.map((i) => [i.issuer, createRemoteJWKSet(new URL(i.jwksUri))])),
    // Intel PCS collateral the operator keeps in a directory (never downloaded): TDX TCB status evaluation.
    ...(att.tdxCollateralDir ? { tdxCollateral: tdxCollateralDirectory(att.tdxCollateralDir) } : {}),
  });
  const shared = d.shared;
  const replica = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  const monitor = new AttestationMonitor({
    ...(shared?.verdicts
      ? {
          shared: {
            store: shared.verdicts,
            replica,
            announce: (deployment: string) => shared.changes.publish({ type: 'attestation', deployment }),
            onError: (err: unknown, what: string, deployment: string | null) => d.log.warn({ err, deployment, replica }, what),
          },
        }
      : {}),
    trust,
    clock: d.clock,
    // The monitor's hook is synchronous; the ledger append completes asynchronously and a failure is logged.
    audit: (e) => {
      void d.audit.append(e).catch((err) => d.log.error({ err, deployment: e.resource?.id }, 'could not record an attestation verdict in the ledger'));
      if (e.decision === 'deny' && e.resource) d.onAttestationFailure?.({ deployment: e.resource.id, code: e.errorCode ?? null, reason: typeof e.details?.reason === 'string' ? e.details.reason : null });
    },
    fetchEvidence: createEvidenceFetcher({
      evidencePath: att.evidencePath,
      timeoutMs: att.fetchTimeoutMs,
      targetOf: (id) => {
        const dep = registry.routableDeployment(id);
        return dep ? targetFor(dep) : null;
      },
    }),
    trustTtlMs: att.trustTtlMs,
    reverifyEveryMs: att.reverifyEveryMs,
    maxEvidenceAgeMs: att.maxEvidenceAgeMs,
    fetchTimeoutMs: att.fetchTimeoutMs,
  });

  let knownModels = new Set<string>();
  /** deployment id → canonical JSON of the reference it is monitored against. */
  const monitored = new Map<string, string>();
  /** deployment id → why its attestation requirement cannot be used (it then never gets traffic). */
  const unusableReference = new Map<string, string>();
  let syncing: Promise<void> | null = null;

  const ingestSpool = createRegistrySpool(d.db, d.config.dataDir, d.audit);
  const runSync = async (): Promise<void> => {
    // Transitions made offline by `warden model` go into the ledger before the registry is re-read.
    await ingestSpool().catch((err: unknown) => d.log.error({ err }, 'could not move spooled registry transitions into the ledger'));
    await registry.refresh();
    const all = await registry.list();
    knownModels = new Set(all.map((x) => x.model));
    const promoted = new Map(all.filter((x) => x.state === 'promoted').map((x) => [x.id, x]));
    if (d.onModels) {
      const byModel = new Map<string, { id: string; tier: string; region: string }>();
      for (const x of all) if (!byModel.has(x.model) || x.state === 'promoted') byModel.set(x.model, { id: x.model, tier: x.tier, region: x.region });
      d.onModels([...byModel.values()].sort((a, b) => a.id.localeCompare(b.id)));
    }
    const fresh: string[] = [];
    unusableReference.clear();
    for (const dep of promoted.values()) {
      if (!dep.attestation) continue;
      let key: string;
      try {
        const ref = referenceFromRequirement(dep.attestation);
        key = canonicalJson(ref);
        if (monitored.get(dep.id) !== key) {
          monitor.register(dep.id, ref);
          monitored.set(dep.id, key);
          fresh.push(dep.id);
        }
      } catch (e) {
        unusableReference.set(dep.id, (e as Error).message);
        if (monitored.delete(dep.id)) monitor.unregister(dep.id);
      }
    }
    for (const id of [...monitored.keys()]) {
      if (!promoted.get(id)?.attestation) {
        monitor.unregister(id);
        monitored.delete(id);
      }
    }
    // Pools of deployments that left routing are closed (in-flight requests finish first).
    for (const [id, t] of targets) {
      if (!promoted.has(id)) {
        targets.delete(id);
        void t.pool.close().catch(() => {});
      }
    }
    // Shared verdicts: a deployment new to this replica is challenged only if no peer has a current verdict for it.
    await Promise.all(fresh.map((id) => monitor.challenge(id, { force: false })));
  };
  const sync = (): Promise<void> => {
    // Concurrent callers share one pass, and a caller arriving mid-pass gets a pass that starts after it.
    const next = (syncing ?? Promise.resolve()).then(runSync, runSync);
    syncing = next.finally(() => {
      if (syncing === next) syncing = null;
    });
    return next;
  };

  const timer = setInterval(() => void sync().catch((err) => d.log.error({ err }, 'registry refresh failed')), wl.refreshIntervalMs);
  timer.unref();
  monitor.start();

  const routeWith = <R extends RoutableRequest>(ctx: R, fallback: (ctx: R) => void): void => {
    const model = ctx.model ?? '';
    if (!knownModels.has(model)) {
      if (wl.requireRegistered) throw new ModelNotRegistered(model);
      return fallback(ctx);
    }
    const candidates = registry.routableDeployments(model);
    if (candidates.length === 0) throw new NoPromotedDeployment(model);
    let untrusted: string | null = null;
    let unmet: string | null = null;
    for (const dep of candidates) {
      const u = unmetRequirement(dep, ctx.routeRequirements);
      if (u) {
        unmet ??= u.placement ?? `${u.attr}=${u.value}`;
        continue;
      }
      if (dep.attestation) {
        const bad = unusableReference.get(dep.id);
        if (bad !== undefined) {
          untrusted ??= `${dep.id}: attestation_configuration_invalid: ${bad}`;
          continue;
        }
        if (!monitor.isTrusted(dep.id)) {
          const s = monitor.status(dep.id);
          untrusted ??= `${dep.id}: ${s.lastError ?? 'attestation_pending'}`;
          continue;
        }
      }
      ctx.target = targetFor(dep);
      const evidenceDigest = dep.attestation ? monitor.evidenceDigest(dep.id) : null;
      ctx.deployment = { id: dep.id, artifactDigest: dep.artifactDigest, ...(evidenceDigest ? { evidenceDigest } : {}) };
      return;
    }
    if (untrusted) throw new DeploymentUntrusted(model, untrusted);
    throw new Forbidden('route_obligation_unmet', `policy requires ${unmet}; no promoted deployment of ${model} is placed there`);
  };

  const verifyServed = async (ctx: RoutableRequest, headers: Record<string, string | string[] | undefined>): Promise<void> => {
    if (!ctx.deployment) return;
    const v = headers[wl.servedDigestHeader];
    // Two values are not one answer: joined, they cannot equal the pin, so the deployment is quarantined.
    await registry.checkServedDigest(ctx.deployment.id, Array.isArray(v) ? v.join(',') : v);
  };

  const adminRoute = createModelAdminRoute({
    registry,
    ...(d.trainingData ? { trainingData: async (dep: DeploymentRecord) => d.trainingData!.explain(dep, await registry.trainingDatasets(dep)) } : {}),
    store,
    registryFor: (sourceIp) => new ModelRegistry({ store, audit: registryAudit, authorize: authorizeFrom(sourceIp), policy, clock: d.clock }),
    trustedSigners,
    scanLimits: wl.scan,
    audit: registryAudit,
    clock: d.clock,
    sync,
    attestation: (id) => (monitored.has(id) || unusableReference.has(id) ? attestationStatus(id) : null),
    stepUp: d.stepUp,
    challenge: async (id) => {
      await sync();
      if (monitored.has(id)) await monitor.challenge(id);
      return attestationStatus(id);
    },
  });

  const attestationStatus = (id: string): AttestationStatus | null => {
    const bad = unusableReference.get(id);
    if (bad !== undefined) return { trusted: false, verifiedAt: null, lastError: 'attestation_configuration_invalid', lastMessage: bad };
    return monitored.has(id) ? monitor.status(id) : null;
  };

  // Known models and the routing snapshot are loaded before listening; attestation challenges follow.
  await registry.refresh();
  knownModels = new Set((await registry.list()).map((x) => x.model));
  void sync().catch((err) => d.log.error({ err }, 'registry refresh failed'));
  // Another replica registered or moved a deployment (or announcements may have been missed): reload.
  const unsubscribe = d.shared?.changes.subscribe((c) => {
    if (c.type === 'model' || c.type === 'resync') void sync().catch((err) => d.log.error({ err }, 'registry refresh after a change announcement failed'));
    if (c.type === 'attestation') void monitor.reload(c.deployment);
    if (c.type === 'resync') void monitor.reloadAll();
  });

  return {
    trust,
    registry,
    monitor,
    routeWith,
    verifyServed,
    adminRoute,
    sync,
    attestationStatus,
    async close() {
      unsubscribe?.();
      clearInterval(timer);
      monitor.stop();
      await syncing?.catch(() => {});
      await Promise.all([...targets.values()].map((t) => t.pool.close().catch(() => {})));
      targets.clear();
    },
  };
}
