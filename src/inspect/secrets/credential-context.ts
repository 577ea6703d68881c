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

// "my password is Xk9#…", "the API key was …": an assignment written in prose. Found from the verb (one
// pass, ~2 µs on 4 KB) back to the credential word and forward to the value: scanning for the credential
// words with a case-insensitive alternation costs twice that. The value must also look like a
// credential (looksLikePasswordInProse), since "the password is incorrect" is the common sentence.
const PROSE_VERB = /[ \t]{1,3}(?:is|was|ist|lautet)[ \t]{1,3}/g;
const CREDENTIAL_WORD_BEFORE = /(?<![A-Za-z0-9])(?:pass(?:word|phrase)?|pwd|secret(?:[ _-]access)?[ _-]?key|secret|token|api[ _-]?key|access[ _-]?key|passwort|kennwort)$/i;
const PROSE_VALUE = /(?:now[ \t]{1,3}|still[ \t]{1,3})?["'`]?([^\s"'`,;<>]{8,256}?)(?=["'`]?(?:[\s,;<>]|[.!?](?:\s|$)|$))/y;
// A URL's userinfo password (RFC 3986 §3.2.1, deprecated but everywhere in connection strings):
// postgres://user:PASSWORD@host. Without this the e-mail detector reads "PASSWORD@host" as an address.
const URL_PASSWORD = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/@]{0,128}:([^\s@/]{1,256})@[A-Za-z0-9[]/dg;
// HTTP Basic credentials (RFC 7617): base64 of "user:password".
const BASIC = /(?<![A-Za-z0-9])Basic[ ]{1,3}([A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])/g;

/** Environment references and templates stand in for a secret; they are not one. */
const TEMPLATE = /^(?:\$\{[^}]*\}?|\$\(?[A-Za-z_][A-Za-z0-9_]*\)?|\{\{.*|%[A-Za-z_][A-Za-z0-9_]*%|process\.env\..*|os\.environ.*|env\(.*|\*+|x+|X+|\.{3,}|…+)$/;

function looksLikePasswordInProse(v: string): boolean {
  let classes = 0;
  if (/[a-z]/.test(v)) classes++;
  if (/[A-Z]/.test(v)) classes++;
  if (/\d/.test(v)) classes++;
  if (/[^A-Za-z0-9]/.test(v)) classes++;
  return classes >= 3 || (classes === 2 && /\d/.test(v));
}

function emitValue(value: string, start: number, out: Finding[], minBits = MIN_BITS_PER_CHAR): void {
  if (TEMPLATE.test(value) || shannonEntropy(value) < minBits) return;
  out.push({ category: 'secret', type: 'credential', start, end: start + value.length, confidence: 0.7 });
}

function emit(m: RegExpExecArray, out: Finding[]): void {
  const value = m[1]!;
  emitValue(value, m.index + m[0].length - value.length, out);
}

function emitBasic(m: RegExpExecArray, out: Finding[]): void {
  const value = m[1]!;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  // Only a real "user:password" pair is reported: "Basic" followed by any base64-looking word is prose.
  if (!/^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded)) return;
  const start = m.index + m[0].length - value.length;
  out.push({ category: 'secret', type: 'credential', start, end: start + value.length, confidence: 0.8 });
}

export function findCredentialAssignments(text: string, out: Finding[]): void {
  // Every assignment has ':' or '=' (both operators' first characters).
  if (text.indexOf(':') !== -1 || text.indexOf('=') !== -1) scanWithLeftBoundary(text, ASSIGNED, AFTER_ALNUM, (m) => emit(m, out));
  PROSE_VERB.lastIndex = 0;
  for (let v = PROSE_VERB.exec(text); v !== null; v = PROSE_VERB.exec(text)) {
    if (!CREDENTIAL_WORD_BEFORE.test(text.slice(Math.max(0, v.index - 24), v.index))) continue;
    PROSE_VALUE.lastIndex = v.index + v[0].length;
    const m = PROSE_VALUE.exec(text);
    if (m && looksLikePasswordInProse(m[1]!)) emit(m, out);
  }
  if (text.indexOf('://') !== -1) {
    URL_PASSWORD.lastIndex = 0;
    for (let m = URL_PASSWORD.exec(text); m !== null; m = URL_PASSWORD.exec(text)) {
      const value = m[1]!;
      const start = m.indices![1]![0];
      // Any non-template password in a URL is a credential, whatever its entropy ("postgres:postgres" too).
      emitValue(value, start, out, 0);
    }
  }
  if (text.indexOf('Basic') !== -1) {
    BASIC.lastIndex = 0;
    for (let m = BASIC.exec(text); m !== null; m = BASIC.exec(text)) emitBasic(m, out);
  }
  if (text.indexOf('Bearer') === -1) return;
  BEARER.lastIndex = 0;
  for (let m = BEARER.exec(text); m !== null; m = BEARER.exec(text)) emit(m, out);
}
