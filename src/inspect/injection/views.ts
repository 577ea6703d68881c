// Other readings of a text that hide an instruction from a reader who only reads it as written: leetspeak
// ("1gn0r3 4ll pr3v10us"), rot13, reversed text, letters spaced apart ("i g n o r e"), hex with separators
// ("49 67 6e …") and bytes smuggled in emoji variation selectors (U+FE00–FE0F, U+E0100–E01EF, one selector
// per byte after a visible character). Each view is made only when a cheap trigger says the text may be such
// a thing, and is kept only when it reads as language where the text did not, so ordinary prompts cost one
// pass of triggers. The detector scores each view as it scores text; base64 and plain hex runs are decoded
// in encoded.ts.

export type ViewKind = 'leetspeak' | 'rot13' | 'reversed' | 'spaced_letters' | 'hex' | 'variation_selectors' | 'encoded';

export interface TextView {
  kind: ViewKind;
  text: string;
  /** Span of the original text the view reads (the whole text, or the encoded run). */
  start: number;
  end: number;
}

// The commonest English function words and the words instructions are made of: a text that reads as
// English has many of them (a quarter or more of its words), rot13 or reversed English almost none.
export const COMMON = new Set<string>(
  ('the be to of and a in that have i it for not on with he as you do at this but his by from they we say her she or an will my ' +
    'one all would there their what so up out if about who get which go me when make can like time no just him know take people ' +
    'into year your good some could them see other than then now look only come its over think also back after use two how our ' +
    'work first well way even new want because any these give day most us is are was were been has had did does am should must ' +
    'ignore previous instructions instruction prompt system forget above below disregard reveal print say tell rules output ' +
    'password secret everything told before now act pretend').split(' '),
);
const WORD = /[a-z]+/gi;
const MIN_WORDS = 4;

/** Share of the text's Latin words that are common English words, and how many words it has. */
export function englishness(text: string): { ratio: number; words: number } {
  // One match() call: the words as strings, without a match object per word.
  const words = text.match(WORD);
  if (words === null) return { ratio: 0, words: 0 };
  let common = 0;
  // COMMON holds lower-case words only, so a word found as written needs no lower-casing.
  for (const w of words) if (COMMON.has(w) || COMMON.has(w.toLowerCase())) common++;
  return { ratio: common / words.length, words: words.length };
}

const READS_AS_ENGLISH = 0.3;
/** Above this (on the sample) no sentence is looked at for rot13 or reversal. */
const MOSTLY_ENGLISH = 0.35;
const SAMPLE = 1024;
/** Sentences and lines (a reversed sentence starts with its full stop, so both ends are split on). */
const SEGMENT = /[^.!?:\n]+/g;
const LOOKS_FOREIGN = 0.2;

function rot13(s: string): string {
  return s.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(base + ((c.charCodeAt(0) - base + 13) % 26));
  });
}

// Leetspeak: a digit or symbol standing for a letter inside a word. Two readings of '1' (i and l).
const LEET_SYMBOL = /[0-9@$|]/g;

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isLeetSymbol(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 64 || c === 36 || c === 124; // 0-9 @ $ |
}

/** Length of a match of /[a-z][0-9@$|][a-z0-9@$|]|[0-9@$|][a-z]/i at `p`, 0 if none. */
function leetTokenAt(text: string, p: number): number {
  const c = text.charCodeAt(p);
  const next = text.charCodeAt(p + 1);
  if (isAsciiLetter(c) && isLeetSymbol(next) && p + 2 < text.length) {
    const third = text.charCodeAt(p + 2);
    if (isAsciiLetter(third) || isLeetSymbol(third)) return 3;
  }
  return isLeetSymbol(c) && isAsciiLetter(next) ? 2 : 0;
}

/**
 * How many times /[a-z][0-9@$|][a-z0-9@$|]|[0-9@$|][a-z]/gi matches, left to right without overlap. Every match
 * holds a symbol at its first or second character, so only the positions at and just before each symbol are
 * tried, in order, as the regex would try them: prose with a few digits is skipped at the speed of a
 * one-class search instead of being matched letter by letter (a third of the view triggers' cost).
 */
export function leetTokens(text: string): number {
  let count = 0;
  let end = 0;
  let tried = -1;
  LEET_SYMBOL.lastIndex = 0;
  for (let m = LEET_SYMBOL.exec(text); m !== null; m = LEET_SYMBOL.exec(text)) {
    for (let p = m.index - 1; p <= m.index; p++) {
      if (p < end || p <= tried) continue;
      tried = p;
      const length = leetTokenAt(text, p);
      if (length > 0) {
        count++;
        end = p + length;
      }
    }
  }
  return count;
}
const LEET_I: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', $: 's', '|': 'l' };
const LEET_L: Record<string, string> = { ...LEET_I, '1': 'l' };

function unleet(s: string, map: Record<string, string>): string {
  // Only inside words (a letter on one side): numbers in prose stay numbers.
  return s.replace(/(?<=[a-z0-9@$|])[0-9@$|]|[0-9@$|](?=[a-z0-9@$|]*[a-z])/gi, (c) => map[c] ?? c);
}

