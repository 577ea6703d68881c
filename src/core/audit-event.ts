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

/**
 * A client's own `X-Request-Id`, kept as an attribute of the entry (`details.client_request_id`) so its
 * logs can be joined to ours. It never becomes the entry's id: Warden mints every request id itself, so a
 * client cannot collide with, predict or overwrite another entry's. Only printable ASCII, at most 128
 * characters; anything else is dropped, not repaired.
 */
export function clientRequestId(header: string | string[] | undefined): { client_request_id: string } | undefined {
  if (typeof header !== 'string' || header.length === 0 || header.length > 128 || !/^[\x21-\x7e]+$/.test(header)) return undefined;
  return { client_request_id: header };
}

/** `flag:<label>` duties in an entry's flat details: `details.flags`, comma-separated, sorted, no repeats. */
export function flagDetails(details: Record<string, string | number | boolean | null>, flags: readonly string[]): void {
  if (flags.length === 0) return;
  const all = new Set([...(typeof details.flags === 'string' ? details.flags.split(',') : []), ...flags]);
  details.flags = [...all].sort().join(',');
}
