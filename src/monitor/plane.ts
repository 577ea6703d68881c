// Wires the monitor plane: the gateway reports each answered request, the PDP asks for a principal's risk,
// the monitor's responses (throttle, release, revoke) are ledger entries, and a revoke is carried out on the
// credential in use (an API key or a Warden token; other credentials are the IdP's to revoke, recorded so).
// Admin: GET /admin/v1/monitor (readAudit), POST /admin/v1/monitor/{principal}/reset (manageKeys).
// With `store.redis` the windows and risk are shared by every replica (redis-monitor.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdminRequest } from '../admin/admin.js';
import { auditEvent } from '../core/audit-event.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, NotFound } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import type { AuditEvent, AuthnMethod, Findings, Principal } from '../core/types.js';
import type { WardenConfig } from '../config/config.js';
import type { AuditSink } from '../core/audit-sink.js';
import { sendJson } from '../http/respond.js';
import { BehaviourMonitor, type MonitorAction, type MonitorOptions, type Observation, type RiskReport } from './monitor.js';
import { SharedBehaviourMonitor } from './redis-monitor.js';

export interface MonitorPlane {
  /**
   * Gateway: before policy, a throttled principal beyond its allowance gets 429 `monitor_throttled`. A promise
   * only when shared (Redis): then it also reads the principal's shared risk for `risk()`, and rejects with 503
   * `monitor_unavailable` when Redis does not answer.
   */
  admit(p: Principal): void | Promise<void>;
  /** Hears of every answered request (the gateway's context: who asked, and what inspection found). */
  observe(ctx: { principal?: Principal; findings?: Findings }, event: AuditEvent): void;
  /** Tools plane: every decided tool call. */
  observeTool(p: Principal, o: { status: number; stage: string | null; findings: Findings | null }): void;
  /** PDP: the principal's risk, 0..1. */
  risk(p: Principal): number;
  adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean>;
}

/** One principal, one key: tenant, kind and id (ids of different IdPs may coincide). */
export const monitorKey = (p: { tenant: string; kind: string; id: string }): string => `${p.tenant}/${p.kind}:${p.id}`;

/** What the plane needs of a monitor: the in-process one answers at once, the shared one with promises. */
interface MonitorEngine {
  observe(ob: Observation): void | Promise<void>;
  admit(principal: string): void | Promise<void>;
  risk(principal: string): number;
  report(): RiskReport[] | Promise<RiskReport[]>;
  reset(principal: string): boolean | Promise<boolean>;
}

export function buildMonitor(
  config: WardenConfig,
  o: {
    clock: Clock;
    log: Logger;
    audit: AuditSink;
    revoke: (authn: AuthnMethod, credentialId: string) => Promise<boolean>;
    /** Cluster mode: windows and risk shared by every replica under `<prefix>` (e.g. `warden:monitor:`). */
    shared?: { redis: Redis; prefix: string };
  },
): MonitorPlane | null {
  const m = config.monitor;
  if (!m.enabled) return null;
  const record = (a: MonitorAction, decision: 'allow' | 'deny', extra: Record<string, string | number | boolean | null> = {}) => {
    o.audit
      .append(
        auditEvent({
          time: new Date(o.clock.now()).toISOString(),
          requestId: newRequestId(),
          kind: 'system',
          principal: { id: a.who.id, kind: a.who.kind as Principal['kind'], tenant: a.who.tenant, authn: a.kind === 'revoke' ? a.authn : 'none' },
          action: `monitor.${a.kind}`,
          decision,
          status: 200,
          details: { risk: a.risk, requests: a.signals.requests, denials: a.signals.denials, injections: a.signals.injections, secrets: a.signals.secrets, ...extra },
        }),
      )
      .catch((e: unknown) => o.log.error({ err: e, action: a.kind }, 'could not record a monitor action in the ledger'));
  };
  const options: MonitorOptions = {
    clock: o.clock,
    windowMs: m.windowMs,
    injectionThreshold: m.injectionThreshold,
    burstPerWindow: m.burstPerWindow,
    throttleAt: m.throttleAt,
    throttleRps: m.throttleRequestsPerSecond,
    revokeAt: m.revokeAt,
    onAction: (a) => {
      o.log.warn({ monitor: a.kind, principal: a.principal, risk: a.risk, signals: a.signals }, 'monitor response');
      if (a.kind !== 'revoke') return record(a, 'allow');
      // Only credentials Warden issued can be revoked here; for the others the ledger says so.
      o.revoke(a.authn, a.credentialId).then(
        (done) => record(a, done ? 'allow' : 'deny', { credential: a.credentialId, revoked: done }),
        (e: unknown) => {
          o.log.error({ err: e, credential: a.credentialId }, 'monitor could not revoke a credential');
          record(a, 'deny', { credential: a.credentialId, revoked: false });
        },
      );
    },
  };
  const monitor: MonitorEngine = o.shared ? new SharedBehaviourMonitor(o.shared.redis, o.shared.prefix, options) : new BehaviourMonitor(options);

  const report = (p: Principal, status: number, stage: string | null, findings: Findings | null) => {
    const pending = monitor.observe({
      principal: monitorKey(p),
      who: { id: p.id, kind: p.kind, tenant: p.tenant },
      authn: p.authn.method,
      credentialId: p.authn.credentialId,
      status,
      denied: (status === 401 || status === 403) && (stage === 'identity' || stage === 'policy'),
      injectionScore: findings?.injectionScore ?? 0,
      secrets: findings ? findings.items.filter((i) => i.category === 'secret').length : 0,
    });
    // The answer has gone already: an observation the shared store did not take can only be logged.
    if (pending) pending.catch((e: unknown) => o.log.error({ err: e, principal: p.id }, 'monitor: could not record an observation in the shared store'));
  };

  return {
    admit: (p) => monitor.admit(monitorKey(p)),
    observe(ctx, event) {
      if (ctx.principal) report(ctx.principal, event.status, event.stage ?? null, ctx.findings ?? null);
    },
    observeTool: (p, o) => report(p, o.status, o.stage, o.findings),
    risk: (p) => monitor.risk(monitorKey(p)),
    async adminRoute(req, res, ar) {
      if (ar.path === '/admin/v1/monitor') {
        if (req.method !== 'GET') throw new BadRequest('method_not_allowed', '/admin/v1/monitor accepts GET only');
        const data = (await monitor.report()).sort((a, b) => b.risk - a.risk);
        sendJson(res, 200, { data }, { 'x-request-id': ar.requestId });
        return true;
      }
      const r = /^\/admin\/v1\/monitor\/([^/]+)\/reset$/.exec(ar.path);
      if (!r) return false;
      if (req.method !== 'POST') throw new BadRequest('method_not_allowed', 'reset accepts POST only');
      const key = decodeURIComponent(r[1]!);
      if (!(await monitor.report()).some((x) => x.principal === key)) throw new NotFound('principal_not_watched', `the monitor has nothing on ${key} (keys look like tenant/kind:id)`);
      await ar.record('monitor.reset', { type: 'Principal', id: key });
      await monitor.reset(key);
      sendJson(res, 200, { reset: key }, { 'x-request-id': ar.requestId });
      return true;
    },
  };
}
