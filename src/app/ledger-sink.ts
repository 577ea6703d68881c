// The ledger as the gateway's audit sink: every event is appended (durable before the promise resolves)
// and every released inference response gets a Warden-Receipt. The receipt is the compact EdDSA JWS that
// DESIGN.md lists among the stable interfaces (signReceipt). The ledger also offers a signature-free v2
// receipt (entry + inclusion proof + the batch's signed checkpoint, src/ledger/receipt-proof.ts) that is
// ~2x cheaper to issue; switching to it would change that interface, so it is not used here.
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
    // Only a released inference response gets a receipt.
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
