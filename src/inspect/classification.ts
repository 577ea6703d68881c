// Sensitivity level of a request: the highest of what the content shows, what the caller asserts and
// what the dataset/tenant it refers to demands. A caller can raise the level, never lower it.
import { BadRequest } from '../core/errors.js';
import type { Classification, Finding } from '../core/types.js';

export const CLASSIFICATION_LEVELS: readonly Classification[] = ['public', 'internal', 'confidential', 'restricted'];

const RANK: Record<Classification, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 };

/** What each finding type implies on its own. Credentials and keys open systems: restricted.
 *  Identifiers that enable fraud or identity theft: confidential. Contact data: internal. */
const LEVEL_BY_TYPE: Record<string, Classification> = {
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
function levelOf(f: Finding): Classification {
  return LEVEL_BY_TYPE[f.type] ?? (f.category === 'secret' ? 'restricted' : 'internal');
}

export function isClassification(v: unknown): v is Classification {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(RANK, v);
}

/** Parses a caller-supplied label (header, body field). An unknown label is refused, not ignored:
 *  silently dropping it would lower the level the caller meant to set. */
export function parseClassification(v: unknown, field = 'classification'): Classification {
  if (!isClassification(v)) {
    throw new BadRequest('invalid_classification', `${field} must be one of ${CLASSIFICATION_LEVELS.join(', ')}`, field);
  }
  return v;
}

export function maxClassification(...levels: (Classification | undefined)[]): Classification {
  let best: Classification = 'public';
  for (const l of levels) if (l !== undefined && RANK[l] > RANK[best]) best = l;
  return best;
}

export function classificationRank(c: Classification): number {
  return RANK[c];
}

export function classifyFindings(items: readonly Finding[]): Classification {
  let best: Classification = 'public';
  for (const f of items) {
    const l = levelOf(f);
    if (RANK[l] > RANK[best]) best = l;
  }
  return best;
}

export interface ClassifyOptions {
  /** Label asserted by the caller; it can only raise the result. */
  assertedLabel?: Classification;
  /** Level of the dataset or tenant the request refers to. */
  contextLevel?: Classification;
}

export function classify(items: readonly Finding[], opts: ClassifyOptions = {}): Classification {
  if (opts.assertedLabel !== undefined) parseClassification(opts.assertedLabel, 'assertedLabel');
  if (opts.contextLevel !== undefined) parseClassification(opts.contextLevel, 'contextLevel');
  return maxClassification(classifyFindings(items), opts.assertedLabel, opts.contextLevel);
}
