// Redaction inside tool-call arguments, which are JSON for a tool: the result must stay valid JSON when
// the arguments were. Findings are looked for in the raw JSON text (so cues such as `"password": "…"`
// still count), then each is applied only where a replacement cannot break the document:
//   - inside a string literal, widened to whole escape sequences (a finding that starts after the "\" of
//     "\n" or ends inside "\u00e9" takes the escape with it) and replaced by the marker, which contains
//     no quote, backslash or control character;
//   - over a bare value (a number such as a card number, true/false/null), the whole value is replaced
//     by the marker as a JSON string;
//   - a finding spanning several tokens is applied to each string or bare value it touches; punctuation
//     and whitespace between them are kept.
// Findings come from the raw text and from each decoded string value (json-view.ts). Text that is not
// valid JSON is redacted as plain text.
import type { Finding } from '../../core/types.js';
import { findRedactable, redact, redactionMarker, type RedactTarget } from '../output/redact.js';
import { jsonLiterals, rawSpan } from './json-view.js';

interface Token {
  start: number;
  end: number;
  /** Inside a string literal: the positions a cut may fall on (not inside an escape sequence). */
  cuts?: number[];
}

/** String literals and bare values of a valid JSON text, in order. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const cuts: number[] = [i + 1];
      let j = i + 1;
      while (text[j] !== '"') {
        j += text[j] === '\\' ? (text[j + 1] === 'u' ? 6 : 2) : 1;
        cuts.push(j);
      }
      out.push({ start: i + 1, end: j, cuts });
      i = j + 1;
    } else if ('{}[],: \t\r\n'.includes(c)) {
      i++;
    } else {
      let j = i + 1;
      while (j < text.length && !'{}[],:" \t\r\n'.includes(text[j]!)) j++;
      out.push({ start: i, end: j });
      i = j;
    }
  }
  return out;
}

interface Replacement {
  start: number;
  end: number;
  with: string;
}

function cutAtOrBefore(cuts: number[], p: number): number {
  let best = cuts[0]!;
  for (const c of cuts) if (c <= p) best = c;
  return best;
}

function cutAtOrAfter(cuts: number[], p: number): number {
  for (const c of cuts) if (c >= p) return c;
  return cuts[cuts.length - 1]!;
}

function replacements(toks: Token[], findings: readonly Finding[]): Replacement[] {
  const out: Replacement[] = [];
  for (const f of findings) {
    for (const t of toks) {
      if (t.end <= f.start || t.start >= f.end) continue;
      const marker = redactionMarker(f.type);
      if (t.cuts === undefined) {
        out.push({ start: t.start, end: t.end, with: JSON.stringify(marker) });
      } else {
        const start = cutAtOrBefore(t.cuts, Math.max(f.start, t.start));
        const end = cutAtOrAfter(t.cuts, Math.min(f.end, t.end));
        if (end > start) out.push({ start, end, with: marker });
      }
    }
  }
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  // Widening can make neighbours overlap: the earlier one absorbs the later.
  const merged: Replacement[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.start < last.end) {
      last.end = Math.max(last.end, r.end);
    } else merged.push({ ...r });
  }
  return merged;
}

/** Redacts `text`; when it is valid JSON, the result is valid JSON too. */
export function redactJsonText(text: string, targets: readonly RedactTarget[]): string {
  if (targets.length === 0) return text;
  const lits = jsonLiterals(text);
  if (lits === null) return redact(text, targets);
  const findings = findRedactable(text, targets);
  // Also what the string values say once decoded ("\nAKIA…" hides the key's left boundary in the raw text).
  for (const lit of lits) {
    if (lit.decoded === text.slice(lit.start, lit.end)) continue;
    for (const f of findRedactable(lit.decoded, targets)) findings.push({ ...f, ...rawSpan(lit, f.start, f.end) });
  }
  if (findings.length === 0) return text;
  let out = '';
  let pos = 0;
  for (const r of replacements(tokens(text), findings)) {
    out += text.slice(pos, r.start) + r.with;
    pos = r.end;
  }
  return out + text.slice(pos);
}
