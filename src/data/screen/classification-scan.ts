// Declared versus found: runs the inspection plane's detectors (PII, secrets) over a dataset's records and
// compares what they imply with the classification and data categories the source declared. A dataset
// declared `public` that holds card numbers is flagged; so is any category found but not declared.
import { DEFAULT_SCHEME, detectSensitive, type ClassificationScheme } from '../../inspect/index.js';
import type { Classification } from '../../core/types.js';
import type { ScreenRecord } from './read.js';
import type { RecordRef } from './screen.js';

/** The data category a finding type belongs to (the names datasets declare). */
const CATEGORY_BY_TYPE: Record<string, string> = {
  credit_card: 'financial',
  iban: 'financial',
  us_ssn: 'pii',
  date_of_birth: 'pii',
  email: 'pii',
  phone: 'pii',
  street_address: 'pii',
  person: 'pii',
  ip_address: 'pii',
};
const categoryOf = (f: { category: string; type: string }) => CATEGORY_BY_TYPE[f.type] ?? (f.category === 'secret' ? 'credentials' : f.category);

export interface ClassificationScan {
  declared: { classification: string; categories: string[] };
  /** The level the findings imply (the configured scheme's classifyFindings). */
  implied: Classification;
  /** Finding type → records holding it. */
  found: Record<string, number>;
  undeclaredCategories: string[];
  flagged: boolean;
  reasons: string[];
  examples: RecordRef[];
  scanned: number;
}

export function scanClassification(records: readonly ScreenRecord[], declared: { classification: string; categories: string[] }, o: { sample?: number; scheme?: ClassificationScheme } = {}): ClassificationScan {
  const scheme = o.scheme ?? DEFAULT_SCHEME;
  const step = o.sample && o.sample < records.length ? records.length / o.sample : 1;
  const found: Record<string, number> = {};
  const all: { category: 'pii' | 'secret'; type: string; start: number; end: number; confidence: number }[] = [];
  const examples: RecordRef[] = [];
  let scanned = 0;
  for (let x = 0; x < records.length; x += step) {
    const r = records[Math.floor(x)]!;
    scanned++;
    const types = new Set<string>();
    for (const f of detectSensitive(r.text)) {
      if (f.category !== 'pii' && f.category !== 'secret') continue;
      all.push(f as (typeof all)[number]);
      types.add(f.type);
    }
    for (const t of types) found[t] = (found[t] ?? 0) + 1;
    if (types.size && examples.length < 10) examples.push({ file: r.file, index: r.index, note: [...types].join(', ') });
  }
  const implied = scheme.classifyFindings(all);
  const categories = [...new Set(all.map(categoryOf))].sort();
  const undeclaredCategories = categories.filter((c) => !declared.categories.includes(c));
  const reasons: string[] = [];
  // An unknown declared level cannot be compared: that is a finding too (fail closed).
  if (!scheme.has(declared.classification)) reasons.push(`declared classification ${JSON.stringify(declared.classification)} is not a known level (${scheme.levels.join(', ')})`);
  else if (scheme.rank(implied) > scheme.rank(declared.classification)) reasons.push(`declared ${declared.classification} but the records hold ${Object.keys(found).join(', ')} (${implied})`);
  if (undeclaredCategories.length) reasons.push(`undeclared data categories: ${undeclaredCategories.join(', ')}`);
  return { declared, implied, found, undeclaredCategories, flagged: reasons.length > 0, reasons, examples, scanned };
}
