// What the person-name model (name-model.ts) reads about each capitalised word: the word's own shape and ending,
// which name and word lists hold it, and the words and punctuation right around it ("Dear X,", "X said",
// "Lopez, Jennifer", a sentence start). One featurizer for training (scripts/train-person-names.mjs) and for
// detection, so the weights always meet the features they were trained on.
// A word's features read at most LEFT_CHARS of text before it and the one word right after it (joined by a single
// space): the stream redactor keeps 96 characters of sent text and holds back a trailing run of capitalised words
// and the word after it, so a streamed answer is scored exactly as the whole one.
import { AMBIGUOUS_GIVEN_NAMES } from './ambiguous-given-names.js';
import { commonWordSet, givenNames, nameWordSet, partKind, type PartKind } from './given-name.js';

const LEFT_CHARS = 40;
const NEXT_WORD = /[ ]([\p{L}'’]+)(?![\p{L}\p{N}])/uy;
const WORD_CHAR = /[\p{L}\p{N}'’]/u;
const HYPHEN_OR_APOSTROPHE = /[-'’]/u;
const NON_ASCII = /[^\p{ASCII}]/u;
const UPPER_FIRST = /^\p{Lu}/u;
const ALL_UPPER = /^\p{Lu}+$/u;
const DIGIT_FIRST = /^\p{N}/u;

function shape(w: string): string {
  if (w === '') return '0';
  if (UPPER_FIRST.test(w)) return ALL_UPPER.test(w) ? 'A' : 'C';
  return DIGIT_FIRST.test(w) ? 'd' : 'l';
}

/** Where the run of word characters (or of other characters) that ends at `end` begins, no further back than `floor`. */
function runStart(text: string, end: number, floor: number, word: boolean): number {
  let i = end;
  while (i > floor && isWordChar(text, i - 1) === word) i--;
  return i;
}

function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 39;
  return WORD_CHAR.test(text[i]!);
}

/** Finer than partKind for the few words the model scores: which of the name and word lists hold the word itself. */
function lists(w: string): number {
  return (
    (givenNames().has(w) ? (AMBIGUOUS_GIVEN_NAMES.has(w) ? 1 : 2) : 0) +
    (nameWordSet().has(w) ? 4 : 0) +
    (commonWordSet().has(w.toLowerCase()) ? 8 : 0)
  );
}

/** A neighbouring word's kind: its shape, and for a capitalised word which lists hold it (given-name.ts, partKind). */
function neighbourKind(w: string): number {
  const s = shape(w);
  return s === 'C' ? KIND_ID[partKind(w)] : SHAPE_ID[s]!;
}

const KIND_ID: Record<PartKind, number> = { initial: 1, solo: 2, given: 3, name: 4, unknown: 5, word: 6 };
const SHAPE_ID: Record<string, number> = { '0': 7, A: 8, l: 9, d: 10 };
const LOWER_ID = SHAPE_ID.l!;

/** Features are hashed (FNV-1a, 32-bit) into 2^HASH_BITS buckets, without building a string per feature. */
export const HASH_BITS = 18;
const HASH_MASK = (1 << HASH_BITS) - 1;
const FNV_PRIME = 0x01000193;

function mixInt(h: number, v: number): number {
  return Math.imul(h ^ (v & 0xffff), FNV_PRIME) >>> 0;
}

/** Mixes text[start, end) lower-cased into h. */
function mixRange(h: number, text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c > 127) c = text[i]!.toLowerCase().charCodeAt(0);
    h = Math.imul(h ^ c, FNV_PRIME) >>> 0;
  }
  return h;
}

/** The feature of kind `feature` (a small number naming what is read) with parts a, b, c. */
function bucket(feature: number, a: number, b = 0, c = 0): number {
  return mixInt(mixInt(mixInt(mixInt(0x811c9dc5, feature), a), b), c) & HASH_MASK;
}

/** The punctuation between two words, spaces collapsed, at most its last four characters: " " → "_", ", " → ",_". */
function gapHash(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  let n = 0;
  for (let i = end - 1; i >= start && n < 4; i--) {
    const c = text.charCodeAt(i);
    const folded = c === 32 || c === 9 ? 95 : c === 10 ? 110 : c;
    if ((folded === 95 || folded === 110) && i + 1 < end && text.charCodeAt(i + 1) === c) continue;
    h = Math.imul(h ^ folded, FNV_PRIME) >>> 0;
    n++;
  }
  return h;
}

/**
 * The hashed features of the capitalised word text[start, end), of kind k (given-name.ts, partKind), written into
 * `into` (cleared first): the word's kind, lists, length and ending; the punctuation and the two words before it; the
 * character or word right after it; and their combinations with its kind.
 */
export function nameFeatures(text: string, start: number, end: number, k: PartKind, into: number[]): void {
  into.length = 0;
  const w = text.slice(start, end);
  const kid = KIND_ID[k];
  // Backwards from the word, within LEFT_CHARS: the punctuation before it, the word before that, its punctuation, and
  // the word before that.
  const floor = Math.max(0, start - LEFT_CHARS);
  const sepStart = runStart(text, start, floor, false);
  const p1Start = runStart(text, sepStart, floor, true);
  const p2End = runStart(text, p1Start, floor, false);
  const p2Start = runStart(text, p2End, floor, true);
  const sep = mixInt(gapHash(text, sepStart, start), p1Start === sepStart && sepStart === 0 ? 1 : 0);
  const p1 = mixRange(0x811c9dc5, text, p1Start, sepStart);
  const p2 = mixRange(0x811c9dc5, text, p2Start, p2End);
  const p1k = neighbourKind(text.slice(p1Start, sepStart));
  NEXT_WORD.lastIndex = end;
  const nm = NEXT_WORD.exec(text);
  const n1k = neighbourKind(nm?.[1] ?? '');
  let after: number;
  if (nm !== null) after = 1;
  else if (end === text.length) after = 2;
  else after = mixInt(mixInt(3, text.charCodeAt(end)), end + 1 < text.length ? text.charCodeAt(end + 1) : 0);
  into.push(
    bucket(1, kid),
    bucket(2, lists(w)),
    bucket(3, Math.min(w.length, 12)),
    bucket(4, mixRange(0x811c9dc5, text, Math.max(start, end - 3), end)),
    bucket(5, mixRange(0x811c9dc5, text, Math.max(start, end - 2), end)),
    bucket(6, sep),
    bucket(7, sep, kid),
    bucket(8, p1),
    bucket(9, p1k),
    bucket(10, p1k, kid),
    bucket(11, p2),
    bucket(12, p2, p1),
    bucket(13, after),
    bucket(14, after, kid),
    bucket(15, n1k),
    bucket(16, n1k, kid),
    bucket(17, p1k, kid, n1k),
  );
  if (n1k === LOWER_ID) into.push(bucket(18, mixRange(0x811c9dc5, text, end + 1, end + 1 + nm![1]!.length)));
  if (HYPHEN_OR_APOSTROPHE.test(w)) into.push(bucket(19, 1));
  if (NON_ASCII.test(w)) into.push(bucket(20, 1));
}
