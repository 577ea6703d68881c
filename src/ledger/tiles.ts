// C2SP tlog-tiles (c2sp.org/tlog-tiles): tile paths, tile widths for a tree size, entry bundles.
import { TileInvalid } from './errors.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Entry bundles are uint16 length-prefixed, so an entry can be at most this long. */
export const MAX_ENTRY_BYTES = 0xffff;

/** A hash tile (level >= 0) or an entry bundle (level 'entries'). width < 256 means a partial tile. */
export interface TileRef {
  level: number | 'entries';
  index: number;
  width: number;
}

/** `<N>` as zero-padded 3-digit elements, all but the last prefixed with `x` (1234067 -> x001/x234/067). */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad tile index ${n}`);
  const parts: string[] = [];
  do {
    parts.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? 'x' + p : p)).join('/');
}

/** Path below the log prefix, e.g. `tile/0/x001/x234/067.p/12` or `tile/entries/000`. */
export function tilePath(t: TileRef): string {
  if (!(t.width >= 1 && t.width <= TILE_WIDTH)) throw new RangeError(`bad tile width ${t.width}`);
  const level = t.level === 'entries' ? 'entries' : String(t.level);
  return `tile/${level}/${encodeTileIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`;
}

/** Strict inverse of tilePath: rejects leading zeros, missing `x`, bad widths. Returns null if not a tile path. */
export function parseTilePath(path: string): TileRef | null {
  const m = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!m) return null;
  const [, levelText, xs, last, widthText] = m as unknown as [string, string, string, string, string | undefined];
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (level !== 'entries' && level > 63) return null;
  const elements = [...xs.split('/').filter(Boolean).map((x) => x.slice(1)), last];
  // Only the canonical encoding is accepted: no leading 'x000' element.
  if (elements.length > 1 && elements[0] === '000') return null;
  if (elements.length > 6) return null;
  const index = elements.reduce((acc, e) => acc * 1000 + Number(e), 0);
  if (!Number.isSafeInteger(index)) return null;
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width > 255) return null;
  return { level, index, width };
}

/** Hashes the tile at (level, index) holds for a tree of `size` leaves: 256, a partial width, or 0. */
export function tileWidthAt(level: number, index: number, size: number): number {
  const span = TILE_WIDTH ** level; // leaves per hash at this level
  const hashesAtLevel = Math.floor(size / span);
  const w = hashesAtLevel - index * TILE_WIDTH;
  return Math.max(0, Math.min(TILE_WIDTH, w));
}

/** Every tile and entry bundle a tree of `size` is published as (c2sp tlog-tiles "Partial Tiles"). */
export function tilesForSize(size: number): TileRef[] {
  const out: TileRef[] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < hashes; index++) {
      const width = Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH);
      out.push({ level, index, width });
      if (level === 0) out.push({ level: 'entries', index, width });
    }
  }
  return out;
}

export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new RangeError(`entry of ${e.length} bytes exceeds the entry bundle limit of ${MAX_ENTRY_BYTES}`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.length));
  }
  return Buffer.concat(parts);
}

export function decodeEntryBundle(bundle: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (at + 2 > bundle.length) throw new TileInvalid('bundle_truncated', `entry bundle ends inside a length prefix at byte ${at}`);
    const len = bundle.readUInt16BE(at);
    at += 2;
    if (at + len > bundle.length) throw new TileInvalid('bundle_truncated', `entry bundle ends inside entry ${out.length}`);
    out.push(bundle.subarray(at, at + len));
    at += len;
  }
  return out;
}
