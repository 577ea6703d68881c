// The first few characters a regular expression's match can begin with, read from its source, and a lookahead
// that requires them: what lets the phrase scan (phrase-scan.ts) reject most word starts in one step instead of
// letting the regex engine try every alternative of every family there (2.5x faster on a 4 KB prompt). The prefixes
// over-approximate (assertions and lookarounds are taken as matching anything, large or negated classes as any
// character), never under-approximate: a position the lookahead rejects cannot start a match, so adding it in front
// of the pattern changes no match. Written for the subset the phrase bodies use (no flags, no unicode mode: UTF-16
// code units, as those patterns match); anything outside it throws RegexPrefixUnsupported, and prefixGuard then
// gives no lookahead.

export class RegexPrefixUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexPrefixUnsupported';
  }
}

/** A set of UTF-16 code units, or null for any code unit. */
export type CharSet = readonly number[] | null;

/** Beyond this many code units a class counts as any character (the caller's table holds ASCII). */
const MAX_SET = 256;

/** Distinct prefixes (up to the length asked for) a source's matches can begin with; a shorter one ends the match. */
export type Prefixes = readonly (readonly CharSet[])[];

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const DIGITS = range(48, 57);
const WORD = [...DIGITS, ...range(65, 90), 95, ...range(97, 122)];
// ECMA-262 WhiteSpace and LineTerminator: what \s matches.
const SPACE = [9, 10, 11, 12, 13, 32, 0xa0, 0x1680, ...range(0x2000, 0x200a), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };

const setKeys = new WeakMap<readonly number[], string>();

function setKey(s: CharSet): string {
  if (s === null) return '*';
  let key = setKeys.get(s);
  if (key === undefined) setKeys.set(s, (key = s.join(',')));
  return key;
}

function seqKey(q: readonly CharSet[]): string {
  return q.map(setKey).join('|');
}

function union(...langs: Prefixes[]): Prefixes {
  const seen = new Map<string, readonly CharSet[]>();
  for (const l of langs) for (const q of l) seen.set(seqKey(q), q);
  return [...seen.values()];
}

/** Every a then b, cut to k characters. */
function concat(a: Prefixes, b: Prefixes, k: number): Prefixes {
  // Every prefix already k long: what follows changes none (the common case along a long literal).
  if (a.every((x) => x.length >= k)) return a;
  // One way to go on (a literal character): it appends to every prefix and adds no duplicate worth a search.
  if (b.length === 1) return a.map((x) => (x.length >= k ? x : [...x, ...b[0]!].slice(0, k)));
  const out: (readonly CharSet[])[] = [];
  for (const x of a) {
    if (x.length >= k) out.push(x);
    else for (const y of b) out.push([...x, ...y].slice(0, k));
  }
  return union(out);
}

const EMPTY: Prefixes = [[]];

/** x repeated min..max times (max Infinity): past k pieces (each of one character at least, or left out), more
 *  repetitions add no new prefix of k characters. */
function repeat(x: Prefixes, min: number, max: number, k: number): Prefixes {
  let out = EMPTY;
  for (let i = 0; i < Math.min(min, k); i++) out = concat(out, x, k);
  const optional = union(EMPTY, x);
  for (let i = 0; i < Math.min(max - min, k); i++) out = concat(out, optional, k);
  return out;
}

/** What is read from a source: its prefixes, and code units of which every match holds one (null: none known). */
interface Reading {
  prefixes: Prefixes;
  required: ReadonlySet<number> | null;
}

const NOTHING_REQUIRED = (prefixes: Prefixes): Reading => ({ prefixes, required: null });

