// Offline audit of a published log, trusting only the ledger public key: verify the checkpoint
// signature, recompute every leaf from the entry bundles and the root from the leaves, check every tile,
// and (with a state file) check the new checkpoint is consistent with the last one seen.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { openCheckpointWith, type SignedCheckpoint } from './checkpoint.js';
import { CompactRange, type StoredNode } from './compact-range.js';
import { parseCosignatureVerifierKey, verifyCosignatures, type VerifiedCosignature } from './cosignature.js';
import { ConsistencyProofInvalid, CosignatureInvalid, LogEntryMismatch, LogForked, NoteMalformed, RootMismatch, TileInvalid } from './errors.js';
import { b64, hashEquals, HASH_SIZE, leafHash, parseHashB64 } from './hash.js';
import { LogResourceMissing, openLogSource } from './log-source.js';
import { consistencyProof } from './merkle-proof.js';
import { verifyConsistency } from './merkle-verify.js';
import { noteVerifiersFor, openTrustedCheckpoint, type TrustedLedgerKeys } from './trusted-key.js';
import { TileNodeReader, type FetchPath } from './tile-reader.js';
import { decodeEntryBundle, tilePath, tilesForSize, tileWidthAt, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';

export interface AuditVerifyOptions {
  /** `https://host/audit/v1` or a directory written by exportStatic. */
  log: string;
  /** The log's public key, or its keys across rotations (current and earlier). */
  key: TrustedLedgerKeys;
  /** JSON file holding the last verified checkpoint; created if absent, updated on success. */
  statePath?: string;
  /** Extra headers for an HTTP log: the entry bundles need an admin credential unless published openly. */
  headers?: Record<string, string>;
  /** Witness cosignature/v1 verifier keys (C2SP tlog-cosignature) the auditor trusts. */
  witnesses?: readonly string[];
  /** How many distinct trusted witnesses must have cosigned a checkpoint the log is consistent with. */
  minWitnesses?: number;
  /** Cosignatures older than this (seconds) do not count. */
  maxWitnessAgeSec?: number;
  /** Epoch milliseconds (default Date.now), for cosignature ages. */
  now?: number;
}

export interface AuditVerifyResult {
  origin: string;
  size: number;
  rootHash: string;
  /** The checkpoint from the state file this one was proven consistent with. */
  previous?: { size: number; rootHash: string };
  /** The witnessed checkpoint this log was proven consistent with, and who cosigned it. */
  witnessed?: { size: number; rootHash: string; cosigners: VerifiedCosignature[] };
}

interface SavedState {
  origin: string;
  size: number;
  rootHash: string;
  checkpoint: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Fetches and verifies the log's current checkpoint with the trusted key. */
export async function fetchCheckpoint(fetchPath: FetchPath, key: TrustedLedgerKeys): Promise<SignedCheckpoint> {
  // Fetched outside the try: a failed fetch is a TypeError too, and must not be reported as bad UTF-8.
  const bytes = await fetchPath('checkpoint');
  let note: string;
  try {
    note = utf8.decode(bytes);
  } catch (e) {
    if (e instanceof TypeError) throw new NoteMalformed('invalid_utf8', 'checkpoint is not valid UTF-8');
    throw e;
  }
  return openTrustedCheckpoint(note, key);
}

/** Names what happened to the entries of one bundle, given the hashes the tree committed to. */
function diagnose(entries: Buffer[], tile: Buffer[], base: number, bundle: string): LogEntryMismatch {
  const n = Math.max(entries.length, tile.length);
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    const t = tile[i];
    if (e && t && hashEquals(e, t)) continue;
    const at = base + i;
    if (!e) return new LogEntryMismatch('entry_removed', at, `entry ${at} is missing: ${bundle} has ${entries.length} entries where the tree has ${tile.length}`);
    if (!t) return new LogEntryMismatch('entry_inserted', at, `entry ${at} was inserted: ${bundle} has ${entries.length} entries where the tree has ${tile.length}`);
    const next = entries[i + 1];
    const tnext = tile[i + 1];
    if (next && tnext && hashEquals(e, tnext) && hashEquals(next, t)) return new LogEntryMismatch('entries_reordered', at, `entries ${at} and ${at + 1} were swapped`);
    if (tnext && hashEquals(e, tnext)) return new LogEntryMismatch('entry_removed', at, `entry ${at} was removed: the entry now at ${at} is the committed entry ${at + 1}`);
    if (next && hashEquals(next, t)) return new LogEntryMismatch('entry_inserted', at, `an entry was inserted at ${at}: the committed entry ${at} now sits at ${at + 1}`);
    const moved = tile.findIndex((h) => hashEquals(h, e));
    if (moved >= 0) return new LogEntryMismatch('entries_reordered', at, `entry ${at} holds the committed entry ${base + moved}: entries were reordered`);
    return new LogEntryMismatch('entry_changed', at, `entry ${at} was changed: it no longer hashes to the leaf the tree committed to`);
  }
  return new LogEntryMismatch('entry_changed', base, `${bundle} does not match its level-0 tile`);
}

function splitHashes(tile: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < tile.length; i += HASH_SIZE) out.push(tile.subarray(i, i + HASH_SIZE));
  return out;
}

