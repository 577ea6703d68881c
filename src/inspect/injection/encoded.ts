// Encoded payloads: base64 (RFC 4648 §4/§5) and hex runs long enough to carry an instruction, which
// decode to readable text. Credentials and hashes decode to random bytes and are left alone; a run
// that decodes to readable text is reported, and re-scanned for attack phrasings.
import { asciiClass, longRuns } from '../long-runs.js';

const MIN_BASE64_RUN = 24;
const MIN_HEX_RUN = 32;
const ESCAPED_HEX_RUN = /(?:\\x[0-9A-Fa-f]{2}){12,}/g;

const BASE64_ALPHABET = asciiClass(/[A-Za-z0-9+/_-]/);
const HEX_DIGIT = asciiClass(/[0-9A-Fa-f]/);
/** Decoding is bounded: a few candidates per text, each cut to 4 KiB. */
const MAX_CANDIDATES = 8;
const MAX_DECODE_CHARS = 4096;

export interface DecodedPayload {
  start: number;
  end: number;
  encoding: 'base64' | 'hex';
  text: string;
}

function readable(buf: Buffer): string | null {
  if (buf.length < 12) return null;
  let printable = 0;
  for (const b of buf) if ((b >= 0x20 && b <= 0x7e) || b === 0x0a || b === 0x0d || b === 0x09) printable++;
  if (printable / buf.length < 0.95) return null;
  const s = buf.toString('latin1');
  // Readable text has spaces between words; a decoded identifier or hash rarely does.
  return s.includes(' ') ? s : null;
}

function hasMixedAlphabet(s: string): boolean {
  let lower = false;
  let upper = false;
  let digit = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  return lower && (upper || digit);
}

/** A run needs this many alphabet characters before its padding (at most two '=') can make it long enough. */
const MIN_RUN_CORE = MIN_BASE64_RUN - 2;

/** Maximal runs of base64-alphabet characters long enough to carry an instruction, with their padding. */
export function candidateRuns(text: string): { start: number; end: number; hexOnly: boolean }[] {
  const runs: { start: number; end: number; hexOnly: boolean }[] = [];
  const found = longRuns(text, BASE64_ALPHABET, MIN_RUN_CORE);
  for (let r = 0; r < found.length; r += 2) {
    const start = found[r]!;
    const stop = found[r + 1]!;
    let hexOnly = true;
    for (let i = start; hexOnly && i < stop; i++) hexOnly = HEX_DIGIT[text.charCodeAt(i)] === 1;
    let end = stop;
    // Base64 padding belongs to the run.
    while (end < text.length && end - stop < 2 && text.charCodeAt(end) === 61) end++;
    if (end - start >= MIN_BASE64_RUN) runs.push({ start, end, hexOnly });
  }
  return runs;
}

export function findEncodedPayloads(text: string): DecodedPayload[] {
  const found: DecodedPayload[] = [];
  let tried = 0;
  for (const run of candidateRuns(text)) {
    if (tried >= MAX_CANDIDATES) break;
    const raw = text.slice(run.start, run.end);
    if (run.hexOnly && raw.length >= MIN_HEX_RUN && raw.length % 2 === 0) {
      tried++;
      const decoded = readable(Buffer.from(raw.slice(0, MAX_DECODE_CHARS), 'hex'));
      if (decoded !== null) found.push({ start: run.start, end: run.end, encoding: 'hex', text: decoded });
      continue;
    }
    // Long words and paths are base64-alphabet too; real base64 mixes cases and digits.
    if (!hasMixedAlphabet(raw)) continue;
    tried++;
    const body = raw.slice(0, MAX_DECODE_CHARS);
    const decoded = readable(Buffer.from(body, /[-_]/.test(body) ? 'base64url' : 'base64'));
    if (decoded !== null) found.push({ start: run.start, end: run.end, encoding: 'base64', text: decoded });
  }
  if (text.indexOf('\\x') !== -1) {
    ESCAPED_HEX_RUN.lastIndex = 0;
    for (let m = ESCAPED_HEX_RUN.exec(text); m !== null && tried < MAX_CANDIDATES; m = ESCAPED_HEX_RUN.exec(text)) {
      tried++;
      const decoded = readable(Buffer.from(m[0].replace(/\\x/g, '').slice(0, MAX_DECODE_CHARS), 'hex'));
      if (decoded !== null) found.push({ start: m.index, end: m.index + m[0].length, encoding: 'hex', text: decoded });
    }
  }
  return found;
}
