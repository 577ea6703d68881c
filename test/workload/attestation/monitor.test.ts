// The monitor against deployments simulated with generated Nitro evidence: trust is granted only on a
// fresh, correct answer, withdrawn on the first bad one or when it lapses, and every change is audited.
import { before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedClock } from '../../../src/core/clock.js';
import type { AuditEvent } from '../../../src/core/types.js';
import { AttestationMonitor } from '../../../src/workload/attestation/monitor.js';
import { AttestationConfigurationInvalid } from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { Evidence, TrustAnchors } from '../../../src/workload/attestation/types.js';
import { createNitroPki, forgeNitroDocument, pcrValues, referenceFor, type NitroPki } from './nitro-forge.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const MIN = 60_000;
const pcrs = pcrValues(0x21);
const reference = referenceFor(pcrs);
let pki: NitroPki;
let trust: TrustAnchors;

before(async () => {
  pki = await createNitroPki(T0);
  trust = createTrustAnchors({ nitroRootsPem: [pki.rootPem] });
});

type Behaviour = 'honest' | 'wrong-pcr' | 'replay' | 'stale' | 'down' | 'hang';

function setup(audit: (e: AuditEvent) => void = () => {}) {
  const clock = new FixedClock(T0);
  const events: AuditEvent[] = [];
  const state = { behaviour: 'honest' as Behaviour, fetches: 0, lastDoc: null as Buffer | null };
  const monitor = new AttestationMonitor({
    trust,
    clock,
    trustTtlMs: 5 * MIN,
    reverifyEveryMs: MIN,
    maxEvidenceAgeMs: MIN,
    fetchTimeoutMs: 200,
    audit: (e) => {
      audit(e);
      events.push(e);
    },
    fetchEvidence: async (_id, nonce): Promise<Evidence> => {
      state.fetches++;
      switch (state.behaviour) {
        case 'down':
          throw new Error('connection refused');
        case 'hang':
          return new Promise<Evidence>(() => {});
        case 'replay':
          return { type: 'nitro', document: state.lastDoc! };
        case 'stale':
          return { type: 'nitro', document: await forgeNitroDocument(pki, { timestamp: clock.now() - 10 * MIN, pcrs, nonce: Buffer.from(nonce) }) };
        case 'wrong-pcr':
          return { type: 'nitro', document: await forgeNitroDocument(pki, { timestamp: clock.now(), pcrs: { ...pcrs, 0: Buffer.alloc(48, 0xaa) }, nonce: Buffer.from(nonce) }) };
        case 'honest': {
          const doc = await forgeNitroDocument(pki, { timestamp: clock.now(), pcrs, nonce: Buffer.from(nonce) });
          state.lastDoc = doc;
          return { type: 'nitro', document: doc };
        }
      }
    },
  });
  monitor.register('dep-1', reference);
  return { clock, events, state, monitor };
}

test('an unchallenged or unknown deployment is not trusted', () => {
  const { monitor, events } = setup();
  assert.equal(monitor.isTrusted('dep-1'), false);
  assert.equal(monitor.isTrusted('nope'), false);
  assert.equal(monitor.current('dep-1'), null);
  assert.equal(events.length, 0);
});

test('a correct answer grants trust and is audited once; repeated success is not re-audited', async () => {
  const { monitor, events } = setup();
  const v = await monitor.challenge('dep-1');
  assert.ok(v);
  assert.equal(monitor.isTrusted('dep-1'), true);
  assert.equal(monitor.current('dep-1'), v);
  await monitor.challenge('dep-1');
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.decision, 'allow');
  assert.equal(e.action, 'attest');
  assert.deepEqual(e.resource, { type: 'Deployment', id: 'dep-1' });
  assert.equal(e.details?.['previous'], 'unknown');
  assert.equal(e.details?.['evidenceType'], 'nitro');
});

