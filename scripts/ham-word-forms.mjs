// How often each word occurs in lower case and capitalised in the SpamAssassin ham corpus committed under
// test/fixtures (CC0: ordinary English e-mail, no Presidio or other PII evaluation text), e-mail addresses, URLs and
// paths removed first (where "david@" or "/tim/" would count as lower case). Shared by the scripts that derive the
// person detector's word lists (ambiguous-given-names.mjs, name-words.mjs).
import { readFileSync } from 'node:fs';

/** @returns {{ lower: Map<string, number>, capital: Map<string, number> }} */
export function hamWordForms() {
  const lower = new Map();
  const capital = new Map();
  for (const line of readFileSync('test/fixtures/prompt_injection/benign/spamassassin/ham.jsonl', 'utf8').split('\n')) {
    if (!line) continue;
    const text = JSON.parse(line).text.replace(/\S*[@/:.]\S*/g, ' ');
    for (const w of text.match(/(?<!\p{L})\p{L}+(?!\p{L})/gu) ?? []) {
      if (/^\p{Ll}+$/u.test(w)) lower.set(w, (lower.get(w) ?? 0) + 1);
      else if (/^\p{Lu}\p{Ll}+$/u.test(w)) capital.set(w, (capital.get(w) ?? 0) + 1);
    }
  }
  return { lower, capital };
}
