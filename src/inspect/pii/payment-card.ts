// Payment card numbers (PAN): 12–19 digits, one separator style, a known issuer prefix (ISO/IEC 7812
// major industry identifier 2–6) and a valid Luhn check digit.
import type { Finding } from '../../core/types.js';
import { luhnValid } from './checksums.js';

// Each repetition consumes exactly one digit, so the optional separator cannot be split two ways:
// at most 19 steps per start, and the lookbehind stops starts in the middle of a run.
// A leading '+' marks an international phone number, never a card.
const CARD = /(?<![\w+-])\d(?:[ -]?\d){11,18}(?!\w)/g;

function issuerPlausible(d: string): boolean {
  const c0 = d.charCodeAt(0) - 48;
  // 1800: the 15-digit JCB range, the one issuer outside MII 2–6.
  if (!((c0 >= 2 && c0 <= 6) || d.startsWith('1800'))) return false;
  return d.length === 15 ? fifteenDigitIssuer(d) : true;
}

const MAESTRO = /^(?:50|5[6-9]|6)/;

/**
 * Fifteen digits is the length of an IMEI (also Luhn-checked) as well as of a card, so a 15-digit number is a
 * card only in the ranges that issue 15-digit PANs: American Express 34/37, JCB 1800/2131, Diners enRoute
 * 2014/2149, and Maestro-family 50/56–69 (12–19 digits). A phone's IMEI (TACs start 35, 01, 86, 49, 99, …)
 * is then not reported as a card.
 */
function fifteenDigitIssuer(d: string): boolean {
  return /^(?:3[47]|1800|2131|2014|2149)/.test(d) || MAESTRO.test(d);
}

/** 12-digit PANs exist only for Maestro-family issuers (IIN 50, 56–69). */
function lengthPlausible(d: string): boolean {
  if (d.length === 12) return d.charCodeAt(0) === 54 || (d.charCodeAt(0) === 53 && (d.charCodeAt(1) === 48 || d.charCodeAt(1) >= 54));
  return d.length >= 13 && d.length <= 19;
}

function validate(raw: string): boolean {
  const hasSpace = raw.includes(' ');
  const hasDash = raw.includes('-');
  if (hasSpace && hasDash) return false;
  const digits = hasSpace || hasDash ? raw.replace(/[ -]/g, '') : raw;
  return lengthPlausible(digits) && issuerPlausible(digits) && luhnValid(digits);
}

export function findPaymentCards(text: string, out: Finding[]): void {
  CARD.lastIndex = 0;
  for (let m = CARD.exec(text); m !== null; m = CARD.exec(text)) {
    let raw = m[0];
    // A card followed by another number group ("4111 1111 1111 1111 123"): retry without trailing groups.
    while (!validate(raw)) {
      const cut = Math.max(raw.lastIndexOf(' '), raw.lastIndexOf('-'));
      if (cut < 12) {
        raw = '';
        break;
      }
      raw = raw.slice(0, cut);
    }
    if (raw !== '') out.push({ category: 'pii', type: 'credit_card', start: m.index, end: m.index + raw.length, confidence: 0.95 });
  }
}
