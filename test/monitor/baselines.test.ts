// Per-principal baselines on a fixed clock: networks, hours, models and prompt lengths learnt as decayed
// streaming statistics; a compromised key used from a new network at an odd hour deviates at once with its
// reasons, a benign week of office-hours traffic from the office and the VPN does not; the sketch's
// quantiles are within their stated accuracy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { networkOf, PrincipalBaselines, QuantileSketch, type Deviation } from '../../src/monitor/baselines.js';
import { seededRandom } from '../helpers/seeded.js';

const MONDAY = Date.UTC(2026, 10, 23, 0, 0, 0);
const HOUR = 3_600_000;

test('networks: /24 for IPv4 (mapped too), /48 for IPv6', () => {
  assert.equal(networkOf('10.1.2.77'), '10.1.2.0/24');
  assert.equal(networkOf('::ffff:10.1.2.77'), '10.1.2.0/24');
  assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkOf('2001:0db8:00ab::'), '2001:db8:ab::/48');
});

test('the quantile sketch is within ±2 % on a skewed distribution', () => {
  const r = seededRandom(5);
  const s = new QuantileSketch();
  const xs: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const x = Math.exp(3 + 2 * r()) * (r() < 0.05 ? 10 : 1);
    xs.push(x);
    s.add(x);
  }
  xs.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = xs[Math.ceil(q * xs.length) - 1]!;
    assert.ok(Math.abs(s.quantile(q) - exact) / exact < 0.025, `q${q}: ${s.quantile(q)} vs ${exact}`);
  }
  assert.equal(new QuantileSketch().quantile(0.5), 0);
});

/** A week of office-hours traffic (Mon–Fri 08–17 UTC) from the office /24 and, some days, the VPN. */
function officeWeek(b: PrincipalBaselines, clock: FixedClock, principal: string, r: () => number, perHour = 6): void {
  for (let day = 0; day < 5; day++) {
    for (let h = 8; h < 17; h++) {
      for (let i = 0; i < perHour; i++) {
        clock.set(MONDAY + day * 24 * HOUR + h * HOUR + Math.floor(r() * HOUR));
        const ip = r() < 0.2 ? `198.51.100.${1 + Math.floor(r() * 200)}` : `10.1.2.${1 + Math.floor(r() * 200)}`;
        b.observe(principal, { sourceIp: ip, model: r() < 0.7 ? 'gpt-small' : 'gpt-large', promptChars: 50 + Math.floor(r() * 400) });
      }
    }
  }
}

