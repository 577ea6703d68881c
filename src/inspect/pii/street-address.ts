// Postal street addresses where the form itself gives them away, with the lines that complete them:
// - a street line: a house number, capitalised name words and a street type ("221 Baker Street", "1600
//   Pennsylvania Ave NW", "4589 40th Street"; USPS Publication 28 types, street-types.ts), a street word that
//   carries its type ("Floridusgasse 89", "Laukaantie 80", "Trenerys gate 232", "Kálmán Imre u. 12."), a street
//   word before the name ("Rua João Pessoa 1636", "12 rue de la Paix", "ul. Słowicza 10"), a post-office or
//   military box ("PO Box 1234", "PSC 7589, Box 0572", "Unit 0822 Box 8858");
// - a European "name number" line ("Allika 46") only inside an address block: after a building number and
//   followed by a unit or a postcode line, as in a letter's address;
// - then the unit, city, region, postcode and country lines or comma-separated parts that follow ("Apt. 297",
//   "Springfield, IL 62704", "10115 Berlin", "SW1A 1AA", "APO AE 20040"), so that the whole address is covered.
// Free-form addresses without such a marker are out of reach of a deterministic method.
import type { Finding } from '../../core/types.js';
import { scanWithLeftBoundary } from '../left-boundary.js';
import { EVERYDAY_STREET_TYPES, STREET_TYPES } from './street-types.js';

const TYPE = `(?:${STREET_TYPES.join('|')})`;
const WORD = "\\p{Lu}[\\p{L}'’.-]{0,30}";
const ORDINAL = '\\d{1,3}(?:st|nd|rd|th)';
/** Faker-style and real addresses sometimes put a building or block number before the house number. */
const LEAD = '(?:\\d{1,6}[ ])?';
const US_STYLE = `${LEAD}\\d{1,6}[A-Z]?(?:[ ](?:${WORD}|${ORDINAL})){1,4}[ ](${TYPE})\\.?(?:[ ](?:N|S|E|W|NE|NW|SE|SW)\\b)?`;
const SUFFIXED_WORD =
  `${LEAD}\\p{Lu}\\p{Ll}{1,30}(?:straße|strasse|str\\.|gasse|weg|allee|platz|damm|vej|vænget|gade|gatan|gata|vägen|veien|vegen|vegur|` +
  `laan|straat|steeg|gracht|plein|utca|katu|tie|kuja|polku|väylä|stræti)\\.?[ ]\\d{1,5}[a-z]?`;
/** A street word with its type, typed in lower case, after a building number ("255 hersnapvej 18", "2407 tawastintie 6"). */
const LOWER_SUFFIX = '(?:vej|gade|gatan|vägen|veien|vegen|tie|katu|kuja|straße|strasse|gasse|straat)';
const LOWER_SUFFIXED = `\\d{1,6}[ ]\\p{Ll}{2,30}${LOWER_SUFFIX}[ ]\\d{1,5}[a-z]?`;
/** Street types written as a word of their own after the name (Nordic, German, Estonian, Hungarian). */
const SEPARATE_TYPES = 'gate|vei|veien|vej|gade|gata|gatan|vägen|terrasse|allé|u\\.|utca|út|útja|tér|krt\\.|rkp\\.|köz|Strasse|Straße|Gasse|Allee|tee|põik|maantee|puiestee';
const TWO_WORD =
  `${LEAD}\\p{Lu}\\p{Ll}{1,30}(?:[ ]\\p{Lu}\\p{Ll}{1,30})?[ ](?:${SEPARATE_TYPES})[ ]\\d{1,5}\\.?`;

const PARTICLE = "(?:de|da|do|dos|das|del|della|delle|dello|dei|degli|dal|dalla|di|du|des|la|le|les|e|y|[dl]['’])";
/** Street words written before the name (Portuguese, Spanish, Italian, Catalan, French, Polish, Slovene/Croatian). */
const PREFIX_WORDS =
  'Rua|Rúa|Avenida|Avda\\.|Av\\.|Calle|C/|Paseo|Camino|Calzada|Rambla|Ronda|Praça|Travessa|Strada|Carrer|Via|Viale|Vicolo|Piazza|Piazzale|Corso|Largo|' +
  'Rue|Boulevard|Chemin|Allée|Impasse|Quai|ul\\.|ulica|Ulica|Aleja|Plac|Trg|trg';
const PREFIXED =
  `${LEAD}(?:${PREFIX_WORDS})` +
  `(?:[ ]${PARTICLE})*(?:[ ]${WORD}(?:[ ]${PARTICLE})*){1,5}[ ]\\d{1,5}[a-z]?`;