async function readState(path: string): Promise<SavedState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const s = JSON.parse(text) as SavedState;
  if (typeof s.origin !== 'string' || !Number.isSafeInteger(s.size) || !parseHashB64(s.rootHash)) throw new TileInvalid('bad_state', `${path} is not a saved checkpoint state`);
  return s;
}

export async function auditVerify(opts: AuditVerifyOptions): Promise<AuditVerifyResult> {
  const fetchPath = openLogSource(opts.log, opts.headers ? { headers: opts.headers } : {});
  // The witnessed checkpoint is read before the log's own: an honest log only grows, so the checkpoint read
  // second is never smaller, and a log that grew meanwhile is not mistaken for one rolled back.
  const witnessedNote = opts.minWitnesses !== undefined && opts.minWitnesses > 0 ? await fetchWitnessed(fetchPath) : null;
  const cp = await fetchCheckpoint(fetchPath, opts.key);
  const saved = opts.statePath ? await readState(opts.statePath) : null;
  if (saved) {
    if (saved.origin !== cp.origin) throw new LogForked('origin_changed', `log origin is ${cp.origin}, the saved state is for ${saved.origin}`);
    if (cp.size < saved.size) throw new LogForked('rolled_back', `log shrank from ${saved.size} entries (saved state) to ${cp.size}: history was rolled back`);
  }

  const reader = new TileNodeReader(fetchPath, cp.size);
  const tree = CompactRange.empty();
  // Hashes at tree levels 8, 16, ...: what the level >= 1 tiles must contain.
  const upper = new Map<number, Buffer[]>();
  const nodes: StoredNode[] = [];
  for (let bi = 0; bi * TILE_WIDTH < cp.size; bi++) {
    const width = tileWidthAt(0, bi, cp.size);
    const bundlePath = tilePath({ level: 'entries', index: bi, width });
    const tileHashes = splitHashes(await reader.tile(0, bi));
    const entryHashes = decodeEntryBundle(await fetchPath(bundlePath)).map(leafHash);
    if (entryHashes.length !== width || entryHashes.some((h, i) => !hashEquals(h, tileHashes[i]!))) throw diagnose(entryHashes, tileHashes, bi * TILE_WIDTH, bundlePath);
    for (const h of entryHashes) {
      nodes.length = 0;
      tree.append(h, nodes);
      for (const n of nodes) if (n.level > 0 && n.level % TILE_HEIGHT === 0) (upper.get(n.level) ?? upper.set(n.level, []).get(n.level)!)[n.index] = n.hash;
    }
  }
  if (!hashEquals(tree.root(), cp.rootHash)) {
    throw new RootMismatch('root_mismatch', `the published entries hash to root ${b64(tree.root())} at size ${cp.size}, but the signed checkpoint says ${b64(cp.rootHash)}: the log was altered after it was signed`);
  }
  for (const ref of tilesForSize(cp.size)) {
    if (ref.level === 'entries' || ref.level === 0) continue;
    const got = splitHashes(await reader.tile(ref.level, ref.index));
    const want = upper.get(ref.level * TILE_HEIGHT) ?? [];
    got.forEach((h, i) => {
      if (!hashEquals(h, want[ref.index * TILE_WIDTH + i] ?? Buffer.alloc(0))) throw new TileInvalid('tile_mismatch', `${tilePath(ref)} hash ${i} does not match the entries`);
    });
  }

  const result: AuditVerifyResult = { origin: cp.origin, size: cp.size, rootHash: b64(cp.rootHash) };
  if (saved) {
    // RFC 9162 §2.1.4: the saved tree must be a prefix of this one.
    try {
      verifyConsistency(saved.size, cp.size, parseHashB64(saved.rootHash)!, cp.rootHash, await consistencyProof(reader, saved.size, cp.size));
    } catch (e) {
      if (!(e instanceof ConsistencyProofInvalid)) throw e;
      throw new LogForked('forked', `checkpoint at size ${cp.size} is not consistent with the checkpoint at size ${saved.size} saved in ${opts.statePath}: the log's history was rewritten (fork)`);
    }
    result.previous = { size: saved.size, rootHash: saved.rootHash };
  }
  if (witnessedNote !== null) result.witnessed = await checkWitnessed(witnessedNote, reader, cp, opts);
  if (opts.statePath) {
    const state: SavedState = { origin: cp.origin, size: cp.size, rootHash: b64(cp.rootHash), checkpoint: cp.note };
    await writeFile(opts.statePath + '.tmp', JSON.stringify(state, null, 2) + '\n');
    await rename(opts.statePath + '.tmp', opts.statePath);
  }
  return result;
}

