// Person names that no phrase introduces (person-name.ts has the ones that one does), read from name lists:
// - a known given name followed by one or two capitalised name words ("Jennifer Lopez", "John F. Kennedy", "Anna van
//   der Berg"), and a known given name alone after a greeting or a sign-off ("Hi Jennifer,", "Thanks, Maria"); the
//   given names are the `human-names` package's (MIT; 5,303 names in six languages);
// - each run of capitalised words read word by word against name-words.ts (the `@cspell/dict-people-names` and
//   `human-names` name words less ordinary English words and places, scripts/name-words.mjs): a stretch of two or
//   more words with a known name word in it ("Vilma Holm", "Kate M Begum"), a given name alone when it is neither an
//   ordinary word nor a place ("Svetlana"), and any word that a cue around it makes a name ("says Gerste", "Tracey
//   said", "last name is Arcuri");
// - a known name as a dialogue's speaker label ("Anna: …");
// - a self-introduction in lower case, its first word when it is a name ("my name is lena andersson" gives "lena").
// Each rule decides from the text before a word and at most the word or cue right after it, so that the stream
// redactor, which holds back trailing capitalised tokens, redacts a streamed answer as it would the whole.
// What keeps ordinary capitalised phrases out:
// - a given name that is also an ordinary word ("Will", "May", "Grant", "Hope": AMBIGUOUS_GIVEN_NAMES, derived
//   from a corpus by scripts/ambiguous-given-names.mjs) counts only after a greeting or an introducing phrase;
// - a word that names a place, an organisation, a street, a time or a thing rather than a family ends a stretch
//   ("Victoria Station", "Georgia Tech", "Amber Alert", "Mathias Pass", "Thu Aug"), and so does an ordinary word
//   (a sentence start: "Maybe", "Unlike").
// Deterministic and cheap (one scan for capitalised runs, a few set lookups per word). Recall is bounded by the lists
// and the cues: a name neither knows nor any phrase introduces is not found.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Finding } from '../../core/types.js';
import { AMBIGUOUS_GIVEN_NAMES } from './ambiguous-given-names.js';
import { ENGLISH_WORDS } from './english-words.js';
import { CITY_WORDS, FIRM_WORDS } from './firm-place-words.js';
import { COMMON_WORDS, NAME_WORDS, PLACE_WORDS, SOLO_GIVEN_NAMES } from './name-words.js';
import { STREET_TYPES } from './street-types.js';

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

let nameWords: ReadonlySet<string> | null = null;
let commonWords: ReadonlySet<string> | null = null;
let placeWords: ReadonlySet<string> | null = null;
let soloNames: ReadonlySet<string> | null = null;

/** Given names and surnames that are not ordinary words (name-words.ts), split once on first use. */
export function nameWordSet(): ReadonlySet<string> {
  return (nameWords ??= new Set(NAME_WORDS.split(' ')));
}

export function commonWordSet(): ReadonlySet<string> {
  return (commonWords ??= new Set(COMMON_WORDS.split(' ')));
}

export function placeWordSet(): ReadonlySet<string> {
  return (placeWords ??= new Set(PLACE_WORDS.split(' ')));
}

export function soloNameSet(): ReadonlySet<string> {
  return (soloNames ??= new Set(SOLO_GIVEN_NAMES.split(' ')));
}

let firmPlaceWords: ReadonlySet<string> | null = null;
let englishWords: ReadonlySet<string> | null = null;

/** Common lower-case English words (english-words.ts, SCOWL): a capitalised one no name list knows is a word. */
export function englishWordSet(): ReadonlySet<string> {
  return (englishWords ??= new Set(ENGLISH_WORDS.split(' ')));
}

/** One-word firm, product and large-city names (firm-place-words.ts): not a person when no name list knows the word. */
export function firmPlaceWordSet(): ReadonlySet<string> {
  return (firmPlaceWords ??= new Set(`${FIRM_WORDS} ${CITY_WORDS}`.split(' ')));
}

