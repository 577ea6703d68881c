// Public surface of the tools plane: registry, mediated tool calls, approvals, MCP gateway.
// The composition root calls createToolsPlane and hands `routes` to the gateway (GatewayDeps.tools), which
// runs its stages before them, and mounts adminRoute (AdminDeps.adminRoutes); filterToolCalls + plane.assess serve the chat path.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../core/types.js';
import type { Presented } from '../http/credentials.js';
import type { AuditSink } from '../core/audit-sink.js';
import { EgressGuard, type EgressGuardOptions, type EgressPolicy } from '../network/egress.js';
import type { ChangeFeed } from '../store/pg-changes.js';
import type { SqliteDb } from '../store/sqlite.js';
import { SqliteToolStore } from '../store/tools-sqlite.js';
import type { ToolStore } from '../store/tools-store.js';
import { createAdminRoute } from './admin-routes.js';
import { ApprovalService, type ApprovalOptions } from './approvals.js';
import { ToolCredentialIssuer } from './credential.js';
import type { SigningKeys } from './credential-keys.js';
import type { ToolDecide } from './decide.js';
import { createToolRoutes, type ToolAuthenticator, type VerifiedCaller } from './http.js';
import { ToolMediator, type MediatorDeps, type ProposedCallDecision, type ToolInspector } from './mediator.js';
import { ToolRegistry, type ToolDefinition } from './registry.js';
import { ToolPins } from './pins.js';
import { ToolQuarantines } from './quarantine.js';
import { auditEvent } from '../core/audit-event.js';
import { newRequestId } from '../core/ids.js';
import { fetchMcpDefinition } from './backend.js';
import { parseDestination } from '../network/egress-destinations.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Digest } from '../core/digest.js';
import { SandboxPool, type SandboxOptions } from './sandbox/pool.js';

export { filterToolCalls, type FilterResult, type FilteredCall, type ProposedCallDecider } from './filter-tool-calls.js';
export { pdpToolDecider, toolResourceAttrs, CEDAR_RISK, type ToolDecide, type ToolPolicyRequest, type ToolPolicyContext, type PdpLike } from './decide.js';
export { ToolMediator, checkCaller, type ToolCall, type ToolOutcome, type ToolInspector, type ProposedCallDecision } from './mediator.js';
export { ToolRegistry, parseToolDefinition, toolView, type ToolDefinition } from './registry.js';
export { ToolPins, definitionDigest, diffDefinitions, DESCRIPTION_INJECTION_THRESHOLD } from './pins.js';
export { ToolQuarantines, quarantineView } from './quarantine.js';
export { ApprovalService, approvalView } from './approvals.js';
export { ToolCredentialIssuer, TOOL_CREDENTIAL_TYP } from './credential.js';
export { ToolCredentialKeys, fixedSigningKey, ed25519Kid, type SigningKeys } from './credential-keys.js';
export { SharedToolCredentialKeys, type CredentialKeyStore } from './credential-keys-shared.js';
export type { ToolAuthenticator, VerifiedCaller } from './http.js';
export * from './errors.js';
export { SandboxPool, type SandboxOptions, type SandboxOutcome } from './sandbox/pool.js';
export { SANDBOX_INPUT_SCHEMA, DEFAULT_SANDBOX_LIMITS, MAX_SANDBOX_LIMITS } from './sandbox/definition.js';
export * from './sandbox/errors.js';

