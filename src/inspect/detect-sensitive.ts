// PII and secret detectors run back to back over one text, then overlaps resolved so that each
// character belongs to at most one redactable finding (the more specific and more certain wins).
import type { Finding } from '../core/types.js';
import { findDatesOfBirth } from './pii/date-of-birth.js';
import { findEmails } from './pii/email.js';
import { findIbans } from './pii/iban.js';
import { findIpAddresses } from './pii/ip-address.js';
import { findNationalIds } from './pii/national-id.js';
import { findPaymentCards } from './pii/payment-card.js';
import { findGivenNames, type UnsureWord } from './pii/given-name.js';
import { findModelNames, personNameModel, type NameModel } from './pii/name-model.js';
import { findPersonNames } from './pii/person-name.js';
import { findPhones } from './pii/phone.js';
import { findStreetAddresses } from './pii/street-address.js';
import { findUsSsns } from './pii/us-ssn.js';
import { findCredentialAssignments } from './secrets/credential-context.js';
import { findPrivateKeys, findUnarmouredPrivateKeys } from './secrets/private-key.js';
import { findSplitTokens } from './secrets/split-tokens.js';
import { findFormattedTokens } from './secrets/token-formats.js';

/** Shorter than the shortest thing any detector finds ("a@b.co", "1.2.3.4" is 7). */
const MIN_DETECTABLE_LENGTH = 6;
const HAS_DIGIT = /\d/;

/** Higher wins an overlap: secrets over PII, checksummed identifiers over shape-only ones. */
const PRIORITY: Record<string, number> = {
  private_key: 100, warden_key: 95, aws_access_key: 95, aws_secret_key: 95, github_token: 95, slack_token: 95,
  stripe_key: 95, google_api_key: 95, npm_token: 95, gitlab_token: 95, openai_key: 95, anthropic_key: 95,
  huggingface_token: 90, google_oauth_token: 90, jwt: 90, credential: 85,
  credit_card: 60, iban: 60, passport: 58, national_id: 57, us_ssn: 55, email: 50, date_of_birth: 45, ip_address: 40, phone: 35,
  street_address: 30, person: 20,
};

function rank(f: Finding): number {
  return PRIORITY[f.type] ?? 0;
}

/** Within each cluster of mutually overlapping findings, keep the highest-priority (then longest)
 *  ones that do not overlap each other. Clusters are almost always of size one, so this is linear. */
export function resolveOverlaps(items: Finding[]): Finding[] {
  items.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Finding[] = [];
  let i = 0;
  while (i < items.length) {
    let j = i + 1;
    let clusterEnd = items[i]!.end;
    while (j < items.length && items[j]!.start < clusterEnd) clusterEnd = Math.max(clusterEnd, items[j++]!.end);
    if (j === i + 1) {
      kept.push(items[i]!);
    } else {
      const cluster = items.slice(i, j).sort((a, b) => rank(b) - rank(a) || b.end - b.start - (a.end - a.start));
      const chosen: Finding[] = [];
      for (const f of cluster) if (chosen.every((c) => f.end <= c.start || f.start >= c.end)) chosen.push(f);
      chosen.sort((a, b) => a.start - b.start);
      kept.push(...chosen);
    }
    i = j;
  }
  return kept;
}

/**
 * All PII and secret findings in `text`, non-overlapping, ordered by start. `names` is the person-name model: the
 * committed one, or another being trained and evaluated (scripts/train-person-names.mjs); null for the rules alone.
 */
export function detectSensitive(text: string, names: NameModel | null = personNameModel()): Finding[] {
  const out: Finding[] = [];
  if (text.length < MIN_DETECTABLE_LENGTH) return out;
  findPrivateKeys(text, out);
  findUnarmouredPrivateKeys(text, out);
  findFormattedTokens(text, out);
  findSplitTokens(text, out);
  findCredentialAssignments(text, out);
  findEmails(text, out);
  findPersonNames(text, out);
  const unsure: UnsureWord[] | null = names === null ? null : [];
  findGivenNames(text, out, unsure);
  if (names !== null) findModelNames(text, unsure!, out, names);
  if (HAS_DIGIT.test(text)) {
    findPaymentCards(text, out);
    findIbans(text, out);
    findUsSsns(text, out);
    findNationalIds(text, out);
    findPhones(text, out);
    findDatesOfBirth(text, out);
    findStreetAddresses(text, out);
  }
  findIpAddresses(text, out);
  return resolveOverlaps(out);
}
