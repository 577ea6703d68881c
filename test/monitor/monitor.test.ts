// The monitor's scoring and playbook on a fixed clock: each signal raises the risk, the window lets it fade,
// the throttle has hysteresis, a revoke happens once per credential, and the table of principals is bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FixedClock } from '../../src/core/clock.js';
import { RateLimited } from '../../src/core/errors.js';
import { INJECTION_BLOCK_CUT } from '../../src/core/injection-cuts.js';
import { BehaviourMonitor, type MonitorAction, type Observation } from '../../src/monitor/monitor.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const who = { id: 'mallory', kind: 'user', tenant: 'acme' };
const ob = (o: Partial<Observation> = {}): Observation => ({ principal: 'acme/user:mallory', who, authn: 'api_key', credentialId: 'key_1', status: 200, denied: false, injectionScore: 0, secrets: 0, ...o });

function setup(opts: Partial<ConstructorParameters<typeof BehaviourMonitor>[0]> = {}) {
  const clock = new FixedClock(T0);
  const actions: MonitorAction[] = [];
  const m = new BehaviourMonitor({ clock, onAction: (a) => actions.push(a), ...opts });
  return { clock, m, actions };
}

test('ordinary traffic carries no risk; an unknown principal has none', () => {
  const { m, actions } = setup();
  for (let i = 0; i < 200; i++) m.observe(ob());
  assert.equal(m.risk('acme/user:mallory'), 0);
  assert.equal(m.risk('acme/user:nobody'), 0);
  assert.equal(actions.length, 0);
});

test('each signal raises the risk, saturating: injections weigh most, then denials, secrets, bursts', () => {
  const inj = setup();
  for (let i = 0; i < 3; i++) inj.m.observe(ob({ injectionScore: 0.97, denied: true, status: 403 }));
  const r3 = inj.m.risk('acme/user:mallory');
  assert.ok(r3 >= 0.9 && r3 < 1, `3 denied injections: ${r3}`);
  const den = setup();
  for (let i = 0; i < 10; i++) den.m.observe(ob({ denied: true, status: 403 }));
  assert.equal(den.m.risk('acme/user:mallory'), 0.6);
  const sec = setup();
  for (let i = 0; i < 5; i++) sec.m.observe(ob({ secrets: 1 }));
  assert.equal(sec.m.risk('acme/user:mallory'), 0.5);
  const fresh = setup({ burstPerWindow: 100 });
  for (let i = 0; i < 300; i++) fresh.m.observe(ob());
  assert.equal(fresh.m.risk('acme/user:mallory'), 0, 'no burst before the principal has a history');
  const burst = setup({ burstPerWindow: 100 });
  for (let i = 0; i < 25; i++) {
    burst.m.observe(ob()); // two quiet minutes: one request every 5 s
    burst.clock.advance(5_000);
  }
  assert.equal(burst.m.risk('acme/user:mallory'), 0);
  for (let i = 0; i < 300; i++) burst.m.observe(ob());
  assert.equal(burst.m.risk('acme/user:mallory'), 0.5);
  // A score at the injection threshold (by default the calibrated blocking cut) is not an injection.
  const low = setup();
  for (let i = 0; i < 5; i++) low.m.observe(ob({ injectionScore: INJECTION_BLOCK_CUT }));
  assert.equal(low.m.risk('acme/user:mallory'), 0);
});

test('risk fades as the window slides; the throttle holds until risk falls below half its threshold', () => {
  const { clock, m, actions } = setup({ windowMs: 60_000, throttleAt: 0.6, throttleRps: 1 });
  for (let i = 0; i < 10; i++) m.observe(ob({ denied: true, status: 403 }));
  assert.deepEqual(actions.map((a) => a.kind), ['throttle']);
  m.admit('acme/user:mallory'); // one request per second is allowed
  assert.throws(() => m.admit('acme/user:mallory'), (e: unknown) => e instanceof RateLimited && e.code === 'monitor_throttled');
  clock.advance(1000);
  m.admit('acme/user:mallory');
  clock.advance(61_000);
  assert.equal(m.risk('acme/user:mallory'), 0, 'the window has passed');
  m.admit('acme/user:mallory');
  m.admit('acme/user:mallory');
  assert.deepEqual(actions.map((a) => a.kind), ['throttle', 'release']);
  assert.equal(actions[0]!.who.id, 'mallory');
});

test('revoke: off by default; when set, once per credential, carrying the credential in use', () => {
  const off = setup();
  for (let i = 0; i < 5; i++) off.m.observe(ob({ injectionScore: 0.99 }));
  assert.ok(!off.actions.some((a) => a.kind === 'revoke'));
  const on = setup({ revokeAt: 0.85 });
  for (let i = 0; i < 5; i++) on.m.observe(ob({ injectionScore: 0.99 }));
  on.m.observe(ob({ injectionScore: 0.99, credentialId: 'key_2' }));
  const revokes = on.actions.filter((a) => a.kind === 'revoke');
  assert.deepEqual(revokes.map((a) => (a as { credentialId: string }).credentialId), ['key_1', 'key_2']);
  assert.deepEqual(on.m.report()[0]!.revoked, ['key_1', 'key_2']);
});

test('reset forgets a principal; the table of principals is bounded; bad thresholds are refused', () => {
  const { m } = setup({ maxPrincipals: 3 });
  for (let i = 0; i < 10; i++) m.observe(ob({ denied: true, status: 403 }));
  assert.equal(m.reset('acme/user:mallory'), true);
  assert.equal(m.risk('acme/user:mallory'), 0);
  for (const id of ['a', 'b', 'c', 'd']) m.observe(ob({ principal: `acme/user:${id}`, who: { ...who, id } }));
  assert.deepEqual(m.report().map((r) => r.principal), ['acme/user:b', 'acme/user:c', 'acme/user:d']);
  assert.throws(() => setup({ throttleAt: 0 }), /throttleAt/);
  assert.throws(() => setup({ revokeAt: 1.5 }), /revokeAt/);
});

test('property: risk stays in [0, 1], never falls as bad requests add up within the window, and is 0 a window later', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ denied: fc.boolean(), injection: fc.boolean(), secret: fc.boolean(), gapMs: fc.nat({ max: 3_000 }) }), { minLength: 1, maxLength: 40 }),
      (events) => {
        const { clock, m } = setup({ windowMs: 60_000, throttleAt: 1 });
        let last = 0;
        let elapsed = 0;
        for (const e of events) {
          clock.advance(e.gapMs);
          elapsed += e.gapMs;
          m.observe(ob({ denied: e.denied, status: e.denied ? 403 : 200, injectionScore: e.injection ? 0.95 : 0, secrets: e.secret ? 1 : 0 }));
          const r = m.risk('acme/user:mallory');
          assert.ok(r >= 0 && r <= 1, `risk ${r}`);
          // Within one window nothing has expired yet, so the risk can only grow.
          if (elapsed < 55_000) assert.ok(r >= last, `risk fell from ${last} to ${r}`);
          last = r;
        }
        clock.advance(61_000);
        assert.equal(m.risk('acme/user:mallory'), 0);
      },
    ),
    { numRuns: 200 },
  );
});
