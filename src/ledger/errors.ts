// The ledger's error family. Verification failures name what failed (class) and how (code), so a
// CLI can print a precise reason and a caller can branch on it without parsing messages.
import { BadRequest, FailClosed, NotFound } from '../core/errors.js';

/** Base of every "this evidence does not verify" failure. Never caught and turned into success. */
export class LedgerVerificationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** RFC 9162 §2.1.3.2 inclusion proof did not lead to the expected root. */
export class InclusionProofInvalid extends LedgerVerificationError {}
/** RFC 9162 §2.1.4.2 consistency proof did not link the two roots. */
export class ConsistencyProofInvalid extends LedgerVerificationError {}
/** C2SP signed-note: malformed text, malformed verifier key, or no trusted signature. */
export class NoteMalformed extends LedgerVerificationError {}
export class VerifierKeyMalformed extends LedgerVerificationError {}
export class NoteSignatureInvalid extends LedgerVerificationError {}
/** C2SP tlog-checkpoint body does not parse. */
export class CheckpointMalformed extends LedgerVerificationError {}
/** A tile or entry bundle is not what the checkpoint requires (missing, wrong width, bad encoding). */
export class TileInvalid extends LedgerVerificationError {}
/** Published entries differ from the committed tree: codes entry_changed, entry_removed, entry_inserted, entries_reordered. */
export class LogEntryMismatch extends LedgerVerificationError {
  readonly index: number;
  constructor(code: string, index: number, message: string) {
    super(code, message);
    this.index = index;
  }
}
/** The root recomputed from the published log differs from the signed checkpoint. */
export class RootMismatch extends LedgerVerificationError {}
/** The log is inconsistent with a checkpoint seen before: forked or rolled back history. */
export class LogForked extends LedgerVerificationError {}
/** A witness cosignature (C2SP tlog-cosignature) does not verify, or is missing, stale or too few. */
export class CosignatureInvalid extends LedgerVerificationError {}
/** Receipt signature, claims or binding to the log do not verify. */
export class ReceiptInvalid extends LedgerVerificationError {}

/** Bad proof/tile parameters from an HTTP client (400). */
export class LedgerBadRequest extends BadRequest {}
/** A tile or entry bundle that the current tree does not have (404). */
export class TileNotFound extends NotFound {
  constructor(message: string) {
    super('tile_not_found', message);
  }
}
/** The ledger cannot durably record: the request it records must be refused (fail closed). */
export class LedgerUnavailable extends FailClosed {
  constructor(message: string) {
    super('ledger_unavailable', message);
  }
}
