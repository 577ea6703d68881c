// Formatted tokens written in pieces: wrapped at a line break (a JWT cut at its dots, a key wrapped to fit a
// column), built by string concatenation ("AKIA" + "IOSF…", 'ghp_' 'abc…', `…` . `…`, || in SQL), or
// spaced into groups ("AKIA IOSF ODNN 7EXA MPLE"). From each token prefix (the formats' gates), the pieces
// that follow are joined one separator at a time, and the format's own pattern is tried on the joined text;
// the fewest joins that complete a token win, and nothing is joined onto a token that is already whole. The
// finding covers the pieces and the separators between them, so redaction removes all of it.
import type { Finding } from '../../core/types.js';
import { isPlaceholderToken, TOKEN_FORMATS } from './token-formats.js';

/** Characters a token piece is made of (base64, base64url, JWT dots, the formats' prefixes). */
const PIECE = /[A-Za-z0-9_.+/=-]{1,2048}/y;
/**
 * What may stand between two pieces: a line break with the next line's indentation (and a trailing
 * backslash), a closing quote, a concatenation operator and an opening quote (possibly across a line
 * break), or one space between groups.
 */
const SEPARATOR = /(?:\\?\r?\n[ \t]*|["'`][ \t]*(?:\+|\.|\|\||&|,)?[ \t]*(?:\\?\r?\n[ \t]*)?(?:\+[ \t]*)?["'`]| )/y;
const MAX_JOINS = 12;
const MAX_SPAN = 2048;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Format {
  type: string;
  sticky: RegExp;
  confidence: number;
  check?: (token: string) => boolean;
}

// Only the formats a prefix announces (their match starts with the gate); a format read from the name before
// the value (aws_secret_key) is not one of them.
const PREFIXED: { gate: string; formats: Format[] }[] = [];
for (const f of TOKEN_FORMATS) {
  if (f.pattern.source.startsWith('(?<=')) continue;
  const sticky = new RegExp(f.pattern.source, 'y');
  for (const gate of f.gate) {
    let entry = PREFIXED.find((p) => p.gate === gate);
    if (!entry) PREFIXED.push((entry = { gate, formats: [] }));
    entry.formats.push({ type: f.type, sticky, confidence: f.confidence, ...(f.check ? { check: f.check } : {}) });
  }
}
const ANY_PREFIX = new RegExp(PREFIXED.map((p) => escapeRegExp(p.gate)).join('|'), 'g');
const TOKEN_CHAR = /[A-Za-z0-9_-]/;

/** The piece starting at `at` (its end), or `at` when none starts there. */
function pieceEnd(text: string, at: number): number {
  PIECE.lastIndex = at;
  return PIECE.test(text) ? PIECE.lastIndex : at;
}

/**
 * The piece at `start` and the pieces joined to it: [original start, original end] of each, up to MAX_JOINS
 * and MAX_SPAN characters. A run longer than MAX_SPAN is no piece of a token (only its first piece is
 * returned), which keeps a megabyte of token characters linear.
 */
function piecesFrom(text: string, start: number): number[] {
  const out: number[] = [start, pieceEnd(text, start)];
  let at = out[1]!;
  if (at - start >= MAX_SPAN) return out;
  while (out.length / 2 <= MAX_JOINS && at - start < MAX_SPAN) {
    SEPARATOR.lastIndex = at;
    if (!SEPARATOR.test(text)) break;
    const next = SEPARATOR.lastIndex;
    const end = pieceEnd(text, next);
    if (end === next) break;
    out.push(next, end);
    at = end;
  }
  return out;
}

/** The format's pattern matches `joined` whole (reading one character of the real text after it). */
function matchesWhole(f: Format, joined: string, next: string): boolean {
  f.sticky.lastIndex = 0;
  const m = f.sticky.exec(joined + next);
  return m !== null && m[0].length === joined.length;
}

/**
 * After the fewest joins that complete a token, more pieces still belong to it when they were joined the
 * same way on purpose: by string concatenation, or wrapped at a fixed width (the piece before the last one
 * is as long as the one before it). A line of prose after a token is neither.
 */
function continues(text: string, pieces: number[], k: number): boolean {
  const separator = text.slice(pieces[k - 1], pieces[k]);
  if (/["'`]/.test(separator)) return true;
  const previous = pieces[k - 1]! - pieces[k - 2]!;
  return k >= 4 && previous >= 16 && previous === pieces[k - 3]! - pieces[k - 4]!;
}

export function findSplitTokens(text: string, out: Finding[]): void {
  ANY_PREFIX.lastIndex = 0;
  for (let g = ANY_PREFIX.exec(text); g !== null; g = ANY_PREFIX.exec(text)) {
    const start = g.index;
    if (start > 0 && TOKEN_CHAR.test(text[start - 1]!)) continue;
    const pieces = piecesFrom(text, start);
    // Prefixes inside this first piece belong to the same run of token characters: not looked at again.
    ANY_PREFIX.lastIndex = Math.max(ANY_PREFIX.lastIndex, pieces[1]!);
    if (pieces.length < 4) continue; // nothing follows a separator: the whole-token detector's case
    const after = (k: number) => text.slice(pieces[k + 1], pieces[k + 1]! + 1);
    for (const f of PREFIXED.find((p) => p.gate === g![0])!.formats) {
      let joined = text.slice(pieces[0], pieces[1]);
      if (matchesWhole(f, joined, after(0))) continue; // whole already: nothing to join
      let k = 2;
      for (; k < pieces.length; k += 2) {
        joined += text.slice(pieces[k], pieces[k + 1]);
        if (matchesWhole(f, joined, after(k))) break;
      }
      if (k >= pieces.length) continue;
      while (k + 2 < pieces.length && continues(text, pieces, k + 2)) {
        const longer = joined + text.slice(pieces[k + 2], pieces[k + 3]);
        if (!matchesWhole(f, longer, after(k + 2))) break;
        joined = longer;
        k += 2;
      }
      if ((f.check && !f.check(joined)) || isPlaceholderToken(joined)) continue;
      out.push({ category: 'secret', type: f.type, start, end: pieces[k + 1]!, confidence: f.confidence });
    }
  }
}

/** The text after a chain's last piece is the beginning of a separator (or nothing): another piece may follow. */
const SEPARATOR_SO_FAR = /^(?:\\?\r?|\\?\r?\n[ \t]*|["'`][ \t]*(?:\+|\.|\||\|\||&|,)?[ \t]*(?:\\?\r?\n?[ \t]*)?(?:\+[ \t]*)?["'`]?| )$/;

/**
 * For a stream: the earliest index at or after `floor` where a token prefix starts a chain of pieces that
 * reaches the end of `text` (so more text could still complete a split token), or `text.length` when there
 * is none. Text from there on must be held until the chain ends.
 */
export function openSplitTokenStart(text: string, floor: number): number {
  const from = Math.max(floor, text.length - MAX_SPAN);
  ANY_PREFIX.lastIndex = from;
  for (let g = ANY_PREFIX.exec(text); g !== null; g = ANY_PREFIX.exec(text)) {
    const start = g.index;
    if (start > 0 && TOKEN_CHAR.test(text[start - 1]!)) continue;
    const pieces = piecesFrom(text, start);
    ANY_PREFIX.lastIndex = Math.max(ANY_PREFIX.lastIndex, pieces[1]!);
    if (pieces.length / 2 > MAX_JOINS || pieces[1]! - start >= MAX_SPAN) continue;
    const lastEnd = pieces[pieces.length - 1]!;
    if (lastEnd === text.length || SEPARATOR_SO_FAR.test(text.slice(lastEnd))) return start;
  }
  return text.length;
}
