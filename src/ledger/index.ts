// Public surface of the ledger plane (what the gateway, admin listener and CLI use).
export { Ledger, LedgerEntryTooLarge, type AppendResult, type InclusionProofResult, type ConsistencyProofResult, type LedgerOptions } from './ledger.js';
export { loadOrCreateLedgerKey, ledgerKeyFromPrivate, publicLedgerKey, LedgerKeyInsecure, DEFAULT_LEDGER_ORIGIN, type LedgerKey, type PublicLedgerKey } from './key.js';
export { signReceipt, verifyReceipt, RECEIPT_TYP, type ReceiptSubject, type ReceiptPayload, type TrustedLedgerKey, type VerifiedReceipt } from './receipt.js';
export { issueReceipt, openProofReceipt, RECEIPT_V2_PREFIX } from './receipt-proof.js';
export { createAuditHandler, AUDIT_PREFIX } from './http.js';
export { exportStatic, type ExportResult } from './export-static.js';
export { exportJsonLines, type JsonlSink, type JsonlExportResult } from './export-jsonl.js';
export { auditVerify, type AuditVerifyOptions, type AuditVerifyResult } from './audit-verify.js';
export { receiptVerify, type ReceiptVerifyOptions, type ReceiptVerifyResult } from './receipt-verify.js';
export { PayloadVault, PayloadErased, PayloadTampered, payloadKeyContext, type PayloadKind } from './retention.js';
export { verifyInclusion, verifyConsistency } from './merkle-verify.js';
export { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.js';
export * from './errors.js';
