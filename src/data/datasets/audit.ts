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
}): AuditEvent {
  return auditEvent({
    time: new Date(args.at).toISOString(),
    requestId: newId('ctl'),
    kind: 'control',
    principal: args.principal ? auditPrincipal(args.principal) : null,
    action: args.action,
    resource: args.resource,
    decision: args.decision,
    stage: 'data',
    status: args.status,
    details: { ...args.details },
    ...(args.errorCode !== undefined ? { errorCode: args.errorCode } : {}),
  });
}
