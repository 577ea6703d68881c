// The first match of every phrase family in (almost) one regex pass over the skeleton, instead of one
// pass per family. A combined pattern `\b(?:(body1)|(body2)|…)` (the families of other scripts joined
// after it without the `\b`) stops at the leftmost position where
// any family still missing matches, and its capturing group names that family. The other missing
// families are then tried at that same position (two can start at one place: "from now on, you are"),
// and the scan resumes one character later with a pattern of the families still missing. Every stop
// finds at least one new family, so there are at most as many passes as families, and each family's
// hit is exactly what `family.pattern.exec(text)` returns on its own: no family can match before the
// stop, or the combined pattern would have stopped there.
// Each part of the combined pattern starts with a lookahead for the first characters its families' matches can
// begin with (regex-prefix.ts, read from the bodies, so it follows any change to the phrase lists): most word
// starts fail that one test instead of every alternative of every family, and no match changes.
import { DELIMITER_SPOOF, PHRASE_FAMILIES } from './phrases.js';
import { prefixGuard, requiredUnits } from './regex-prefix.js';

export interface PhraseHit {
  signal: string;
  /** Position and length in the scanned (skeleton) text. */
  index: number;
  length: number;
}

export class PhraseFamilyInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhraseFamilyInvalid';
  }
}

function capturingGroups(source: string): number {
  return new RegExp(`${source}|`).exec('')!.length - 1;
}

// A capturing group inside a body would shift the group numbers that identify families.
for (const f of PHRASE_FAMILIES) {
  if (capturingGroups(f.body) !== 0) throw new PhraseFamilyInvalid(`phrase family ${f.signal} has a capturing group`);
}

const FAMILY_COUNT = PHRASE_FAMILIES.length;
const ALL_FAMILIES = (1 << FAMILY_COUNT) - 1;
/** The families matched after a word boundary; the others hold a non-ASCII letter in every alternative. */
let anchoredMask = 0;
for (let i = 0; i < FAMILY_COUNT; i++) if (PHRASE_FAMILIES[i]!.anchored) anchoredMask |= 1 << i;
const ANCHORED_FAMILIES = anchoredMask;
const stickyPatterns: RegExp[] = PHRASE_FAMILIES.map((f) => new RegExp(f.pattern.source, 'y'));
/** Combined patterns by bit mask of the families they contain, compiled on first use (a handful in practice). */
const combinedByMask = new Map<number, { re: RegExp; families: number[] }>();
/** How many leading characters the lookaheads require (5 beat 4 and 6 on a 4 KB prompt). */
const GUARD_LENGTH = 5;

function combinedFor(mask: number): { re: RegExp; families: number[] } {
  let c = combinedByMask.get(mask);
  if (c === undefined) {
    // Anchored families first, under one `\b`, then the others: group g + 1 is families[g].
    const anchored: number[] = [];
    const free: number[] = [];
    for (let i = 0; i < FAMILY_COUNT; i++) if ((mask & (1 << i)) !== 0) (PHRASE_FAMILIES[i]!.anchored ? anchored : free).push(i);
    const group = (i: number): string => `(${PHRASE_FAMILIES[i]!.body})`;
    const guard = (families: number[]): string => prefixGuard(families.map((i) => PHRASE_FAMILIES[i]!.body), GUARD_LENGTH);
    const parts: string[] = [];
    if (anchored.length > 0) parts.push(`\\b${guard(anchored)}(?:${anchored.map(group).join('|')})`);
    if (free.length > 0) parts.push(`${guard(free)}(?:${free.map(group).join('|')})`);
    c = { re: new RegExp(`(?:${parts.join('|')})`, 'g'), families: [...anchored, ...free] };
    combinedByMask.set(mask, c);
  }
  return c;
}

const NON_ASCII = /\P{ASCII}/u;

/** Per family without a word boundary, a class of the code units beyond ASCII of which each of its matches holds
 *  one (regex-prefix.ts), or null when none can be named: a text with none of them is not scanned for the family
 *  (most non-ASCII texts hold an accent or a curly quote, not Cyrillic or Han). */
const REQUIRED_UNITS: (RegExp | null)[] = PHRASE_FAMILIES.map((f) => {
  const units = f.anchored ? null : requiredUnits(f.body);
  return units === null ? null : new RegExp(`[${[...units].map((u) => `\\u${u.toString(16).padStart(4, '0')}`).join('')}]`);
});

/** The families without a word boundary that a pure-ASCII text can match: those of which no required non-ASCII
 *  unit can be named. Cyrillic is folded to Latin look-alikes in the skeleton, so a Russian phrase can fold to pure
 *  ASCII ("твое новое" is "tboe hoboe" there); skipping such a family on ASCII text lost its match. */
let asciiScannable = ANCHORED_FAMILIES;
for (let i = 0; i < FAMILY_COUNT; i++) if (REQUIRED_UNITS[i] === null) asciiScannable |= 1 << i;
const ASCII_FAMILIES = asciiScannable;

/** The families to scan `text` for: all but those it holds no required code unit of. */
function familiesToScan(text: string): number {
  // A pure-ASCII text cannot match a family whose every match holds a named non-ASCII unit.
  if (!NON_ASCII.test(text)) return ALL_FAMILIES & ASCII_FAMILIES;
  let families = ALL_FAMILIES;
  for (let i = 0; i < FAMILY_COUNT; i++) if (REQUIRED_UNITS[i] !== null && !REQUIRED_UNITS[i]!.test(text)) families &= ~(1 << i);
  return families;
}

/** Every match of DELIMITER_SPOOF contains one of these, so text with none of them is not scanned. */
function mayHoldDelimiter(text: string): boolean {
  return text.includes('<') || text.includes('[') || text.includes(':') || text.includes('end of');
}

/** First match of each phrase family (in PHRASE_FAMILIES order), then of DELIMITER_SPOOF. */
export function scanPhrases(text: string): PhraseHit[] {
  const found: (PhraseHit | undefined)[] = new Array<PhraseHit | undefined>(FAMILY_COUNT);
  let missing = familiesToScan(text);
  let from = 0;
  while (missing !== 0) {
    const { re, families } = combinedFor(missing);
    re.lastIndex = from;
    const m = re.exec(text);
    if (m === null) break;
    for (let g = 1; g < m.length; g++) {
      if (m[g] === undefined) continue;
      const i = families[g - 1]!;
      found[i] = { signal: PHRASE_FAMILIES[i]!.signal, index: m.index, length: m[0].length };
      missing &= ~(1 << i);
      break;
    }
    for (const i of families) {
      if ((missing & (1 << i)) === 0) continue;
      const sticky = stickyPatterns[i]!;
      sticky.lastIndex = m.index;
      const s = sticky.exec(text);
      if (s === null) continue;
      found[i] = { signal: PHRASE_FAMILIES[i]!.signal, index: s.index, length: s[0].length };
      missing &= ~(1 << i);
    }
    from = m.index + 1;
  }
  const hits = found.filter((h): h is PhraseHit => h !== undefined);
  if (mayHoldDelimiter(text)) {
    const d = DELIMITER_SPOOF.exec(text);
    if (d !== null) hits.push({ signal: 'delimiter_spoofing', index: d.index, length: d[0].length });
  }
  return hits;
}

