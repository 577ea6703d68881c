// The one builder for audit events other than an inference request's (control-plane changes, refusals,
// system verdicts): the fields that such events leave empty are filled here, once.
import type { AuditEvent, Principal } from './types.js';

export type AuditEventInput = Pick<AuditEvent, 'time' | 'requestId' | 'kind' | 'action' | 'decision' | 'status'> & Partial<AuditEvent>;

export function auditEvent(e: AuditEventInput): AuditEvent {
  return {
    principal: null,
    resource: null,
    policyIds: [],
    policyVersion: null,
    findings: {},
    deployment: null,
    requestDigest: null,
    responseDigest: null,
    latencyMs: 0,
    ...e,
  };
}

/** How an audit entry names a principal: id, kind, tenant, authentication method, and the actor chain. */
export function auditPrincipal(p: Principal): NonNullable<AuditEvent['principal']> {
  return { id: p.id, kind: p.kind, tenant: p.tenant, authn: p.authn.method, ...(p.actor ? { actor: p.actor.map((a) => a.id) } : {}) };
}
