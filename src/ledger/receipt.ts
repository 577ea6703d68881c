// Warden-Receipt v1: a compact JWS (RFC 7515, EdDSA / RFC 8037) by the ledger key, binding one response to
// its audit entry: digests, model, deployment, policy version, decision id, leaf index and leaf hash, and
// the signed checkpoint of the batch that committed the entry (so no "promise" of a later one is needed).
// The gateway now issues v2 (receipt-proof.ts: no per-response signature); v1 receipts already handed out
// still verify here, and verifyReceipt accepts either form.
import { compactVerify, errors as joseErrors } from 'jose';
import { openCheckpointWith, parseCheckpointBody, type SignedCheckpoint } from './checkpoint.js';
import { ReceiptInvalid } from './errors.js';
import { parseHashB64 } from './hash.js';
import type { LedgerKey } from './key.js';
import type { AppendResult } from './ledger.js';
import { parseNote } from './note.js';
import { openProofReceipt, RECEIPT_V2_PREFIX } from './receipt-proof.js';
import { noteVerifiersFor, type TrustedLedgerKeys } from './trusted-key.js';

export { noteVerifierFor, type TrustedLedgerKey, type TrustedLedgerKeys } from './trusted-key.js';

export const RECEIPT_TYP = 'warden-receipt+jws';

/** What the gateway knows about the response it is releasing. */
export interface ReceiptSubject {
  requestDigest: string | null;
  responseDigest: string | null;
  model: string | null;
  deployment: string | null;
  artifactDigest: string | null;
  policyVersion: string | null;
  /** The request id, which is also the audit entry's requestId. */
  decisionId: string;
}

export interface ReceiptPayload extends ReceiptSubject {
  v: 1 | 2;
  /** Log origin (= ledger key name). */
  iss: string;
  /** Seconds since the epoch at signing (v1), or the entry's time (v2). */
  iat: number;
  leafIndex: number;
  leafHash: string;
  /** The C2SP signed checkpoint whose tree contains leafIndex. */
  checkpoint: string;
}

/**
 * Signs the receipt for an entry whose append() has resolved. Synchronous and on the request path, so it
 * signs with node:crypto directly: RFC 8037 EdDSA is deterministic, and a test checks the result is
 * byte-identical to jose's CompactSign. Verification goes through jose.
 */
export function signReceipt(key: LedgerKey, subject: ReceiptSubject, appended: Pick<AppendResult, 'index' | 'leafHash' | 'checkpoint'>, nowMs: number): string {
  const payload: ReceiptPayload = {
    v: 1,
    iss: key.name,
    iat: Math.floor(nowMs / 1000),
    ...subject,
    leafIndex: appended.index,
    leafHash: appended.leafHash,
    checkpoint: appended.checkpoint.note,
  };
  // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature over the first two).
  const signingInput = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: RECEIPT_TYP })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${signingInput}.${key.signer.sign(Buffer.from(signingInput)).toString('base64url')}`;
}

function str(p: Record<string, unknown>, k: string, nullable: boolean): void {
  const v = p[k];
  if (!(typeof v === 'string' || (nullable && v === null))) throw new ReceiptInvalid('bad_claim', `receipt claim ${k} is missing or not a string`);
}

export interface VerifiedReceipt {
  payload: ReceiptPayload;
  checkpoint: SignedCheckpoint;
  /** v2 only: the audit entry the receipt carries, proven included in `checkpoint`. */
  entry?: Record<string, unknown>;
}

/**
 * Verifies a receipt of either version offline, trusting only the ledger key: v2 by its checkpoint
 * signature and inclusion proof (receipt-proof.ts), v1 by its JWS signature, claim shapes and embedded
 * checkpoint. Does not consult the log (see receiptVerify).
 */
export async function verifyReceipt(receipt: string, key: TrustedLedgerKeys): Promise<VerifiedReceipt> {
  if (receipt.startsWith(RECEIPT_V2_PREFIX)) return openProofReceipt(receipt, key);
  return verifyJwsReceipt(receipt, key);
}

/**
 * v1: verifies the JWS signature with the trusted key, the claim shapes, and the embedded checkpoint's
 * note signature; checks the leaf lies inside that checkpoint.
 */
async function verifyJwsReceipt(receipt: string, key: TrustedLedgerKeys): Promise<VerifiedReceipt> {
  // The origin is read from the unverified checkpoint only to name the key; the signatures below decide.
  let unverifiedOrigin: string;
  try {
    const payloadPart = receipt.split('.')[1] ?? '';
    const p = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as { checkpoint?: unknown };
    unverifiedOrigin = parseCheckpointBody(parseNote(String(p.checkpoint)).text).origin;
  } catch {
    throw new ReceiptInvalid('malformed_receipt', 'receipt is not a compact JWS carrying a checkpoint');
  }
  // A rotated log: the receipt was signed by whichever trusted key signed at the time; try each.
  const verifiers = noteVerifiersFor(key, unverifiedOrigin);
  let payload: Record<string, unknown> | null = null;
  for (const verifier of verifiers) {
    try {
      const { payload: bytes, protectedHeader } = await compactVerify(receipt, verifier.publicKey, { algorithms: ['EdDSA'] });
      if (protectedHeader.typ !== RECEIPT_TYP) throw new ReceiptInvalid('wrong_type', `receipt typ is ${String(protectedHeader.typ)}, expected ${RECEIPT_TYP}`);
      payload = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
      break;
    } catch (e) {
      if (e instanceof ReceiptInvalid) throw e;
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      throw new ReceiptInvalid('malformed_receipt', `receipt does not parse as a JWS: ${(e as Error).message}`);
    }
  }
  if (payload === null) throw new ReceiptInvalid('bad_signature', `receipt signature does not verify with the trusted ledger key${verifiers.length > 1 ? 's' : ''}`);
  if (payload.v !== 1) throw new ReceiptInvalid('bad_version', 'unsupported receipt version');
  for (const k of ['requestDigest', 'responseDigest', 'model', 'deployment', 'artifactDigest', 'policyVersion']) str(payload, k, true);
  for (const k of ['iss', 'decisionId', 'leafHash', 'checkpoint']) str(payload, k, false);
  if (!Number.isSafeInteger(payload.leafIndex) || (payload.leafIndex as number) < 0) throw new ReceiptInvalid('bad_claim', 'receipt leafIndex is not a non-negative integer');
  if (!parseHashB64(payload.leafHash as string)) throw new ReceiptInvalid('bad_claim', 'receipt leafHash is not a base64 SHA-256 hash');
  const cp = openCheckpointWith(payload.checkpoint as string, verifiers, payload.iss as string);
  if ((payload.leafIndex as number) >= cp.size) throw new ReceiptInvalid('leaf_not_in_checkpoint', `leaf ${String(payload.leafIndex)} is not inside the receipt's checkpoint of size ${cp.size}`);
  return { payload: payload as unknown as ReceiptPayload, checkpoint: cp };
}
