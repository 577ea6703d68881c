// Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
// Every failure throws; there is no boolean path that could be ignored.
import { ConsistencyProofInvalid, InclusionProofInvalid } from './errors.js';
import { isPowerOfTwo } from './bits.js';
import { HASH_SIZE, hashEquals, nodeHash } from './hash.js';

function isLsbSet(x: number): boolean {
  return x % 2 === 1;
}
function half(x: number): number {
  return Math.floor(x / 2);
}

function requireSize(v: number, what: string, E: typeof InclusionProofInvalid): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new E('bad_size', `${what} must be a non-negative safe integer, got ${v}`);
}
function requireHash(h: Uint8Array, what: string, E: typeof InclusionProofInvalid): void {
  if (h.length !== HASH_SIZE) throw new E('bad_hash_length', `${what} is ${h.length} bytes, expected ${HASH_SIZE}`);
}

/** Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-3), before comparing it to a trusted root. */
export function rootFromInclusionProof(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  requireSize(leafIndex, 'leaf index', InclusionProofInvalid);
  requireSize(treeSize, 'tree size', InclusionProofInvalid);
  requireHash(leaf, 'leaf hash', InclusionProofInvalid);
  if (leafIndex >= treeSize) throw new InclusionProofInvalid('index_out_of_range', `leaf index ${leafIndex} is not below tree size ${treeSize}`);
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const [i, p] of proof.entries()) {
    requireHash(p, `proof[${i}]`, InclusionProofInvalid);
    if (sn === 0) throw new InclusionProofInvalid('proof_too_long', `inclusion proof has ${proof.length} hashes, more than the path from leaf ${leafIndex} in a tree of ${treeSize}`);
    if (isLsbSet(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isLsbSet(fn)) {
        while (!isLsbSet(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new InclusionProofInvalid('proof_too_short', `inclusion proof has ${proof.length} hashes, fewer than the path from leaf ${leafIndex} in a tree of ${treeSize}`);
  return r;
}

/** Throws InclusionProofInvalid unless `leaf` at `leafIndex` is in the tree of `treeSize` with `root`. */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  requireHash(root, 'root hash', InclusionProofInvalid);
  const computed = rootFromInclusionProof(leafIndex, treeSize, leaf, proof);
  if (!hashEquals(computed, root)) {
    throw new InclusionProofInvalid('root_mismatch', `inclusion proof for leaf ${leafIndex} leads to a different root than the tree of size ${treeSize}`);
  }
}

/** Throws ConsistencyProofInvalid unless the tree (size1, root1) is a prefix of (size2, root2). */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  requireSize(size1, 'first tree size', ConsistencyProofInvalid);
  requireSize(size2, 'second tree size', ConsistencyProofInvalid);
  if (size2 < size1) throw new ConsistencyProofInvalid('size_decreased', `second tree size ${size2} is smaller than first ${size1}`);
  requireHash(root1, 'first root', ConsistencyProofInvalid);
  requireHash(root2, 'second root', ConsistencyProofInvalid);
  for (const [i, p] of proof.entries()) requireHash(p, `proof[${i}]`, ConsistencyProofInvalid);
  if (size1 === size2) {
    // Same size: same tree, so the proof is empty and the roots are identical (RFC 9162 §2.1.4.1, m = n).
    if (proof.length !== 0) throw new ConsistencyProofInvalid('proof_not_empty', 'trees of equal size need an empty consistency proof');
    if (!hashEquals(root1, root2)) throw new ConsistencyProofInvalid('root_mismatch', `two different roots for the same tree size ${size1}`);
    return;
  }
  if (size1 === 0) {
    // Every tree extends the empty tree; a non-empty proof here is malformed.
    if (proof.length !== 0) throw new ConsistencyProofInvalid('proof_not_empty', 'consistency with the empty tree needs an empty proof');
    return;
  }
  // §2.1.4.2 step 1.
  if (proof.length === 0) throw new ConsistencyProofInvalid('proof_empty', `empty consistency proof between sizes ${size1} and ${size2}`);
  const path: Uint8Array[] = [...proof];
  // Step 2: a power-of-2 first tree is itself a node on the path, so the proof omits it.
  if (isPowerOfTwo(size1)) path.unshift(root1);
  // Step 3-4.
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isLsbSet(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ConsistencyProofInvalid('proof_too_long', `consistency proof between sizes ${size1} and ${size2} has too many hashes`);
    if (isLsbSet(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isLsbSet(fn)) {
        while (!isLsbSet(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw new ConsistencyProofInvalid('proof_too_short', `consistency proof between sizes ${size1} and ${size2} has too few hashes`);
  if (!hashEquals(fr, root1)) throw new ConsistencyProofInvalid('first_root_mismatch', `consistency proof does not lead to the first root (size ${size1})`);
  if (!hashEquals(sr, root2)) throw new ConsistencyProofInvalid('second_root_mismatch', `consistency proof does not lead to the second root (size ${size2})`);
}
