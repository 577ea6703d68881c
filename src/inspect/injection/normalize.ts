// Undo the obfuscations attackers use to slip instructions past keyword filters, and report them:
// Unicode tag characters (U+E0000–E007F, "ASCII smuggling"), invisible characters inside words,
// bidirectional overrides (Trojan Source, CVE-2021-42574), compatibility forms (fullwidth,
// mathematical letters: NFKC, UAX #15) and Cyrillic/Greek homoglyphs (UTS #39 confusables, the
// subset that renders like Latin letters). The result ("skeleton") is lower-case text in which the
// phrase signals and the classifier look for attacks; originalIndex maps positions back.

export interface Obfuscation {
  type: 'unicode_tags' | 'invisible_chars' | 'bidi_control' | 'homoglyphs';
  start: number;
  end: number;
}

export interface Skeleton {
  text: string;
  /** Pairs (skeleton index, original index) at each point where the two stop advancing together;
   *  empty when the text was pure ASCII (identity). Between anchors both advance one by one. */
  anchors: number[];
  obfuscations: Obfuscation[];
  /** Text hidden in Unicode tag characters, decoded to ASCII. */
  tagText: string;
}

/** Original index of skeleton index `i` (binary search over the anchors). */
export function originalIndex(sk: Skeleton, i: number): number {
  const a = sk.anchors;
  if (a.length === 0) return i;
  let lo = 0;
  let hi = a.length / 2 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a[mid * 2]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return a[lo * 2 + 1]! + (i - a[lo * 2]!);
}

const NON_ASCII = /\P{ASCII}/u;
const NON_ASCII_RUN = /\P{ASCII}+/gu;

// Lower-case confusables (after toLowerCase) that render as Latin letters.
export const CONFUSABLE: Record<number, string> = {
  0x0430: 'a', 0x0432: 'b', 0x0435: 'e', 0x043a: 'k', 0x043c: 'm', 0x043d: 'h', 0x043e: 'o', 0x0440: 'p',
  0x0441: 'c', 0x0442: 't', 0x0443: 'y', 0x0445: 'x', 0x0456: 'i', 0x0458: 'j', 0x0455: 's', 0x0501: 'd',
  0x051b: 'q', 0x051d: 'w', 0x0261: 'g', 0x04bb: 'h', 0x0457: 'i',
  0x03b1: 'a', 0x03bf: 'o', 0x03b5: 'e', 0x03b9: 'i', 0x03ba: 'k', 0x03bd: 'v', 0x03c1: 'p', 0x03c4: 't',
  0x03c5: 'u', 0x03c7: 'x', 0x03b2: 'b', 0x03b7: 'n', 0x03bc: 'u', 0x03c9: 'w',
};

function isInvisible(cp: number): boolean {
  return (
    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff || cp === 0x00ad ||
    cp === 0x180e || cp === 0x034f || (cp >= 0xfe00 && cp <= 0xfe0f)
  );
}