test('trust lapses when the verdict outlives its TTL, and is audited', async () => {
  const { monitor, events, clock } = setup();
  await monitor.challenge('dep-1');
  clock.advance(5 * MIN + 1);
  assert.equal(monitor.isTrusted('dep-1'), false);
  assert.equal(events.at(-1)?.decision, 'deny');
  assert.equal(events.at(-1)?.errorCode, 'attestation_expired');
  await monitor.challenge('dep-1');
  assert.equal(monitor.isTrusted('dep-1'), true);
  assert.equal(events.length, 3);
});

for (const [behaviour, code] of [
  ['wrong-pcr', 'attestation_measurement_mismatch'],
  ['replay', 'attestation_nonce_mismatch'],
  ['stale', 'attestation_stale'],
  ['down', 'attestation_unavailable'],
  ['hang', 'attestation_unavailable'],
] as const) {
  test(`trusted deployment loses trust at once when it ${behaviour === 'hang' ? 'does not answer' : behaviour === 'down' ? 'is down' : `answers with ${behaviour} evidence`}`, async () => {
    const { monitor, events, state, clock } = setup();
    await monitor.challenge('dep-1');
    assert.equal(monitor.isTrusted('dep-1'), true);
    clock.advance(1000);
    state.behaviour = behaviour;
    assert.equal(await monitor.challenge('dep-1'), null);
    assert.equal(monitor.isTrusted('dep-1'), false);
    const last = events.at(-1)!;
    assert.equal(last.decision, 'deny');
    assert.equal(last.errorCode, code);
    assert.equal(last.details?.['previous'], 'trusted');
    assert.equal(monitor.status('dep-1').lastError, code);
  });
}

test('concurrent challenges share one fetch', async () => {
  const { monitor, state } = setup();
  const [a, b] = await Promise.all([monitor.challenge('dep-1'), monitor.challenge('dep-1')]);
  assert.equal(state.fetches, 1);
  assert.equal(a, b);
});

test('a grant that cannot be audited is not a grant', async () => {
  const { monitor } = setup((e) => {
    if (e.decision === 'allow') throw new Error('ledger down');
  });
  assert.equal(await monitor.challenge('dep-1'), null);
  assert.equal(monitor.isTrusted('dep-1'), false);
});

test('changing the reference values withdraws trust until the next successful challenge', async () => {
  const { monitor, events } = setup();
  await monitor.challenge('dep-1');
  monitor.register('dep-1', referenceFor(pcrValues(0x31)));
  assert.equal(monitor.isTrusted('dep-1'), false);
  assert.equal(events.at(-1)?.errorCode, 'attestation_reference_changed');
  await monitor.challenge('dep-1');
  assert.equal(monitor.isTrusted('dep-1'), false);
  assert.equal(events.at(-1)?.errorCode, 'attestation_reference_changed');
  assert.equal(monitor.status('dep-1').lastError, 'attestation_measurement_mismatch');
});

test('the scheduler re-challenges every interval and keeps trust alive', async () => {
  const { monitor, state, clock } = setup();
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    monitor.start();
    for (let i = 0; i < 7; i++) {
      clock.advance(MIN);
      mock.timers.tick(MIN);
      await monitor.challenge('dep-1'); // joins the challenge the tick started
      assert.equal(monitor.isTrusted('dep-1'), true, `round ${i}`);
    }
    assert.equal(state.fetches, 7);
    monitor.stop();
    clock.advance(6 * MIN);
    mock.timers.tick(6 * MIN);
    assert.equal(state.fetches, 7);
    assert.equal(monitor.isTrusted('dep-1'), false);
  } finally {
    mock.timers.reset();
  }
});

test('a monitor whose re-verification is slower than its TTL is refused at construction', () => {
  assert.throws(
    () => new AttestationMonitor({ trust, clock: new FixedClock(T0), trustTtlMs: MIN, reverifyEveryMs: 2 * MIN, maxEvidenceAgeMs: MIN, fetchTimeoutMs: 100, audit: () => {}, fetchEvidence: async () => ({ type: 'jwt', token: '' }) }),
    AttestationConfigurationInvalid,
  );
});
