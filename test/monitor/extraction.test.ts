// Model extraction detection on a fixed clock: scripted extraction campaigns (logprob distillation, grid
// probing, many-sample harvesting, embeddings harvesting) against benign traffic mixes (people chatting, a
// busy chatbot backend, a batch summarizer, an app using logprobs now and then, a RAG indexer). The test
// measures detection, time to detect and false alarms, and asserts them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../helpers/seeded.js';
import { FixedClock } from '../../src/core/clock.js';
import { ExtractionDetector, promptsOf, templateOf, type ExtractionAssessment, type ExtractionRequest } from '../../src/monitor/extraction.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

const rng = seededRandom;
const VOCAB = 'what how why when explain compare the a of in to for with cat dog river market price code tax law health travel recipe movie song planet history physics error install configure best cheap weather'.split(' ');
const sentence = (r: () => number, words: number) => Array.from({ length: words }, () => VOCAB[Math.floor(r() * VOCAB.length)]).join(' ');
const chat = (content: string, extra: Record<string, unknown> = {}): ExtractionRequest => ({ endpoint: 'chat', body: { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content }], ...extra } });

/** A principal's traffic: one request every `everyMs`, made by `make`. */
interface Source {
  name: string;
  everyMs: number;
  make: (r: () => number, i: number) => ExtractionRequest;
}

const CAMPAIGNS: Source[] = [
  { name: 'logprob distillation', everyMs: 1_000, make: (r) => chat(`${sentence(r, 8)}?`, { logprobs: true, top_logprobs: 20 }) },
  { name: 'grid probing', everyMs: 1_000, make: (r) => chat(`Classify the point x=${r().toFixed(3)} y=${r().toFixed(3)} as A or B.`) },
  { name: 'many samples', everyMs: 2_000, make: (r) => chat(`${sentence(r, 10)}?`, { n: 16, temperature: 1.2 }) },
  { name: 'embeddings harvesting', everyMs: 1_000, make: (r) => ({ endpoint: 'embeddings', body: { model: 'e', input: Array.from({ length: 64 }, () => sentence(r, 5)) } }) },
];

const BENIGN: Source[] = [
  ...Array.from({ length: 20 }, (_, k): Source => ({ name: `person ${k}`, everyMs: 15_000 + k * 1_000, make: (r) => chat(`${sentence(r, 6 + Math.floor(r() * 20))}?`) })),
  { name: 'chatbot backend (many end users behind one service key)', everyMs: 500, make: (r) => chat(`${sentence(r, 5 + Math.floor(r() * 25))}?`) },
  { name: 'batch summarizer', everyMs: 700, make: (r) => chat(`Summarize the following document in three sentences:\n${sentence(r, 400)}`) },
  { name: 'app that reads logprobs now and then', everyMs: 5_000, make: (r) => chat(`${sentence(r, 12)}?`, { logprobs: true, top_logprobs: 5 }) },
  { name: 'RAG indexer', everyMs: 3_000, make: (r) => ({ endpoint: 'embeddings', body: { model: 'e', input: Array.from({ length: 16 }, () => sentence(r, 60)) } }) },
  { name: 'sampler (n=3 drafts)', everyMs: 4_000, make: (r) => chat(`Draft a reply: ${sentence(r, 15)}`, { n: 3 }) },
];

/** Runs the sources side by side for `ms` and returns, per source, when it was first suspected (ms) and its highest score. */
function run(sources: Source[], ms: number, seed: number) {
  const clock = new FixedClock(T0);
  const suspected = new Map<string, { at: number; a: ExtractionAssessment }>();
  const d = new ExtractionDetector({ clock, onSuspect: (p, a) => void (suspected.has(p) || suspected.set(p, { at: clock.now() - T0, a })) });
  const r = rng(seed);
  const next = sources.map((s, i) => ({ s, at: (i * 137) % s.everyMs, n: 0 }));
  const max = new Map<string, number>();
  for (let t = 0; t < ms; t += 100) {
    clock.set(T0 + t);
    for (const x of next) {
      while (x.at <= t) {
        const a = d.observe(x.s.name, x.s.make(r, x.n++));
        max.set(x.s.name, Math.max(max.get(x.s.name) ?? 0, a.score));
        x.at += x.s.everyMs;
      }
    }
  }
  return { suspected, max, d };
}

