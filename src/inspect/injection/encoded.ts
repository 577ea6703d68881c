// Encoded payloads: base64 (RFC 4648 §4/§5) and hex runs long enough to carry an instruction, which
// decode to readable text. Credentials and hashes decode to random bytes and are left alone; a run
// that decodes to readable text is reported, and re-scanned for attack phrasings.

const BASE64_RUN = /(?<![A-Za-z0-9+\/_-])[A-Za-z0-9+\/_-]{24,}={0,2}/g;
const HEX_RUN = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])|(?:\\x[0-9A-Fa-f]{2}){12,}/g;
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

export function findEncodedPayloads(text: string): DecodedPayload[] {
  const found: DecodedPayload[] = [];
  let tried = 0;
  BASE64_RUN.lastIndex = 0;
  for (let m = BASE64_RUN.exec(text); m !== null && tried < MAX_CANDIDATES; m = BASE64_RUN.exec(text)) {
    // Long words and paths are base64-alphabet too; real base64 mixes cases and digits.
    if (!hasMixedAlphabet(m[0])) continue;
    tried++;
    const body = m[0].slice(0, MAX_DECODE_CHARS);
    const decoded = readable(Buffer.from(body, /[-_]/.test(body) ? 'base64url' : 'base64'));
    if (decoded !== null) found.push({ start: m.index, end: m.index + m[0].length, encoding: 'base64', text: decoded });
  }
  tried = 0;
  HEX_RUN.lastIndex = 0;
  for (let m = HEX_RUN.exec(text); m !== null && tried < MAX_CANDIDATES; m = HEX_RUN.exec(text)) {
    tried++;
    const hex = m[0].replace(/\\x/g, '').slice(0, MAX_DECODE_CHARS);
    const decoded = readable(Buffer.from(hex, 'hex'));
    if (decoded !== null) found.push({ start: m.index, end: m.index + m[0].length, encoding: 'hex', text: decoded });
  }
  return found;
}
