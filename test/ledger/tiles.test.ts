import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntryBundle, encodeEntryBundle, encodeTileIndex, parseTilePath, tilePath, tilesForSize, tileWidthAt } from '../../src/ledger/tiles.js';
import { TileNodeReader, tileFromNodes } from '../../src/ledger/tile-reader.js';
import { MemoryTree } from '../../src/ledger/memory-tree.js';
import { inclusionProof, consistencyProof, rootAt } from '../../src/ledger/merkle-proof.js';
import { leafHash } from '../../src/ledger/hash.js';
import { TileInvalid } from '../../src/ledger/errors.js';

test('tile index encoding follows the spec example and round-trips', () => {
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(tilePath({ level: 0, index: 1234067, width: 256 }), 'tile/0/x001/x234/067');
  assert.equal(tilePath({ level: 2, index: 5, width: 17 }), 'tile/2/005.p/17');
  assert.equal(tilePath({ level: 'entries', index: 0, width: 3 }), 'tile/entries/000.p/3');
  for (const p of ['tile/0/x001/x234/067', 'tile/2/005.p/17', 'tile/entries/000.p/3', 'tile/63/999', 'tile/entries/x999/x999/x999/x999/999'])
    assert.equal(tilePath(parseTilePath(p)!), p);
});

test('non-canonical tile paths are refused', () => {
  for (const p of ['tile/00/000', 'tile/0/0', 'tile/0/1234', 'tile/0/001/002', 'tile/0/x000/001', 'tile/64/000', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/007', 'tile/0/000.p/', 'tile/0/../000', 'tile/entries/000.p/1/x'])
    assert.equal(parseTilePath(p), null, p);
});

test('tiles for a tree of 70,000 and of 256 match the spec examples', () => {
  const t = tilesForSize(70000).filter((x) => x.level !== 'entries');
  assert.equal(t.filter((x) => x.level === 0 && x.width === 256).length, 273);
  assert.deepEqual(t.filter((x) => x.width < 256).map((x) => [x.level, x.width]), [[0, 112], [1, 17], [2, 1]]);
  assert.equal(t.filter((x) => x.level === 1 && x.width === 256).length, 1);
  assert.deepEqual(tilesForSize(256).map((x) => [x.level, x.index, x.width]), [[0, 0, 256], ['entries', 0, 256], [1, 0, 1]]);
  assert.deepEqual(tilesForSize(0), []);
  assert.equal(tileWidthAt(0, 273, 70000), 112);
  assert.equal(tileWidthAt(0, 274, 70000), 0);
});

test('entry bundles round-trip and truncated bundles are refused', () => {
  const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 1)];
  const bundle = encodeEntryBundle(entries);
  assert.deepEqual(decodeEntryBundle(bundle), entries);
  assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1)), { name: 'TileInvalid', code: 'bundle_truncated' });
  assert.throws(() => decodeEntryBundle(Buffer.from([0])), TileInvalid);
  assert.throws(() => encodeEntryBundle([Buffer.alloc(70000)]), RangeError);
});

test('proofs computed from published tiles equal proofs from the tree itself', async () => {
  const tree = new MemoryTree();
  const size = 70000;
  for (let i = 0; i < size; i++) tree.append(leafHash(Buffer.from(String(i))));
  const files = new Map<string, Buffer>();
  for (const ref of tilesForSize(size)) if (ref.level !== 'entries') files.set(tilePath(ref), await tileFromNodes(tree, ref.level, ref.index, ref.width));
  const fetched: string[] = [];
  const fetchPath = async (p: string) => {
    fetched.push(p);
    const f = files.get(p);
    if (!f) throw new Error(`404 ${p}`);
    return f;
  };
  const reader = new TileNodeReader(fetchPath, size);
  assert.deepEqual(await rootAt(reader, size), tree.root());
  for (const i of [0, 1, 255, 256, 65535, 65536, 69999]) assert.deepEqual(await inclusionProof(reader, i, size), await inclusionProof(tree, i, size));
  assert.deepEqual(await consistencyProof(reader, 4097, size), await consistencyProof(tree, 4097, size));
  assert.ok(fetched.length < 12, `fetched ${fetched.length} tiles`);
  // A tile of the wrong length is refused rather than used.
  const bad = new TileNodeReader(async () => Buffer.alloc(31), size);
  await assert.rejects(rootAt(bad, size), { name: 'TileInvalid', code: 'tile_wrong_size' });
});
