// The decoded view of JSON text (tool-call arguments): what the string literals say once their escapes
// are undone. In the raw text "\nAKIA…" glues the letter n to the key and "ls\nrm -rf /" has no line
// break, so detectors that need a word boundary or a line start miss them; in the decoded view they do not.
// Each decoded character remembers the index of the raw character (or escape) it came from.
import type { Finding } from '../../core/types.js';
import { resolveOverlaps } from '../detect-sensitive.js';
import { detectSensitiveFolded } from './detect.js';
import type { Folded } from './fold.js';

export interface JsonLiteral {
  /** Raw span of the literal's content (inside the quotes). */
  start: number;
  end: number;
  decoded: string;
  /** origins[i] = raw index where decoded[i]'s character or escape starts. */
  origins: number[];
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The string literals (keys and values) of `text` with their decoded contents, or null when `text` is not valid JSON. */
export function jsonLiterals(text: string): JsonLiteral[] | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  const out: JsonLiteral[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    const start = i + 1;
    let decoded = '';
    const origins: number[] = [];
    let j = start;
    while (text[j] !== '"') {
      if (text[j] === '\\') {
        const e = text[j + 1]!;
        const s = e === 'u' ? String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16)) : SIMPLE_ESCAPES[e]!;
        decoded += s;
        origins.push(j);
        j += e === 'u' ? 6 : 2;
      } else {
        decoded += text[j];
        origins.push(j);
        j++;
      }
    }
    out.push({ start, end: j, decoded, origins });
    i = j;
  }
  return out;
}

/** Raw span of decoded [start, end) of a literal. */
export function rawSpan(lit: JsonLiteral, start: number, end: number): { start: number; end: number } {
  return { start: lit.origins[start] ?? lit.end, end: end < lit.origins.length ? lit.origins[end]! : lit.end };
}

/** The decoded string values of a JSON text joined by line breaks, each character with its raw origin;
 *  null when the text is not JSON or has no escapes (the raw text then says the same). */
export function decodedView(text: string): Folded | null {
  const lits = jsonLiterals(text);
  if (lits === null || lits.every((l) => l.decoded === text.slice(l.start, l.end))) return null;
  const parts: string[] = [];
  const origins: number[] = [];
  for (const l of lits) {
    parts.push(l.decoded, '\n');
    origins.push(...l.origins, l.end);
  }
  return { text: parts.join(''), origins };
}

/** PII and secret findings in JSON text: in the raw text and in every decoded string literal, mapped to raw offsets. */
export function detectSensitiveJson(text: string): Finding[] {
  const raw = detectSensitiveFolded(text);
  const lits = jsonLiterals(text);
  if (lits === null) return raw;
  const more: Finding[] = [];
  for (const lit of lits) {
    if (lit.decoded === text.slice(lit.start, lit.end)) continue; // no escapes: the raw scan saw the same
    for (const f of detectSensitiveFolded(lit.decoded)) more.push({ ...f, ...rawSpan(lit, f.start, f.end) });
  }
  return more.length === 0 ? raw : resolveOverlaps([...raw, ...more]);
}

/**
 * Streaming decoder of the string literals in JSON text (any chunking gives the same output): outside
 * strings nothing is emitted; each literal's decoded characters are followed by a line break, so every
 * value starts a line (a shell command in `{"cmd": "rm -rf /"}` is at a line start). Lenient: it never
 * fails on invalid JSON, it just decodes what looks like strings. Holds at most one unfinished escape.
 */
export class JsonStringDecoder {
  private inString = false;
  private escape = '';
  private escapeAt = 0;
  private offset = 0;

  push(chunk: string): Folded {
    let text = '';
    const origins: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      const at = this.offset + i;
      if (!this.inString) {
        if (c === '"') this.inString = true;
        continue;
      }
      if (this.escape !== '') {
        this.escape += c;
        if (this.escape.length === 2 && this.escape[1] !== 'u') {
          text += SIMPLE_ESCAPES[this.escape[1]!] ?? this.escape[1]!;
          origins.push(this.escapeAt);
          this.escape = '';
        } else if (this.escape.length === 6) {
          const code = parseInt(this.escape.slice(2), 16);
          text += Number.isNaN(code) ? this.escape : String.fromCharCode(code);
          for (let k = Number.isNaN(code) ? 6 : 1; k > 0; k--) origins.push(this.escapeAt);
          this.escape = '';
        }
        continue;
      }
      if (c === '\\') {
        this.escape = c;
        this.escapeAt = at;
      } else if (c === '"') {
        this.inString = false;
        text += '\n';
        origins.push(at);
      } else {
        text += c;
        origins.push(at);
      }
    }
    this.offset += chunk.length;
    return { text, origins };
  }
}