export interface ToolsPlaneDeps {
  clock: Clock;
  log: Logger;
  /** The data dir's SQLite (tables `tools`, `tool_approvals`), used unless `shared` names the cluster's store. */
  db: SqliteDb;
  /** Replicas sharing one control plane: the PostgreSQL store and its change feed (tool changes, approval decisions). */
  shared?: { store: ToolStore; changes: ChangeFeed };
  audit: AuditSink;
  /** pdpToolDecider(pdp, buildContext). */
  decide: ToolDecide;
  /** { inspect: inspectText, count: countFindings } from src/inspect. */
  inspector: ToolInspector;
  /** toolAuthenticator(createBearerVerifier(verifiers), identity.jit). */
  authenticate: ToolAuthenticator;
  /** The inference listener's origin: issuer of per-call credentials, MCP resource. */
  publicOrigin: string;
  /** Named in the RFC 9728 metadata as the authorization servers for /mcp, in order (see InferenceRouteDeps). */
  authorizationServers: readonly string[];
  egress?: EgressGuardOptions;
  approvals?: ApprovalOptions;
  limits?: Partial<Pick<EgressPolicy, 'maxResponseBytes' | 'timeoutMs' | 'maxRedirects'>>;
  /** Ed25519 key for per-call credentials, or the rotated set (credential-keys.ts); persist them in the data dir so backends can pin the JWKS. */
  credentialKey?: KeyObject | SigningKeys;
  /** The code sandbox's pool (warm threads, concurrency); defaults when absent. */
  sandbox?: SandboxOptions;
  /** The monitor plane: the caller's risk for each decision, and every decided tool call reported back. */
  risk?: MediatorDeps['risk'];
  admit?: MediatorDeps['admit'];
  observe?: MediatorDeps['observe'];
}

export interface ToolsPlane {
  registry: ToolRegistry;
  approvals: ApprovalService;
  mediator: ToolMediator;
  /** The handlers behind the gateway's tool routes (GatewayDeps.tools). */
  routes: ReturnType<typeof createToolRoutes>;
  adminRoute: (req: IncomingMessage, res: ServerResponse, ar: AdminRequest) => Promise<boolean>;
  /** The code sandbox that runs sandbox tools (src/tools/sandbox). */
  sandbox: SandboxPool;
  quarantines: ToolQuarantines;
  /**
   * A response playbook takes a registered tool out of service (`quarantineTool`) or an operator's revert of that
   * step puts it back; each a `tool.quarantine` / `tool.release` system entry naming `by`. quarantineTool answers
   * the quarantine it made, or null: an unregistered tool, or one quarantined already (that quarantine is not the
   * playbook's to lift). releaseTool lifts only that quarantine (false when someone released it, or released and
   * quarantined it again).
   */
  quarantineTool(name: string, reason: string, by: string): Promise<{ by: string; at: number } | null>;
  releaseTool(name: string, by: string, made: { by: string; at: number }): Promise<boolean>;
  /** For filterToolCalls: would `principal` be allowed to call `tool` with `args` (and would it be held)? */
  assess: (principal: Principal, tool: string, args: unknown, sourceIp: string) => ProposedCallDecision;
  close(): Promise<void>;
}

/**
 * Authenticates a tool caller's bearer token: Warden JIT tokens through verifyDetailed (to learn the one
 * tool a token was narrowed to), everything else through the gateway's bearer verifier.
 */
export function toolAuthenticator(
  bearer: (token: string, presented?: Presented) => Promise<Principal>,
  jit?: { issuer: string; verifyDetailed(token: string): Promise<{ principal: Principal; tool?: string }> },
): ToolAuthenticator {
  return async (token, presented): Promise<VerifiedCaller> => {
    // The bearer verifier checks the sender binding (DPoP) of every token, a JIT token's included.
    const principal = await bearer(token, presented);
    if (jit && jwtIssuer(token) === jit.issuer) {
      const v = await jit.verifyDetailed(token);
      return v.tool !== undefined ? { principal: v.principal, narrowedTo: v.tool } : { principal: v.principal };
    }
    return { principal };
  };
}

function jwtIssuer(token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const iss = (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? iss : null;
  } catch {
    return null;
  }
}

