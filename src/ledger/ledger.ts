// The ledger: an append-only RFC 9162 Merkle tree with group commit. Appends that arrive while a batch
// is being written join the next batch; each batch is one durable transaction (entries, tree nodes and
// a freshly signed C2SP checkpoint), so every acknowledged entry is already covered by a checkpoint.
import type { AuditEvent } from '../core/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import { BadRequest } from '../core/errors.js';
import type { LedgerAppend, LedgerBatch, LedgerState, LedgerStore, UnsignedLedgerBatch } from '../store/ledger-store.js';
import { formatCheckpointBody, openCheckpointWith, signCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.js';
import { BatchNodes } from './batch-nodes.js';
import { CompactRange, type StoredNode } from './compact-range.js';
import { LedgerBadRequest, LedgerUnavailable, LogForked, NoteSignatureInvalid, RootMismatch, TileNotFound } from './errors.js';
import { b64, EMPTY_ROOT, hashEquals, leafHash } from './hash.js';
import type { LedgerKey } from './key.js';
import type { KeyObject } from 'node:crypto';
import type { NoteSigner, NoteVerifier } from './note.js';
import { consistencyProof, inclusionProof, rootAt } from './merkle-proof.js';
import { verifyConsistency } from './merkle-verify.js';
import { tileFromNodes } from './tile-reader.js';
import { encodeEntryBundle, MAX_ENTRY_BYTES, tileWidthAt, TILE_WIDTH, type TileRef } from './tiles.js';

export interface AppendResult {
  index: number;
  /** Base64 RFC 9162 leaf hash of the entry. */
  leafHash: string;
  /** The signed checkpoint of the batch that committed this entry (size > index). */
  checkpoint: SignedCheckpoint;
  /** The entry bytes as committed (RFC 8785 canonical JSON). */
  entry: Buffer;
  /** RFC 9162 §2.1.3.1 inclusion proof of this entry in `checkpoint`'s tree, computed from memory. */
  inclusionProof(): Buffer[];
}

export interface InclusionProofResult {
  index: number;
  size: number;
  leafHash: string;
  rootHash: string;
  hashes: string[];
}

export interface ConsistencyProofResult {
  old: number;
  size: number;
  oldRootHash: string;
  rootHash: string;
  hashes: string[];
}

export interface LedgerOptions {
  store: LedgerStore;
  key: LedgerKey;
  /** Keys that sign each new checkpoint beside `key` (a rotated-out key during its overlap). */
  cosigners?: readonly NoteSigner[];
  /**
   * Earlier keys of this log: a stored (or another replica's) checkpoint signed by one of them is accepted as
   * this log's, so the log resumes across a key rotation. `key` is always trusted.
   */
  previousKeys?: readonly NoteVerifier[];
  /** Largest batch written in one transaction. 1 gives one fsync per entry (the benchmark baseline). */
  maxBatch?: number;
  /**
   * How many of the newest entries `open` rehashes against the signed root (default: one full batch,
   * `maxBatch`). The last batch is the one a crash or a hand edit is most likely to have touched.
   */
  verifyTail?: number;
}

/** An entry too large for a C2SP entry bundle (uint16 length prefix). */
export class LedgerEntryTooLarge extends BadRequest {
  constructor(bytes: number) {
    super('ledger_entry_too_large', `audit entry is ${bytes} bytes; entries are limited to ${MAX_ENTRY_BYTES}`);
  }
}

interface Built {
  next: CompactRange;
  leaves: Buffer[];
  /** Null while the store signs it (the writer thread); set from the note the store answers. */
  cp: SignedCheckpoint | null;
  checkpoint: Checkpoint;
  batch: LedgerBatch | UnsignedLedgerBatch;
}

interface Pending {
  entry: Buffer;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

export class Ledger {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private refreshing: Promise<void> | null = null;
  /** True from taking the shared log's lock until the batch's tree is this ledger's (see refresh). */
  private committing = false;
  private scheduled = false;
  private closed = false;
  private readonly maxBatch: number;
  private signers: NoteSigner[];
  private trusted: NoteVerifier[];

  private constructor(
    private readonly store: LedgerStore,
    private currentKey: LedgerKey,
    keys: { cosigners: readonly NoteSigner[]; trusted: NoteVerifier[] },
    private frontier: CompactRange,
    private checkpoint: SignedCheckpoint,
    maxBatch: number,
  ) {
    this.maxBatch = maxBatch;
    this.signers = [currentKey.signer, ...keys.cosigners];
    this.trusted = keys.trusted;
    this.storeSigns = this.handSignersToStore();
  }

  /** True while the store signs checkpoints on its writer thread. */
  private storeSigns: boolean;

  /**
   * Checkpoint signatures move to the store's writer thread when it has one and every key is in memory (a
   * PKCS#11 key signs on the token, here). Measured: the per-batch signature was 3% of the event loop under
   * load, paid by nearly every request because batches are small when the disk is fast.
   */
  private handSignersToStore(): boolean {
    const keys = this.signers.map((s) => s.privateKey);
    if (!this.store.useCheckpointSigners || !this.store.appendUnsigned || keys.some((k) => k === undefined)) return false;
    this.store.useCheckpointSigners(this.currentKey.name, keys as KeyObject[]);
    return true;
  }

  /** The key that signs new checkpoints. */
  get key(): LedgerKey {
    return this.currentKey;
  }

  /**
   * Signs every batch from now on with `key` (and `cosigners`), and trusts `previousKeys` besides it: a key
   * rotation. The tree is unchanged; the first checkpoint the new key signs extends the one the old key signed.
   */
  useKey(key: LedgerKey, cosigners: readonly NoteSigner[], previousKeys: readonly NoteVerifier[]): void {
    if (key.name !== this.currentKey.name) throw new RangeError(`a rotated ledger key must keep the log's name ${this.currentKey.name}, not ${key.name}`);
    this.currentKey = key;
    this.signers = [key.signer, ...cosigners];
    this.trusted = [key.verifier, ...previousKeys];
    this.storeSigns = this.handSignersToStore();
  }

  /**
   * Opens the store and resumes its tree. Refuses to start (fail closed) if the stored checkpoint is not
   * signed by this key or the stored tree does not hash to it: appending on top would extend a tree
   * nobody can vouch for.
   */
  static async open(opts: LedgerOptions): Promise<Ledger> {
    const { store, key } = opts;
    const maxBatch = opts.maxBatch ?? 4096;
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new RangeError('maxBatch must be a positive integer');
    const keys = { cosigners: opts.cosigners ?? [], trusted: [key.verifier, ...(opts.previousKeys ?? [])] };
    const signers = [key.signer, ...keys.cosigners];
    const state = store.beginAppend ? await pinLedgerKey(store, key.name, signers) : await store.load();
    if (state.checkpoint === null) {
      if (state.size !== 0) throw new RootMismatch('missing_checkpoint', `store holds ${state.size} entries but no checkpoint`);
      const empty = signCheckpoint({ origin: key.name, size: 0, rootHash: EMPTY_ROOT }, signers);
      return new Ledger(store, key, keys, CompactRange.empty(), empty, maxBatch);
    }
    const cp = openOwnCheckpoint(state.checkpoint, key, keys.trusted);
    if (cp.size !== state.size) throw new RootMismatch('checkpoint_size_mismatch', `stored checkpoint size ${cp.size} differs from stored size ${state.size}`);
    const frontier = await CompactRange.load(store, state.size);
    if (!hashEquals(frontier.root(), cp.rootHash)) {
      throw new RootMismatch('stored_tree_mismatch', `stored tree of size ${state.size} does not hash to its signed checkpoint root`);
    }
    await verifyTail(store, state.size, Math.min(state.size, opts.verifyTail ?? maxBatch), cp.rootHash);
    return new Ledger(store, key, keys, frontier, cp, maxBatch);
  }

  /** Committed tree size (every entry below it is durable and covered by the latest checkpoint). */
  get size(): number {
    return this.checkpoint.size;
  }

  /** Records one event; resolves after the batch holding it is durably committed. */
  append(event: AuditEvent): Promise<AppendResult> {
    return this.appendEntry(Buffer.from(canonicalJson(event), 'utf8'));
  }

  /** Appends raw entry bytes (already RFC 8785 canonical JSON). */
  appendEntry(entry: Buffer): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new LedgerUnavailable('the ledger is closed'));
    if (entry.length > MAX_ENTRY_BYTES) return Promise.reject(new LedgerEntryTooLarge(entry.length));
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every append issued in this turn of the event loop join the first batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        await this.commit(batch);
      } catch (e) {
        const err = new LedgerUnavailable(`audit batch of ${batch.length} entries was not committed: ${(e as Error).message}`);
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = null;
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (this.store.beginAppend) return this.commitShared(batch, this.store.beginAppend.bind(this.store));
    const built = this.build(batch, this.storeSigns);
    if (built.cp === null) {
      const note = await this.store.appendUnsigned!(built.batch as UnsignedLedgerBatch);
      built.cp = { ...built.checkpoint, note };
    } else {
      await this.store.appendBatch(built.batch as LedgerBatch);
    }
    this.advance(batch, built);
  }

  /**
   * A log other replicas append to: under the store's write lock, catch up on what they committed since this
   * ledger's last batch, then build the batch (indices, nodes, checkpoint) on the committed tree.
   */
  private async commitShared(batch: Pending[], begin: () => Promise<LedgerAppend>): Promise<void> {
    this.committing = true;
    try {
      const txn = await begin();
      let built: Built;
      try {
        if (txn.state.size !== this.frontier.size || (txn.state.checkpoint !== null && txn.state.checkpoint !== this.checkpoint.note)) await this.catchUp(txn.state);
        built = this.build(batch, false);
        await txn.commit(built.batch as LedgerBatch);
      } catch (e) {
        await txn.abort();
        throw e;
      }
      this.advance(batch, built);
    } finally {
      this.committing = false;
    }
  }

  /**
   * Moves this ledger to a tree another replica committed, checking it first (fail closed): the checkpoint is
   * signed by this ledger's key, the stored tree hashes to it, and the tree this ledger last signed is a prefix
   * of it (RFC 9162 §2.1.4 consistency proof from the stored nodes), so no replica ever extends a fork.
   */
  private async catchUp(state: LedgerState, onlyForward = false): Promise<void> {
    if (state.checkpoint === null) throw new LogForked('log_rolled_back', `the shared log holds ${state.size} entries and no checkpoint, but this replica committed up to ${this.checkpoint.size}`);
    const cp = openOwnCheckpoint(state.checkpoint, this.currentKey, this.trusted);
    if (cp.size !== state.size) throw new RootMismatch('checkpoint_size_mismatch', `stored checkpoint size ${cp.size} differs from stored size ${state.size}`);
    const old = this.checkpoint;
    if (cp.size < old.size) throw new LogForked('log_rolled_back', `the shared log is at size ${cp.size}, below the size ${old.size} this replica committed`);
    const frontier = await CompactRange.load(this.store, cp.size);
    if (!hashEquals(frontier.root(), cp.rootHash)) throw new RootMismatch('stored_tree_mismatch', `stored tree of size ${cp.size} does not hash to its signed checkpoint root`);
    if (old.size > 0) {
      try {
        verifyConsistency(old.size, cp.size, old.rootHash, cp.rootHash, await consistencyProof(this.store, old.size, cp.size));
      } catch (e) {
        throw new LogForked('log_forked', `the shared log at size ${cp.size} does not extend the tree of size ${old.size} this replica signed: ${(e as Error).message}`);
      }
    }
    // A refresh never touches the tree while this replica commits (the batch's proofs are built on the frontier
    // the commit started from) and never moves it back to an older tree than the one it has.
    if (onlyForward && (this.committing || cp.size <= this.checkpoint.size)) return;
    this.frontier = frontier;
    this.checkpoint = cp;
  }

  /**
   * A log other replicas append to: moves this ledger to the newest tree any replica committed (checked as in
   * catchUp: our signature, the stored tree hashes to it, it extends the tree this replica signed), so the
   * checkpoint, proofs and tiles it serves are the shared log's latest. Concurrent callers share one read.
   * A no-op for a store one process owns. The store unreachable: LedgerUnavailable (never a stale answer).
   */
  refresh(): Promise<void> {
    if (!this.store.beginAppend) return Promise.resolve();
    this.refreshing ??= (async () => {
      // An append of this replica's in flight catches up under the lock; then read what is committed. A commit
      // that starts meanwhile wins (its tree is at least as new), and the read is tried again after it.
      for (let attempt = 0; attempt < 3; attempt++) {
        await this.flushing;
        let state: LedgerState;
        try {
          state = await this.store.load();
        } catch (e) {
          throw new LedgerUnavailable(`cannot read the shared log to catch up: ${(e as Error).message}`);
        }
        if (state.size <= this.checkpoint.size) return;
        await this.catchUp(state, true);
        if (this.checkpoint.size >= state.size) return;
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** The batch's entries, nodes and checkpoint; signed here unless `unsigned` (the store's writer signs it). */
  private build(batch: Pending[], unsigned: boolean): Built {
    const next = this.frontier.clone();
    const first = next.size;
    const nodes: StoredNode[] = [];
    const leaves: Buffer[] = [];
    for (const p of batch) {
      const h = leafHash(p.entry);
      leaves.push(h);
      next.append(h, nodes);
    }
    const checkpoint: Checkpoint = { origin: this.currentKey.name, size: next.size, rootHash: next.root() };
    const entries = batch.map((p) => p.entry);
    if (unsigned) return { next, leaves, cp: null, checkpoint, batch: { firstIndex: first, entries, nodes, checkpoint: { size: checkpoint.size, body: formatCheckpointBody(checkpoint) } } };
    const cp = signCheckpoint(checkpoint, this.signers);
    return { next, leaves, cp, checkpoint, batch: { firstIndex: first, entries, nodes, checkpoint: { size: cp.size, note: cp.note } } };
  }

  /** Only once the batch is durable does the in-memory tree move forward. */
  private advance(batch: Pending[], built: Built): void {
    const { next, leaves, batch: { firstIndex: first, nodes } } = built;
    const cp = built.cp!;
    const proofs = new BatchNodes(this.frontier, nodes);
    this.frontier = next;
    this.checkpoint = cp;
    for (let i = 0; i < batch.length; i++) {
      const index = first + i;
      batch[i]!.resolve({ index, leafHash: b64(leaves[i]!), checkpoint: cp, entry: batch[i]!.entry, inclusionProof: () => proofs.inclusionProof(index, cp.size) });
    }
  }

  latestCheckpoint(): SignedCheckpoint {
    return this.checkpoint;
  }

  private checkSize(size: number, what: string): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new LedgerBadRequest('invalid_tree_size', `${what} must be a non-negative integer`);
    if (size > this.checkpoint.size) throw new LedgerBadRequest('tree_size_beyond_checkpoint', `${what} ${size} is beyond the latest checkpoint size ${this.checkpoint.size}`);
  }

  /** RFC 9162 §2.1.3.1 proof for leaf `index` in the tree of `size` (default: latest checkpoint). */
  async inclusionProof(index: number, size: number = this.checkpoint.size): Promise<InclusionProofResult> {
    this.checkSize(size, 'size');
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new LedgerBadRequest('invalid_leaf_index', `index must be an integer below size ${size}`);
    const [leaf] = await this.store.readNodes([{ level: 0, index }]);
    const [proof, root] = await Promise.all([inclusionProof(this.store, index, size), rootAt(this.store, size)]);
    return { index, size, leafHash: b64(leaf!), rootHash: b64(root), hashes: proof.map(b64) };
  }

  /** RFC 9162 §2.1.4.1 proof that the tree of `old` is a prefix of the tree of `size`. */
  async consistencyProof(old: number, size: number = this.checkpoint.size): Promise<ConsistencyProofResult> {
    this.checkSize(size, 'size');
    this.checkSize(old, 'old');
    if (old > size) throw new LedgerBadRequest('invalid_tree_size', `old ${old} is larger than size ${size}`);
    const [proof, oldRoot, root] = await Promise.all([consistencyProof(this.store, old, size), rootAt(this.store, old), rootAt(this.store, size)]);
    return { old, size, oldRootHash: b64(oldRoot), rootHash: b64(root), hashes: proof.map(b64) };
  }

  /** A C2SP tile or entry bundle as of the latest checkpoint; partial widths up to what it covers. */
  async readTile(ref: TileRef): Promise<Buffer> {
    const size = this.checkpoint.size;
    const available = tileWidthAt(ref.level === 'entries' ? 0 : ref.level, ref.index, size);
    if (available < ref.width) throw new TileNotFound(`tile is not available at tree size ${size}`);
    if (ref.level === 'entries') return encodeEntryBundle(await this.store.readEntries(ref.index * TILE_WIDTH, ref.width));
    return tileFromNodes(this.store, ref.level, ref.index, ref.width);
  }

  /** Stored entries [from, from + count) as committed (RFC 8785 JSON bytes). */
  readEntries(from: number, count: number): Promise<Buffer[]> {
    return this.store.readEntries(from, count);
  }

  /** Waits for every accepted append to be committed (or rejected), then closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.scheduled || this.flushing) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
    await this.store.close();
  }
}

/**
 * A stored checkpoint, which must be signed by this ledger's key or one it replaced: a replica with another key
 * is refused in one line.
 */
function openOwnCheckpoint(note: string, key: LedgerKey, trusted: readonly NoteVerifier[]): SignedCheckpoint {
  try {
    return openCheckpointWith(note, trusted, key.name);
  } catch (e) {
    if (!(e instanceof NoteSignatureInvalid && e.code === 'no_trusted_signature')) throw e;
    const earlier = trusted.length > 1 ? ` or by one of the ${trusted.length - 1} key(s) it replaced` : '';
    throw new NoteSignatureInvalid('no_trusted_signature', `the stored ledger checkpoint is not signed by this ledger key (${key.vkey})${earlier}; every replica appending to one log must use the same ledger key`);
  }
}

/**
 * A fresh shared log gets a signed empty checkpoint at once, so the first replica's key is pinned: a replica
 * started with another key is refused at start, not at its first append. Returns the committed state.
 */
async function pinLedgerKey(store: LedgerStore, origin: string, signers: readonly NoteSigner[]): Promise<LedgerState> {
  const txn = await store.beginAppend!();
  try {
    if (txn.state.checkpoint !== null || txn.state.size !== 0) return txn.state;
    const empty = signCheckpoint({ origin, size: 0, rootHash: EMPTY_ROOT }, signers);
    await txn.commit({ firstIndex: 0, entries: [], nodes: [], checkpoint: { size: 0, note: empty.note } });
    return { size: 0, checkpoint: empty.note };
  } finally {
    await txn.abort();
  }
}

/**
 * Rehashes the newest `count` entries on top of the stored subtrees left of them and checks the result is
 * the signed root: an entry edited in place (its stored leaf node left alone) or a stored node that does
 * not match its entries is caught at start, not by the next auditor. Older entries are covered by
 * `warden audit verify`, which rehashes the whole log.
 */
async function verifyTail(store: LedgerStore, size: number, count: number, rootHash: Uint8Array): Promise<void> {
  if (count <= 0) return;
  const start = size - count;
  const range = (await CompactRange.load(store, start)).clone();
  const sink: StoredNode[] = [];
  const entries = await store.readEntries(start, count);
  if (entries.length !== count) throw new RootMismatch('stored_entries_missing', `store holds ${entries.length} of the last ${count} entries below size ${size}`);
  for (const e of entries) range.append(leafHash(e), sink);
  if (!hashEquals(range.root(), rootHash)) {
    throw new RootMismatch('stored_entries_mismatch', `the last ${count} stored entries (from ${start}) do not hash to the signed checkpoint root`);
  }
}
