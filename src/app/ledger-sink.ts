// The ledger as the gateway's audit sink: every event is appended (durable before the promise resolves)
// and every released inference response gets a Warden-Receipt. The receipt is the batch receipt (v2,
// src/ledger/receipt-proof.ts): the entry, its inclusion proof and the batch's signed checkpoint, so there
// is one signature per batch and none per response (product decision; `warden receipt verify` still
// accepts the v1 compact-JWS receipts handed out before).
import type { AuditEvent } from '../core/types.js';
import type { AuditReceipt, AuditSink } from '../core/audit-sink.js';
import type { Ledger } from '../ledger/ledger.js';
import { issueReceipt } from '../ledger/receipt-proof.js';

export class LedgerAuditSink implements AuditSink {
  constructor(private readonly ledger: Ledger) {}

  async append(event: AuditEvent): Promise<AuditReceipt> {
    const appended = await this.ledger.append(event);
    // Only a released inference response gets a receipt (a stream's opening entry has no response yet).
    if (event.kind !== 'inference' || event.decision !== 'allow' || event.responseDigest === null) return { index: appended.index };
    return { index: appended.index, receipt: issueReceipt(appended) };
  }
}