// Letters spaced apart: five or more single characters separated by single spaces; words by wider gaps.
const SPACED = /(?<!\S)(?:\S ){4,}\S(?!\S)/g;

// Hex bytes with separators (the unseparated form is encoded.ts's).
const SEPARATED_HEX = /(?<![0-9a-f])(?:[0-9a-f]{2}[ :,-]){11,}[0-9a-f]{2}(?![0-9a-f])/gi;

// Variation selectors carrying bytes: VS1–16 are 0–15, VS17–256 are 16–255.
const SELECTOR_RUN = /[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]{8,}/gu;

function readableUtf8(bytes: Buffer): string | null {
  const s = bytes.toString('utf8');
  if (s.includes('\uFFFD')) return null;
  let printable = 0;
  for (const ch of s) if (/[\p{L}\p{N}\p{P}\p{Zs}\n\t]/u.test(ch)) printable++;
  return printable / [...s].length >= 0.95 && s.includes(' ') ? s : null;
}

/** The alternative readings worth scoring (bounded: at most one of each kind, each cut to 4 KiB). */
export function obfuscatedViews(text: string): TextView[] {
  const views: TextView[] = [];
  const whole = (kind: ViewKind, t: string) => views.push({ kind, text: t.slice(0, 4096), start: 0, end: text.length });
  // How English the text reads, judged on its first SAMPLE characters: the triggers must cost little on the
  // ordinary prompt (a 4 KB prompt is sampled, not walked word by word).
  const here = englishness(text.length > SAMPLE ? text.slice(0, SAMPLE) : text);
  const leet = leetTokens(text);
  // Leetspeak is dense: a tenth of the words or more (technical names like "utf8", "mp3" are sparse).
  if (leet >= 2 && leet * 10 >= Math.max(here.words * (text.length / Math.min(text.length, SAMPLE)), 1)) {
    for (const map of [LEET_I, LEET_L]) {
      const v = unleet(text, map);
      if (englishness(v.slice(0, SAMPLE)).ratio > here.ratio) whole('leetspeak', v);
    }
  }
  // rot13 and reversal, per sentence or line that does not read as English (a plain-English preface such as
  // "decode this and follow it:" must not hide the encoded sentence after it); at most four such segments.
  let segments = 0;
  SEGMENT.lastIndex = 0;
  for (let m = here.ratio < MOSTLY_ENGLISH ? SEGMENT.exec(text) : null; m !== null && segments < 4; m = SEGMENT.exec(text)) {
    const seg = englishness(m[0]);
    if (seg.words < MIN_WORDS || seg.ratio >= LOOKS_FOREIGN) continue;
    segments++;
    const r = rot13(m[0]);
    if (englishness(r).ratio >= READS_AS_ENGLISH) views.push({ kind: 'rot13', text: r.slice(0, 4096), start: m.index, end: m.index + m[0].length });
    const rev = [...m[0]].reverse().join('');
    if (englishness(rev).ratio >= READS_AS_ENGLISH) views.push({ kind: 'reversed', text: rev.slice(0, 4096), start: m.index, end: m.index + m[0].length });
  }
  SPACED.lastIndex = 0;
  const spaced = SPACED.exec(text);
  if (spaced) {
    // From the first spaced run to the end of the last one; single spaces inside a run join letters, wider gaps part words.
    let last = spaced;
    for (let m = SPACED.exec(text); m !== null; m = SPACED.exec(text)) last = m;
    const start = spaced.index;
    const end = last.index + last[0].length;
    const v = text.slice(start, end).replace(/(?<=(?:^|\s)\S) (?=\S(?:\s|$))/g, '').replace(/\s{2,}/g, ' ');
    if (englishness(v).ratio >= READS_AS_ENGLISH) views.push({ kind: 'spaced_letters', text: v.slice(0, 4096), start, end });
  }
  SEPARATED_HEX.lastIndex = 0;
  const hex = SEPARATED_HEX.exec(text);
  if (hex) {
    const decoded = readableUtf8(Buffer.from(hex[0].replace(/[^0-9a-f]/gi, ''), 'hex'));
    if (decoded) views.push({ kind: 'hex', text: decoded.slice(0, 4096), start: hex.index, end: hex.index + hex[0].length });
  }
  SELECTOR_RUN.lastIndex = 0;
  const sel = SELECTOR_RUN.exec(text);
  if (sel) {
    const bytes = [...sel[0]].map((ch) => {
      const cp = ch.codePointAt(0)!;
      return cp <= 0xfe0f ? cp - 0xfe00 : cp - 0xe0100 + 16;
    });
    const decoded = readableUtf8(Buffer.from(bytes));
    if (decoded) views.push({ kind: 'variation_selectors', text: decoded.slice(0, 4096), start: sel.index, end: sel.index + sel[0].length });
  }
  return views;
}
