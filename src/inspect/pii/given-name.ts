// Person names that no phrase introduces: a known given name followed by one or two capitalised name words
// ("Jennifer Lopez", "John F. Kennedy", "Anna van der Berg"), and a known given name alone after a greeting or
// a sign-off ("Hi Jennifer,", "Thanks, Maria"). The given names are the `human-names` package's (MIT; English,
// German, Spanish, French, Italian and Dutch lists, 5,303 names): a maintained list rather than one of ours.
// What keeps ordinary capitalised phrases out:
// - a given name that is also an ordinary word ("Will", "May", "Grant", "Hope": AMBIGUOUS_GIVEN_NAMES, derived
//   from a corpus by scripts/ambiguous-given-names.mjs) counts only after a greeting or an introducing phrase;
// - the word after the given name must not be one that names a place, an organisation, a time or a thing rather
//   than a family ("Victoria Station", "Georgia Tech", "Amber Alert", "April Fools", "Lincoln Memorial");
// Deterministic and cheap (one scan for capitalised pairs, a set lookup per candidate). Recall is bounded by the
// list: a given name it lacks is not found unless a phrase introduces it (person-name.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Finding } from '../../core/types.js';
import { AMBIGUOUS_GIVEN_NAMES } from './ambiguous-given-names.js';

let names: ReadonlySet<string> | null = null;

/** The given names, read once on first use (about 1 ms; the lists are 60 KB of JSON). */
export function givenNames(): ReadonlySet<string> {
  if (names) return names;
  const dir = join(dirname(createRequire(import.meta.url).resolve('human-names/package.json')), 'data');
  const s = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    for (const n of JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown[]) if (typeof n === 'string' && /^\p{Lu}/u.test(n) && !n.includes(' ')) s.add(n);
  }
  if (s.size < 1000) throw new Error(`human-names: only ${s.size} given names found in ${dir}`);
  names = s;
  return s;
}

/**
 * Words that, right after a given name, make the pair something other than a person: places and buildings,
 * organisations, institutions, events, times, and the things a given-name word also names. Written for this
 * detector (no list in the npm registry fits), deliberately short: a surname is far likelier after a given name.
 */
const NOT_A_SURNAME = new Set(
  (
    // streets, places and buildings
    'Street St Avenue Ave Road Rd Boulevard Blvd Lane Drive Court Place Terrace Way Parkway Circle Highway Square Trail Crescent Close Alley Row ' +
    'City Town County State States Province Island Islands Beach Bay Harbor Harbour River Lake Lakes Falls Valley Mountain Mountains Mount Hill Hills ' +
    'Park Gardens Garden Station Airport Port Bridge Tower Towers Gate Hall Hotel Inn Mall Plaza Center Centre Square Memorial Monument Museum ' +
    'Theatre Theater Opera Arena Stadium Church Cathedral Chapel Abbey Palace Castle House Hole Springs Heights Creek Canyon Coast Sound Strait Peninsula Desert ' +
    // organisations and institutions
    'University College School Academy Institute Hospital Clinic Medical Bank Group Inc Ltd LLC Corp Corporation Company Co Foundation Trust Society ' +
    'Association Council Committee Department Ministry Agency Office Club Team Union League Party Press Times News Post Journal Magazine Records Studios ' +
    'Tech Labs Systems Software Airlines Airways Motors Energy Capital Partners Holdings Health Care Pharmacy Police Fire Navy Army ' +
    // events, times, things
    'Day Days Week Weekend Festival Fair Games Cup Open Award Awards Prize Alert Fools Period Rose Light Green Blue Red Plant Tree Cafe Bar Grill ' +
    'January February March April May June July August September October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday ' +
    'Project Protocol Server Framework Library Code Model Version Edition Series Collection Report Act Law Treaty Accord Agreement Plan ' +
    'Show Exchange Region Pacific Atlantic Brothers Bros Models Field Today Restaurant Republicans Democrats Clan ' +
    // titles and offices that follow a place or a first word ("New York Mayor", "York Sen.")
    'Mayor Governor Senator Sen Rep Gov President Minister Chief Judge General Gen Captain Capt Lt Col Sgt Director Chairman CEO'
  ).split(' '),
);

/** Surname particles that may come before the family name ("van der Berg", "de la Cruz", "di Maria"). */
const PARTICLE = '(?:(?:van|von|de|der|den|del|della|da|di|du|la|le|ter|ten|bin|ibn|al)[ ]){0,2}';
/** A capitalised name word: "Lopez", "McDonald", "O'Brien", "Jean-Luc", "Müller". */
const WORD = "(?:\\p{Lu}['’])?\\p{Lu}\\p{Ll}+(?:\\p{Lu}\\p{Ll}+)?(?:[-'’]\\p{Lu}\\p{Ll}+)?";
const PART = `(?:\\p{Lu}\\.|${PARTICLE}${WORD})`;
/** A capitalised word, then one or two more name parts (an initial, or a word with optional particles). */
const PAIR = new RegExp(`(${WORD})((?:[ ]${PART}){1,2})(?![\\p{L}\\p{N}])`, 'gu');
/** A greeting or sign-off, then a given name that ends the phrase ("Hi Tina,", "Thank you, Gary!"; not "Thanks! Just …"). */
const GREETING = /(?:\b(?:Hi|Hello|Hey|Dear|Thanks|Thank you|Cheers|Best|Regards|Love|Yours)[,!]?[ ])(\p{Lu}\p{Ll}+)(?=[,.!?;:]|[ ]*(?:\n|$))/gu;
/** A candidate glued to what precedes it (a letter, digit, or part of an address or path) is not a name. */
const GLUED_BEFORE = /[\p{L}\p{N}@./_\\-]/u;
const NEXT_PART = new RegExp(`[ ](${PART})`, 'uy');

function gluedLeft(text: string, start: number): boolean {
  return start > 0 && GLUED_BEFORE.test(text[start - 1]!);
}

export function findGivenNames(text: string, out: Finding[]): void {
  const known = givenNames();
  PAIR.lastIndex = 0;
  for (let m = PAIR.exec(text); m !== null; m = PAIR.exec(text)) {
    const given = m[1]!;
    if (!known.has(given) || AMBIGUOUS_GIVEN_NAMES.has(given) || gluedLeft(text, m.index)) {
      // Not a name here: try again from the next word (the pair may start there).
      PAIR.lastIndex = m.index + given.length;
      continue;
    }
    // Keep the parts up to the first one that names something other than a family.
    let end = m.index + given.length;
    NEXT_PART.lastIndex = end;
    for (let p = NEXT_PART.exec(text); p !== null && NEXT_PART.lastIndex <= m.index + m[0].length; p = NEXT_PART.exec(text)) {
      const word = p[1]!.split(' ').at(-1)!.replace(/[-'’].*$/u, '');
      if (NOT_A_SURNAME.has(word)) break;
      end = NEXT_PART.lastIndex;
    }
    if (end === m.index + given.length) continue; // a given name alone: only after a greeting (below)
    out.push({ category: 'pii', type: 'person', start: m.index, end, confidence: 0.5 });
    PAIR.lastIndex = end;
  }
  GREETING.lastIndex = 0;
  for (let m = GREETING.exec(text); m !== null; m = GREETING.exec(text)) {
    const name = m[1]!;
    if (!known.has(name)) continue;
    const start = m.index + m[0].length - name.length;
    out.push({ category: 'pii', type: 'person', start, end: start + name.length, confidence: 0.5 });
  }
}
