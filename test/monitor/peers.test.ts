// Peer groups, models and tools on a fixed clock, scripted traffic: a week of two departments (consumers on the
// summarizer and the search tool, finance on the ledger model) raises no peer deviation, a new member acting like
// its peers is not flagged though it has no history of its own, and one doing what no peer does is — the finance
// model, from a new network at 03:00, a tool call with arguments far beyond the tool's usual ones — with reasons
// naming the peer group or the resource, reported once, held for holdMs, forgotten on reset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import type { Deviation } from '../../src/monitor/baselines.js';
import { PeerBaselines, peerGroupOf, type PeerObservation } from '../../src/monitor/peers.js';
import { seededRandom } from '../helpers/seeded.js';

const MONDAY = Date.UTC(2026, 10, 23, 0, 0, 0);
const HOUR = 3_600_000;
const consumer = (id: string) => ({ principal: `acme/user:${id}`, who: { tenant: 'acme', kind: 'user', groups: ['consumers'] } });
const finance = (id: string) => ({ principal: `acme/user:${id}`, who: { tenant: 'acme', kind: 'user', groups: ['finance', 'consumers'] } });

function week(peers: PeerBaselines, clock: FixedClock, r: () => number, flagged: string[]): void {
  for (let day = 0; day < 5; day++) {
    for (let h = 8; h < 17; h++) {
      for (let i = 0; i < 12; i++) {
        clock.set(MONDAY + day * 24 * HOUR + h * HOUR + Math.floor(r() * HOUR));
        const ip = r() < 0.2 ? `198.51.100.${1 + Math.floor(r() * 200)}` : `10.1.2.${1 + Math.floor(r() * 200)}`;
        const ob: PeerObservation =
          i % 4 === 0
            ? { ...finance(`f${Math.floor(r() * 5)}`), sourceIp: ip, model: 'ledger-model', tool: null, chars: 200 + Math.floor(r() * 300) }
            : i % 4 === 1
              ? { ...consumer(`c${Math.floor(r() * 20)}`), sourceIp: ip, model: null, tool: 'search', chars: 30 + Math.floor(r() * 60) }
              : { ...consumer(`c${Math.floor(r() * 20)}`), sourceIp: ip, model: 'summarizer', tool: null, chars: 50 + Math.floor(r() * 400) };
        if (peers.observe(ob)) flagged.push(`${ob.principal} ${JSON.stringify(peers.deviation(ob.principal))}`);
      }
    }
  }
}

test('peer group: tenant, kind and groups (sorted)', () => {
  assert.equal(peerGroupOf(finance('x').who), 'acme/user[consumers,finance]');
  assert.equal(peerGroupOf({ tenant: 'acme', kind: 'service', groups: [] }), 'acme/service[]');
});

test('benign departments raise nothing; a newcomer like its peers is not flagged; one unlike them is, with reasons, once', async () => {
  const clock = new FixedClock(MONDAY);
  const reported: [string, Deviation][] = [];
  const peers = new PeerBaselines({ clock, minObservations: 100, onDeviation: (p, d) => reported.push([p, d]) });
  const flagged: string[] = [];
  const r = seededRandom(21);
  week(peers, clock, r, flagged);
  week(peers, clock, r, flagged);
  assert.deepEqual(flagged, [], 'false alarms on benign traffic');
  assert.equal(reported.length, 0);
  assert.deepEqual(peers.report('peer:acme/user[consumers]')!.models.sort(), ['summarizer', 'tool:search']);

  // A new consumer with no history of its own, doing what consumers do: nothing to say.
  clock.set(MONDAY + 2 * 24 * HOUR + 10 * HOUR);
  assert.equal(peers.observe({ ...consumer('newbie'), sourceIp: '10.1.2.9', model: 'summarizer', tool: null, chars: 180 }), null);

  // The same newcomer on the finance model: no consumer ever calls it (weight 0.15, below reportAt 0.5: held, not reported).
  const odd = peers.observe({ ...consumer('newbie'), sourceIp: '10.1.2.9', model: 'ledger-model', tool: null, chars: 250 })!;
  assert.deepEqual(odd.reasons, ['peers acme/user[consumers]: new_model ledger-model']);
  assert.equal(reported.length, 0);

  // Saturday 03:00 from a network nobody in the department (nor anyone calling the model) uses: reported once.
  clock.set(MONDAY + 5 * 24 * HOUR + 3 * HOUR);
  const bad = peers.observe({ ...consumer('c3'), sourceIp: '203.0.113.5', model: 'ledger-model', tool: null, chars: 250 })!;
  assert.deepEqual(bad.reasons, [
    'peers acme/user[consumers]: new_network 203.0.113.0/24',
    'peers acme/user[consumers]: unusual_hour 03h UTC',
    'peers acme/user[consumers]: new_model ledger-model',
    'model:ledger-model: new_network 203.0.113.0/24',
    'model:ledger-model: unusual_hour 03h UTC',
  ]);
  assert.ok(bad.score > 0.7, `score ${bad.score}`);
  assert.equal(reported.length, 1);
  assert.equal(reported[0]![0], 'acme/user:c3');
  peers.observe({ ...consumer('c3'), sourceIp: '203.0.113.5', model: 'ledger-model', tool: null, chars: 250 });
  assert.equal(reported.length, 1, 'once per crossing');

  // A tool call with arguments far beyond what the tool usually gets.
  clock.set(MONDAY + 2 * 24 * HOUR + 11 * HOUR);
  const big = peers.observe({ ...consumer('c4'), sourceIp: '10.1.2.9', model: null, tool: 'search', chars: 8_000 })!;
  assert.ok(big.reasons.includes('tool:search: prompt_length 8000 > 2 × p99 ' + big.reasons.find((x) => x.startsWith('tool:search'))!.split('p99 ')[1]));
  assert.ok(big.reasons.some((x) => x.startsWith('peers acme/user[consumers]: prompt_length 8000')));

  // Held for holdMs (10 min), then gone; a reset forgets it at once.
  clock.advance(9 * 60_000);
  assert.ok(peers.deviation('acme/user:c4'));
  clock.advance(2 * 60_000);
  assert.equal(peers.deviation('acme/user:c4'), null);
  peers.observe({ ...consumer('c5'), sourceIp: '10.1.2.9', model: 'ledger-model', tool: null, chars: 250 });
  assert.ok(peers.deviation('acme/user:c5'));
  await peers.reset('acme/user:c5');
  assert.equal(peers.deviation('acme/user:c5'), null);
});
