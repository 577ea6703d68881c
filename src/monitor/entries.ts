// The monitor's responses (throttle, revoke, drift, playbook steps) as ledger entries: one place that builds
// and appends them. A response is already carried out when its entry is written, so a ledger failure is
// logged, not thrown into the request that triggered it.
import type { Logger } from 'pino';
import { auditEvent } from '../core/audit-event.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import { newRequestId } from '../core/ids.js';
import type { AuditEvent } from '../core/types.js';

export interface EntryDeps {
  clock: Clock;
  log: Logger;
  audit: AuditSink;
}

export function recordSystemEntry(o: EntryDeps, e: Pick<AuditEvent, 'action' | 'decision'> & Partial<AuditEvent>): void {
  o.audit
    .append(auditEvent({ time: new Date(o.clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', status: 200, ...e }))
    .catch((err: unknown) => o.log.error({ err, action: e.action }, 'could not record a monitor response in the ledger'));
}
