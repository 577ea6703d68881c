// The one place that shapes data-plane changes (sources, datasets) into ledger entries (kind `control`,
// stage `data`), through the core builder every control-plane event uses.
import { auditEvent, auditPrincipal } from '../../core/audit-event.js';
import type { AuditDecision, AuditEvent, Principal, Resource } from '../../core/types.js';
import { newId } from '../../core/ids.js';

export function dataEvent(args: {
  at: number;
  principal: Principal | null;
  action: string;
  resource: Resource | null;
  decision: AuditDecision;
  status: number;
  errorCode?: string;
  details?: Record<string, string | number | boolean | null>;
  /** The gateway request this entry answers (data reads on the inference listener); a new control id otherwise. */
  requestId?: string;
  /** `inference` for reads on the inference listener; `control` for registry changes. */
  kind?: AuditEvent['kind'];
  policyIds?: string[];
  policyVersion?: string;
}): AuditEvent {
  return auditEvent({
    time: new Date(args.at).toISOString(),
    requestId: args.requestId ?? newId('ctl'),
    kind: args.kind ?? 'control',
    principal: args.principal ? auditPrincipal(args.principal) : null,
    action: args.action,
    resource: args.resource,
    decision: args.decision,
    stage: 'data',
    status: args.status,
    details: { ...args.details },
    ...(args.errorCode !== undefined ? { errorCode: args.errorCode } : {}),
    ...(args.policyIds !== undefined ? { policyIds: args.policyIds } : {}),
    ...(args.policyVersion !== undefined ? { policyVersion: args.policyVersion } : {}),
  });
}
