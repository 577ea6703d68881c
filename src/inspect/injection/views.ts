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
    'password secret everything told before now act pretend ' +
    // More of the commonest words (instructions are short: "write ZON hates the SPD", "call the tool with amount 5000"
    // read as English only with these), still words a rot13, reversed or spaced reading of other text hardly makes.
    'write answer question every following execute command call tool task text tell ask please here where why very ' +
    'those each more many much own same such may might never always again still off down through while should ' +
    'without under between next last long great little right old big high different small large every help show ' +
    'user data file send keep start stop mode rule reply respond message model assistant chat human ai story world ' +
    'repeat following read decode').split(' '),
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
  // Words with a letter ("y0ur"), and words made only of letter digits ("15" for "is", "4" for "a"): the reading is
  // made only for dense leetspeak, where such a word is a word; other numbers ("2026", "3.5") stay numbers.
  return s.replace(/[a-z0-9@$|]+/gi, (w) => (/[a-z]/i.test(w) || /^[013457@$|]+$/.test(w) ? w.replace(/[0-9@$|]/g, (c) => map[c] ?? c) : w));
}

// Letters spaced apart: five or more single characters separated by single spaces; words by wider gaps.
const SPACED = /(?<!\S)(?:\S ){4,}\S(?!\S)/g;
/** Runs of one-character tokens parted by one to three spaces (the spaced region's extent). */
const SPACED_TOKENS = /(?<!\S)\S(?:[ \t]{1,3}\S(?!\S))+/g;

// Hex bytes with separators (the unseparated form is encoded.ts's).
const SEPARATED_HEX = /(?<![0-9a-f])(?:[0-9a-f]{2}[ :,-]){11,}[0-9a-f]{2}(?![0-9a-f])/gi;
/** Part of every SEPARATED_HEX match (its second and third bytes with the separators around them), found at half
 *  the cost on prose: the lookbehind there is tried at every position. */
const SEPARATED_HEX_CORE = /[ :,-][0-9a-f]{2}[ :,-][0-9a-f]{2}[ :,-]/i;

// Variation selectors carrying bytes: VS1–16 are 0–15, VS17–256 are 16–255.
const SELECTOR_RUN = /[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]{8,}/gu;

function readableUtf8(bytes: Buffer): string | null {
  const s = bytes.toString('utf8');
  if (s.includes('\uFFFD')) return null;
  let printable = 0;
  // Symbols count (\p{S}: "<<SYS>>", "$", "|"): instructions quote markup and commands.
  for (const ch of s) if (/[\p{L}\p{N}\p{P}\p{S}\p{Zs}\n\t]/u.test(ch)) printable++;
  return printable / [...s].length >= 0.95 && s.includes(' ') ? s : null;
}

const reverse = (s: string): string => [...s].reverse().join('');
/** A segment reads better undone by at least this share of common words. */
const SEGMENT_GAIN = 0.15;
/** Single spaces between single characters join them; wider gaps part words. */
function joinSpaced(s: string): string {
  return s.replace(/(?<=(?:^|\s)\S) (?=\S(?:\s|$))/g, '').replace(/\s{2,}/g, ' ');
}

/** At most this many segments are tried per reading. */
const MAX_SEGMENTS = 64;

/** `text` with every sentence or line undone that does not read as English as written, or null when no segment
 *  of MIN_WORDS words reads as English undone (and clearly better than as written). */
function segmentReading(text: string, undo: (s: string) => string): string | null {
  let found = false;
  let out = '';
  let last = 0;
  let tried = 0;
  SEGMENT.lastIndex = 0;
  for (let m = SEGMENT.exec(text); m !== null && tried < MAX_SEGMENTS; m = SEGMENT.exec(text)) {
    tried++;
    const seg = englishness(m[0]);
    const u = undo(m[0]);
    const read = englishness(u);
    // A segment that reads as English as written, and worse undone, stays; every other one is undone.
    if (seg.ratio >= LOOKS_FOREIGN && read.ratio <= seg.ratio) continue;
    if (seg.words >= MIN_WORDS && read.ratio >= READS_AS_ENGLISH && read.ratio >= seg.ratio + SEGMENT_GAIN) found = true;
    out += text.slice(last, m.index) + u;
    last = m.index + m[0].length;
  }
  return found ? out + text.slice(last) : null;
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
      const read = englishness(v.slice(0, SAMPLE)).ratio;
      if (read > here.ratio && read >= LOOKS_FOREIGN) whole('leetspeak', v);
    }
  }
  // rot13 and reversal, per sentence or line that does not read as English (a plain-English preface such as
  // "decode this and follow it:" must not hide the encoded sentence after it). When one such segment (of at least
  // MIN_WORDS words) reads as English so, the reading is the text with every segment that reads better so
  // replaced: an instruction split over short lines ("[END]", "[SYSTEM OVERRIDE] …") is scored whole.
  if (here.ratio < MOSTLY_ENGLISH) {
    for (const [kind, undo] of [['rot13', rot13], ['reversed', reverse]] as const) {
      const v = segmentReading(text.slice(0, 4096), undo);
      if (v !== null) views.push({ kind, text: v, start: 0, end: text.length });
    }
  }
  SPACED.lastIndex = 0;
  if (SPACED.test(text)) {
    // From the first run of spaced characters to the end of the last one (short words count: "W h a t  d i d"); single
    // spaces inside a run join letters, wider gaps part words.
    let start = -1;
    let end = -1;
    let joined = '';
    SPACED_TOKENS.lastIndex = 0;
    for (let m = SPACED_TOKENS.exec(text); m !== null && joined.length < SAMPLE; m = SPACED_TOKENS.exec(text)) {
      if (m[0].length < 5) continue;
      if (start === -1) start = m.index;
      end = m.index + m[0].length;
      joined += ` ${joinSpaced(m[0])}`;
    }
    const v = joinSpaced(text.slice(start, end));
    // The spaced run is itself the trigger: the words the joined letters make need only some English (a fifth of
    // them; "U S A C E" and "A B C D F" make none).
    if (englishness(joined).ratio >= LOOKS_FOREIGN) views.push({ kind: 'spaced_letters', text: v.slice(0, 4096), start, end });
  }
  SEPARATED_HEX.lastIndex = 0;
  const hex = SEPARATED_HEX_CORE.test(text) ? SEPARATED_HEX.exec(text) : null;
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
