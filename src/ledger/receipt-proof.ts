// Warden-Receipt v2: the entry itself, its RFC 9162 inclusion proof, and the C2SP signed checkpoint of
// the batch that committed it. No per-response signature: the one checkpoint signature per batch, the
// proof from the entry's leaf hash to that checkpoint's root, and the entry's own fields prove what a
// per-response signature over the same claims did (DESIGN.md, speed budget: one signature per batch),
// and they tie the claims to the leaf by hashing instead of by assertion. Wire form:
//   "wr2." BASE64URL(JSON {v: 2, leafIndex, entry: <RFC 8785 entry text>, inclusionProof: [base64], checkpoint})
import { canonicalJson } from '../core/canonical-json.js';
import { parseCheckpointBody } from './checkpoint.js';
import { InclusionProofInvalid, ReceiptInvalid } from './errors.js';
import { b64, leafHash, parseHashB64 } from './hash.js';
import type { AppendResult } from './ledger.js';
import { verifyInclusion } from './merkle-verify.js';
import { parseNote } from './note.js';
import type { ReceiptPayload, VerifiedReceipt } from './receipt.js';
import { openTrustedCheckpoint, type TrustedLedgerKeys } from './trusted-key.js';

export const RECEIPT_V2_PREFIX = 'wr2.';

/** A tree of 2^63 leaves has a 63-hash proof; anything longer is not a proof. */
const MAX_PROOF_HASHES = 63;

interface WireV2 {
  v: 2;
  leafIndex: number;
  entry: string;
  inclusionProof: string[];
  checkpoint: string;
}

/**
 * Builds the receipt for an entry whose append() has resolved. Costs no signature: JSON and base64 of the
 * entry, its in-memory inclusion proof and the batch checkpoint. The caller decides which entries get one
 * (released inference responses); the verifier refuses any other kind.
 */
export function issueReceipt(appended: AppendResult): string {
  const wire: WireV2 = {
    v: 2,
    leafIndex: appended.index,
    entry: appended.entry.toString('utf8'),
    inclusionProof: appended.inclusionProof().map(b64),
    checkpoint: appended.checkpoint.note,
  };
  return RECEIPT_V2_PREFIX + Buffer.from(JSON.stringify(wire)).toString('base64url');
}

function parseWire(receipt: string): WireV2 {
  let w: Record<string, unknown>;
  try {
    const body = receipt.slice(RECEIPT_V2_PREFIX.length);
    if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new Error('not base64url');
    w = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ReceiptInvalid('malformed_receipt', 'receipt is not base64url JSON after its wr2. prefix');
  }
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new ReceiptInvalid('malformed_receipt', 'receipt body is not a JSON object');
  if (w.v !== 2) throw new ReceiptInvalid('bad_version', 'unsupported receipt version');
  if (!Number.isSafeInteger(w.leafIndex) || (w.leafIndex as number) < 0) throw new ReceiptInvalid('bad_claim', 'receipt leafIndex is not a non-negative integer');
  if (typeof w.entry !== 'string') throw new ReceiptInvalid('bad_claim', 'receipt entry is not a string');
  if (typeof w.checkpoint !== 'string') throw new ReceiptInvalid('bad_claim', 'receipt checkpoint is not a string');
  const proof = w.inclusionProof;
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_HASHES || !proof.every((h) => typeof h === 'string' && parseHashB64(h) !== null)) {
    throw new ReceiptInvalid('bad_claim', 'receipt inclusionProof is not a list of base64 SHA-256 hashes');
  }
  return w as unknown as WireV2;
}

function claim(entry: Record<string, unknown>, k: string, nullable: boolean): string | null {
  const v = entry[k] ?? (nullable ? null : undefined);
  if (!(typeof v === 'string' || (nullable && v === null))) throw new ReceiptInvalid('bad_entry', `receipt entry field ${k} is missing or not a string`);
  return v;
}

