// Person names, only where the text introduces one: an honorific ("Dr. Jane Doe"), a self-introduction
// ("my name is", "ich heiße"), a label ("Name:"), a salutation or sign-off ("Dear", "Sincerely,").
// Capitalised words elsewhere are not names to a deterministic method, so recall is deliberately partial.
import type { Finding } from '../../core/types.js';
import { scanWithLeftBoundary } from '../left-boundary.js';

const NAME_WORD = "\\p{Lu}[\\p{Ll}'’-]{1,30}";
const INITIAL = '\\p{Lu}\\.';
const NAME = `${NAME_WORD}(?:[ ](?:${INITIAL}|${NAME_WORD})){0,2}`;
const CUE =
  "(?:(?:Mr|Mrs|Ms|Mx|Dr|Prof(?:essor)?|Sir|Madam|Miss|Herr|Frau)\\.?|[Mm]y name is|[Mm]y name's|[Nn]ame:|[Ii]ch heiße|[Mm]ein Name ist|[Dd]ear|[Ss]incerely,|[Rr]egards,|[Cc]ontact person:|[Ss]igned,)";
// "Dear Mr. Smith": a salutation may be followed by an honorific before the name itself.
const HONORIFIC = '(?:(?:Mr|Mrs|Ms|Mx|Dr|Prof)\\.?[ ])?';
// Not right after a letter ("Madam" is not "dam"): checked by scanWithLeftBoundary, not in the pattern.
const PERSON = new RegExp(`${CUE}[ ]+${HONORIFIC}(${NAME})(?![\\p{L}])`, 'gu');
const AFTER_LETTER = /(?<=\p{L})/uy;

export function findPersonNames(text: string, out: Finding[]): void {
  scanWithLeftBoundary(text, PERSON, AFTER_LETTER, (m) => {
    const name = m[1]!;
    const start = m.index + m[0].length - name.length;
    out.push({ category: 'pii', type: 'person', start, end: start + name.length, confidence: 0.6 });
  });
}
