// A ledger batch packed into three transferable buffers, so handing it to the writer thread moves
// memory instead of structured-cloning thousands of small Buffers (one object each) on the event loop.
import type { LedgerBatch, LedgerNodeRow, UnsignedLedgerBatch } from './ledger-store.js';

export interface PackedBatch<C = LedgerBatch['checkpoint']> {
  firstIndex: number;
  checkpoint: C;
  /** Entry lengths, in order; the entry bytes are concatenated in `entryBytes`. */
  entryLengths: Uint32Array;
  entryBytes: Uint8Array;
  /** Per node: level, index (float64 holds every safe integer); the 32-byte hashes concatenated in `nodeHashes`. */
  nodeIds: Float64Array;
  nodeHashes: Uint8Array;
}

const HASH = 32;

export function packBatch<B extends LedgerBatch | UnsignedLedgerBatch>(b: B): PackedBatch<B['checkpoint']> {
  const entryLengths = new Uint32Array(b.entries.length);
  let total = 0;
  for (let i = 0; i < b.entries.length; i++) total += entryLengths[i] = b.entries[i]!.length;
  // Fresh, unpooled memory: a pooled Buffer's ArrayBuffer is shared with unrelated data and must not be transferred.
  const entryBytes = new Uint8Array(total);
  let at = 0;
  for (const e of b.entries) {
    entryBytes.set(e, at);
    at += e.length;
  }
  const nodeIds = new Float64Array(b.nodes.length * 2);
  const nodeHashes = new Uint8Array(b.nodes.length * HASH);
  b.nodes.forEach((n, i) => {
    if (n.hash.length !== HASH) throw new RangeError(`tree node level ${n.level} index ${n.index} is not a 32-byte hash`);
    nodeIds[2 * i] = n.level;
    nodeIds[2 * i + 1] = n.index;
    nodeHashes.set(n.hash, i * HASH);
  });
  return { firstIndex: b.firstIndex, checkpoint: b.checkpoint, entryLengths, entryBytes, nodeIds, nodeHashes };
}

/** The buffers postMessage may transfer (detach) instead of copying. */
export function transferList(p: PackedBatch<unknown>): ArrayBuffer[] {
  return [p.entryLengths.buffer, p.entryBytes.buffer, p.nodeIds.buffer, p.nodeHashes.buffer] as ArrayBuffer[];
}

/** Views over the packed memory (no copies). */
export function unpackBatch<C>(p: PackedBatch<C>): Omit<LedgerBatch, 'checkpoint'> & { checkpoint: C } {
  const entries: Buffer[] = [];
  let at = 0;
  for (const len of p.entryLengths) {
    entries.push(Buffer.from(p.entryBytes.buffer, p.entryBytes.byteOffset + at, len));
    at += len;
  }
  if (at !== p.entryBytes.length) throw new RangeError('packed batch entry lengths do not add up to its entry bytes');
  const count = p.nodeIds.length / 2;
  if (p.nodeHashes.length !== count * HASH) throw new RangeError('packed batch has a different number of node ids and hashes');
  const nodes: LedgerNodeRow[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push({ level: p.nodeIds[2 * i]!, index: p.nodeIds[2 * i + 1]!, hash: Buffer.from(p.nodeHashes.buffer, p.nodeHashes.byteOffset + i * HASH, HASH) });
  }
  return { firstIndex: p.firstIndex, entries, nodes, checkpoint: p.checkpoint };
}