/**
 * C2SP tlog-witness: the log's own key can sign any history, so require `minWitnesses` trusted witnesses to
 * have cosigned a checkpoint, and the log's current tree to extend it. A witness cosigns only checkpoints
 * consistent with the last one it cosigned, so a log truncated or rewritten after they saw it can show
 * either no such cosignatures or ones it is not consistent with.
 */
async function fetchWitnessed(fetchPath: FetchPath): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await fetchPath('witnessed-checkpoint');
  } catch (e) {
    if (e instanceof LogResourceMissing) throw new CosignatureInvalid('not_witnessed', `the log publishes no witnessed checkpoint (${e.message}): no witness vouches for its history`);
    throw e;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new NoteMalformed('invalid_utf8', 'witnessed checkpoint is not valid UTF-8');
  }
}

async function checkWitnessed(note: string, reader: TileNodeReader, cp: SignedCheckpoint, opts: AuditVerifyOptions): Promise<NonNullable<AuditVerifyResult['witnessed']>> {
  const min = opts.minWitnesses!;
  const witnesses = (opts.witnesses ?? []).map(parseCosignatureVerifierKey);
  if (new Set(witnesses.map((w) => w.name)).size < min) throw new CosignatureInvalid('too_few_witness_keys', `${min} witnesses are required but only ${witnesses.length} distinct witness keys were given`);
  const wcp = openCheckpointWith(note, noteVerifiersFor(opts.key, cp.origin), cp.origin);
  const nowSec = Math.floor((opts.now ?? Date.now()) / 1000);
  const all = verifyCosignatures(note, witnesses, { now: nowSec });
  const maxAge = opts.maxWitnessAgeSec;
  const fresh = maxAge === undefined ? all : all.filter((c) => nowSec - c.timestamp <= maxAge);
  if (fresh.length < min) {
    const stale = all.length - fresh.length;
    throw new CosignatureInvalid('too_few_cosignatures', `the witnessed checkpoint at size ${wcp.size} carries ${fresh.length} valid cosignature(s) from the given witnesses${stale ? ` (${stale} older than ${maxAge} s)` : ''}, ${min} required`);
  }
  if (wcp.size > cp.size) throw new LogForked('rolled_back', `witnesses cosigned the log at size ${wcp.size}, but it now has ${cp.size} entries: history was rolled back`);
  try {
    verifyConsistency(wcp.size, cp.size, wcp.rootHash, cp.rootHash, await consistencyProof(reader, wcp.size, cp.size));
  } catch (e) {
    if (!(e instanceof ConsistencyProofInvalid)) throw e;
    throw new LogForked('forked', `the log at size ${cp.size} is not consistent with the checkpoint witnesses cosigned at size ${wcp.size}: its history was rewritten`);
  }
  return { size: wcp.size, rootHash: b64(wcp.rootHash), cosigners: fresh };
}