function member(entry: Record<string, unknown>, k: string): Record<string, unknown> | null {
  const v = entry[k] ?? null;
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new ReceiptInvalid('bad_entry', `receipt entry field ${k} is not an object`);
  return v as Record<string, unknown> | null;
}

/**
 * Verifies a v2 receipt offline with the trusted key: the checkpoint's note signature (C2SP signed-note),
 * the leaf inside it, the inclusion proof from the entry's leaf hash to the signed root (RFC 9162
 * §2.1.3.2), that the entry is canonical (so it says one thing) and records a released inference response.
 * Returns the same claims a v1 receipt carried, read from the proven entry.
 */
export function openProofReceipt(receipt: string, key: TrustedLedgerKeys): VerifiedReceipt {
  const w = parseWire(receipt);
  try {
    parseCheckpointBody(parseNote(w.checkpoint).text);
  } catch {
    throw new ReceiptInvalid('malformed_receipt', 'receipt checkpoint is not a C2SP signed checkpoint');
  }
  const cp = openTrustedCheckpoint(w.checkpoint, key); // origin must be a trusted key's name
  if (w.leafIndex >= cp.size) throw new ReceiptInvalid('leaf_not_in_checkpoint', `leaf ${w.leafIndex} is not inside the receipt's checkpoint of size ${cp.size}`);
  const entryBytes = Buffer.from(w.entry, 'utf8');
  const leaf = leafHash(entryBytes);
  try {
    verifyInclusion(w.leafIndex, cp.size, leaf, w.inclusionProof.map((h) => parseHashB64(h)!), cp.rootHash);
  } catch (e) {
    if (!(e instanceof InclusionProofInvalid)) throw e;
    throw new ReceiptInvalid('not_in_checkpoint', `the receipt's entry is not leaf ${w.leafIndex} of its signed checkpoint: ${e.message}`);
  }
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(w.entry) as Record<string, unknown>;
  } catch {
    throw new ReceiptInvalid('bad_entry', 'receipt entry is not JSON');
  }
  // The log only holds RFC 8785 text; a non-canonical entry (e.g. a duplicated key) could be read two ways.
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || canonicalJson(entry) !== w.entry) {
    throw new ReceiptInvalid('bad_entry', 'receipt entry is not an RFC 8785 canonical JSON object');
  }
  // A receipt vouches for a released inference response, as v1 receipts were only ever signed for those, or
  // for an ext_authz decision (phase `authorize`, no response: the mesh relayed it).
  const details = entry.details as Record<string, unknown> | undefined;
  const decision = entry.responseDigest === null && details?.phase === 'authorize';
  if (entry.kind !== 'inference' || entry.decision !== 'allow' || (typeof entry.responseDigest !== 'string' && !decision)) {
    throw new ReceiptInvalid('not_a_response', `entry ${w.leafIndex} records ${String(entry.kind)}/${String(entry.decision)}, not a released inference response`);
  }
  const time = Date.parse(claim(entry, 'time', false)!);
  if (!Number.isFinite(time)) throw new ReceiptInvalid('bad_entry', 'receipt entry time is not a date');
  const resource = member(entry, 'resource');
  const deployment = member(entry, 'deployment');
  const payload: ReceiptPayload = {
    v: 2,
    iss: cp.origin,
    iat: Math.floor(time / 1000),
    requestDigest: claim(entry, 'requestDigest', true),
    responseDigest: claim(entry, 'responseDigest', decision),
    model: resource ? claim(resource, 'id', true) : null,
    deployment: deployment ? claim(deployment, 'id', true) : null,
    artifactDigest: deployment ? claim(deployment, 'artifactDigest', true) : null,
    policyVersion: claim(entry, 'policyVersion', true),
    decisionId: claim(entry, 'requestId', false)!,
    leafIndex: w.leafIndex,
    leafHash: b64(leaf),
    checkpoint: w.checkpoint,
  };
  return { payload, checkpoint: cp, entry };
}