/**
 * Words that, right after a given name, make the pair something other than a person: places and buildings,
 * organisations, institutions, events, times, and the things a given-name word also names. Written for this
 * detector (no list in the npm registry fits), deliberately short: a surname is far likelier after a given name.
 */
export const NOT_A_SURNAME: ReadonlySet<string> = new Set(
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
    'Mayor Governor Senator Sen Rep Gov President Minister Chief Judge General Gen Captain Capt Lt Col Sgt Director Chairman CEO ' +
    'Royal Princess Prince Orchestra Investments Consulting Associates Republic ' +
    // the first word of a place name ("San Bernardino", "Los Angeles", "Porto Alegre")
    'San Santa Santo São Los Las El Saint Sankt Porto Nord Sud Novo Nova ' +
    'Mon Tue Wed Thu Fri Sat Sun Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec ' +
    // greetings and titles before a name: the name is what follows ("Hi Maria", "Aunt Bertha", "Queen Elizabeth")
    'Hi Hello Hey Dear Thanks Cheers Regards Best Love Yours Welcome Mr Mrs Ms Mx Dr Prof Sir Madam Miss Professor Teacher ' +
    'Queen King Aunt Uncle Lord Lady Dame Herr Frau'
  )
    .split(' ')
    .concat(STREET_TYPES),
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

/** A run of capitalised name parts, initials with or without their dot among them ("Kate M Begum"). */
const RUN = new RegExp(`(?:${WORD}|\\p{Lu}\\.)(?:[ ](?:\\p{Lu}\\.?|${PARTICLE}${WORD})){0,4}(?![\\p{L}\\p{N}])`, 'gu');
const RUN_PART = new RegExp(`${PARTICLE}[^ ]+`, 'gu');
const INITIAL = /^\p{Lu}\.?$/u;

export type PartKind = 'initial' | 'solo' | 'given' | 'name' | 'unknown' | 'word';

/** A capitalised word the rules did not call a name but might be one: what the person-name model (name-model.ts) scores. */
export interface UnsureWord {
  start: number;
  end: number;
  kind: PartKind;
}

