// Dates of birth. A date alone is not personal data worth a finding (release dates, deadlines), so a
// date counts only when a birth cue ("born", "DOB", "date of birth", "geboren") stands just before it.
import type { Finding } from '../../core/types.js';

const CUE = /\b(?:born|birth(?:day|date)?|d\.?o\.?b\.?|geboren|geburtsdatum|né|née)\b/gi;
const MONTH = '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
// Numeric (d/m/y, m/d/y, y-m-d) and written ("12 March 1980", "March 12, 1980") forms; one pass, bounded.
const DATE = new RegExp(
  `(?<!\\d)(?:\\d{1,2}[\\/.-]\\d{1,2}[\\/.-](?:19|20)\\d{2}|(?:19|20)\\d{2}-\\d{1,2}-\\d{1,2}|\\d{1,2}(?:st|nd|rd|th)? ${MONTH},? (?:19|20)\\d{2}|${MONTH} \\d{1,2}(?:st|nd|rd|th)?,? (?:19|20)\\d{2})(?!\\d)`,
  'iy',
);
const CUE_TO_DATE_MAX = 32;
/** Every DATE form ends in a four-digit year 19xx/20xx; text without one holds no date of birth. */
const YEAR = /(?:19|20)\d\d/;

export function findDatesOfBirth(text: string, out: Finding[]): void {
  if (!YEAR.test(text)) return;
  CUE.lastIndex = 0;
  let searchedUpTo = 0;
  for (let cue = CUE.exec(text); cue !== null; cue = CUE.exec(text)) {
    const from = Math.max(cue.index + cue[0].length, searchedUpTo);
    const to = Math.min(text.length, cue.index + cue[0].length + CUE_TO_DATE_MAX);
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      // A sticky match is tried only where a date can begin: a digit or a letter (month name).
      if (!((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122))) continue;
      DATE.lastIndex = i;
      const m = DATE.exec(text);
      if (m !== null) {
        out.push({ category: 'pii', type: 'date_of_birth', start: i, end: i + m[0].length, confidence: 0.8 });
        searchedUpTo = i + m[0].length;
        break;
      }
    }
    searchedUpTo = Math.max(searchedUpTo, to);
  }
}
