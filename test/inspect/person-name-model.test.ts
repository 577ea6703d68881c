// The person-name model (src/inspect/pii/name-model.ts): names that neither the lists nor a cue give away, the
// capitalised words it must leave alone, and the loader refusing weights that do not fit the featurizer.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { detectSensitive } from '../../src/inspect/index.js';
import { PERSON_NAME_MODEL } from '../../src/inspect/model/person-name-weights.js';
import { NameModelInvalid, loadNameModel, type SerializedNameModel } from '../../src/inspect/pii/name-model.js';

/** The person names found in `text`, with the committed model or (rulesOnly) without any. */
function persons(text: string, rulesOnly = false): string[] {
  return detectSensitive(text, rulesOnly ? null : undefined)
    .filter((f) => f.type === 'person')
    .map((f) => text.slice(f.start, f.end));
}

test('names the lists and cues miss, found by the model', () => {
  for (const [text, name] of [
    ['Yesterday Oksana Petrenko sent the invoice to our office.', 'Oksana Petrenko'],
    ['The report was reviewed by Tadeusz Wróblewski and approved on Monday.', 'Tadeusz Wróblewski'],
    ['Svetozar Marinković will present the quarterly numbers.', 'Svetozar Marinković'],
    ['The ticket was closed by Arvid Kjellberg this morning.', 'Arvid Kjellberg'],
  ] as const) {
    assert.deepEqual(persons(text, true), [], `the rules alone miss it: ${text}`);
    assert.deepEqual(persons(text), [name], text);
  }
});

test('capitalised words that are not people: products, places, firms, tools', () => {
  for (const t of [
    'We upgraded Postgres and Redis over the weekend.',
    'Deploy the Terraform module to Azure before Thursday.',
    'The Mississippi River floods every spring.',
    'Read the Kubernetes docs and the Grafana dashboards.',
    'Tokyo, Berlin and Nairobi are on the list.',
    'The Lakers beat the Celtics last night.',
    'Microsoft Teams and Slack are both allowed.',
    'Apple released a phone.',
    'The Supreme Court ruled in favour of the State of California.',
    'How do I ignore whitespace in git diff?',
  ])
    assert.deepEqual(persons(t), [], t);
});

test('firms, products, large cities and capitalised English words are not left to the model (firm-place-words.ts)', () => {
  // Each of these was scored as a name before the firm, city and English word lists: words no name list knows.
  for (const t of [
    'Update my Dropbox folder and post the link on Pinterest.',
    'Export the Trello board into Notion tonight.',
    'We flew from Karachi to Guangzhou in March.',
    'Summarize these notes. Prioritize the open bugs.',
    'Whisk the Batter, then Sift the Flour.',
  ])
    assert.deepEqual(persons(t), [], t);
  // A word on those lists that also names a family stays a name word ("Johnson", "Ming"), so names keep being found.
  assert.deepEqual(persons('The reviewers were Dolores Johnson and Yao Ming.'), ['Dolores Johnson', 'Yao Ming']);
  assert.deepEqual(persons('Anneliese Oberhuber flew to Karachi on Monday.'), ['Anneliese Oberhuber']);
});

test('the committed model loads, and with thresholds out of reach the model adds nothing to the rules', () => {
  const m = loadNameModel(PERSON_NAME_MODEL);
  assert.ok(m.threshold <= m.aloneThreshold);
  assert.deepEqual(
    detectSensitive('Yesterday Oksana Petrenko sent it.', { ...m, threshold: Infinity, aloneThreshold: Infinity }).filter((f) => f.type === 'person'),
    [],
  );
});

test('a malformed model is refused, not used', () => {
  const good = PERSON_NAME_MODEL;
  const bad: [string, unknown][] = [
    ['not an object', null],
    ['another format', { ...good, format: 'warden-person-name-lr-v0' }],
    ['other hash bits', { ...good, hashBits: 16 }],
    ['a threshold that is not finite', { ...good, threshold: Number.NaN }],
    ['an alone threshold that is not finite', { ...good, aloneThreshold: Number.POSITIVE_INFINITY }],
    ['no weights', { ...good, buckets: [], weights: [] }],
    ['buckets and weights of different lengths', { ...good, weights: good.weights.slice(1) }],
    ['a bucket out of range', { ...good, buckets: [...good.buckets.slice(0, -1), 1 << 30] }],
    ['buckets out of order', { ...good, buckets: [...good.buckets].reverse() }],
    ['a weight that is not a number', { ...good, weights: ['1', ...good.weights.slice(1)] }],
  ];
  for (const [why, m] of bad) assert.throws(() => loadNameModel(m as SerializedNameModel), NameModelInvalid, why);
});
