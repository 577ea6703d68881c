// Public surface of the A2A plane (docs/agents.md): the agent registry (admin routes) and the gateway that relays
// mediated agent-to-agent calls on the inference listener. The composition root (src/app/warden.ts) builds it
// with the same PDP, inspector, ledger and JIT token service as the tools plane.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminRequest } from '../admin/admin.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../core/types.js';
import { EgressGuard, type EgressGuardOptions } from '../network/egress.js';
import type { SqliteDb } from '../store/sqlite.js';
import type { ToolInspector } from '../tools/mediator.js';
import { createAgentAdminRoute } from './admin-routes.js';
import { A2AGateway, type A2ACall, type A2AGatewayDeps, type AgentDecide } from './gateway.js';
import { SqliteAgentStore, type AgentRecord, type AgentStore } from './store.js';

export { A2AGateway, a2aText, taskIdsOf, type AgentDecide, type AgentPolicyRequest } from './gateway.js';
export { SqliteAgentStore, type AgentRecord, type AgentStore } from './store.js';
export { agentView } from './admin-routes.js';
export { cardDigest, rewriteCard, verifyCard } from './card.js';
export * from './errors.js';

/**
 * The actor a callee's token names: the registered agent, in the caller's tenant, able to do at most the
 * agent's `actions`. Its credential id `a2a:<agent>` is the token's source, so revoking derived tokens of
 * that id (`/admin/v1/tokens/revoke`-style, revokeDerived) ends every token minted for the agent.
 */
export function calleeActor(caller: Principal, agent: AgentRecord): Principal {
  return { kind: 'agent', id: `a2a:${agent.id}`, tenant: caller.tenant, groups: [], authn: { method: 'api_key', credentialId: `a2a:${agent.id}` }, scope: { models: ['*'], actions: agent.actions } };
}

export interface AgentsConfig {
  /** Actors an act chain may already hold when it calls an agent; default 3. */
  maxDepth: number;
  /** Card re-check interval before calls, ms; default 60000 (0: before every call). */
  cardRecheckMs: number;
  timeoutMs: number;
  maxResponseBytes: number;
}

export const DEFAULT_AGENTS_CONFIG: AgentsConfig = { maxDepth: 3, cardRecheckMs: 60_000, timeoutMs: 60_000, maxResponseBytes: 4 * 1024 * 1024 };

export interface AgentsPlaneDeps {
  clock: Clock;
  log: Logger;
  db: SqliteDb;
  /** The registry; default the data dir's SQLite (with store.postgres, the replicas' one table). */
  store?: AgentStore;
  audit: AuditSink;
  decide: AgentDecide;
  inspector: ToolInspector;
  publicOrigin: string;
  mint: (caller: Principal, agent: AgentRecord) => Promise<string>;
  config?: Partial<AgentsConfig>;
  egress?: EgressGuardOptions;
  risk?: (p: Principal) => number;
  observe?: A2AGatewayDeps['observe'];
}

/** The gateway's view of the plane (GatewayDeps.agents). */
export interface AgentRoutes {
  card(p: Principal, id: string): Promise<Record<string, unknown>>;
  serve(call: A2ACall, res: ServerResponse): Promise<void>;
}

export interface AgentsPlane {
  store: AgentStore;
  routes: AgentRoutes;
  adminRoute: (req: IncomingMessage, res: ServerResponse, ar: AdminRequest) => Promise<boolean>;
  close(): Promise<void>;
}

export function createAgentsPlane(d: AgentsPlaneDeps): AgentsPlane {
  const c = { ...DEFAULT_AGENTS_CONFIG, ...(d.config ?? {}) };
  const store = d.store ?? new SqliteAgentStore(d.db);
  const egress = new EgressGuard(d.egress);
  const limits = { timeoutMs: c.timeoutMs, maxResponseBytes: c.maxResponseBytes };
  const gateway = new A2AGateway({
    clock: d.clock,
    log: d.log,
    store,
    decide: d.decide,
    inspector: d.inspector,
    egress,
    audit: d.audit,
    publicOrigin: d.publicOrigin,
    maxDepth: c.maxDepth,
    cardRecheckMs: c.cardRecheckMs,
    limits,
    mint: d.mint,
    ...(d.risk ? { risk: d.risk } : {}),
    ...(d.observe ? { observe: d.observe } : {}),
  });
  return {
    store,
    routes: { card: (p, id) => gateway.card(p, id), serve: (call, res) => gateway.serve(call, res) },
    adminRoute: createAgentAdminRoute({ clock: d.clock, store, egress, inspector: d.inspector, limits }),
    close: () => egress.close(),
  };
}
