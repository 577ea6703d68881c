// Offline receipt check against a published log, trusting only the ledger public key: the receipt's
// signature and checkpoint, the optional request/response bodies, the receipt checkpoint's consistency
// with the log's current one, the leaf's inclusion, and that the entry says what the receipt says.
import { sha256Digest } from '../core/digest.js';
import { fetchCheckpoint } from './audit-verify.js';
import { ConsistencyProofInvalid, InclusionProofInvalid, LogForked, ReceiptInvalid } from './errors.js';
import { hashEquals, leafHash, parseHashB64 } from './hash.js';
import { LogAccessDenied, openLogSource } from './log-source.js';
import { consistencyProof, inclusionProof } from './merkle-proof.js';
import { verifyConsistency, verifyInclusion } from './merkle-verify.js';
import { verifyReceipt, type ReceiptPayload } from './receipt.js';
import type { TrustedLedgerKeys } from './trusted-key.js';
import { TileNodeReader } from './tile-reader.js';
import { decodeEntryBundle, tilePath, tileWidthAt, TILE_WIDTH } from './tiles.js';

export interface ReceiptVerifyOptions {
  receipt: string;
  log: string;
  /** The log's public key, or its keys across rotations: the receipt's checkpoint and the log's latest may be signed by different ones. */
  key: TrustedLedgerKeys;
  /** Raw request / response body bytes; their sha256 digests must match the receipt. */
  request?: Uint8Array;
  response?: Uint8Array;
  /** Extra headers for an HTTP log (an admin credential lets the entry itself be compared too). */
  headers?: Record<string, string>;
}

export interface ReceiptVerifyResult {
  payload: ReceiptPayload;
  /** Size of the checkpoint embedded in the receipt. */
  receiptCheckpointSize: number;
  /** Size of the log's current checkpoint the leaf was proven in. */
  logSize: number;
  /**
   * The audit entry the receipt points at, as published; null when the log keeps its entries behind
   * credentials the caller does not have: inclusion of the receipt's leaf hash is then proven, the
   * comparison of the entry's fields with the receipt's claims is not.
   */
  entry: Record<string, unknown> | null;
}

export async function receiptVerify(opts: ReceiptVerifyOptions): Promise<ReceiptVerifyResult> {
  const { payload, checkpoint: rcp } = await verifyReceipt(opts.receipt.trim(), opts.key);
  if (opts.request && sha256Digest(opts.request) !== payload.requestDigest) throw new ReceiptInvalid('request_digest_mismatch', `the request body hashes to ${sha256Digest(opts.request)}, the receipt says ${String(payload.requestDigest)}`);
  if (opts.response && sha256Digest(opts.response) !== payload.responseDigest) throw new ReceiptInvalid('response_digest_mismatch', `the response body hashes to ${sha256Digest(opts.response)}, the receipt says ${String(payload.responseDigest)}`);

  const fetchPath = openLogSource(opts.log, opts.headers ? { headers: opts.headers } : {});
  const latest = await fetchCheckpoint(fetchPath, opts.key);
  if (latest.origin !== rcp.origin) throw new ReceiptInvalid('wrong_log', `receipt is for log ${rcp.origin}, the log at ${opts.log} is ${latest.origin}`);
  if (latest.size < rcp.size) throw new LogForked('rolled_back', `log has ${latest.size} entries, fewer than the ${rcp.size} of the receipt's checkpoint: history was rolled back`);
  const reader = new TileNodeReader(fetchPath, latest.size);
  try {
    verifyConsistency(rcp.size, latest.size, rcp.rootHash, latest.rootHash, await consistencyProof(reader, rcp.size, latest.size));
  } catch (e) {
    if (!(e instanceof ConsistencyProofInvalid)) throw e;
    throw new LogForked('forked', `the log's checkpoint at size ${latest.size} is not consistent with the receipt's checkpoint at size ${rcp.size}: history was rewritten`);
  }
  const leaf = parseHashB64(payload.leafHash)!;
  try {
    verifyInclusion(payload.leafIndex, latest.size, leaf, await inclusionProof(reader, payload.leafIndex, latest.size), latest.rootHash);
  } catch (e) {
    if (!(e instanceof InclusionProofInvalid)) throw e;
    throw new ReceiptInvalid('not_in_log', `leaf ${payload.leafIndex} with the receipt's leaf hash is not in the log: ${e.message}`);
  }

  const bi = Math.floor(payload.leafIndex / TILE_WIDTH);
  let bundleBytes: Buffer;
  try {
    bundleBytes = await fetchPath(tilePath({ level: 'entries', index: bi, width: tileWidthAt(0, bi, latest.size) }));
  } catch (e) {
    if (e instanceof LogAccessDenied) return { payload, receiptCheckpointSize: rcp.size, logSize: latest.size, entry: null };
    throw e;
  }
  const bundle = decodeEntryBundle(bundleBytes);
  const entryBytes = bundle[payload.leafIndex % TILE_WIDTH];
  if (!entryBytes || !hashEquals(leafHash(entryBytes), leaf)) throw new ReceiptInvalid('entry_mismatch', `the published entry ${payload.leafIndex} does not hash to the receipt's leaf hash`);
  const entry = JSON.parse(entryBytes.toString('utf8')) as Record<string, unknown>;
  for (const [claim, field] of [['decisionId', 'requestId'], ['requestDigest', 'requestDigest'], ['responseDigest', 'responseDigest'], ['policyVersion', 'policyVersion']] as const) {
    if ((entry[field] ?? null) !== payload[claim]) throw new ReceiptInvalid('entry_disagrees', `audit entry ${payload.leafIndex} has ${field}=${JSON.stringify(entry[field])}, the receipt says ${JSON.stringify(payload[claim])}`);
  }
  const dep = (entry.deployment ?? null) as { id?: unknown; artifactDigest?: unknown } | null;
  if ((dep?.id ?? null) !== payload.deployment || (dep?.artifactDigest ?? null) !== payload.artifactDigest) {
    throw new ReceiptInvalid('entry_disagrees', `audit entry ${payload.leafIndex} records deployment ${JSON.stringify(dep)}, the receipt says ${JSON.stringify({ id: payload.deployment, artifactDigest: payload.artifactDigest })}`);
  }
  return { payload, receiptCheckpointSize: rcp.size, logSize: latest.size, entry };
}
