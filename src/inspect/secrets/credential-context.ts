// Secrets without a format: a high-entropy value right after a credential word and an assignment
// ("password: 8f#kQ2...", "api_key=..."), or after "Bearer". Low-entropy values (placeholders such as
// "********" or "<your-key>") are skipped so that documentation does not light up.
import type { Finding } from '../../core/types.js';
import { scanWithLeftBoundary } from '../left-boundary.js';

// Not right after a letter or digit ("bypass = …" is no password): checked by scanWithLeftBoundary.
const ASSIGNED =
  /(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|client[_-]?secret|private[_-]?key|credentials?|kennwort|passwort)(?:[_-][A-Za-z]{1,12})?["']?[ \t]{0,3}(?::|=|:=|=>)[ \t]{0,3}["']?([^\s"'`,;<>]{8,256})/gi;
const AFTER_ALNUM = /(?<=[A-Za-z0-9])/iy;
const BEARER = /(?<![A-Za-z0-9])Bearer[ ]{1,3}([A-Za-z0-9._~+/=-]{16,4096})/g;
const MIN_BITS_PER_CHAR = 3.0;

/** Shannon entropy in bits per character (over UTF-16 code units; credentials are ASCII). */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function emit(m: RegExpExecArray, out: Finding[]): void {
  const value = m[1]!;
  if (shannonEntropy(value) < MIN_BITS_PER_CHAR) return;
  const start = m.index + m[0].length - value.length;
  out.push({ category: 'secret', type: 'credential', start, end: start + value.length, confidence: 0.7 });
}

export function findCredentialAssignments(text: string, out: Finding[]): void {
  // Every assignment has ':' or '=' (both operators' first characters).
  if (text.indexOf(':') !== -1 || text.indexOf('=') !== -1) scanWithLeftBoundary(text, ASSIGNED, AFTER_ALNUM, (m) => emit(m, out));
  if (text.indexOf('Bearer') === -1) return;
  BEARER.lastIndex = 0;
  for (let m = BEARER.exec(text); m !== null; m = BEARER.exec(text)) emit(m, out);
}
