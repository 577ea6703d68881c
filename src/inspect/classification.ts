// Sensitivity level of a request: the highest of what the content shows, what the caller asserts and
// what the dataset/tenant it refers to demands. A caller can raise the level, never lower it.
//
// The levels are configurable (warden.yaml `classification`, docs/inspect.md "Classification levels"): an ordered
// list, lowest first, and where the detectors' own four sensitivities land in it. One ClassificationScheme is built
// from the config and handed to every plane that ranks, parses or compares levels; nothing here is mutable, so
// Wardens with different levels can run side by side (DEFAULT_SCHEME is the four levels below, unchanged).
import { BadRequest } from '../core/errors.js';
import type { Classification, Finding } from '../core/types.js';

/** The detectors' own sensitivities, lowest first: nothing found, contact data, fraud identifiers, credentials. */
export const BUILT_IN_LEVELS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type BuiltInLevel = (typeof BUILT_IN_LEVELS)[number];

/** A level's name: it is a Cedar string and a `clearance:<level>` group. */
export const LEVEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** What each finding type implies on its own. Credentials and keys open systems: restricted.
 *  Identifiers that enable fraud or identity theft: confidential. Contact data: internal. */
const LEVEL_BY_TYPE: Record<string, BuiltInLevel> = {
  private_key: 'restricted',
  aws_access_key: 'restricted',
  aws_secret_key: 'restricted',
  github_token: 'restricted',
  slack_token: 'restricted',
  stripe_key: 'restricted',
  jwt: 'restricted',
  warden_key: 'restricted',
  credential: 'restricted',
  credit_card: 'confidential',
  iban: 'confidential',
  us_ssn: 'confidential',
  national_id: 'confidential',
  passport: 'confidential',
  date_of_birth: 'confidential',
  email: 'internal',
  phone: 'internal',
  ip_address: 'internal',
  street_address: 'internal',
  person: 'internal',
};

/** A type without its own entry is judged by its category (fail closed): any secret opens a system. */
function builtInLevelOf(f: Finding): BuiltInLevel {
  return LEVEL_BY_TYPE[f.type] ?? (f.category === 'secret' ? 'restricted' : 'internal');
}

/** A scheme the config describes but that cannot hold: the message says which level and why. */
export class ClassificationSchemeInvalid extends Error {}

export interface ClassifyOptions {
  /** Label asserted by the caller; it can only raise the result. */
  assertedLabel?: Classification;
  /** Level of the dataset or tenant the request refers to. */
  contextLevel?: Classification;
}

export class ClassificationScheme {
  /** Lowest first. */
  readonly levels: readonly Classification[];
  /** Where each built-in sensitivity lands among `levels`. */
  readonly builtIn: Readonly<Record<BuiltInLevel, Classification>>;
  private readonly ranks: ReadonlyMap<string, number>;

  /**
   * Refuses (ClassificationSchemeInvalid) a level named twice or badly, a mapping to a level that is not listed, a
   * built-in sensitivity that is neither listed nor mapped, and a mapping that puts a more sensitive built-in below a
   * less sensitive one (credentials would then be judged lower than contact data).
   */
  constructor(levels: readonly string[] = BUILT_IN_LEVELS, detectors: Partial<Record<BuiltInLevel, string>> = {}) {
    if (levels.length === 0) throw new ClassificationSchemeInvalid('levels: list at least one level');
    const ranks = new Map<string, number>();
    levels.forEach((l, i) => {
      if (!LEVEL_NAME.test(l)) throw new ClassificationSchemeInvalid(`levels: ${JSON.stringify(l)} is not a level name (a-z, 0-9, _ and -, starting with a letter, at most 32)`);
      if (ranks.has(l)) throw new ClassificationSchemeInvalid(`levels: ${JSON.stringify(l)} is listed twice`);
      // The Cedar context's classification of a request nobody inspected (src/policy/context.ts).
      if (l === 'none') throw new ClassificationSchemeInvalid('levels: "none" is reserved (the policy context\'s class of an uninspected request)');
      ranks.set(l, i);
    });
    for (const k of Object.keys(detectors)) {
      if (!(BUILT_IN_LEVELS as readonly string[]).includes(k)) throw new ClassificationSchemeInvalid(`detectors: ${JSON.stringify(k)} is not a built-in sensitivity (${BUILT_IN_LEVELS.join(', ')})`);
    }
    const builtIn = {} as Record<BuiltInLevel, Classification>;
    let previous: BuiltInLevel | null = null;
    for (const b of BUILT_IN_LEVELS) {
      const target = detectors[b] ?? b;
      if (!ranks.has(target)) {
        throw new ClassificationSchemeInvalid(detectors[b] !== undefined
          ? `detectors.${b}: ${JSON.stringify(target)} is not one of the levels (${levels.join(', ')})`
          : `the built-in level ${JSON.stringify(b)} is not one of the levels (${levels.join(', ')}): list it, or map it with detectors.${b}`);
      }
      if (previous !== null && ranks.get(target)! < ranks.get(builtIn[previous])!) {
        throw new ClassificationSchemeInvalid(`detectors.${b}: ${target} is below ${builtIn[previous]}, where ${previous} lands; a more sensitive finding cannot land lower`);
      }
      builtIn[b] = target;
      previous = b;
    }
    this.levels = [...levels];
    this.builtIn = builtIn;
    this.ranks = ranks;
  }

