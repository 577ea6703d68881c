// The normalized view detectors also read, so that an obfuscated secret or canary is seen as plainly
// as a clear one: every code point is folded by NFKC (fullwidth "ＡＫＩＡ" → "AKIA", NBSP → space,
// ligatures → letters; UAX #15) and the characters that render as nothing are removed — the Unicode
// Default_Ignorable_Code_Point set (UAX #44): zero-width space/joiners U+200B–U+200D, word joiner
// U+2060, BOM U+FEFF, soft hyphen U+00AD, bidi controls, variation selectors and the tag characters
// U+E0000–E0FFF. An AWS key split by U+200B reads as one key in this view.
//
// Folding is per code point (NFKC of each code point on its own, no canonical composition across
// characters): the detectors look for ASCII shapes, so composing "e" + U+0301 would change nothing they
// find, and a per-code-point fold is the same for any chunking of a stream — which whole-string NFKC is not.
// Each folded character remembers the index (UTF-16) of the code point it came from, so findings in the
// view map back to the text the client or the model sees.

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const NON_ASCII = /\P{ASCII}/u;

const foldCache = new Map<number, string>();
const FOLD_CACHE_MAX = 8192;

/** The folded form of one non-ASCII code point ('' for an ignorable one). */
function foldCodePoint(cp: number): string {
  let s = foldCache.get(cp);
  if (s === undefined) {
    const ch = String.fromCodePoint(cp);
    s = IGNORABLE.test(ch) ? '' : ch.normalize('NFKC');
    if (foldCache.size < FOLD_CACHE_MAX) foldCache.set(cp, s);
  }
  return s;
}

export interface Folded {
  text: string;
  /** origins[i] = index in the source of the code point that produced text[i]. */
  origins: number[];
}

/** Appends the fold of `src[from, to)` to `out`; origins are offset by `base`. */
function foldInto(src: string, from: number, to: number, base: number, out: { parts: string[]; origins: number[] }): void {
  for (let i = from; i < to; ) {
    const c = src.charCodeAt(i);
    if (c < 0x80) {
      // ASCII is NFKC-stable and never ignorable: copy the run in one piece.
      let j = i + 1;
      while (j < to && src.charCodeAt(j) < 0x80) j++;
      out.parts.push(src.slice(i, j));
      for (let k = i; k < j; k++) out.origins.push(base + k);
      i = j;
      continue;
    }
    const cp = src.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const s = foldCodePoint(cp);
    out.parts.push(s);
    for (let k = 0; k < s.length; k++) out.origins.push(base + i);
    i += width;
  }
}

/** The normalized view of a whole text, or null when it equals the text (pure ASCII, or nothing to fold). */
export function foldText(text: string): Folded | null {
  if (!NON_ASCII.test(text)) return null;
  const out = { parts: [] as string[], origins: [] as number[] };
  foldInto(text, 0, text.length, 0, out);
  const folded = out.parts.join('');
  return folded === text ? null : { text: folded, origins: out.origins };
}

/** Source index just past the code point at `origin`. */
export function originEnd(text: string, origin: number): number {
  const cp = text.codePointAt(origin);
  return origin + (cp !== undefined && cp > 0xffff ? 2 : 1);
}

/** Streaming fold with the same result as foldText over the concatenated chunks, for any chunking:
 *  a high surrogate that ends a chunk waits for its pair. Holds at most one code unit. Origins count
 *  source characters pushed so far, or are taken from `from` when the chunk is itself a view (Folded). */
export class StreamFolder {
  /** `fold: false` gives the text as sent (with origins): the view in which a non-ASCII character that
   *  folds to a letter or digit (², ｘ) still separates, as it does for the reader of the raw text. */
  constructor(private readonly fold = true) {}

  private carry = '';
  private carryOrigin = 0;
  /** Source characters consumed so far (for chunks given as plain strings). */
  private offset = 0;

  push(chunk: string | Folded, final = false): Folded {
    const plain = typeof chunk === 'string';
    const piece = plain ? chunk : chunk.text;
    const hadCarry = this.carry !== '';
    let src = this.carry + piece;
    const originOf = (k: number): number => {
      if (hadCarry && k === 0) return this.carryOrigin;
      const local = hadCarry ? k - 1 : k;
      return plain ? this.offset + local : (chunk as Folded).origins[local]!;
    };
    let end = src.length;
    if (!final && end > 0) {
      const last = src.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    }
    const nextCarry = src.slice(end);
    const nextCarryOrigin = end < src.length ? originOf(end) : 0;
    if (end < src.length) src = src.slice(0, end);
    let out: Folded;
    if (!this.fold || !NON_ASCII.test(src)) {
      const origins = new Array<number>(src.length);
      for (let k = 0; k < src.length; k++) origins[k] = originOf(k);
      out = { text: src, origins };
    } else {
      const acc = { parts: [] as string[], origins: [] as number[] };
      foldInto(src, 0, src.length, 0, acc);
      out = { text: acc.parts.join(''), origins: acc.origins.map(originOf) };
    }
    this.carry = nextCarry;
    this.carryOrigin = nextCarryOrigin;
    this.offset += piece.length;
    return out;
  }
}