test('prompts, templates and the signals are read from the request shapes', () => {
  assert.deepEqual(promptsOf(chat('hello')), ['hello']);
  assert.deepEqual(promptsOf({ endpoint: 'chat', body: { messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] } }), ['a b']);
  assert.deepEqual(promptsOf({ endpoint: 'completions', body: { prompt: ['x', 'y'] } }), ['x', 'y']);
  assert.deepEqual(promptsOf({ endpoint: 'embeddings', body: { input: 'z' } }), ['z']);
  assert.deepEqual(promptsOf({ endpoint: 'chat', body: { messages: 'nope' } }), []);
  assert.equal(templateOf('Classify the point x=0.123 y=0.9 as A or B.'), templateOf('Classify the point x=7 y=0.5 as B or A.'));
  assert.equal(templateOf('Rate "great movie" from 1 to 5'), templateOf("Rate 'awful film' from 1 to 5"));
  assert.notEqual(templateOf('what is the capital of France'), templateOf('how do I install node on linux'));
  const clock = new FixedClock(T0);
  const d = new ExtractionDetector({ clock, minRequests: 10 });
  for (let i = 0; i < 30; i++) d.observe('p', { endpoint: 'completions', body: { prompt: `q${i} ${i * 7}`, logprobs: 5 } });
  const a = d.assessment('p');
  assert.equal(a.logprobRequests, 30);
  assert.ok(a.parts.logprobs > 0);
  assert.equal(d.score('nobody'), 0);
  // The window slides: ten minutes later nothing is left of it.
  clock.advance(600_001);
  assert.equal(d.assessment('p').requests, 0);
  assert.equal(d.assessment('p').score, 0);
  d.reset('p');
  assert.equal(d.score('p'), 0);
  assert.throws(() => new ExtractionDetector({ clock, threshold: 0 }), /threshold/);
  assert.throws(() => new ExtractionDetector({ clock, minRequests: 0 }), /floors/);
});

test('extraction campaigns are detected (time to detect) and benign mixes raise no alarm (false alarms)', () => {
  const results: string[] = [];
  for (const [i, c] of CAMPAIGNS.entries()) {
    // Each campaign runs beside the whole benign mix for 20 minutes.
    const { suspected, max } = run([...BENIGN, c], 20 * 60_000, 100 + i);
    const hit = suspected.get(c.name);
    results.push(`${c.name}: ${hit ? `detected after ${Math.round(hit.at / 1000)} s (score ${hit.a.score})` : `NOT detected (max ${max.get(c.name)})`}`);
    assert.ok(hit, `${c.name} detected`);
    assert.ok(hit.at <= 10 * 60_000, `${c.name} detected within one window (${hit.at} ms)`);
    for (const b of BENIGN) assert.ok(!suspected.has(b.name), `false alarm on benign "${b.name}" beside ${c.name} (max ${max.get(b.name)})`);
  }
  // Benign traffic alone for an hour, three seeds.
  let falseAlarms = 0;
  let highest = 0;
  for (const seed of [1, 2, 3]) {
    const { suspected, max } = run(BENIGN, 60 * 60_000, seed);
    falseAlarms += suspected.size;
    for (const v of max.values()) highest = Math.max(highest, v);
  }
  console.log(`extraction: ${results.join('; ')}; benign: ${falseAlarms} alarms over 3 × 1 h of ${BENIGN.length} principals (highest score ${highest})`);
  assert.equal(falseAlarms, 0);
  assert.ok(highest < 0.65);
});

test('a suspect is reported once per crossing and again after its score fell below half the threshold', () => {
  const clock = new FixedClock(T0);
  const seen: number[] = [];
  const d = new ExtractionDetector({ clock, minRequests: 20, onSuspect: () => seen.push(clock.now()) });
  const r = rng(9);
  const burst = () => {
    for (let i = 0; i < 60; i++) {
      d.observe('p', chat(`${sentence(r, 8)}?`, { logprobs: true, top_logprobs: 20 }));
      clock.advance(1_000);
    }
  };
  burst();
  assert.equal(seen.length, 1);
  burst();
  assert.equal(seen.length, 1, 'still above: no second report');
  clock.advance(20 * 60_000);
  d.observe('p', chat('hello'));
  burst();
  assert.equal(seen.length, 2);
});
