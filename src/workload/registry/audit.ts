// The one place that shapes registry transitions into ledger entries (AuditEvent, kind `control`).
import type { AuditDecision, AuditEvent, Principal } from '../../core/types.js';
import { newId } from '../../core/ids.js';
import type { DeploymentRecord } from '../../store/registry-store.js';

export function registryEvent(args: {
  at: number;
  principal: Principal | null;
  action: string;
  deployment: Pick<DeploymentRecord, 'id' | 'artifactDigest' | 'model' | 'version' | 'state'> | null;
  decision: AuditDecision;
  status: number;
  errorCode?: string;
  details?: Record<string, string | number | boolean | null>;
}): AuditEvent {
  const p = args.principal;
  const d = args.deployment;
  const ev: AuditEvent = {
    time: new Date(args.at).toISOString(),
    requestId: newId('ctl'),
    kind: 'control',
    principal: p ? { id: p.id, kind: p.kind, tenant: p.tenant, authn: p.authn.method, ...(p.actor ? { actor: p.actor.map((a) => a.id) } : {}) } : null,
    action: args.action,
    resource: d ? { type: 'Deployment', id: d.id } : null,
    decision: args.decision,
    stage: 'registry',
    policyIds: [],
    policyVersion: null,
    findings: {},
    deployment: d ? { id: d.id, artifactDigest: d.artifactDigest } : null,
    requestDigest: null,
    responseDigest: null,
    status: args.status,
    latencyMs: 0,
    details: { ...(d ? { model: d.model, version: d.version, from: d.state } : {}), ...args.details },
  };
  if (args.errorCode !== undefined) ev.errorCode = args.errorCode;
  return ev;
}