test('a compromised key from a new network at 03:00 deviates at once, with its reasons; benign weeks do not', () => {
  const clock = new FixedClock(MONDAY);
  const reported: [string, Deviation][] = [];
  const b = new PrincipalBaselines({ clock, minObservations: 100, onDeviation: (p, d) => reported.push([p, d]) });
  // 20 benign principals, one week each, then a second week: no deviation report.
  const r = seededRandom(11);
  for (let k = 0; k < 20; k++) officeWeek(b, clock, `acme/user:u${k}`, r);
  assert.equal(reported.length, 0, `benign deviations: ${JSON.stringify(reported.slice(0, 3))}`);
  let benignDeviating = 0;
  for (let k = 0; k < 20; k++) if ((b.deviation(`acme/user:u${k}`)?.score ?? 0) >= 0.5) benignDeviating++;
  assert.equal(benignDeviating, 0);

  // Saturday 03:00 UTC, from a network u0 never used.
  clock.set(MONDAY + 5 * 24 * HOUR + 3 * HOUR);
  const d = b.observe('acme/user:u0', { sourceIp: '203.0.113.9', model: 'gpt-small', promptChars: 120 })!;
  assert.ok(d.score >= 0.5, `score ${d.score}`);
  assert.deepEqual(d.reasons, ['new_network 203.0.113.0/24', 'unusual_hour 03h UTC']);
  assert.equal(reported.length, 1, 'detected on the first request');
  assert.equal(reported[0]![0], 'acme/user:u0');
  // The deviation is held for holdMs (10 min) then fades; a further odd request alone does not report again.
  clock.advance(5 * 60_000);
  assert.equal(b.deviation('acme/user:u0')!.score, d.score);
  b.observe('acme/user:u0', { sourceIp: '203.0.113.9', model: 'gpt-small', promptChars: 120 });
  assert.equal(reported.length, 1);
  clock.advance(11 * 60_000);
  assert.equal(b.deviation('acme/user:u0'), null);

  // The other signals: a model never called, a prompt far beyond its own p99.
  clock.set(MONDAY + 2 * 24 * HOUR + 10 * HOUR);
  const m = b.observe('acme/user:u1', { sourceIp: '10.1.2.3', model: 'gpt-secret', promptChars: 120 })!;
  assert.deepEqual(m.reasons, ['new_model gpt-secret']);
  const big = b.observe('acme/user:u2', { sourceIp: '10.1.2.3', model: 'gpt-small', promptChars: 20_000 })!;
  assert.match(big.reasons[0]!, /^prompt_length 20000 > 2 × p99 \d+$/);

  const rep = b.report('acme/user:u3')!;
  assert.deepEqual(rep.networks.sort(), ['10.1.2.0/24', '198.51.100.0/24']);
  assert.deepEqual(rep.activeHoursUtc, [8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.ok(rep.promptChars.p50 > 150 && rep.promptChars.p50 < 350);
  assert.equal(b.report('nobody'), null);
  b.reset('acme/user:u3');
  assert.equal(b.report('acme/user:u3'), null);
});

test('no deviation before the baseline is mature; old habits fade (half-life)', () => {
  const clock = new FixedClock(MONDAY + 10 * HOUR);
  const b = new PrincipalBaselines({ clock, minObservations: 50, halfLife: 100 });
  for (let i = 0; i < 49; i++) b.observe('p', { sourceIp: `10.0.0.${i}`, model: 'm', promptChars: 100 });
  assert.equal(b.observe('p', { sourceIp: '192.0.2.1', model: 'x', promptChars: 100 }), null, 'immature: nothing reported');
  // The principal moves to a new network for good: after some hundred requests the old one is the rare one.
  for (let i = 0; i < 800; i++) b.observe('p', { sourceIp: '192.0.2.1', model: 'm', promptChars: 100 });
  clock.advance(HOUR);
  const back = b.observe('p', { sourceIp: '10.0.0.1', model: 'm', promptChars: 100 })!;
  assert.ok(back.reasons.includes('new_network 10.0.0.0/24'));
  assert.throws(() => new PrincipalBaselines({ clock, minObservations: 0 }), /minObservations/);
});

test('a snapshot survives a restart: the restored baseline flags the same new network at the same odd hour', () => {
  const clock = new FixedClock(MONDAY + 9 * HOUR);
  const a = new PrincipalBaselines({ clock, minObservations: 50 });
  for (let i = 0; i < 60; i++) {
    clock.set(MONDAY + (9 + (i % 8)) * HOUR + i * 1000);
    a.observe('acme/user:kim', { sourceIp: '10.1.2.3', model: 'summarizer', promptChars: 200 + (i % 7) * 10 });
  }
  const snap = JSON.parse(JSON.stringify(a.snapshot())) as unknown;
  const b = new PrincipalBaselines({ clock, minObservations: 50 });
  assert.equal(b.restore(snap), 1);
  assert.equal(b.report('acme/user:kim')!.observations, 60);
  assert.deepEqual(b.report('acme/user:kim')!.networks, a.report('acme/user:kim')!.networks);
  clock.set(MONDAY + 5 * 24 * HOUR + 3 * HOUR);
  const d = b.observe('acme/user:kim', { sourceIp: '203.0.113.9', model: 'summarizer', promptChars: 210 });
  assert.deepEqual(d?.reasons, ['new_network 203.0.113.0/24', 'unusual_hour 03h UTC']);
  // Malformed snapshots are refused whole, naming what is wrong; nothing is half-loaded.
  const c = new PrincipalBaselines({ clock, minObservations: 50 });
  for (const [bad, re] of [[{ v: 2, principals: [] }, /v 1/], [{ v: 1, principals: [['x', { n: 1 }]] }, /x is malformed/], [{ v: 1, principals: [['x', { ...(snap as { principals: [string, Record<string, unknown>][] }).principals[0]![1], prompt: { buckets: [['a', 1]], total: 1 } }]] }, /bucket/]] as const) {
    assert.throws(() => c.restore(bad), re);
  }
  assert.equal(c.report('x'), null);
});
