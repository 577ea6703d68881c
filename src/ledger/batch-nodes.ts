// Inclusion proofs for the leaves of the batch just committed, from memory: the receipt of every response
// carries one, so it must not cost a store read. RFC 9162 §2.1.3.1 PATH for a leaf of the batch needs
// (a) complete subtrees wholly after the batch start, which the batch itself completed, and (b) left
// siblings wholly before it, which are maximal complete subtrees of [0, start): the prior frontier.
import type { CompactRange, StoredNode } from './compact-range.js';
import { inclusionProofFromMemory, type NodeId } from './merkle-proof.js';

export class BatchNodes {
  private levels: Map<number, Buffer>[] | null = null;

  constructor(
    private readonly prior: CompactRange,
    private readonly completed: readonly StoredNode[],
  ) {}

  /** Indexed on the first proof only: most batches' entries (denials, admin events) never need one. */
  private index(): Map<number, Buffer>[] {
    if (this.levels) return this.levels;
    const levels: Map<number, Buffer>[] = [];
    for (const n of this.prior.subtrees()) (levels[n.level] ??= new Map()).set(n.index, n.hash);
    for (const n of this.completed) (levels[n.level] ??= new Map()).set(n.index, n.hash);
    return (this.levels = levels);
  }

  private readonly lookup = ({ level, index }: NodeId): Buffer => {
    const h = this.index()[level]?.get(index);
    // Unreachable if the argument in the header holds; refusing beats issuing a proof that cannot verify.
    if (!h) throw new RangeError(`complete subtree level ${level} index ${index} is not held for this batch`);
    return h;
  };

  /** The inclusion proof of leaf `leafIndex` (inside this batch) in the tree of `treeSize` (this batch's checkpoint). */
  inclusionProof(leafIndex: number, treeSize: number): Buffer[] {
    if (leafIndex < this.prior.size) throw new RangeError(`leaf ${leafIndex} precedes this batch, which starts at ${this.prior.size}`);
    return inclusionProofFromMemory(this.lookup, leafIndex, treeSize);
  }
}
