// The ledger as the gateway's audit sink: every event is appended (durable before the promise resolves)
// and every released inference response gets a Warden-Receipt signed by the ledger key.
import type { Clock } from '../core/clock.js';
import type { AuditEvent } from '../core/types.js';
import type { AuditReceipt, AuditSink } from '../gateway/audit.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LedgerKey } from '../ledger/key.js';
import { signReceipt } from '../ledger/receipt.js';

export class LedgerAuditSink implements AuditSink {
  constructor(
    private readonly ledger: Ledger,
    private readonly key: LedgerKey,
    private readonly clock: Clock,
  ) {}

  async append(event: AuditEvent): Promise<AuditReceipt> {
    const appended = await this.ledger.append(event);
    if (event.kind !== 'inference' || event.decision !== 'allow' || event.responseDigest === null) return { index: appended.index };
    const receipt = signReceipt(
      this.key,
      {
        requestDigest: event.requestDigest,
        responseDigest: event.responseDigest,
        model: event.resource?.id ?? null,
        deployment: event.deployment?.id ?? null,
        artifactDigest: event.deployment?.artifactDigest ?? null,
        policyVersion: event.policyVersion,
        decisionId: event.requestId,
      },
      appended,
      this.clock.now(),
    );
    return { index: appended.index, receipt };
  }
}
