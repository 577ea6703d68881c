// National identity numbers and passports, accepted only when their check digits hold (and, where the
// number embeds a birth date, the date exists). A bare run of digits with a weak check (one random number in
// ten or eleven passes) counts only when the text names the identifier just before it, as for US SSNs.
// Sources of the rules: the issuing authorities' published formats (each rule names its own); ICAO Doc 9303
// part 3 §4.9 for the machine-readable-zone check digits.
import type { Finding } from '../../core/types.js';
import { luhnValid } from './checksums.js';

interface Rule {
  type: 'national_id' | 'passport';
  /** Global regex; the whole match is the finding unless `span` says otherwise. */
  re: RegExp;
  /** The check digits (and embedded dates) hold. */
  valid(m: RegExpExecArray): boolean;
  /** Words that name the identifier, just before it (a regex source); they raise the confidence, and are required when `needsCue` says so. */
  cueWords: string;
  needsCue: boolean | ((m: RegExpExecArray) => boolean);
  /** Something every text holding such an identifier contains, cheaper to look for than the rule itself. */
  prefilter?: RegExp;
  /** The longest run of consecutive digits every match holds: a rule is skipped, with no regex pass at all, in a text
   *  whose longest run is shorter (prose with a phone number or a date has runs of two to four). */
  minDigitRun: number;
  confidence: number;
  /** Where the finding starts when it takes in text before the match (a passport MRZ's name line). */
  startOf?: (text: string, m: RegExpExecArray) => number;
}

const CUE_WINDOW = 48;

function digitsOf(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out.push(c - 48);
  }
  return out;
}

/** A real calendar day (leap years included). */
function dateExists(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= days[month - 1]!;
}

/** Any century: a two-digit year is checked against a leap year when it can be one (00 can, in 2000). */
function shortDateExists(yy: number, month: number, day: number): boolean {
  return dateExists(2000 + yy, month, day);
}

/** Remainder of a long decimal string modulo m, digit by digit. */
function modDecimal(digits: string, m: number): number {
  let r = 0;
  for (let i = 0; i < digits.length; i++) r = (r * 10 + (digits.charCodeAt(i) - 48)) % m;
  return r;
}

/** Spain, DNI and NIE (Real Decreto 1553/2005, Orden INT/2058/2008): the letter is the number mod 23. */
const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';
function dniValid(number: string, letter: string): boolean {
  return DNI_LETTERS[modDecimal(number, 23)] === letter.toUpperCase();
}

/** Italy, codice fiscale (DM 23 dicembre 1976, Allegato): the 16th character from odd/even position tables. */
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
const CF_OMOCODE = 'LMNPQRSTUV';
function codiceFiscaleValid(cf: string): boolean {
  const s = cf.toUpperCase();
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = s.charCodeAt(i);
    // Digits count as the letter with the same index (0 = A); omocodia letters stand for digits in digit places.
    const v = c >= 48 && c <= 57 ? c - 48 : c - 65;
    sum += i % 2 === 0 ? CF_ODD[v]! : v;
  }
  if (String.fromCharCode(65 + (sum % 26)) !== s[15]) return false;
  const digit = (ch: string) => (/\d/.test(ch) ? Number(ch) : CF_OMOCODE.indexOf(ch));
  const month = 'ABCDEHLMPRST'.indexOf(s[8]!) + 1;
  const dayCode = digit(s[9]!) * 10 + digit(s[10]!);
  const day = dayCode > 40 ? dayCode - 40 : dayCode; // women: day + 40
  return shortDateExists(digit(s[6]!) * 10 + digit(s[7]!), month, day);
}

/** France, NIR (INSEE): key = 97 − (13-digit number mod 97); Corsica's 2A / 2B count as 19 / 18. */
function nirValid(m: RegExpExecArray): boolean {
  const dept = m[4]!.toUpperCase();
  const deptNum = dept === '2A' ? '19' : dept === '2B' ? '18' : dept;
  const body = m[1]! + m[2]! + m[3]! + deptNum + m[5]! + m[6]!;
  return 97 - modDecimal(body, 97) === Number(m[7]);
}

/** Netherlands, BSN ("elfproef"): 9a + 8b + … + 2h − i ≡ 0 (mod 11). */
function bsnValid(d: number[]): boolean {
  if (d.length !== 9) return false;
  let sum = -d[8]!;
  for (let i = 0; i < 8; i++) sum += (9 - i) * d[i]!;
  return sum % 11 === 0 && sum !== 0;
}