  get lowest(): Classification {
    return this.levels[0]!;
  }

  /** What data of an unknown class is judged as (routing, retention): the highest level, fail closed. */
  get highest(): Classification {
    return this.levels.at(-1)!;
  }

  has(v: unknown): v is Classification {
    return typeof v === 'string' && this.ranks.has(v);
  }

  rank(c: Classification): number {
    const r = this.ranks.get(c);
    if (r === undefined) throw new BadRequest('invalid_classification', `${JSON.stringify(c)} is not one of ${this.levels.join(', ')}`, 'classification');
    return r;
  }

  /** Parses a caller-supplied label (header, body field). An unknown label is refused, not ignored:
   *  silently dropping it would lower the level the caller meant to set. */
  parse(v: unknown, field = 'classification'): Classification {
    if (!this.has(v)) throw new BadRequest('invalid_classification', `${field} must be one of ${this.levels.join(', ')}`, field);
    return v;
  }

  max(...levels: (Classification | undefined)[]): Classification {
    let best = this.lowest;
    for (const l of levels) if (l !== undefined && this.rank(l) > this.rank(best)) best = l;
    return best;
  }

  /** The level findings imply: the highest of their built-in sensitivities, as this scheme places them. */
  classifyFindings(items: readonly Finding[]): Classification {
    let best = this.builtIn.public;
    for (const f of items) {
      const l = this.builtIn[builtInLevelOf(f)];
      if (this.rank(l) > this.rank(best)) best = l;
    }
    return best;
  }

  classify(items: readonly Finding[], opts: ClassifyOptions = {}): Classification {
    if (opts.assertedLabel !== undefined) this.parse(opts.assertedLabel, 'assertedLabel');
    if (opts.contextLevel !== undefined) this.parse(opts.contextLevel, 'contextLevel');
    return this.max(this.classifyFindings(items), opts.assertedLabel, opts.contextLevel);
  }

  /**
   * The highest level a principal's groups reach: `clearance:<level>` for any level, and at least where contact
   * data lands (every member of a tenant reads its internal data, as the starter `retrieve-within-clearance` grants).
   */
  clearanceOf(groups: readonly string[]): Classification {
    let best = this.builtIn.internal;
    for (const g of groups) {
      if (!g.startsWith('clearance:')) continue;
      const l = g.slice('clearance:'.length);
      if (this.has(l) && this.rank(l) > this.rank(best)) best = l;
    }
    return best;
  }
}

/** The four built-in levels, each where its name says: Warden without a `classification` section. */
export const DEFAULT_SCHEME = new ClassificationScheme();

export const CLASSIFICATION_LEVELS: readonly Classification[] = DEFAULT_SCHEME.levels;

export function isClassification(v: unknown): v is Classification {
  return DEFAULT_SCHEME.has(v);
}

export function parseClassification(v: unknown, field = 'classification'): Classification {
  return DEFAULT_SCHEME.parse(v, field);
}

export function maxClassification(...levels: (Classification | undefined)[]): Classification {
  return DEFAULT_SCHEME.max(...levels);
}

export function classificationRank(c: Classification): number {
  return DEFAULT_SCHEME.rank(c);
}

export function classifyFindings(items: readonly Finding[]): Classification {
  return DEFAULT_SCHEME.classifyFindings(items);
}

export function classify(items: readonly Finding[], opts: ClassifyOptions = {}): Classification {
  return DEFAULT_SCHEME.classify(items, opts);
}
