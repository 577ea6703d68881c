// PEM-armoured private keys (RFC 7468 §2 labels "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
// "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"; RFC 4880 §6.2 "PGP PRIVATE KEY BLOCK").
// Found with indexOf rather than a lazy regex so that many headers without footers stay linear.
// A header whose footer never comes covers the rest of the text: a truncated key is still a key.
import type { Finding } from '../../core/types.js';
import { scanWithLeftBoundary } from '../left-boundary.js';

const HEADER = /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY( BLOCK)?-----/g;

export function findPrivateKeys(text: string, out: Finding[]): void {
  if (text.indexOf('PRIVATE KEY') === -1) return;
  HEADER.lastIndex = 0;
  for (let m = HEADER.exec(text); m !== null; m = HEADER.exec(text)) {
    const footer = `-----END ${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}-----`;
    const f = text.indexOf(footer, m.index + m[0].length);
    const end = f === -1 ? text.length : f + footer.length;
    out.push({ category: 'secret', type: 'private_key', start: m.index, end, confidence: f === -1 ? 0.9 : 0.99 });
    HEADER.lastIndex = end;
  }
}

// The body of a PEM private key pasted without its armour: base64 (one run, or 64-character lines) of DER
// that opens like a private key and like nothing public. PKCS#8 (RFC 5208 §5), PKCS#1 RSA (RFC 8017 A.1.2)
// and SEC 1 EC (RFC 5915 §3) keys are all SEQUENCE { INTEGER version 0 or 1, then SEQUENCE, INTEGER or
// OCTET STRING }, while certificates and public keys open SEQUENCE { SEQUENCE … }. "MI"/"MH"/"MC" is how
// base64 spells a DER SEQUENCE with a one- or two-byte length.
// The left boundary is checked outside the regex (a leading lookbehind stops irregexp skipping to 'M'; see
// left-boundary.ts).
const BARE_FIRST_LINE = /M[CHI][A-Za-z0-9+/]{38,}={0,2}(?![A-Za-z0-9+/=])/g;
const AFTER_BASE64 = /(?<=[A-Za-z0-9+/=])/y;

/** Total DER bytes the outer SEQUENCE declares (tag, length bytes and content), or 0 if unreadable. */
function derTotalLength(der: Buffer): number {
  const first = der[1]!;
  if (!(first & 0x80)) return 2 + first;
  const n = first & 0x7f;
  if (n < 1 || n > 3 || der.length < 2 + n) return 0;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return 2 + n + len;
}

/**
 * End of the base64 block that starts at `start`: exactly as many base64 characters as the DER's declared
 * length needs, across line breaks (PEM wraps at 64 columns), so the word after a block is never taken for
 * its last line. A block cut short ends where its base64 ends: a truncated key is still a key.
 */
function blockEnd(text: string, start: number, der: Buffer): number {
  const want = Math.ceil(derTotalLength(der) / 3) * 4;
  let seen = 0;
  let i = start;
  let end = start;
  while (i < text.length && seen < want) {
    const c = text.charCodeAt(i);
    const b64 = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61;
    if (b64) {
      seen++;
      end = ++i;
    } else if ((c === 10 || c === 13) && seen % 4 === 0) {
      i++;
    } else {
      break;
    }
  }
  return end;
}

function derOpensLikePrivateKey(der: Buffer): boolean {
  if (der.length < 16 || der[0] !== 0x30) return false;
  let i = 1;
  const len0 = der[i++]!;
  if (len0 & 0x80) i += len0 & 0x7f; // long-form length: skip its bytes
  // version INTEGER, one byte, 0 or 1
  if (der[i] !== 0x02 || der[i + 1] !== 0x01 || (der[i + 2] !== 0x00 && der[i + 2] !== 0x01)) return false;
  const next = der[i + 3];
  return next === 0x30 || next === 0x02 || next === 0x04;
}

export function findUnarmouredPrivateKeys(text: string, out: Finding[]): void {
  if (text.indexOf('M') === -1) return;
  scanWithLeftBoundary(text, BARE_FIRST_LINE, AFTER_BASE64, (m) => {
    const head = Buffer.from(m[0].slice(0, 64), 'base64');
    if (!derOpensLikePrivateKey(head)) return;
    const end = blockEnd(text, m.index, head);
    out.push({ category: 'secret', type: 'private_key', start: m.index, end, confidence: 0.9 });
    BARE_FIRST_LINE.lastIndex = end;
  });
}