/** Germany, Steuerliche Identifikationsnummer: ISO 7064 MOD 11,10 over the first ten digits. */
function steuerIdValid(d: number[]): boolean {
  if (d.length !== 11 || d[0] === 0) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (d[i]! + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product === 10 ? 0 : 11 - product;
  if (check !== d[10]) return false;
  // In the first ten digits exactly one digit repeats (twice or three times) (BZSt format rule).
  const counts = new Map<number, number>();
  for (let i = 0; i < 10; i++) counts.set(d[i]!, (counts.get(d[i]!) ?? 0) + 1);
  const repeats = [...counts.values()].filter((n) => n > 1);
  return repeats.length === 1 && repeats[0]! <= 3;
}

/** India, Aadhaar (UIDAI): Verhoeff check digit. */
const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1], [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1], [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
export function verhoeffValid(d: number[]): boolean {
  let c = 0;
  for (let i = 0; i < d.length; i++) c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![d[d.length - 1 - i]!]!]!;
  return c === 0;
}

/** China, resident identity card (GB 11643-1999): ISO 7064 MOD 11-2 over 17 digits, and a real birth date. */
function chinaIdValid(m: RegExpExecArray): boolean {
  const s = m[0].toUpperCase();
  if (!dateExists(Number(m[2]), Number(m[3]), Number(m[4])) || Number(m[2]) < 1900) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (s.charCodeAt(i) - 48) * weights[i]!;
  return '10X98765432'[sum % 11] === s[17];
}

/** Brazil, CPF (Receita Federal): two mod-11 check digits; all-equal digits are never issued. */
function cpfValid(d: number[]): boolean {
  if (d.length !== 11 || d.every((x) => x === d[0])) return false;
  for (const n of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[i]! * (n + 1 - i);
    const check = ((sum * 10) % 11) % 10;
    if (check !== d[n]) return false;
  }
  return true;
}

/** Sweden, personnummer / samordningsnummer (Skatteverket SKV 704): YYMMDD (day + 60 for the latter), Luhn over ten digits. */
function personnummerValid(m: RegExpExecArray): boolean {
  const day = Number(m[4]);
  if (!shortDateExists(Number(m[2]), Number(m[3]), day > 60 ? day - 60 : day)) return false;
  return luhnValid(m[2]! + m[3]! + m[4]! + m[6]!);
}

/** Finland, henkilötunnus (DVV): DDMMYY, century sign, individual number, check character mod 31. */
const HETU_CHECK = '0123456789ABCDEFHJKLMNPRSTUVWXY';
function hetuValid(m: RegExpExecArray): boolean {
  if (!shortDateExists(Number(m[3]), Number(m[2]), Number(m[1]))) return false;
  return HETU_CHECK[modDecimal(m[1]! + m[2]! + m[3]! + m[5]!, 31)] === m[6]!.toUpperCase();
}

/** Poland, PESEL: weights 1-3-7-9, and a real birth date (the month carries the century). */
function peselValid(d: number[]): boolean {
  if (d.length !== 11) return false;
  const w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += d[i]! * w[i]!;
  if ((10 - (sum % 10)) % 10 !== d[10]) return false;
  const mm = d[2]! * 10 + d[3]!;
  const month = mm % 20;
  const century = [1900, 2000, 2100, 2200, 1800][Math.floor(mm / 20)] ?? 0;
  return dateExists(century + d[0]! * 10 + d[1]!, month, d[4]! * 10 + d[5]!);
}

/** United Kingdom, National Insurance number (HMRC NIM39110): prefix rules, suffix A–D; no check digit. */
const NINO_BAD_PREFIX = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

/** ICAO 9303 part 3 §4.9: weights 7, 3, 1; digits as themselves, A–Z as 10–35, the filler < as 0. */
export function mrzCheckDigit(field: string): number {
  const w = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : 0;
    sum += v * w[i % 3]!;
  }
  return sum % 10;
}

/** The second line of a TD3 (passport) MRZ: document number, birth date, expiry and composite check digits all hold. */
function mrzLine2Valid(m: RegExpExecArray): boolean {
  const line = m[0];
  const check = (from: number, to: number, at: number) => {
    const c = line[at]!;
    return c === '<' ? /^<*$/.test(line.slice(from, to)) : mrzCheckDigit(line.slice(from, to)) === Number(c);
  };
  if (!check(0, 9, 9) || !check(13, 19, 19) || !check(21, 27, 27)) return false;
  const composite = line.slice(0, 10) + line.slice(13, 20) + line.slice(21, 43);
  return mrzCheckDigit(composite) === Number(line[43]);
}

