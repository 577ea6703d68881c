// The answer features of a baseline (docs/monitor.md "Baselines per principal"): tokens in and out, the refusal
// rate and the finding rate, learnt from the observation at the end of each answer. A principal whose answers
// are short that suddenly consumes 20× the tokens, whose refusal rate or finding rate jumps, deviates with the
// reason named; four weeks of benign noise (varied lengths, occasional refusals and findings) do not. Records
// and snapshots written before these features existed still load, and learn them from then on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { mergeStats, parseSharedBaseline, PrincipalBaselines, type BaselineObservation, type Deviation } from '../../src/monitor/baselines.js';
import { seededRandom } from '../helpers/seeded.js';

const MONDAY = Date.UTC(2026, 10, 23, 0, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A standard normal deviate (Box–Muller) from the seeded generator. */
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** One benign office-hours request: the office network, short answers, 3 % refusals, 5 % with a finding. */
function benign(r: () => number): BaselineObservation {
  return {
    sourceIp: `10.1.2.${1 + Math.floor(r() * 200)}`,
    model: 'summarizer',
    promptChars: 100 + Math.floor(r() * 300),
    tokensIn: Math.round(Math.exp(4.5 + 0.5 * gauss(r))),
    tokensOut: Math.round(Math.exp(3.6 + 0.4 * gauss(r))),
    refusal: r() < 0.03,
    findings: r() < 0.05 ? 1 + Math.floor(r() * 3) : 0,
  };
}

/** `weeks` of office hours (Mon–Fri 08–17 UTC) for each principal, interleaved; `onEach` sees every deviation returned. */
function officeWeeks(b: PrincipalBaselines, clock: FixedClock, principals: string[], weeks: number, r: () => number, onEach: (p: string, d: Deviation | null) => void): void {
  for (let w = 0; w < weeks; w++) {
    for (let day = 0; day < 5; day++) {
      for (let h = 8; h < 17; h++) {
        for (let i = 0; i < 6; i++) {
          for (const p of principals) {
            clock.set(MONDAY + w * 7 * DAY + day * DAY + h * HOUR + Math.floor(((i + r()) / 6) * HOUR));
            onEach(p, b.observe(p, benign(r)));
          }
        }
      }
    }
  }
}

/** A request at the office at 10:00 on the Tuesday after, otherwise like the benign ones except `over`. */
function atTheOffice(clock: FixedClock, r: () => number, over: Partial<BaselineObservation>): BaselineObservation {
  clock.set(MONDAY + 4 * 7 * DAY + DAY + 10 * HOUR + Math.floor(r() * HOUR));
  return { ...benign(r), refusal: false, findings: 0, ...over };
}

function trained(): { b: PrincipalBaselines; clock: FixedClock; reported: [string, Deviation][]; r: () => number } {
  const clock = new FixedClock(MONDAY);
  const reported: [string, Deviation][] = [];
  const b = new PrincipalBaselines({ clock, minObservations: 200, onDeviation: (p, d) => reported.push([p, d]) });
  const r = seededRandom(17);
  const principals = Array.from({ length: 20 }, (_, k) => `acme/user:u${k}`);
  const flagged: string[] = [];
  officeWeeks(b, clock, principals, 4, r, (p, d) => {
    if (d) flagged.push(`${p}: ${d.reasons.join('; ')}`);
  });
  // Benign noise: 21,600 answers of 20 principals, not one deviation held (let alone reported).
  assert.deepEqual(flagged, []);
  assert.equal(reported.length, 0);
  return { b, clock, reported, r };
}

test('benign noise raises nothing; 20× the tokens of short answers deviates, naming tokens_out', () => {
  const { b, clock, r } = trained();
  const rep = b.report('acme/user:u0')!;
  assert.ok(rep.tokensOut && rep.tokensOut.p50 > 25 && rep.tokensOut.p50 < 50, JSON.stringify(rep.tokensOut));
  assert.ok(rep.tokensIn && rep.tokensIn.p50 > 70 && rep.tokensIn.p50 < 110, JSON.stringify(rep.tokensIn));
  assert.ok(rep.refusalRate && rep.refusalRate.rate > 0.01 && rep.refusalRate.rate < 0.06, JSON.stringify(rep.refusalRate));
  assert.ok(rep.findingRate && rep.findingRate.rate > 0.02 && rep.findingRate.rate < 0.09, JSON.stringify(rep.findingRate));

  const answerTokens = 20 * rep.tokensOut.p50;
  const d = b.observe('acme/user:u0', atTheOffice(clock, r, { tokensOut: answerTokens }))!;
  assert.equal(d.reasons.length, 1, d.reasons.join('; '));
  assert.match(d.reasons[0]!, new RegExp(`^tokens_out ${answerTokens} > 3 × p99 \\d+$`));
  assert.equal(d.score, 0.2);
  // A prompt of 20× the tokens likewise (tokens_in), and both at once combine (noisy-OR).
  const both = b.observe('acme/user:u1', atTheOffice(clock, r, { tokensIn: 20 * rep.tokensIn.p50, tokensOut: answerTokens }))!;
  assert.deepEqual(both.reasons.map((x) => x.split(' ')[0]), ['tokens_in', 'tokens_out']);
  assert.equal(both.score, 0.32);
  // Usage not reported (a stream without usage, say): nothing judged, nothing learnt.
  const before = b.report('acme/user:u2')!.tokensOut;
  assert.equal(b.observe('acme/user:u2', atTheOffice(clock, r, { tokensIn: null, tokensOut: null })), null);
  assert.deepEqual(b.report('acme/user:u2')!.tokensOut, before);
});

test('a refusal-rate jump deviates within a few dozen answers, naming refusal_rate; a lone refusal does not', () => {
  const { b, clock, r } = trained();
  assert.equal(b.observe('acme/user:u3', atTheOffice(clock, r, { refusal: true })), null, 'one refusal is noise');
  let first = -1;
  let d: Deviation | null = null;
  for (let i = 0; i < 60 && first < 0; i++) {
    d = b.observe('acme/user:u4', atTheOffice(clock, r, { refusal: r() < 0.6 }));
    if (d) first = i;
  }
  assert.ok(first >= 0 && first < 30, `detected after ${first + 1} answers`);
  assert.equal(d!.reasons.length, 1);
  assert.match(d!.reasons[0]!, /^refusal_rate 0\.\d+ recently > 0\.0\d usually$/);
  // A refusal not known (a streamed answer): not judged.
  assert.equal(b.observe('acme/user:u5', atTheOffice(clock, r, { refusal: null })), null);
});

test('a finding-rate jump deviates, naming finding_rate', () => {
  const { b, clock, r } = trained();
  let d: Deviation | null = null;
  let n = 0;
  while (!d && n < 60) {
    n++;
    d = b.observe('acme/user:u6', atTheOffice(clock, r, { findings: r() < 0.7 ? 2 : 0 }));
  }
  assert.ok(d && n < 30, `detected after ${n} answers`);
  assert.equal(d.reasons.length, 1);
  assert.match(d.reasons[0]!, /^finding_rate 0\.\d+ recently > 0\.\d+ usually$/);
  // A resource's baseline (a model's, a tool's) learns the rates but does not hold one request against a rate.
  for (let i = 0; i < 400; i++) b.judgeAndLearn('model:summarizer', benign(r));
  for (let i = 0; i < 40; i++) assert.equal(b.judgeAndLearn('model:summarizer', atTheOffice(clock, r, { findings: 3 })), null);
  assert.ok(b.report('model:summarizer')!.findingRate!.recent > 0.5);
});

test('records and snapshots from before the answer features load, and learn them from then on', () => {
  const clock = new FixedClock(MONDAY + 10 * HOUR);
  const old = {
    stats: { n: 300, weight: 280, hours: Array.from({ length: 24 }, (_, h) => (h === 10 ? 280 : 0)), networks: [['10.1.2.0/24', 280]], models: [['summarizer', 280]], prompt: { buckets: [[120, 280]], total: 280 }, promptEwma: 110 },
    deviation: null,
  };
  const parsed = parseSharedBaseline(JSON.parse(JSON.stringify(old)) as unknown, 'acme/user:old');
  assert.deepEqual(parsed.stats.tokensOut, { n: 0, sketch: { buckets: [], total: 0 } });
  assert.deepEqual(parsed.stats.refusals, { n: 0, weight: 0, yes: 0, recent: 0 });
  const b = new PrincipalBaselines({ clock, minObservations: 50 });
  b.adopt('acme/user:old', parsed);
  // The old features judge at once; the new ones are immature (no tokens in the record) and judge nothing yet.
  assert.equal(b.observe('acme/user:old', { sourceIp: '10.1.2.9', model: 'summarizer', promptChars: 110, tokensOut: 5_000, refusal: true, findings: 1 }), null);
  for (let i = 0; i < 150; i++) b.observe('acme/user:old', { sourceIp: '10.1.2.9', model: 'summarizer', promptChars: 110, tokensOut: 40, refusal: false, findings: 0 });
  assert.match(b.observe('acme/user:old', { sourceIp: '10.1.2.9', model: 'summarizer', promptChars: 110, tokensOut: 5_000 })!.reasons[0]!, /^tokens_out 5000/);
  // An old record merged with a new delta keeps both; a new record merged into an old one too.
  const delta = b.takeDelta('acme/user:old');
  assert.equal(delta, null, 'not tracking deltas: nothing to take');
  const fresh = parseSharedBaseline(JSON.parse(JSON.stringify({ stats: { ...old.stats, n: 10, tokensOut: { n: 10, sketch: { buckets: [[94, 10]], total: 10 } }, refusals: { n: 10, weight: 10, yes: 1, recent: 0.1 } }, deviation: null })) as unknown, 'x');
  const merged = mergeStats(old.stats as never, fresh.stats, 0.99);
  assert.equal(merged.n, 310);
  assert.equal(merged.tokensOut!.n, 10);
  assert.deepEqual(merged.refusals, { n: 10, weight: 10, yes: 1, recent: 0.1 });
  // A snapshot file from before: restored, the new features empty.
  const snap = { v: 1, principals: [['acme/user:old', { ...old.stats, inc: 1 }]] };
  const c = new PrincipalBaselines({ clock, minObservations: 50 });
  assert.equal(c.restore(JSON.parse(JSON.stringify(snap)) as unknown), 1);
  assert.equal(c.report('acme/user:old')!.tokensOut, null);
  assert.equal(c.report('acme/user:old')!.observations, 300);
  // A present but malformed answer feature refuses the record whole (a record no Warden wrote).
  for (const [bad, re] of [
    [{ tokensOut: { n: -1, sketch: { buckets: [], total: 0 } } }, /tokensOut of the shared baseline of y is malformed/],
    [{ refusals: { n: 3, weight: 1, yes: 2, recent: 0.5 } }, /refusals of the shared baseline of y is malformed/],
    [{ findings: { n: 3, weight: 1, yes: 0, recent: 7 } }, /findings of the shared baseline of y is malformed/],
    [{ tokensIn: { n: 1, sketch: { buckets: [['a', 1]], total: 1 } } }, /bucket/],
  ] as const) {
    assert.throws(() => parseSharedBaseline({ stats: { ...old.stats, ...bad }, deviation: null }, 'y'), re);
  }
  assert.throws(() => c.restore({ v: 1, principals: [['z', { ...old.stats, inc: 1, refusals: { n: 1 } }]] }), /refusals of the snapshot of z is malformed/);
});
