// An in-memory tree of complete subtrees: for verifiers that rebuild a log they fetched, and for tests.
import { CompactRange, type StoredNode } from './compact-range.js';
import type { NodeId, NodeReader } from './merkle-proof.js';

export class MemoryTree implements NodeReader {
  private readonly levels: Buffer[][] = [];
  private readonly frontier = CompactRange.empty();

  get size(): number {
    return this.frontier.size;
  }

  append(leaf: Buffer): void {
    const out: StoredNode[] = [];
    this.frontier.append(leaf, out);
    for (const n of out) (this.levels[n.level] ??= [])[n.index] = n.hash;
  }

  root(): Buffer {
    return this.frontier.root();
  }

  async readNodes(ids: readonly NodeId[]): Promise<Buffer[]> {
    return ids.map(({ level, index }) => {
      const h = this.levels[level]?.[index];
      if (!h) throw new RangeError(`no complete subtree at level ${level} index ${index} in a tree of ${this.size}`);
      return h;
    });
  }
}