export const RULES: Rule[] = [
  {
    type: 'national_id',
    re: /(?<![\w-])(\d{8})[- ]?([A-Za-z])(?![\w-])/g,
    valid: (m) => dniValid(m[1]!, m[2]!),
    prefilter: /\d{8}/,
    minDigitRun: 8,
    cueWords: '\\bdni\\b|documento nacional|\\bnif\\b',
    needsCue: false,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w-])([XYZxyz])[- ]?(\d{7})[- ]?([A-Za-z])(?![\w-])/g,
    valid: (m) => dniValid(String('XYZ'.indexOf(m[1]!.toUpperCase())) + m[2]!, m[3]!),
    prefilter: /[XYZxyz][- ]?\d{7}/,
    minDigitRun: 7,
    cueWords: '\\bnie\\b|extranjero',
    needsCue: false,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w])[A-Za-z]{6}[\dLMNP-Vlmnp-v]{2}[ABCDEHLMPR-Tabcdehlmpr-t][\dLMNP-Vlmnp-v]{2}[A-Za-z][\dLMNP-Vlmnp-v]{3}[A-Za-z](?!\w)/g,
    valid: (m) => codiceFiscaleValid(m[0]),
    // Birth year and month letter: omocodia (letters standing for digits) replaces the year digits last.
    prefilter: /\d{2}[ABCDEHLMPR-Tabcdehlmpr-t][\dLMNP-Vlmnp-v]/,
    minDigitRun: 2,
    cueWords: 'codice fiscale|\\bcf\\b',
    needsCue: false,
    confidence: 0.9,
  },
  {
    type: 'national_id',
    re: /(?<![\w.])([12])[ .]?(\d{2})[ .]?(0[1-9]|1[0-2]|[2-9]\d)[ .]?(\d{2}|2[ABab])[ .]?(\d{3})[ .]?(\d{3})[ .]?(\d{2})(?![\w.])/g,
    valid: nirValid,
    minDigitRun: 3,
    cueWords: 's[ée]curit[ée] sociale|\\bnir\\b|insee',
    needsCue: false,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w.-])\d{4}[ .]?\d{2}[ .]?\d{3}(?![\w.-])/g,
    valid: (m) => bsnValid(digitsOf(m[0])),
    minDigitRun: 4,
    cueWords: '\\bbsn\\b|burgerservicenummer|sofinummer',
    needsCue: true,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w.-])\d{2}[ ]?\d{3}[ ]?\d{3}[ ]?\d{3}(?![\w.-])/g,
    valid: (m) => steuerIdValid(digitsOf(m[0])) || peselValid(digitsOf(m[0])),
    minDigitRun: 3,
    cueWords: 'steuer-?\\s?id|steuerliche identifikationsnummer|identifikationsnummer|idnr|\\bpesel\\b',
    needsCue: true,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w-])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\w-])/g,
    valid: (m) => verhoeffValid(digitsOf(m[0])),
    minDigitRun: 4,
    cueWords: 'aadhaa?r|\\buidai\\b|\\buid\\b|आधार',
    needsCue: true,
    confidence: 0.85,
  },
  {
    type: 'national_id',
    re: /(?<![\w])(\d{6})(\d{4})(\d{2})(\d{2})(\d{3})[\dXx](?![\w])/g,
    valid: chinaIdValid,
    prefilter: /\d{17}/,
    minDigitRun: 17,
    cueWords: '身份证|resident identity|\\bid card\\b',
    needsCue: false,
    confidence: 0.85,
  },
  {
    type: 'national_id',
    re: /(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w.-])/g,
    valid: (m) => cpfValid(digitsOf(m[0])),
    minDigitRun: 3,
    cueWords: '\\bcpf\\b',
    needsCue: false,
    confidence: 0.9,
  },
  {
    type: 'national_id',
    re: /(?<![\w.-])\d{11}(?![\w.-])/g,
    valid: (m) => cpfValid(digitsOf(m[0])),
    minDigitRun: 11,
    cueWords: '\\bcpf\\b',
    needsCue: true,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w-])(\d{2})?(\d{2})(\d{2})(\d{2})([-+])(\d{4})(?![\w-])/g,
    valid: personnummerValid,
    prefilter: /\d{6}[-+]\d{4}/,
    minDigitRun: 6,
    cueWords: 'personnummer|samordningsnummer',
    needsCue: false,
    confidence: 0.8,
  },
  {
    type: 'national_id',
    re: /(?<![\w-])(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Ya-y])(?![\w-])/g,
    valid: hetuValid,
    prefilter: /\d{6}[-+A-FU-Y]\d{3}/,
    minDigitRun: 6,
    cueWords: 'henkilötunnus|\\bhetu\\b|personbeteckning',
    needsCue: false,
    confidence: 0.85,
  },
  {
    type: 'national_id',
    re: /(?<![\w])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![\w])/g,
    valid: (m) => !NINO_BAD_PREFIX.has(m[1]!),
    minDigitRun: 2,
    cueWords: 'national insurance|\\bnino\\b|\\bni (?:no|number)',
    // Spaced ("AB 12 34 56 C") is the printed form; compact is a product code as often as not.
    needsCue: (m) => !m[0].includes(' '),
    confidence: 0.75,
  },
  {
    type: 'national_id',
    re: /(?<![\w-])\d{3}[- ]\d{3}[- ]\d{3}(?![\w-])/g,
    valid: (m) => luhnValid(digitsOf(m[0]).join('')),
    minDigitRun: 3,
    cueWords: 'social insurance|\\bsin\\b|num[ée]ro d.assurance sociale|\\bnas\\b',
    needsCue: true,
    confidence: 0.8,
  },
  {
    type: 'passport',
    re: /(?<![A-Z0-9<])[A-Z0-9<]{9}\d[A-Z<]{3}\d{6}\d[MFX<]\d{6}\d[A-Z0-9<]{14}[\d<]\d(?![A-Z0-9<])/g,
    valid: mrzLine2Valid,
    prefilter: /\d{7}[MFX<]\d{7}/,
    // The line above, when it is the MRZ's first line (document code P, issuing state, the holder's name).
    startOf: (text, m) => {
      const above = /P[A-Z<]{43}\r?\n$/.exec(text.slice(Math.max(0, m.index - 46), m.index));
      return above ? m.index - above[0].length : m.index;
    },
    minDigitRun: 7,
    cueWords: '',
    needsCue: false,
    confidence: 0.95,
  },
];

