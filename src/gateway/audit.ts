// The one place that builds audit events for inference requests, and the sink contract the ledger implements.
import type { AuditEvent } from '../core/types.js';
import type { WardenError } from '../core/errors.js';
import type { RequestContext } from './context.js';
import { countFindings } from '../inspect/index.js';
import { auditPrincipal, clientRequestId, flagDetails } from '../core/audit-event.js';

export type { AuditReceipt, AuditSink } from '../core/audit-sink.js';

/** The one builder of a request's audit entry on the inference listener (model, tool and MCP routes). */
export function requestEvent(ctx: RequestContext, status: number, err: WardenError | null, nowMs: number): AuditEvent {
  const p = ctx.principal;
  const latencyMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
  const e: AuditEvent = {
    time: new Date(nowMs).toISOString(),
    requestId: ctx.requestId,
    kind: ctx.kind,
    principal: p ? auditPrincipal(p) : null,
    action: ctx.action,
    resource: ctx.resource ?? (ctx.model !== null ? { type: 'Model', id: ctx.model } : null),
    decision: err ? (err.status >= 500 ? 'error' : 'deny') : 'allow',
    policyIds: ctx.decision?.policyIds ?? [],
    policyVersion: ctx.decision?.policyVersion ?? null,
    findings: ctx.findings ? countFindings(ctx.findings) : {},
    deployment: ctx.deployment ? { id: ctx.deployment.id, artifactDigest: ctx.deployment.artifactDigest, ...(ctx.deployment.evidenceDigest ? { evidenceDigest: ctx.deployment.evidenceDigest } : {}) } : ctx.target ? { id: ctx.target.name, artifactDigest: null } : null,
    requestDigest: ctx.requestDigest ?? null,
    responseDigest: ctx.responseDigest ?? null,
    status,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  };
  const cid = clientRequestId(ctx.req.headers['x-request-id']);
  if (cid) e.details = { ...e.details, ...cid };
  if (ctx.via) e.details = { ...e.details, via: ctx.via };
  if (ctx.parentRequestId) e.details = { ...e.details, parentRequestId: ctx.parentRequestId };
  // `flag:<label>` obligations: the labels of a request allowed but marked for review (the tool and A2A entries' format).
  if (ctx.flags?.length) {
    const details = { ...e.details };
    flagDetails(details, ctx.flags);
    e.details = details;
  }
  // Entry details are flat scalars: one attempt per `;`, each `<upstream>#<i> <origin> <outcome> [status|code]`.
  if (ctx.upstreamAttempts) e.details = { ...e.details, upstreamAttempts: ctx.upstreamAttempts.map((a) => `${a.endpoint} ${a.outcome}${a.status !== undefined ? ` ${a.status}` : ''}${a.code ? ` ${a.code}` : ''}`).join('; ') };
  if (err) {
    e.errorCode = err.code;
    if (err.reason !== undefined) e.reason = err.reason;
    if (ctx.stage) e.stage = ctx.stage;
  }
  return e;
}
