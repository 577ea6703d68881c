// The right frontier of the tree: the complete subtrees covering [0, size). Appending a leaf merges
// equal-sized neighbours (RFC 9162 §2.1.1), emitting each newly completed subtree for storage.
import { rangeNodes, type NodeId, type NodeReader } from './merkle-proof.js';
import { EMPTY_ROOT, nodeHash } from './hash.js';

export interface StoredNode extends NodeId {
  hash: Buffer;
}

export class CompactRange {
  private constructor(
    private _size: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  static async load(reader: NodeReader, size: number): Promise<CompactRange> {
    const hashes = size === 0 ? [] : await reader.readNodes(rangeNodes(0, size));
    return new CompactRange(size, hashes);
  }

  get size(): number {
    return this._size;
  }

  clone(): CompactRange {
    return new CompactRange(this._size, [...this.hashes]);
  }

  /** Appends one leaf hash; pushes the leaf node and every subtree it completes onto `out`. */
  append(leaf: Buffer, out: StoredNode[]): void {
    let index = this._size;
    let level = 0;
    let h = leaf;
    out.push({ level, index, hash: h });
    while (index % 2 === 1) {
      const left = this.hashes.pop()!;
      h = nodeHash(left, h);
      level++;
      index = (index - 1) / 2;
      out.push({ level, index, hash: h });
    }
    this.hashes.push(h);
    this._size++;
  }

  /** The complete subtrees covering [0, size), left to right, with their hashes. */
  subtrees(): StoredNode[] {
    return rangeNodes(0, this._size).map((id, i) => ({ ...id, hash: this.hashes[i]! }));
  }

  root(): Buffer {
    if (this._size === 0) return EMPTY_ROOT;
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = nodeHash(this.hashes[i]!, h);
    return h;
  }
}
