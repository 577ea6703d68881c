// Reads complete-subtree hashes out of C2SP tiles, so proofs can be computed by anyone holding only
// the published tiles (a verifier never needs the log's own proof endpoints).
import { TileInvalid } from './errors.js';
import { HASH_SIZE, nodeHash } from './hash.js';
import type { NodeId, NodeReader } from './merkle-proof.js';
import { TILE_HEIGHT, TILE_WIDTH, tilePath, tileWidthAt } from './tiles.js';

/** Fetches a path below the log prefix (`checkpoint`, `tile/...`); throws if it is absent. */
export type FetchPath = (path: string) => Promise<Buffer>;

export class TileNodeReader implements NodeReader {
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly fetchPath: FetchPath,
    /** The tree size of a verified checkpoint: only tiles that size requires are fetched. */
    private readonly treeSize: number,
  ) {}

  /** Fetches and length-checks the tile at (level, index) as published for this tree size. */
  tile(level: number, index: number): Promise<Buffer> {
    const width = tileWidthAt(level, index, this.treeSize);
    if (width === 0) throw new TileInvalid('tile_out_of_range', `tile ${level}/${index} is beyond tree size ${this.treeSize}`);
    const path = tilePath({ level, index, width });
    let p = this.cache.get(path);
    if (!p) {
      p = this.fetchPath(path).then((buf) => {
        if (buf.length !== width * HASH_SIZE) throw new TileInvalid('tile_wrong_size', `${path} is ${buf.length} bytes, expected ${width * HASH_SIZE}`);
        return buf;
      });
      this.cache.set(path, p);
    }
    return p;
  }

  async readNodes(ids: readonly NodeId[]): Promise<Buffer[]> {
    return Promise.all(ids.map((id) => this.node(id)));
  }

  /** A node at tree level 8L + r is the hash of 2^r consecutive hashes of a level-L tile. */
  private async node({ level, index }: NodeId): Promise<Buffer> {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const r = level % TILE_HEIGHT;
    const count = 2 ** r;
    const first = index * count;
    const tile = await this.tile(tileLevel, Math.floor(first / TILE_WIDTH));
    const offset = first % TILE_WIDTH;
    if ((offset + count) * HASH_SIZE > tile.length) throw new TileInvalid('node_not_in_tile', `node ${level}/${index} is not complete in tree size ${this.treeSize}`);
    let row: Buffer[] = [];
    for (let i = 0; i < count; i++) row.push(tile.subarray((offset + i) * HASH_SIZE, (offset + i + 1) * HASH_SIZE));
    while (row.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i]!, row[i + 1]!));
      row = up;
    }
    return Buffer.from(row[0]!);
  }
}

/** Builds a level-L tile of `width` hashes from stored complete subtrees (tree level 8L). */
export async function tileFromNodes(reader: NodeReader, level: number, index: number, width: number): Promise<Buffer> {
  const ids: NodeId[] = [];
  for (let i = 0; i < width; i++) ids.push({ level: level * TILE_HEIGHT, index: index * TILE_WIDTH + i });
  return Buffer.concat(await reader.readNodes(ids));
}
