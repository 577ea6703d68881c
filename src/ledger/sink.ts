// The ledger as the gateway's audit sink: every event is appended (durable before the promise resolves)
// and every released inference response gets a Warden-Receipt. The receipt is the batch receipt (v2,
// src/ledger/receipt-proof.ts): the entry, its inclusion proof and the batch's signed checkpoint, so there
// is one signature per batch and none per response (product decision; `warden receipt verify` still
// accepts the v1 compact-JWS receipts handed out before).
import { auditEvent } from '../core/audit-event.js';
import { newRequestId } from '../core/ids.js';
import type { AuditEvent } from '../core/types.js';
import type { AuditReceipt, AuditSink } from '../core/audit-sink.js';
import type { Ledger } from './ledger.js';
import { issueReceipt } from './receipt-proof.js';

export class LedgerAuditSink implements AuditSink {
  /** Set while appends fail (a full disk, a lost database): readiness says no until an append succeeds again. */
  private failing: { since: number; failures: number } | null = null;

  constructor(
    private readonly ledger: Ledger,
    private readonly now: () => number = Date.now,
  ) {}

  async append(event: AuditEvent): Promise<AuditReceipt> {
    let appended;
    try {
      appended = await this.ledger.append(event);
    } catch (e) {
      if (this.failing) this.failing.failures++;
      else this.failing = { since: this.now(), failures: 1 };
      throw e;
    }
    this.failing = null;
    // Only a released inference response gets a receipt (a stream's opening entry has no response yet), and an
    // ext_authz decision (phase `authorize`): the mesh relays that answer, the receipt proves the decision entry.
    const decided = event.responseDigest !== null || event.details?.phase === 'authorize';
    if (event.kind !== 'inference' || event.decision !== 'allow' || !decided) return { index: appended.index };
    return { index: appended.index, receipt: issueReceipt(appended) };
  }

  /**
   * Readiness: true while the last append succeeded. While appends fail, each probe tries to record the
   * recovery itself (a `ledger.recovered` entry with the outage's start and failed-append count), so a
   * replica taken out of rotation notices by itself when space or the database comes back. `via` is the sink
   * the rest of Warden appends through (it may also mirror entries to the log), which ends in this one.
   */
  async probe(via: AuditSink = this): Promise<boolean> {
    const f = this.failing;
    if (!f) return true;
    const at = this.now();
    await via.append(
      auditEvent({
        time: new Date(at).toISOString(),
        requestId: newRequestId(),
        kind: 'system',
        action: 'ledger.recovered',
        decision: 'allow',
        status: 0,
        details: { failingSince: new Date(f.since).toISOString(), failedAppends: f.failures },
      }),
    );
    return true;
  }
}