function isBidiControl(cp: number): boolean {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** Fullwidth Latin (U+FF21–FF5A), enclosed letters (U+24B6–24E9, U+1F130–1F189) and mathematical
 *  alphanumerics (U+1D400–1D7FF): letters nobody types by accident, folded to ASCII by NFKC. */
function isStyledLetter(cp: number): boolean {
  return (cp >= 0xff21 && cp <= 0xff5a) || (cp >= 0x24b6 && cp <= 0x24e9) || (cp >= 0x1f130 && cp <= 0x1f189) || (cp >= 0x1d400 && cp <= 0x1d7ff);
}

const nfkcCache = new Map<number, string>();
function nfkc(cp: number): string {
  let s = nfkcCache.get(cp);
  if (s === undefined) {
    s = String.fromCodePoint(cp).normalize('NFKC').toLowerCase();
    if (nfkcCache.size < 4096) nfkcCache.set(cp, s);
  }
  return s;
}

/** Does the word around original[i] (letters on either side, up to 32) contain an ASCII letter? */
function wordHasAsciiLetter(original: string, i: number): boolean {
  for (let k = i - 1; k >= 0 && i - k <= 32; k--) {
    const c = original.charCodeAt(k);
    if (isAsciiLetter(c)) return true;
    if (c < 0x80) break;
  }
  for (let k = i + 1; k < original.length && k - i <= 32; k++) {
    const c = original.charCodeAt(k);
    if (isAsciiLetter(c)) return true;
    if (c < 0x80) break;
  }
  return false;
}

/** Emoji tag sequences (UTS #51 §2.8: U+1F3F4, a subdivision code, CANCEL TAG) are flags, not text. */
function isFlagSequence(run: string, afterFlag: boolean): boolean {
  return afterFlag && /^[a-z0-9]{1,7}$/.test(run);
}

export function skeletonize(original: string): Skeleton {
  if (!NON_ASCII.test(original)) return { text: original.toLowerCase(), anchors: [], obfuscations: [], tagText: '' };
  // ASCII stretches are copied in bulk; only the non-ASCII runs are walked code point by code point.
  const parts: string[] = [];
  const anchors: number[] = [];
  const obfuscations: Obfuscation[] = [];
  let skLen = 0;
  let tagText = '';
  let tagStart = -1;
  let invisibleInWord = -1;
  let sawBidi = -1;
  let homoglyphAt = -1;
  const emit = (s: string, orig: number): void => {
    anchors.push(skLen, orig);
    parts.push(s);
    skLen += s.length;
  };
  let last = 0;
  NON_ASCII_RUN.lastIndex = 0;
  for (let m = NON_ASCII_RUN.exec(original); m !== null; m = NON_ASCII_RUN.exec(original)) {
    if (m.index > last) emit(original.slice(last, m.index).toLowerCase(), last);
    const end = m.index + m[0].length;
    let tagRun = '';
    let inTagRun = false;
    let runAfterFlag = false;
    let prevCp = 0;
    for (let i = m.index; i < end; ) {
      const cp = original.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const isTag = cp >= 0xe0000 && cp <= 0xe007f;
      if (isTag && !inTagRun) runAfterFlag = prevCp === 0x1f3f4;
      if ((!isTag && inTagRun) || cp === 0xe007f) {
        if (!isFlagSequence(tagRun, runAfterFlag)) tagText += tagRun;
        tagRun = '';
      }
      if (isTag !== inTagRun) {
        // Hidden text is its own run of words, not glued to the visible word next to it.
        emit(' ', i);
        inTagRun = isTag;
      }
      prevCp = cp;
      if (isTag) {
        if (tagStart === -1) tagStart = i;
        if (cp >= 0xe0020 && cp <= 0xe007e) {
          const ch = String.fromCharCode(cp - 0xe0000);
          tagRun += ch;
          emit(ch.toLowerCase(), i);
        }
      } else if (isInvisible(cp)) {
        const prev = i > 0 ? original.charCodeAt(i - 1) : 0;
        const next = i + 1 < original.length ? original.charCodeAt(i + 1) : 0;
        if (invisibleInWord === -1 && isAsciiLetter(prev) && isAsciiLetter(next)) invisibleInWord = i;
      } else if (isBidiControl(cp)) {
        if (sawBidi === -1) sawBidi = i;
      } else {
        let s = nfkc(cp);
        const mapped = s.length === 1 ? CONFUSABLE[s.charCodeAt(0)] : undefined;
        if (mapped !== undefined) {
          if (homoglyphAt === -1 && wordHasAsciiLetter(original, i)) homoglyphAt = i;
          s = mapped;
        } else if (homoglyphAt === -1 && isStyledLetter(cp)) {
          homoglyphAt = i;
        }
        emit(s, i);
      }
      i += width;
    }
    if (inTagRun) {
      if (!isFlagSequence(tagRun, runAfterFlag)) tagText += tagRun;
      emit(' ', end);
    }
    last = end;
  }
  if (last < original.length) emit(original.slice(last).toLowerCase(), last);
  if (tagStart !== -1) obfuscations.push({ type: 'unicode_tags', start: tagStart, end: tagStart + 2 });
  if (invisibleInWord !== -1) obfuscations.push({ type: 'invisible_chars', start: invisibleInWord, end: invisibleInWord + 1 });
  if (sawBidi !== -1) obfuscations.push({ type: 'bidi_control', start: sawBidi, end: sawBidi + 1 });
  if (homoglyphAt !== -1) obfuscations.push({ type: 'homoglyphs', start: homoglyphAt, end: homoglyphAt + 1 });
  return { text: parts.join(''), anchors, obfuscations, tagText };
}
