// Proof generation (RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF) over stored complete subtrees.
// A tree of any size is a left-to-right run of complete subtrees; every hash a proof needs is either a
// stored complete subtree (level, index) or a right-edge range folded from a few of them.
import { largestAlignedSubtree, log2Exact, splitPoint } from './bits.js';
import { EMPTY_ROOT, nodeHash } from './hash.js';

/** A complete subtree: leaves [index * 2^level, (index + 1) * 2^level). Level 0 nodes are leaf hashes. */
export interface NodeId {
  level: number;
  index: number;
}

/** Reads hashes of complete subtrees (from a store, or from C2SP tiles). Must return one hash per id, in order. */
export interface NodeReader {
  readNodes(ids: readonly NodeId[]): Promise<Buffer[]>;
}

type Range = readonly [lo: number, hi: number];

/** The complete subtrees that make up leaves [lo, hi), left to right. */
export function rangeNodes(lo: number, hi: number): NodeId[] {
  const out: NodeId[] = [];
  while (lo < hi) {
    const p = largestAlignedSubtree(lo, hi - lo);
    out.push({ level: log2Exact(p), index: lo / p });
    lo += p;
  }
  return out;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]) as ranges, bottom-up. */
function pathRanges(m: number, lo: number, hi: number, out: Range[]): void {
  if (hi - lo <= 1) return;
  const k = splitPoint(hi - lo);
  if (m - lo < k) {
    pathRanges(m, lo, lo + k, out);
    out.push([lo + k, hi]);
  } else {
    pathRanges(m, lo + k, hi, out);
    out.push([lo, lo + k]);
  }
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b) as ranges. */
function subproofRanges(m: number, lo: number, hi: number, b: boolean, out: Range[]): void {
  const n = hi - lo;
  if (m === n) {
    if (!b) out.push([lo, hi]);
    return;
  }
  const k = splitPoint(n);
  if (m <= k) {
    subproofRanges(m, lo, lo + k, b, out);
    out.push([lo + k, hi]);
  } else {
    subproofRanges(m - k, lo + k, hi, false, out);
    out.push([lo, lo + k]);
  }
}

/** Folds each range's complete subtrees right to left (MTH of a right edge); `hashes` follow `plans` flattened. */
function fold(plans: readonly NodeId[][], hashes: readonly Buffer[]): Buffer[] {
  let at = 0;
  return plans.map((ids) => {
    const part = hashes.slice(at, at + ids.length);
    at += ids.length;
    let h = part[part.length - 1]!;
    for (let i = part.length - 2; i >= 0; i--) h = nodeHash(part[i]!, h);
    return h;
  });
}

/** Reads every node the ranges need in one call, then folds each range. */
async function materialize(reader: NodeReader, ranges: readonly Range[]): Promise<Buffer[]> {
  const plans = ranges.map(([lo, hi]) => rangeNodes(lo, hi));
  return fold(plans, await reader.readNodes(plans.flat()));
}

/** Hashes of complete subtrees already in memory; throws if one is missing. */
export type SyncNodeLookup = (id: NodeId) => Buffer;

/** inclusionProof over nodes held in memory (the batch just committed), without a promise per proof. */
export function inclusionProofFromMemory(lookup: SyncNodeLookup, leafIndex: number, treeSize: number): Buffer[] {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) throw new RangeError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  const ranges: Range[] = [];
  pathRanges(leafIndex, 0, treeSize, ranges);
  const plans = ranges.map(([lo, hi]) => rangeNodes(lo, hi));
  return fold(plans, plans.flat().map(lookup));
}

export async function inclusionProof(reader: NodeReader, leafIndex: number, treeSize: number): Promise<Buffer[]> {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) throw new RangeError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  const ranges: Range[] = [];
  pathRanges(leafIndex, 0, treeSize, ranges);
  return materialize(reader, ranges);
}

export async function consistencyProof(reader: NodeReader, size1: number, size2: number): Promise<Buffer[]> {
  if (!(size1 >= 0 && size1 <= size2)) throw new RangeError(`need 0 <= old size (${size1}) <= size (${size2})`);
  if (size1 === 0 || size1 === size2) return [];
  const ranges: Range[] = [];
  subproofRanges(size1, 0, size2, true, ranges);
  return materialize(reader, ranges);
}

/** MTH(D[0:size]). */
export async function rootAt(reader: NodeReader, size: number): Promise<Buffer> {
  if (size === 0) return EMPTY_ROOT;
  const [root] = await materialize(reader, [[0, size]]);
  return root!;
}