/** A code unit beyond ASCII is required where it stands alone; ASCII ones are not tracked (every text has them). */
function literal(set: CharSet): Reading {
  return { prefixes: [[set]], required: set !== null && set.length === 1 && set[0]! >= 128 ? new Set(set) : null };
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly k: number,
  ) {}

  parse(): Reading {
    const r = this.disjunction();
    if (this.i !== this.src.length) throw new RegexPrefixUnsupported(`unexpected ${this.src[this.i]} at ${this.i}`);
    return r;
  }

  private disjunction(): Reading {
    const alternatives = [this.alternative()];
    while (this.src[this.i] === '|') {
      this.i++;
      alternatives.push(this.alternative());
    }
    // A unit is required only if every alternative requires one: then one of all theirs.
    const required = alternatives.every((a) => a.required !== null) ? new Set(alternatives.flatMap((a) => [...a.required!])) : null;
    return { prefixes: union(...alternatives.map((a) => a.prefixes)), required };
  }

  private alternative(): Reading {
    let prefixes = EMPTY;
    let required: ReadonlySet<number> | null = null;
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const t = this.term();
      prefixes = concat(prefixes, t.prefixes, this.k);
      // Any one term's requirement is the sequence's; the narrowest is kept.
      if (t.required !== null && (required === null || t.required.size < required.size)) required = t.required;
    }
    return { prefixes, required };
  }

  private term(): Reading {
    const c = this.src[this.i]!;
    if (c === '^' || c === '$') {
      this.i++;
      return NOTHING_REQUIRED(EMPTY);
    }
    if (c === '\\' && (this.src[this.i + 1] === 'b' || this.src[this.i + 1] === 'B')) {
      this.i += 2;
      return NOTHING_REQUIRED(EMPTY);
    }
    if (this.src.startsWith('(?=', this.i) || this.src.startsWith('(?!', this.i) || this.src.startsWith('(?<=', this.i) || this.src.startsWith('(?<!', this.i)) {
      // A lookaround consumes nothing; taken as always true (an over-approximation).
      this.i += this.src[this.i + 2] === '<' ? 4 : 3;
      this.disjunction();
      this.expect(')');
      return NOTHING_REQUIRED(EMPTY);
    }
    return this.quantified(this.atom());
  }

  private quantified(atom: Reading): Reading {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (m === null) return atom;
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    }
    if (this.src[this.i] === '?') this.i++; // lazy: the same strings
    return { prefixes: repeat(atom.prefixes, min, max, this.k), required: min >= 1 ? atom.required : null };
  }

  private atom(): Reading {
    const c = this.src[this.i]!;
    if (c === '(') {
      if (this.src.startsWith('(?:', this.i)) this.i += 3;
      else if (this.src[this.i + 1] === '?') throw new RegexPrefixUnsupported(`group ${this.src.slice(this.i, this.i + 4)}`);
      else this.i++;
      const inner = this.disjunction();
      this.expect(')');
      return inner;
    }
    if (c === '[') return NOTHING_REQUIRED([[this.charClass()]]);
    if (c === '.') {
      this.i++;
      return NOTHING_REQUIRED([[null]]);
    }
    if (c === '\\') return literal(this.escape(false));
    if (c === '*' || c === '+' || c === '?' || c === ')' || c === '{') throw new RegexPrefixUnsupported(`${c} at ${this.i}`);
    this.i++;
    return literal([c.charCodeAt(0)]);
  }

  private expect(c: string): void {
    if (this.src[this.i] !== c) throw new RegexPrefixUnsupported(`expected ${c} at ${this.i}`);
    this.i++;
  }

  /** The escape at i (a backslash), as a set; inside a class \b is a backspace. */
  private escape(inClass: boolean): CharSet {
    const e = this.src[this.i + 1];
    if (e === undefined) throw new RegexPrefixUnsupported('trailing backslash');
    this.i += 2;
    if (e === 'd') return DIGITS;
    if (e === 'w') return WORD;
    if (e === 's') return SPACE;
    if (e === 'D' || e === 'W' || e === 'S') return null;
    if (inClass && e === 'b') return [8];
    if (e in CONTROL_ESCAPES && !(e === '0' && /\d/.test(this.src[this.i] ?? ''))) return [CONTROL_ESCAPES[e]!];
    if (e === 'x' || e === 'u') {
      const n = e === 'x' ? 2 : 4;
      const hex = this.src.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new RegexPrefixUnsupported(`\\${e}${hex}`);
      this.i += n;
      return [parseInt(hex, 16)];
    }
    if (/[A-Za-z0-9]/.test(e)) throw new RegexPrefixUnsupported(`escape \\${e}`); // back-references, \p, \c, \k…
    return [e.charCodeAt(0)];
  }

  private charClass(): CharSet {
    this.i++; // [
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const codes = new Set<number>();
    let any = false;
    const single = (): CharSet => {
      if (this.src[this.i] === '\\') return this.escape(true);
      const code = this.src.charCodeAt(this.i);
      if (Number.isNaN(code)) throw new RegexPrefixUnsupported('unterminated class');
      this.i++;
      return [code];
    };
    while (this.src[this.i] !== ']') {
      const from = single();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && from !== null && from.length === 1) {
        this.i++;
        const to = single();
        if (to === null || to.length !== 1 || to[0]! < from[0]!) throw new RegexPrefixUnsupported('class range');
        if (to[0]! - from[0]! >= MAX_SET) any = true;
        else for (let c = from[0]!; c <= to[0]!; c++) codes.add(c);
      } else if (from === null) {
        any = true;
      } else {
        for (const c of from) codes.add(c);
      }
    }
    this.i++; // ]
    if (negated || any || codes.size > MAX_SET) return null;
    return [...codes].sort((a, b) => a - b);
  }
}