function isNameWord(w: string): boolean {
  if (nameWordSet().has(w) || (givenNames().has(w) && !AMBIGUOUS_GIVEN_NAMES.has(w))) return true;
  if (!HYPHEN_OR_APOSTROPHE.test(w)) return false;
  const parts = w.split(/[-'’]/u);
  return parts.every((p) => p.length > 1 && nameWordSet().has(p));
}

const HYPHEN_OR_APOSTROPHE = /[-'’]/u;
/**
 * Ordinary words seen so far: capitalised sentence starts repeat ("The", "What"), and telling them apart costs several
 * lookups. Only ordinary words are kept, never a name or an unknown word, so no personal data outlives a call.
 */
const kindCache = new Map<string, PartKind>();
const KIND_CACHE_LIMIT = 20_000;

export function partKind(part: string): PartKind {
  let kind = kindCache.get(part);
  if (kind === undefined) {
    kind = classify(part);
    if (kind !== 'word') return kind;
    if (kindCache.size >= KIND_CACHE_LIMIT) kindCache.clear();
    kindCache.set(part, kind);
  }
  return kind;
}

function classify(part: string): PartKind {
  if (part.length <= 2 && INITIAL.test(part)) return 'initial';
  const w = part.slice(part.lastIndexOf(' ') + 1);
  const head = HYPHEN_OR_APOSTROPHE.test(w) ? w.replace(/[-'’].*$/u, '') : w;
  if (NOT_A_SURNAME.has(head) || placeWordSet().has(w)) return 'word';
  if (soloNameSet().has(w)) return 'solo';
  if (givenNames().has(w) && !AMBIGUOUS_GIVEN_NAMES.has(w)) return 'given';
  if (isNameWord(w)) return 'name';
  // A firm, product, city or common English word the name lists do not know ("LinkedIn", "Jira", "Istanbul",
  // "Analyze") is not left to the model.
  const lower = w.toLowerCase();
  return commonWordSet().has(lower) || firmPlaceWordSet().has(w) || englishWordSet().has(lower) ? 'word' : 'unknown';
}

/**
 * Runs of capitalised words read part by part: a stretch of name words, unknown words and inner initials that holds
 * at least two words, one of them a known name word ("Miklós Hajdu", "Vilma Holm", "Kate M Begum"), or a known name
 * word alone. An ordinary word (a sentence start, "Unlike", "Maybe") or a place/organisation word ends the stretch.
 */
/**
 * Words around a capitalised word that make it a person's name whatever the word: a speech verb ("says Gerste",
 * "Tracey said"), a naming phrase ("named Timmie", "last name? Arcuri", "call me Vide"), a relation ("my kid
 * Dzhambek", "the assistant to Asya Godina", "Jennifer's daughter").
 */
const CUE_BEFORE =
  /\b(?:(?:says|said|named|call(?:ed)? me|(?:first|last|maiden|family|full) name(?: is|:|\?)|name on the account(?: is)?[?:]?(?: User:)?|assistant to|directed by|starring|my (?:kid|son|daughter|wife|husband|brother|sister|friend|colleague|boss|manager))[ ]+)/gu;
const CUE_AFTER = /(?:[ ]+(?:said|says|told|wrote|asked|replied|explained)\b|['’]s (?:daughter|son|wife|husband|mother|father|sister|brother|friend|boss|address|phone|e-?mail)\b)/uy;

/**
 * A dialogue's speaker label: a known name alone at a line start, then a colon and the line ("Anna: hello"). Decided
 * from the label line alone, never from later lines, so that a streamed answer is redacted as the whole one is.
 */
const SPEAKER = /[ \t>]*(\p{Lu}\p{Ll}+):[ ]*\S/uy;

function findSpeakers(text: string, out: Finding[]): void {
  for (let line = 0; line !== -1 && line < text.length; line = text.indexOf('\n', line), line = line === -1 ? -1 : line + 1) {
    SPEAKER.lastIndex = line;
    const m = SPEAKER.exec(text);
    if (m === null) continue;
    const kind = partKind(m[1]!);
    if (kind !== 'given' && kind !== 'solo' && kind !== 'name') continue;
    const start = line + m[0].indexOf(m[1]!);
    out.push({ category: 'pii', type: 'person', start, end: start + m[1]!.length, confidence: 0.5 });
  }
}

/**
 * A self-introduction typed in lower case ("my name is lena andersson"): the first word after it, when it is a name.
 * One word, decided where it ends: a stream cannot hold lower-case text back while more name words might follow.
 */
const LOWER_INTRO = /\b(?:[Mm]y name is|[Mm]y name's|[Cc]all me|[Ii]'m called)[ ]+(\p{Ll}+)(?![\p{L}\p{N}])/gu;

function findLowerCaseIntroductions(text: string, out: Finding[]): void {
  LOWER_INTRO.lastIndex = 0;
  for (let m = LOWER_INTRO.exec(text); m !== null; m = LOWER_INTRO.exec(text)) {
    const w = m[1]!;
    const kind = partKind(w[0]!.toUpperCase() + w.slice(1));
    if (kind !== 'given' && kind !== 'solo' && kind !== 'name') continue;
    const start = m.index + m[0].length - w.length;
    out.push({ category: 'pii', type: 'person', start, end: start + w.length, confidence: 0.5 });
  }
}

/** Where the phrases that introduce a name end in `text`: found in one scan, and only when a candidate needs them. */
class CueEnds {
  private ends: Set<number> | null = null;
  constructor(private readonly text: string) {}
  has(start: number, end: number): boolean {
    if (this.ends === null) {
      this.ends = new Set();
      CUE_BEFORE.lastIndex = 0;
      for (let m = CUE_BEFORE.exec(this.text); m !== null; m = CUE_BEFORE.exec(this.text)) this.ends.add(m.index + m[0].length);
    }
    if (this.ends.has(start)) return true;
    const next = this.text.charCodeAt(end);
    if (next !== 0x20 && next !== 0x27 && next !== 0x2019) return false;
    CUE_AFTER.lastIndex = end;
    return CUE_AFTER.test(this.text);
  }
}

function findNameRuns(text: string, out: Finding[], unsure: UnsureWord[] | null): void {
  const cues = new CueEnds(text);
  RUN.lastIndex = 0;
  for (let m = RUN.exec(text); m !== null; m = RUN.exec(text)) {
    if (gluedLeft(text, m.index)) continue;
    const run = m[0];
    if (!run.includes(' ')) {
      // Most runs are one capitalised word (a sentence start): no stretch to assemble.
      const kind = partKind(run);
      const end = m.index + run.length;
      if (kind === 'solo' || (kind !== 'word' && kind !== 'initial' && cues.has(m.index, end)))
        out.push({ category: 'pii', type: 'person', start: m.index, end, confidence: 0.5 });
      else if (unsure !== null && kind !== 'word' && kind !== 'initial') unsure.push({ start: m.index, end, kind });
      continue;
    }
    const parts: { start: number; end: number; kind: PartKind }[] = [];
    RUN_PART.lastIndex = 0;
    for (let p = RUN_PART.exec(run); p !== null; p = RUN_PART.exec(run))
      parts.push({ start: m.index + p.index, end: m.index + p.index + p[0].length, kind: partKind(p[0]) });
    let i = 0;
    while (i < parts.length) {
      if (parts[i]!.kind === 'word' || parts[i]!.kind === 'initial') {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < parts.length && parts[j + 1]!.kind !== 'word') j++;
      let last = j;
      while (parts[last]!.kind === 'initial') last--;
      const words = parts.slice(i, last + 1).filter((p) => p.kind !== 'initial');
      // With particles ("van der Berg", "del Cid") the run is a person's only when it starts with a given name.
      const particles = words.some((p) => text.slice(p.start, p.end).includes(' '));
      // A name alone must be one that is no ordinary word or place, and not part of a longer capitalised phrase
      // ("Noe Valley", "New York", "South Carolina").
      const alone = words[0]!.kind === 'solo' && (i === 0 || parts[i - 1]!.kind !== 'word') && (j + 1 === parts.length || parts[j + 1]!.kind !== 'word');
      const person =
        words.length >= 2 ? words.some((p) => p.kind !== 'unknown') && (!particles || words[0]!.kind === 'given' || words[0]!.kind === 'solo') : alone;
      if (person || cues.has(parts[i]!.start, parts[last]!.end))
        out.push({ category: 'pii', type: 'person', start: parts[i]!.start, end: parts[last]!.end, confidence: 0.5 });
      else if (unsure !== null) for (const p of words) unsure.push({ start: p.start + text.slice(p.start, p.end).lastIndexOf(' ') + 1, end: p.end, kind: p.kind });
      i = j + 1;
    }
  }
}

function gluedLeft(text: string, start: number): boolean {
  return start > 0 && GLUED_BEFORE.test(text[start - 1]!);
}

/** `unsure`, when given, receives the capitalised words that the runs' rules left undecided (for name-model.ts). */
export function findGivenNames(text: string, out: Finding[], unsure: UnsureWord[] | null = null): void {
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
  findNameRuns(text, out, unsure);
  findSpeakers(text, out);
  findLowerCaseIntroductions(text, out);
  GREETING.lastIndex = 0;
  for (let m = GREETING.exec(text); m !== null; m = GREETING.exec(text)) {
    const name = m[1]!;
    if (!known.has(name) && !nameWordSet().has(name)) continue;
    const start = m.index + m[0].length - name.length;
    out.push({ category: 'pii', type: 'person', start, end: start + name.length, confidence: 0.5 });
  }
}