const FRENCH = `${LEAD}\\d{1,4}(?:[ ]?(?:bis|ter))?,?[ ](?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|Av\\.?|Avenida|Rua|Rúa|Calle|Rue|Avenue|Boulevard|Place|Chemin|Allée|Impasse|Quai|Route|Cours)(?:[ ]${PARTICLE}|[ ][dl]['’])*[ ]?${WORD}(?:[ ]${PARTICLE}*[ ]?${WORD}){0,3}`;
/** A street word that is no English word, after a house number, whose name may be written in lower case ("770 26 rue
 *  des lieutemants Thomazo", "2613 avenida praia 1"): up to four words, and only with a particle after the street word,
 *  the street word capitalised, or a house number closing the name ("3 rue is fine" is no address). */
const LOWER_NAME = "(?:[ ][\\p{L}'’.-]{1,30}){1,4}?";
const LOWER_NAME_END = '(?=[ ]*(?:[,\\n]|$|\\.(?:\\s|$)|[ ](?:apt|suite|Apt|Suite)\\b))';
const NUMBER_FIRST_LOWER =
  `${LEAD}\\d{1,4}(?:[ ]?(?:bis|ter))?,?[ ](?:(?:rue|rúa|avenida)[ ]${PARTICLE}${LOWER_NAME}(?:[ ]\\d{1,5}[a-z]?)?|` +
  `(?:Rue|Rúa|Avenida)${LOWER_NAME}(?:[ ]\\d{1,5}[a-z]?)?|(?:rue|rúa|avenida)${LOWER_NAME}[ ]\\d{1,5}[a-z]?)${LOWER_NAME_END}`;
const BOX = `${LEAD}(?:P\\.?[ ]?O\\.?[ ]?Box|PSC|Unit)[ ]\\d{1,6}(?:,?[ ]Box[ ]\\d{1,6})?|(?:psc|unit)[ ]\\d{1,6},?[ ]box[ ]\\d{1,6}`;
/** "the corner of Kuusiku 7 and Alexander Flat": two streets, the first with a house number (the finding starts at
 *  the first street: "corner of", in lower case, may already have been sent when a stream reaches the street). */
const CORNER_CUE = 'corner of ';
const CORNER = `corner[ ]of[ ](?:[^\\n,\\d]{1,40}\\d{1,5}\\.?|\\d{1,5}[ ][^\\n,\\d]{1,40}?)(?:[ ](?:St\\.|str\\.?))?[ ]and[ ]\\p{Lu}[\\p{L}'’-]*(?:[ ]\\p{Lu}[\\p{L}'’-]*){0,2}(?:[ ]St\\.)?`;
const STREET = `${CORNER}|${US_STYLE}|${SUFFIXED_WORD}|${LOWER_SUFFIXED}|${TWO_WORD}|${PREFIXED}|${NUMBER_FIRST_LOWER}|${FRENCH}|(${BOX})`;
// Not right after a letter, a digit or a dot ("v1.2.3 Main St" is a version): checked by scanWithLeftBoundary.
const ADDRESS = new RegExp(`(?:${STREET})(?![\\p{L}\\d])`, 'gu');
/**
 * "20789 Allika 46": a building number, a street name and a house number, and "USNS Møller" (a ship's address),
 * trusted only inside an address block (a unit or postcode part follows) or after a phrase that announces one.
 */
