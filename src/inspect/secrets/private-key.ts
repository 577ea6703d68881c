// PEM-armoured private keys (RFC 7468 §2 labels "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
// "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"; RFC 4880 §6.2 "PGP PRIVATE KEY BLOCK").
// Found with indexOf rather than a lazy regex so that many headers without footers stay linear.
// A header whose footer never comes covers the rest of the text: a truncated key is still a key.
import type { Finding } from '../../core/types.js';

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
