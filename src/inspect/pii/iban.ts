// IBAN (ISO 13616-1): country code, two check digits, up to 30 alphanumerics, printed compact or in
// groups of four; accepted only when the MOD 97-10 check holds.
import type { Finding } from '../../core/types.js';
import { ibanValid } from './checksums.js';

const IBAN = /(?<![\w])[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)(?!\w)/g;

export function findIbans(text: string, out: Finding[]): void {
  IBAN.lastIndex = 0;
  for (let m = IBAN.exec(text); m !== null; m = IBAN.exec(text)) {
    let raw = m[0];
    let ok = ibanValid(raw.replace(/ /g, '').toUpperCase());
    // "DE89 3704 0044 0532 0130 00 is" would swallow the next word as a last group: drop it and retry.
    if (!ok && raw.includes(' ')) {
      raw = raw.slice(0, raw.lastIndexOf(' '));
      ok = ibanValid(raw.replace(/ /g, '').toUpperCase());
    }
    if (ok) out.push({ category: 'pii', type: 'iban', start: m.index, end: m.index + raw.length, confidence: 0.95 });
  }
}
