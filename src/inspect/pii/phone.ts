// Telephone numbers in international and national written forms (ITU-T E.123 / E.164: at most 15
// digits). Digit groups must be separated, or prefixed with '+', so that ordinary numbers in prose
// ("1999 2000") are not taken for phones unless the text says "phone"/"tel" right before.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Finding } from '../../core/types.js';

// Groups are separated by exactly one separator, so a run of digits has a single way to split.
const PHONE =
  /(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,5}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w/]|[.-]\d)|(?<![\w+])\+\d{7,15}(?!\w)/g;
const PHONE_CUE = /\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|telefon|handy)\b[^\n\d]{0,12}$/i;
const DATE_SHAPED = /^\d{1,4}([-/.])\d{1,2}\1\d{1,4}$/;
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function findPhones(text: string, out: Finding[]): void {
  const before = out.length;
  findShapedPhones(text, out);
  // A candidate the shape rule already found whole is not parsed again (a parse costs µs); one it found only
  // part of still is, so the longer valid number wins the overlap.
  const shaped = new Map<number, number>();
  for (let i = before; i < out.length; i++) shaped.set(out[i]!.start, out[i]!.end);
  findNumberingPlanPhones(text, out, shaped);
}

function findShapedPhones(text: string, out: Finding[]): void {
  PHONE.lastIndex = 0;
  for (let m = PHONE.exec(text); m !== null; m = PHONE.exec(text)) {
    const raw = m[0];
    const core = raw.replace(/[ ]?(?:x|ext\.?)[ ]?\d{1,5}$/, '');
    let digits = 0;
    for (let i = 0; i < core.length; i++) {
      const c = core.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
    }
    if (digits < 7 || digits > 15) continue;
    if (DATE_SHAPED.test(core) || DOTTED_QUAD.test(core)) continue;
    const strong = raw.charCodeAt(0) === 43 || raw.includes('(') || /[.-]/.test(core) || core.split(' ').length >= 3;
    const cued = PHONE_CUE.test(text.slice(Math.max(0, m.index - 32), m.index));
    if (!strong && !cued) continue;
    out.push({ category: 'pii', type: 'phone', start: m.index, end: m.index + raw.length, confidence: cued ? 0.85 : strong && raw.charCodeAt(0) === 43 ? 0.8 : 0.6 });
  }
}

// National numbering plans, through libphonenumber's metadata (libphonenumber-js "max": the ranges each
// country actually assigns), for the forms the shape rule above cannot tell from other numbers: single-digit
// and long groups ("+81 3-1234-5678", "+49 30 901820"), national trunk forms ("030 901820", "07911 123456",
// "06 12 34 56 78") and NANP "1-800-…". A candidate is reported only when it is a valid number: with its
// country code, or with a leading trunk 0 / "1-" in one of REGIONS, or after a phone cue.
const CANDIDATE = /(?<![\w+./-])(?:\+|\(\+?)?\d[\d \-.()]{4,20}\d(?![\w/]|[.-]\d)/g;

/** Where national forms are recognised: the countries most users write from (37 numbering plans). */
export const PHONE_REGIONS: readonly CountryCode[] = [
  'US', 'GB', 'DE', 'FR', 'IN', 'CA', 'AU', 'NL', 'IT', 'ES', 'JP', 'CN', 'BR', 'MX', 'CH', 'AT', 'BE', 'IE', 'SE', 'NO',
  'DK', 'FI', 'PL', 'CZ', 'PT', 'NZ', 'SG', 'HK', 'KR', 'TW', 'ZA', 'IL', 'AE', 'TR', 'AR', 'PH', 'NG',
];
const NANP: readonly CountryCode[] = ['US', 'CA'];
/** Parses at most this many candidates per text: a page of numbers costs bounded time (the shape rule still runs on all). */
const MAX_CANDIDATES = 256;

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function validIn(candidate: string, regions: readonly CountryCode[] | undefined): boolean {
  if (regions === undefined) return parsePhoneNumberFromString(candidate)?.isValid() === true;
  for (const r of regions) if (parsePhoneNumberFromString(candidate, r)?.isValid() === true) return true;
  return false;
}

function findNumberingPlanPhones(text: string, out: Finding[], shaped: ReadonlyMap<number, number>): void {
  let parsed = 0;
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null && parsed < MAX_CANDIDATES; m = CANDIDATE.exec(text)) {
    let raw = m[0].replace(/[ .\-(]+$/, '');
    if ((shaped.get(m.index) ?? -1) >= m.index + raw.length) continue;
    const international = raw.startsWith('+') || raw.startsWith('(+');
    const cued = PHONE_CUE.test(text.slice(Math.max(0, m.index - 32), m.index));
    const trunk = /^\(?0[1-9]/.test(raw);
    const nanp = /^1[ -.]\(?\d{3}/.test(raw);
    if (!international && !trunk && !nanp && !cued) continue;
    const regions = international ? undefined : nanp && !trunk ? NANP : PHONE_REGIONS;
    // "call 030 901820 2 times": retry without trailing groups until the number is valid or too short.
    for (;;) {
      const digits = digitCount(raw);
      if (digits < 6 || DATE_SHAPED.test(raw) || DOTTED_QUAD.test(raw)) break;
      if (digits <= 15) {
        parsed++;
        if (validIn(raw, regions)) {
          out.push({ category: 'pii', type: 'phone', start: m.index, end: m.index + raw.length, confidence: international || cued ? 0.85 : 0.75 });
          break;
        }
      }
      const cut = Math.max(raw.lastIndexOf(' '), raw.lastIndexOf('-'), raw.lastIndexOf('.'));
      if (cut <= 0) break;
      raw = raw.slice(0, cut).replace(/[ .\-(]+$/, '');
    }
  }
}