interface Compiled {
  rule: Rule;
  near: RegExp | null;
  anywhere: RegExp | null;
}

const COMPILED: Compiled[] = RULES.map((rule) => ({
  rule,
  near: rule.cueWords ? new RegExp(`(?:${rule.cueWords})[^\\n\\d]{0,24}$`, 'i') : null,
  anywhere: rule.cueWords ? new RegExp(rule.cueWords, 'i') : null,
}));

/** A passport number after its name: 6–9 letters and digits with at least one digit (ICAO 9303 document numbers). */
const PASSPORT_WORD = /\b(?:passport|passeport|pasaporte|passaporto|paszport|reisepass|reisepassnummer|passnummer)\b/gi;
const PASSPORT_NUMBER_AFTER = /(?:\s+(?:no|nr|number|num[ée]ro|número|numer|nummer)\b\.?)?\s*(?:[:#=]|\b(?:is|es|est|ist|è)\b)?\s*((?=[A-Za-z]{0,8}\d)[A-Za-z0-9]{6,9})(?!\w)/iy;

function findCuedPassportNumbers(text: string, out: Finding[]): void {
  PASSPORT_WORD.lastIndex = 0;
  for (let w = PASSPORT_WORD.exec(text); w !== null; w = PASSPORT_WORD.exec(text)) {
    PASSPORT_NUMBER_AFTER.lastIndex = w.index + w[0].length;
    const m = PASSPORT_NUMBER_AFTER.exec(text);
    if (!m) continue;
    const end = PASSPORT_NUMBER_AFTER.lastIndex;
    out.push({ category: 'pii', type: 'passport', start: end - m[1]!.length, end, confidence: 0.7 });
  }
}

const DIGIT_RUN = /\d+/g;

/** Length of the longest run of ASCII digits (what `\d` matches without the `u` flag); a regex finds the runs
 *  faster than a character loop reads 4 KB of prose. */
export function longestDigitRun(text: string): number {
  let longest = 0;
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(text); m !== null; m = DIGIT_RUN.exec(text)) if (m[0].length > longest) longest = m[0].length;
  return longest;
}

export function findNationalIds(text: string, out: Finding[]): void {
  const digitRun = longestDigitRun(text);
  for (const { rule, near, anywhere } of COMPILED) {
    if (digitRun < rule.minDigitRun) continue;
    if (rule.needsCue === true && !anywhere!.test(text)) continue;
    if (rule.prefilter && !rule.prefilter.test(text)) continue;
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      if (!rule.valid(m)) continue;
      const cued = near !== null && near.test(text.slice(Math.max(0, m.index - CUE_WINDOW), m.index));
      const needsCue = typeof rule.needsCue === 'function' ? rule.needsCue(m) : rule.needsCue;
      if (needsCue && !cued) continue;
      const start = rule.startOf ? rule.startOf(text, m) : m.index;
      out.push({ category: 'pii', type: rule.type, start, end: m.index + m[0].length, confidence: cued ? Math.min(0.95, rule.confidence + 0.1) : rule.confidence });
    }
  }
  findCuedPassportNumbers(text, out);
}
