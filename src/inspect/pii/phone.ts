// Telephone numbers in international and national written forms (ITU-T E.123 / E.164: at most 15
// digits). Digit groups must be separated, or prefixed with '+', so that ordinary numbers in prose
// ("1999 2000") are not taken for phones unless the text says "phone"/"tel" right before.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Finding } from '../../core/types.js';

// Groups are separated by exactly one separator, so a run of digits has a single way to split.
// Not followed by ':' and a digit either: "2000-04-16 11:34:35" is a date and a time, not a phone.
const PHONE =
  /(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,5}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w/]|[.:-]\d)|(?<![\w+])\+\d{7,15}(?!\w)/g;
/** A phone cue right before the number, on its line or at the end of the line before ("Phone:\n467 3395"). */
const PHONE_CUE =
  /\b(?:phone|ph|tel|telephone|mobile|mob|cell|call|called|calling|dial|ring|text|sms|fax|whatsapp|telefon|handy|téléphone|teléfono|telefono|landline|hotline|answering\s+at|reach\s+(?:me|us|him|her|them)\s+(?:at|on))\b\.?[^\n\d]{0,12}\n?[ \t]*$/i;
/** A phone label right after the number: "781 1704 office", "3660170548-Fax". */
const TRAILING_CUE = /^[ \t]*(?:-[ \t]*|\([ \t]*)?(?:office|mobile|cell|fax|home|work|desk|phone|tel|direct|landline)\b/i;
/** What a number is said to be when it is not a phone: it stays not a phone unless a phone cue says so. */
const OTHER_NUMBER_CUE =
  /\b(?:card|account|acct|order|invoice|tracking|iban|zip|postal|postcode|post\s+code|cep|plz|ssn|passport|licen[cs]e|serial|isbn|imei|ticket|ref(?:erence)?|id|apt|apartment|suite|unit|room)\b\.?(?:\s+(?:code|number|no|nr|#))?[^\n\d]{0,12}$/i;
const POSTAL_CUE = /\b(?:zip|postal|postcode|post\s+code|cep|plz)\b(?:\s+code)?[^\n\d]{0,12}$/i;
const DATE_SHAPED = /^\d{1,4}([-/.])\d{1,2}\1\d{1,4}$/;
/** An ISO date at the start: "2000-04-16 11" is a date and an hour. */
const ISO_DATE_START = /^\d{4}-\d{2}-\d{2}(?:\D|$)/;
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
/** A house number and a street after it ("0538 15 Millicent Drive", "712 21 36 Rue de Pologne"): an address. */
const STREET_AFTER =
  /^[ \t]+(?:(?:\p{Lu}[\p{L}'.-]*[ \t]+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Way|Parkway|Circle|Highway|Square|Trail|Crescent|Close|Alley|Row)\b|(?:\d+(?:st|nd|rd|th)[ \t]+(?:Street|St|Avenue|Ave)\b)|(?:rue|Rue|via|Via|calle|Calle|rua|Rua|avenue|Avenue|chemin|Chemin)\b)/u;

/** A phone cue around a candidate at [start, end): "street" when a street follows it (a house number, even after
 *  "call": "call a taxi to 14 3684 Court Street"), "cued" when a phone cue precedes or a phone label follows it. */
function cueOf(text: string, start: number, end: number): 'street' | 'cued' | 'none' {
  const after = text.slice(end, end + 40);
  if (STREET_AFTER.test(after)) return 'street';
  return PHONE_CUE.test(text.slice(Math.max(0, start - 40), start)) || TRAILING_CUE.test(after) ? 'cued' : 'none';
}

/**
 * Whether an uncued candidate is said to be some other number. A word before a number is no proof it is not a
 * phone: "ticket 415-555-0100" must not hide a real number from redaction, so a number valid in a numbering plan
 * stays a phone whatever the text calls it. Postal codes are the exception: never longer than eight digits, and
 * often valid local numbers somewhere. Asked only when the answer decides (it parses in up to 37 numbering plans).
 */
function saidToBeOther(text: string, start: number, end: number): boolean {
  const before = text.slice(Math.max(0, start - 40), start);
  if (!OTHER_NUMBER_CUE.test(before)) return false;
  const raw = text.slice(start, end);
  return (POSTAL_CUE.test(before) && digitCount(raw) <= 8) || !validIn(raw, PHONE_REGIONS);
}

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
    if (digits < 6 || digits > 15) continue;
    if (DATE_SHAPED.test(core) || ISO_DATE_START.test(core) || DOTTED_QUAD.test(core)) continue;
    const cue = cueOf(text, m.index, m.index + raw.length);
    if (cue === 'street') continue;
    const cued = cue === 'cued';
    // Six digits in groups ("61 51 81") only where the text says phone.
    if (digits < 7 && !cued) continue;
    const strong = raw.charCodeAt(0) === 43 || raw.includes('(') || /[.-]/.test(core) || core.split(' ').length >= 3;
    if (!strong && !cued) continue;
    if (!cued && saidToBeOther(text, m.index, m.index + raw.length)) continue;
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
    if (ISO_DATE_START.test(raw)) continue;
    const cue = cueOf(text, m.index, m.index + raw.length);
    if (cue === 'street' && !international) continue;
    const cued = cue === 'cued';
    const trunk = /^\(?0[1-9]/.test(raw);
    const nanp = /^1[ -.]\(?\d{3}/.test(raw);
    if (!international && !trunk && !nanp && !cued) continue;
    // Only a national form's cue decides whether it is some other number (an international one is dialled as written).
    if (!international && !cued && saidToBeOther(text, m.index, m.index + raw.length)) continue;
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
