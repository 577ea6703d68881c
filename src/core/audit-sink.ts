// The sink contract every plane writes audit events to (the ledger implements it, src/ledger/sink.ts).
import type { AuditEvent } from './types.js';
export interface AuditReceipt {
  /** Ledger leaf index, when the sink is a ledger. */
  index?: number;
  /** Compact JWS receipt for the response, when the sink signs receipts. */
  receipt?: string;
}

/**
 * Where audit events go. `append` resolves once the entry is durable; the gateway releases the response only
 * after that (fail closed: a rejected append turns an allowed request into a 503).
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<AuditReceipt>;
}
