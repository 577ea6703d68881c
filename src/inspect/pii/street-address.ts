// Postal street addresses where the form itself gives them away: a house number followed by
// capitalised words and a street-type word ("221 Baker Street", "1600 Pennsylvania Ave NW"), street
// words that carry the type ("Floridusgasse 89", "Rua João Pessoa 1636"), and post-office boxes.
// Free-form addresses without such a marker are out of reach of a deterministic method.
import type { Finding } from '../../core/types.js';
import { scanWithLeftBoundary } from '../left-boundary.js';

const SUFFIX =
  '(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Ter|Way|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Close|Alley|Row)';
const UNIT = '(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\\.?[ ]?[A-Za-z0-9-]{1,6})?';
const WORD = "\\p{Lu}[\\p{L}'.-]{0,30}";
const US_STYLE = `\\d{1,6}(?:[ ]${WORD}){1,4}[ ]${SUFFIX}\\.?(?:[ ](?:N|S|E|W|NE|NW|SE|SW)\\b)?${UNIT}`;
const SUFFIXED_WORD = `\\p{Lu}\\p{Ll}{1,30}(?:straße|strasse|gasse|weg|allee|platz|vej|gade|gatan|vägen|veien|vegur|laan|straat|utca)\\.?[ ]\\d{1,5}[a-z]?${UNIT}`;
const PREFIXED = `(?:Rua|Avenida|Av\\.|Calle|Carrer|Via|Viale|Vicolo|Piazza|Rue|Boulevard|Chemin|ul\\.|ulica)(?:[ ]${WORD}){1,4}[ ]\\d{1,5}${UNIT}`;
const PO_BOX = `(?:P\\.?[ ]?O\\.?[ ]?Box|PSC)[ ]\\d{1,6}(?:,[ ]Box[ ]\\d{1,6})?`;
// Not right after a letter or digit: checked by scanWithLeftBoundary, not in the pattern.
const ADDRESS = new RegExp(`(?:${US_STYLE}|${SUFFIXED_WORD}|${PREFIXED}|${PO_BOX})(?![\\p{L}\\d])`, 'gu');
const AFTER_LETTER_OR_DIGIT = /(?<=[\p{L}\d])/uy;

export function findStreetAddresses(text: string, out: Finding[]): void {
  scanWithLeftBoundary(text, ADDRESS, AFTER_LETTER_OR_DIGIT, (m) => {
    out.push({ category: 'pii', type: 'street_address', start: m.index, end: m.index + m[0].length, confidence: 0.7 });
  });
}