export async function createToolsPlane(deps: ToolsPlaneDeps): Promise<ToolsPlane> {
  const store = deps.shared?.store ?? new SqliteToolStore(deps.db);
  const onError = (e: unknown) => deps.log.error({ err: e }, 'tools: a change announcement could not be sent or read (the periodic reload still applies it)');
  const shared = deps.shared ? { changes: deps.shared.changes, onError } : null;
  const registry = new ToolRegistry(store, deps.clock, shared);
  await registry.load();
  const approvals = new ApprovalService(store, deps.clock, deps.approvals, shared);
  const egress = new EgressGuard(deps.egress);
  const credentials = new ToolCredentialIssuer(deps.publicOrigin, deps.clock, 60, deps.credentialKey);
  // The pins mirror (for listings) follows the registry's tools and the same change feed.
  const pins = new ToolPins(store, deps.clock, deps.inspector, () => registry.list().map((t) => t.name), shared);
  await pins.load();
  const quarantines = new ToolQuarantines(store, deps.clock, shared);
  await quarantines.load();
  const sandbox = new SandboxPool(deps.sandbox);
  // Threads are kept warm only where a sandbox tool is registered (a tool created later warms on first use).
  if (registry.list().some((t) => t.backend.type === 'sandbox')) sandbox.prewarm();
  const mediator = new ToolMediator({
    clock: deps.clock,
    log: deps.log,
    registry,
    approvals,
    decide: deps.decide,
    inspector: deps.inspector,
    egress,
    credentials,
    pins,
    quarantines,
    sandbox,
    audit: deps.audit,
    ...(deps.limits ? { limits: deps.limits } : {}),
    ...(deps.risk ? { risk: deps.risk } : {}),
    ...(deps.admit ? { admit: deps.admit } : {}),
    ...(deps.observe ? { observe: deps.observe } : {}),
  });
  const routes = createToolRoutes({ registry, mediator, approvals, credentials, publicOrigin: deps.publicOrigin, authorizationServers: deps.authorizationServers });
  // Registration asks the MCP server what the tool is, as the tool will be called: through the egress guard with
  // a per-call credential (for the registering admin, no arguments).
  const fetchDefinition = async (t: ToolDefinition, admin: Principal, requestId: string) => {
    if (t.backend.type !== 'mcp') throw new TypeError('not an MCP backend');
    const policy = mediator.egressPolicy(t.egress);
    const target = egress.check(t.backend.url, policy.destinations.map((x) => parseDestination(x)));
    const credential = await credentials.mint({ tool: t.name, audience: target.origin, principal: admin, argsDigest: sha256Digest(canonicalJson({})), requestId });
    return fetchMcpDefinition(egress, { url: t.backend.url, tool: t.backend.tool, credential, requestId, policy });
  };
  const adminRoute = createAdminRoute({ clock: deps.clock, log: deps.log, audit: deps.audit, registry, approvals, pins, quarantines, fetchDefinition, decide: deps.decide });
  const systemEntry = (action: string, name: string, details: Record<string, string | number | boolean | null>) =>
    deps.audit
      .append(auditEvent({ time: new Date(deps.clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: 'allow', status: 200, resource: { type: 'Tool', id: name }, details }))
      .catch((e: unknown) => deps.log.error({ err: e, action, tool: name }, 'could not record a tool quarantine change in the ledger'));
  return {
    registry,
    approvals,
    mediator,
    routes,
    adminRoute,
    assess: (p, tool, args, sourceIp) => mediator.assess(p, tool, args, sourceIp),
    quarantines,
    async quarantineTool(name, reason, by) {
      if (!(await store.getTool(name))) return null;
      const q = await quarantines.quarantine(name, reason, by).catch(() => null);
      if (!q) return null;
      await systemEntry('tool.quarantine', name, { reason, by });
      return { by: q.by, at: q.at };
    },
    async releaseTool(name, by, made) {
      // Only the quarantine the step made: not one an admin set after releasing it.
      const q = await quarantines.get(name);
      if (!q || q.at !== made.at || q.by !== made.by) return false;
      await quarantines.release(name);
      await systemEntry('tool.release', name, { by, reason: q.reason, quarantinedBy: q.by });
      return true;
    },
    sandbox,
    close: async () => {
      registry.close();
      approvals.close();
      pins.close();
      quarantines.close();
      await sandbox.close();
      await egress.close();
    },
  };
}