/** The prefixes of `source`'s matches, `length` characters long or ending the match (see Prefixes); throws
 *  RegexPrefixUnsupported outside the subset. */
export function matchPrefixes(source: string, length: number): Prefixes {
  return read(source, length).prefixes;
}

/** Code units beyond ASCII of which every match of `source` holds one, or null when none can be named (an
 *  alternative without a non-ASCII literal, or outside the subset read here). */
export function requiredUnits(source: string): ReadonlySet<number> | null {
  try {
    return read(source, 1).required;
  } catch (e) {
    if (e instanceof RegexPrefixUnsupported) return null;
    throw e;
  }
}

/** Each source is read once per process: the phrase scan builds a lookahead for every set of families it combines. */
const analysed = new Map<string, Reading>();

function read(source: string, length: number): Reading {
  const key = `${length}:${source}`;
  let r = analysed.get(key);
  if (r === undefined) analysed.set(key, (r = new Parser(source, length).parse()));
  return r;
}

interface TrieNode {
  /** A prefix ends here (the match may end, or continue with any character): nothing further is required. */
  open: boolean;
  next: Map<number, TrieNode>;
}

function escapeUnit(c: number): string {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) ? String.fromCharCode(c) : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** What must follow at `node`: alternatives by the characters leading to the same requirement, a class for several. */
function requirement(node: TrieNode): string {
  if (node.open) return '';
  const byRest = new Map<string, number[]>();
  for (const [c, child] of node.next) {
    const rest = requirement(child);
    byRest.set(rest, [...(byRest.get(rest) ?? []), c]);
  }
  const alternatives = [...byRest].map(([rest, cs]) => (cs.length === 1 ? escapeUnit(cs[0]!) : `[${cs.sort((x, y) => x - y).map(escapeUnit).join('')}]`) + rest);
  return alternatives.length === 1 ? alternatives[0]! : `(?:${alternatives.join('|')})`;
}

/**
 * A lookahead `(?=…)` that holds wherever a match of one of `sources` can begin: a trie of their prefixes of up to
 * `length` characters. The empty string when one of them is outside the subset read here or can begin with any
 * character (a lookahead would then rule nothing out).
 */
export function prefixGuard(sources: readonly string[], length: number): string {
  const root: TrieNode = { open: false, next: new Map() };
  for (const source of sources) {
    let prefixes: Prefixes;
    try {
      prefixes = matchPrefixes(source, length);
    } catch (e) {
      if (e instanceof RegexPrefixUnsupported) return '';
      throw e;
    }
    for (const prefix of prefixes) {
      let nodes = [root];
      for (const set of prefix) {
        if (set === null) break;
        const next: TrieNode[] = [];
        for (const node of nodes) {
          if (node.open) continue;
          for (const c of set) {
            let child = node.next.get(c);
            if (child === undefined) node.next.set(c, (child = { open: false, next: new Map() }));
            next.push(child);
          }
        }
        nodes = next;
      }
      for (const node of nodes) {
        node.open = true;
        node.next.clear();
      }
    }
  }
  return root.open ? '' : `(?=${requirement(root)})`;
}
