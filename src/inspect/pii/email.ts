// E-mail addresses, found by walking out from each '@' instead of a regex: linear in the input,
// with no backtracking whatever the text looks like. Shape per RFC 5321 §4.5.3.1 limits
// (local part <= 64, domain <= 253), TLD letters only (RFC 1123 §2.1 rules out all-numeric TLDs).
import type { Finding } from '../../core/types.js';

function isLocalChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    c === 46 || c === 95 || c === 37 || c === 43 || c === 45 // . _ % + -
  );
}

function isDomainChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

export function findEmails(text: string, out: Finding[]): void {
  let at = text.indexOf('@');
  while (at !== -1) {
    let s = at;
    while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    const localTooLong = s > 0 && isLocalChar(text.charCodeAt(s - 1));
    while (s < at && text.charCodeAt(s) === 46) s++;
    let e = at + 1;
    while (e < text.length && e - at <= 253 && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    if (!localTooLong && s < at && e - at > 1) {
      // Look for the last dot only inside this domain: a search back over the whole text would be quadratic.
      let dot = e - 1;
      while (dot > at && text.charCodeAt(dot) !== 46) dot--;
      let tldOk = dot > at + 1 && e - dot - 1 >= 2;
      for (let i = dot + 1; tldOk && i < e; i++) tldOk = isLetter(text.charCodeAt(i));
      if (tldOk) out.push({ category: 'pii', type: 'email', start: s, end: e, confidence: 0.95 });
    }
    at = text.indexOf('@', Math.max(e, at + 1));
  }
}
