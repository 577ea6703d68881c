// Output rules and the canary, read incrementally over the normalized view (fold.ts) of one answer field,
// with the same verdict for any chunking as for the whole text at once — and no window a violation can
// hide in: what is kept between chunks is provably longer than anything either matcher must look back on.
//
// Memory per field (constant, whatever the stream's length):
//   - RuleMatcher: the last MAX_RULE_MATCH + 2 characters of the whitespace-collapsed view and their
//     origins (one pending whitespace character besides);
//   - CanaryMatcher: the last token.length − 1 letters/digits of the view and their origins.
import type { Finding } from '../../core/types.js';
import { InvalidCanary, type Canary } from '../output/canary.js';
import { MAX_RULE_MATCH, rulePatterns, type RulePattern } from '../output/output-rules.js';
import { CONFUSABLE } from '../injection/normalize.js';
import type { Folded } from './fold.js';

/**
 * Characters kept from one push to the next: a match is at most MAX_RULE_MATCH long, the regexes read
 * one character after it (`\b`) and one before it (`\b`, `^` in multiline mode). A match that could not
 * be confirmed (it touches the end of what has arrived) starts within the last MAX_RULE_MATCH + 1
 * characters, so it is still in the tail, with its left neighbour, when the text that decides it arrives.
 */
const RULE_TAIL = MAX_RULE_MATCH + 2;

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

const WS = /\s/;
function isSpace(c: number, ch: string): boolean {
  if (c < 0x80) return c === 32 || (c >= 9 && c <= 13);
  return WS.test(ch);
}

/** Output rules over a stream of folded pieces. The view collapses each run of whitespace to one
 *  character (a line break if the run has one, else a space), so `\s+` spans cannot grow unboundedly. */
export class RuleMatcher {
  private readonly patterns: RulePattern[];
  private tail = '';
  private tailOrigins: number[] = [];
  /** tail[0] is the first character of the field (a match may start there). */
  private atStart = true;
  private pendingSpace = '';
  private pendingOrigin = 0;

  /** Throws UnknownOutputRule for an unknown rule name. */
  constructor(rules: readonly string[]) {
    this.patterns = rulePatterns(rules);
  }

  get active(): boolean {
    return this.patterns.length > 0;
  }

  /** The first violation confirmed by this piece (offsets are the field's source offsets), or null.
   *  `final`: nothing follows, so a match touching the end is confirmed too. */
  push(piece: Folded, final: boolean): Finding | null {
    let added = '';
    const addedOrigins: number[] = [];
    const text = piece.text;
    let runStart = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (!isSpace(c, text[i]!)) continue;
      if (i > runStart) {
        added += this.flushSpace(addedOrigins) + text.slice(runStart, i);
        for (let k = runStart; k < i; k++) addedOrigins.push(piece.origins[k]!);
      }
      if (this.pendingSpace === '') {
        this.pendingSpace = isLineBreak(c) ? '\n' : ' ';
        this.pendingOrigin = piece.origins[i]!;
      } else if (isLineBreak(c)) {
        this.pendingSpace = '\n';
      }
      runStart = i + 1;
    }
    if (text.length > runStart) {
      added += this.flushSpace(addedOrigins) + text.slice(runStart);
      for (let k = runStart; k < text.length; k++) addedOrigins.push(piece.origins[k]!);
    }
    if (final) added += this.flushSpace(addedOrigins);
    if (added === '' && !final) return null;
    const buf = this.tail + added;
    const origins = this.tailOrigins.concat(addedOrigins);
    const found = this.scan(buf, origins, final);
    if (buf.length > RULE_TAIL) {
      const cut = buf.length - RULE_TAIL;
      this.tail = buf.slice(cut);
      this.tailOrigins = origins.slice(cut);
      this.atStart = false;
    } else {
      this.tail = buf;
      this.tailOrigins = origins;
    }
    return found;
  }

  private flushSpace(origins: number[]): string {
    if (this.pendingSpace === '') return '';
    const s = this.pendingSpace;
    origins.push(this.pendingOrigin);
    this.pendingSpace = '';
    return s;
  }

  private scan(buf: string, origins: number[], final: boolean): Finding | null {
    for (const p of this.patterns) {
      const re = p.re;
      re.lastIndex = 0;
      for (let m = re.exec(buf); m !== null; m = re.exec(buf)) {
        const end = m.index + m[0].length;
        // At tail[0] the regex would take the cut for the start of the text (`^`, `\b`): such a match was
        // decided when its left neighbour was still here. Touching the end, it may still change (`\b`).
        const confirmed = (m.index > 0 || this.atStart) && (final || end < buf.length);
        if (confirmed) {
          const start = origins[m.index]!;
          return { category: 'output', type: p.type, start, end: origins[end - 1]! + 1, confidence: p.confidence };
        }
        re.lastIndex = m.index + 1;
      }
    }
    return null;
  }
}

/** Upper-case ASCII letter or digit the folded character stands for (Cyrillic/Greek look-alikes
 *  included: UTS #39 confusables), or -1. */
function projectChar(c: number, ch: string, asciiOnly: boolean): number {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90)) return c;
  if (c >= 97 && c <= 122) return c - 32;
  if (c < 0x80 || asciiOnly) return -1;
  const lower = ch.toLowerCase();
  const mapped = lower.length === 1 ? CONFUSABLE[lower.charCodeAt(0)] : undefined;
  return mapped === undefined ? -1 : mapped.charCodeAt(0) - 32;
}

/** The canary over a stream of pieces: its letters and digits only, so spaces, punctuation,
 *  zero-width characters and case between them change nothing; on the folded view, fullwidth forms and
 *  look-alike letters neither. `asciiOnly` (for the text as sent) skips every non-ASCII character, so
 *  letters interleaved with characters that fold to digits ("W²D²N²C²…") are seen too. */
export class CanaryMatcher {
  private readonly token: string;
  private squeezed = '';
  private origins: number[] = [];

  constructor(
    canary: Canary,
    private readonly asciiOnly = false,
  ) {
    this.token = canary.token.toUpperCase();
    if (this.token.length < 8) throw new InvalidCanary('canary token too short to detect reliably');
  }

  /** The first leak completed by this piece (offsets are the field's source offsets), or null. */
  push(piece: Folded): Finding | null {
    const text = piece.text;
    for (let i = 0; i < text.length; i++) {
      const c = projectChar(text.charCodeAt(i), text[i]!, this.asciiOnly);
      if (c === -1) continue;
      this.squeezed += String.fromCharCode(c);
      this.origins.push(piece.origins[i]!);
    }
    const k = this.squeezed.indexOf(this.token);
    let found: Finding | null = null;
    if (k !== -1) {
      const start = this.origins[k]!;
      const end = this.origins[k + this.token.length - 1]! + 1;
      found = { category: 'output', type: 'canary_leak', start, end, confidence: end - start === this.token.length ? 1 : 0.95 };
    }
    // A leak still to come needs at least one more character, so it starts in the last token.length − 1.
    const keep = this.token.length - 1;
    if (this.squeezed.length > keep) {
      this.squeezed = this.squeezed.slice(-keep);
      this.origins = this.origins.slice(-keep);
    }
    return found;
  }
}