const BLOCK_STREET = new RegExp(
  `\\d{1,6}[ ]\\p{Lu}\\p{Ll}{2,30}(?:-\\p{Lu}?\\p{Ll}{1,30})?(?:[ ](?:\\p{Ll}{1,3}[ ])?\\p{Lu}\\p{Ll}{1,30}){0,2}[ ]\\d{1,5}[a-z]?(?![\\p{L}\\d])|(?:USNS|USNV|USS|USCGC)[ ]\\p{Lu}\\p{Ll}+(?![\\p{L}\\d])`,
  'gu',
);
const ADDRESS_CUE = /(?:address(?:es)?(?: is)?:?|lives? (?:at|in|on)|lived (?:at|in)|located at|(?:sent|ship(?:ped)?|deliver(?:ed)?|mail(?:ed)?) to|off at|offices? (?:at|in)|meet (?:me )?at|is at|are at)[ ]*$/iu;
const CUE_WINDOW = 40;
const MONTH_AFTER_NUMBER = /^\d{1,6}[ ](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/u;
const AFTER_LETTER_OR_DIGIT = /(?<=[\p{L}\d.])/uy;

/** Between the parts of an address: a comma, or a line break with the quoting or indentation of the next line. */
const SEP_COMMA = '[ \\t]*\\n?[ \\t]*,[ ]?';
const SEP_LINE = '[ \\t]{0,8}\\n(?:[ \\t>?*-]{0,8}\\n)?[ \\t>?*-]{0,8}';
const UNIT = `(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Box|apt|suite|unit|#)\\.?[ ]?[A-Za-z0-9-]{1,6}`;
const POSTCODE = '(?:\\d{5}(?:-\\d{4})?|\\d{4}|\\d{2}-\\d{3}|\\d{3}[ ]\\d{2}|[A-Z]{1,2}\\d[A-Z\\d]?[ ]?\\d[A-Z]{2}|[A-Z]\\d[A-Z][ ]?\\d[A-Z]\\d)';
const PLACE_WORD = "(?:\\p{Lu}[\\p{L}'’.-]{0,30}|\\(\\p{L}{1,30}\\)|\\p{Ll}{1,4})";
/** A city, region or country, with a region code and a postcode after it, or a postcode before it ("10115 Berlin"). */
const PLACE = `(?:${POSTCODE}[ ])?\\p{Lu}[\\p{L}'’.-]{0,30}(?:[ ]${PLACE_WORD}){0,4}(?:,?[ ]\\p{Lu}{2,3})?(?:,?[ ]${POSTCODE})?`;
/** A postcode line alone, a region code alone (", LN"), or a military post office ("APO AE 20040"). */
const CODE = `(?:(?:APO|FPO|DPO)[ ][A-Z]{2}[ ]\\d{5}|(?:apo|fpo|dpo)[ ][a-z]{2}[ ]\\d{5}|\\p{Lu}{2,3}(?:[ ]${POSTCODE})?|${POSTCODE})`;
const PART_END = '(?=[ \\t]*(?:[,\\n]|$|\\.(?:\\s|$)))';
const NEXT_UNIT = new RegExp(`(?:,?[ ]|${SEP_LINE})(${UNIT})(?![\\p{L}\\d])`, 'uy');
// A place part ends the line or the comma-separated part; one that ends with a code or postcode may end anywhere
// ("…, IL 62704 please").
const NEXT_PLACE = new RegExp(`(?:${SEP_COMMA}|${SEP_LINE}|[ ])(?:(${PLACE})${PART_END}|((?:${PLACE}[ ])?${CODE})(?![\\p{L}\\d]))`, 'uy');
const HAS_POSTCODE = new RegExp(`(?:^|[ ])${POSTCODE}$`, 'u');
const CODE_ONLY = new RegExp(`^${CODE}$`, 'u');
const MAX_PARTS = 5;

/** Extends an address from `end` over the unit and place parts that follow; says whether a unit or postcode was among them. */
function extend(text: string, end: number): { end: number; unitOrPostcode: boolean } {
  let unitOrPostcode = false;
  let afterUnit = false;
  for (let parts = 0; parts < MAX_PARTS; parts++) {
    NEXT_UNIT.lastIndex = end;
    if (NEXT_UNIT.exec(text) !== null) {
      end = NEXT_UNIT.lastIndex;
      unitOrPostcode = afterUnit = true;
      continue;
    }
    NEXT_PLACE.lastIndex = end;
    const p = NEXT_PLACE.exec(text);
    if (p === null) break;
    const part = p[1] ?? p[2]!;
    // On the same line after a bare space, only a code ("Calgary AB" after a unit, "… St 62704") continues it.
    if (p[0][0] === ' ' && !afterUnit && !CODE_ONLY.test(part)) break;
    end = NEXT_PLACE.lastIndex;
    afterUnit = false;
    // A postcode closes the address: what follows it is the letter's next line, not more of the address.
    if (HAS_POSTCODE.test(part)) return { end, unitOrPostcode: true };
    if (/^\d/u.test(part)) unitOrPostcode = true;
  }
  return { end, unitOrPostcode };
}

/** A unit written before the street line ("Apt. 675 62314 Mellemvej 32", as in a form's one-line address). */
// Capitalised and numbered only: a stream holds such tokens back until the street line after them is read.
const UNIT_BEFORE = /(?<![\p{L}\d])(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm)\.?[ ]?#?[A-Z]?\d{1,5}[A-Z]?[ ]$/u;
const UNIT_BEFORE_WINDOW = 16;

function withUnitBefore(text: string, start: number): number {
  const m = UNIT_BEFORE.exec(text.slice(Math.max(0, start - UNIT_BEFORE_WINDOW), start));
  return m === null ? start : start - m[0].length;
}

export function findStreetAddresses(text: string, out: Finding[]): void {
  const found: Finding[] = [];
  scanWithLeftBoundary(text, ADDRESS, AFTER_LETTER_OR_DIGIT, (m) => {
    const next = extend(text, m.index + m[0].length);
    // A street type that is also an everyday word ("10 Best Ways", "Python 3 Crash Course") only with the unit or
    // place parts that make it an address.
    const type = m[1];
    if (type !== undefined && EVERYDAY_STREET_TYPES.has(type) && next.end === m.index + m[0].length) return;
    const start = text.startsWith(CORNER_CUE, m.index) ? m.index + CORNER_CUE.length : withUnitBefore(text, m.index);
    found.push({ category: 'pii', type: 'street_address', start, end: next.end, confidence: 0.7 });
  });
  scanWithLeftBoundary(text, BLOCK_STREET, AFTER_LETTER_OR_DIGIT, (m) => {
    if (found.some((f) => f.start <= m.index && m.index < f.end)) return;
    // "24 August 9, 2002", "11 Sep 2002": a date, not a building number and a street.
    if (MONTH_AFTER_NUMBER.test(m[0])) return;
    const next = extend(text, m.index + m[0].length);
    if (next.unitOrPostcode || ADDRESS_CUE.test(text.slice(Math.max(0, m.index - CUE_WINDOW), m.index))) found.push({ category: 'pii', type: 'street_address', start: withUnitBefore(text, m.index), end: next.end, confidence: 0.6 });
  });
  out.push(...found);
}

/**
 * How far past an address (or the head of one) more text may still change it: one separator and one place part, each
 * bounded in the patterns above (8 + 1 + 9 + 8 characters, a postcode, a region code and five words of at most 31).
 */
const MAX_OPEN_TAIL = 300;
const DIGIT = /\d/g;
const LEADING_NUMBER = /^\d{1,6}[ ]/u;
/** The head of a street line whose words are not all held by a stream as they arrive (lower-case street words). */
const OPENER = new RegExp(
  `(?:\\d{1,6}[ ])?(?:\\d{1,4}(?:[ ]?(?:bis|ter))?,?[ ](?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|rúa|avenida|Rúa|Avenida)[ ]|` +
    `(?:${PREFIX_WORDS})[ ]|\\d{1,6}[ ]\\p{Ll}{2,30}${LOWER_SUFFIX}(?![\\p{L}])|` +
    `\\p{Lu}\\p{Ll}{1,30}(?:[ ]\\p{Lu}\\p{Ll}{1,30})?[ ](?:${SEPARATE_TYPES})(?![\\p{L}])|` +
    // A lower-case military box ("psc 5420, box 2708"), still arriving: nothing in it is held as a capitalised token.
    `(?:psc|unit)(?:[ ]\\d{0,6}(?:,?[ ]?(?:b|bo|box)?[ ]?\\d{0,6})?)?$|` +
    // A "name number" line (BLOCK_STREET) still arriving with a lower-case particle in its name ("221 Baker Street on
    // Yesterday 9747 6578"): the particle is no capitalised token, so without this the head before it was sent.
    `\\d{1,6}[ ]\\p{Lu}\\p{Ll}{2,30}(?:-\\p{Lu}?\\p{Ll}{0,30})?(?:[ ]\\p{Lu}\\p{Ll}{0,30}){0,2}[ ]\\p{Ll}{1,3}(?:[ ]\\p{Lu}\\p{Ll}{0,30}){0,2}[ ]?$)`,
  'gu',
);

/**
 * Where a stream holds an address (or its head) back from: a unit may stand before it or before the street word after
 * its building number ("Room 5 psc …", which the whole text reads as a unit and a box); holding from the earlier of the
 * two never sends what the whole text would redact.
 */
function holdFrom(text: string, index: number, match: string): number {
  const afterNumber = index + (LEADING_NUMBER.exec(match)?.[0].length ?? 0);
  return Math.min(withUnitBefore(text, index), withUnitBefore(text, afterNumber));
}

/**
 * For the stream redactor: the earliest index of `text` (at or after `floor`) that more text could still make part of
 * an address — an address or a "name number" line whose unit and place parts may continue, or the head of a street
 * line not yet complete. A streamed answer holds back from there, so that it is redacted as the whole answer is.
 */
export function openAddressStart(text: string, floor: number): number {
  let open = text.length;
  const near = (end: number): boolean => text.length - extend(text, end).end <= MAX_OPEN_TAIL;
  // Every street line holds a digit; most stream windows hold none.
  DIGIT.lastIndex = floor;
  if (DIGIT.test(text)) for (const pattern of [ADDRESS, BLOCK_STREET]) {
    pattern.lastIndex = floor;
    for (let m = pattern.exec(text); m !== null && m.index < open; m = pattern.exec(text)) if (near(m.index + m[0].length)) open = Math.max(floor, holdFrom(text, m.index, m[0]));
  }
  OPENER.lastIndex = Math.max(floor, text.length - MAX_OPEN_TAIL);
  const head = OPENER.exec(text);
  if (head !== null && head.index < open) {
    open = Math.max(floor, holdFrom(text, head.index, head[0]));
  }
  // "corner of" may lie in text already sent: hold from where the streets begin.
  const corner = text.lastIndexOf(CORNER_CUE);
  if (corner !== -1 && text.length - corner <= MAX_OPEN_TAIL) open = Math.min(open, Math.max(floor, corner + CORNER_CUE.length));
  return open;
}

