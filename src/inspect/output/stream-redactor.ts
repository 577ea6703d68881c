// Redaction of a streamed answer (SSE deltas) with the same result as redacting the whole answer at
// once, whatever the chunking. Each push re-scans only the unsent text plus a short window of sent
// text (the cues some detectors read before a match, e.g. "DOB:", "password ="), emits everything that
// can no longer become part of a match, and holds back only the tail that still could:
//   - the trailing token, and the tokens before it that a multi-token entity could continue across a
//     short single-line gap (digit groups, capitalised words, month names, PEM armour);
//   - any finding that reaches the end of the text (it might still grow), e.g. an unterminated key;
//   - a token prefix whose pieces (wrapped lines, concatenated strings, spaced groups) reach the end of the
//     text: the next chunk may complete a split token (src/inspect/secrets/split-tokens.ts);
//   - an address whose unit, city or postcode lines may still follow, or the head of a street line not yet
//     complete (src/inspect/pii/street-address.ts, openAddressStart).
// Nothing else is delayed. The hold for multi-token tails is capped at MAX_TAIL_HOLD characters.
import type { Finding } from '../../core/types.js';
import { openAddressStart } from '../pii/street-address.js';
import { openSplitTokenStart } from '../secrets/split-tokens.js';
import { applyRedactions, findRedactable, type RedactTarget } from './redact.js';

export class StreamRedactorClosed extends Error {
  constructor() {
    super('stream redactor: push after flush');
    this.name = 'StreamRedactorClosed';
  }
}

/** Sent text kept as left context: longer than any cue-to-match distance the detectors use (48). */
const CONTEXT_CHARS = 96;
const MAX_TAIL_HOLD = 160;
/** A finding ending this close to the end may still extend (optional suffixes like "x123", "Apt 4"). */
const GROWTH_MARGIN = 3;
/** Widest gap a multi-token entity spans ("4111 1111", "password =  x"). */
const MAX_GAP = 3;
const JOINABLE_WORDS = new Set([
  'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'october', 'november', 'december',
  'x', 'ext', 'ext.', 'box', 'ul.', 'of',
]);

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

function joinable(token: string): boolean {
  // An entity can begin anywhere inside a token after punctuation ("x.PO Box", "mail-4111"), so any
  // digit or capital letter in the token keeps it, as does PEM armour or a trailing month name.
  if (/[\p{Lu}\d+#]/u.test(token) || token.includes('-----')) return true;
  const last = token.split(/[^\p{L}.]/u).pop() ?? '';
  return JOINABLE_WORDS.has(last.toLowerCase().replace(/^\.+|[,.]+$/g, ''));
}

/** Earliest index of `text` that could still be part of a match once more text arrives. */
function tailHoldStart(text: string, floor: number): number {
  let i = text.length;
  while (i > floor && !isSpace(text.charCodeAt(i - 1))) i--;
  // The trailing token (possibly empty) is held, and the joinable tokens before it.
  return joinableBefore(text, i, floor);
}

/**
 * From `from`, back across short single-line gaps over joinable tokens: an entity that reaches `from` may begin
 * there ("Baker " before a held "Streetphone Viru tee 42…" is the start of a name once the address reading fails).
 */
function joinableBefore(text: string, from: number, floor: number): number {
  let hold = from;
  for (;;) {
    let g = hold;
    while (g > floor && hold - g <= MAX_GAP && isSpace(text.charCodeAt(g - 1)) && text.charCodeAt(g - 1) !== 10) g--;
    if (g === hold || hold - g > MAX_GAP || g === floor || isSpace(text.charCodeAt(g - 1))) break;
    let t = g;
    while (t > floor && !isSpace(text.charCodeAt(t - 1))) t--;
    if (text.length - t > MAX_TAIL_HOLD || !joinable(text.slice(t, g))) break;
    hold = t;
  }
  return hold;
}

export interface StreamRedactor {
  /** Returns the text that is safe to send now (possibly empty). */
  push(chunk: string): string;
  /** End of stream: returns everything still held, redacted. */
  flush(): string;
}

export function createStreamRedactor(opts: { categories: readonly RedactTarget[] }): StreamRedactor {
  const targets = [...opts.categories];
  let context = '';
  let pending = '';
  let done = false;

  const settle = (final: boolean): string => {
    const window = context + pending;
    const off = context.length;
    // A finding that began in text already sent (a detector that reported its cue with the value) still has
    // its unsent part redacted: the stream then differs from whole-text redaction, but never leaks. Detectors
    // report values only, so this is a safety net the property tests keep unused.
    const findings: Finding[] = findRedactable(window, targets)
      .filter((f) => f.end > off)
      .map((f) => (f.start >= off ? f : { ...f, start: off }));
    let hold = final ? window.length : Math.min(tailHoldStart(window, off), openSplitTokenStart(window, off), openAddressStart(window, off));
    if (!final) {
      // A held finding or a held address head may be read otherwise once more text arrives (an address that fails
      // becomes a name that began a token earlier): the joinable tokens before the hold are held with it.
      for (let before = -1; before !== hold; ) {
        before = hold;
        for (const f of findings) {
          if (f.end >= window.length - GROWTH_MARGIN || (f.start < hold && f.end > hold)) hold = Math.min(hold, f.start);
        }
        hold = joinableBefore(window, hold, off);
      }
    }
    const emitted = applyRedactions(window, findings, off, hold);
    context = window.slice(Math.max(0, hold - CONTEXT_CHARS), hold);
    pending = window.slice(hold);
    return emitted;
  };

  return {
    push(chunk: string): string {
      if (done) throw new StreamRedactorClosed();
      if (targets.length === 0) return chunk;
      pending += chunk;
      return settle(false);
    },
    flush(): string {
      if (done) return '';
      done = true;
      if (targets.length === 0) return '';
      return settle(true);
    },
  };
}

