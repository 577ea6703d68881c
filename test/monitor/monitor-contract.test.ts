// One contract, two backends: the monitor's windows, risk and playbook behave the same in process (embedded)
// and in Redis (cluster), on a fixed clock. Then what only the shared one does: two replicas see one risk, a
// reset through either forgets the principal on both, a threshold crossing is reported by exactly one of
// them, and Redis down refuses admission with 503 `monitor_unavailable` instead of letting a throttled
// principal through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { INJECTION_BLOCK_CUT } from '../../src/core/injection-cuts.js';
import { FixedClock } from '../../src/core/clock.js';
import { WardenError } from '../../src/core/errors.js';
import { BehaviourMonitor, type MonitorAction, type MonitorOptions, type Observation, type RiskReport } from '../../src/monitor/monitor.js';
import { SharedBehaviourMonitor } from '../../src/monitor/redis-monitor.js';
import { contractCase, redisTestPrefixes, type StoreBackend } from '../helpers/contract.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const P = 'acme/user:mallory';
const who = { id: 'mallory', kind: 'user', tenant: 'acme' };
const ob = (o: Partial<Observation> = {}): Observation => ({ principal: P, who, authn: 'api_key', credentialId: 'key_1', status: 200, denied: false, injectionScore: 0, secrets: 0, ...o });

/** Both monitors seen through one (async) face. */
interface Monitor {
  observe(ob: Observation): Promise<void>;
  admit(principal: string): Promise<void>;
  risk(principal: string): Promise<number>;
  report(): Promise<RiskReport[]>;
  reset(principal: string): Promise<boolean>;
}

interface Opened {
  clock: FixedClock;
  actions: MonitorAction[];
  make(opts?: Partial<MonitorOptions>): Monitor;
  close(): Promise<void>;
}

const redisKeys = redisTestPrefixes('tmon');
const { redis, newPrefix } = redisKeys;

const backends: StoreBackend<Opened>[] = [
  {
    name: 'in process',
    open: async () => {
      const clock = new FixedClock(T0);
      const actions: MonitorAction[] = [];
      const make = (opts: Partial<MonitorOptions> = {}): Monitor => {
        const m = new BehaviourMonitor({ clock, onAction: (a) => actions.push(a), ...opts });
        return { observe: async (o) => m.observe(o), admit: async (p) => m.admit(p), risk: async (p) => m.risk(p), report: async () => m.report(), reset: async (p) => m.reset(p) };
      };
      return { clock, actions, make, close: async () => {} };
    },
  },
  {
    name: 'Redis',
    open: async () => {
      const skip = redisKeys.skip();
      if (skip) return skip;
      const clock = new FixedClock(T0);
      const actions: MonitorAction[] = [];
      const prefix = newPrefix();
      const make = (opts: Partial<MonitorOptions> = {}): Monitor => {
        const m = new SharedBehaviourMonitor(redis, prefix, { clock, onAction: (a) => actions.push(a), ...opts });
        return { observe: (o) => m.observe(o), admit: (p) => m.admit(p), risk: (p) => m.currentRisk(p), report: () => m.report(), reset: (p) => m.reset(p) };
      };
      return { clock, actions, make, close: async () => {} };
    },
  },
];

const throttled = (e: unknown) => e instanceof WardenError && e.status === 429 && e.code === 'monitor_throttled';

contractCase(backends, 'each signal raises the risk, saturating; an unknown principal has none', async ({ make }) => {
  const m = make();
  for (let i = 0; i < 200; i++) await m.observe(ob({ principal: 'acme/user:calm' }));
  assert.equal(await m.risk('acme/user:calm'), 0);
  assert.equal(await m.risk('acme/user:nobody'), 0);
  for (let i = 0; i < 10; i++) await m.observe(ob({ principal: 'acme/user:den', denied: true, status: 403 }));
  assert.equal(await m.risk('acme/user:den'), 0.6);
  for (let i = 0; i < 5; i++) await m.observe(ob({ principal: 'acme/user:sec', secrets: 1 }));
  assert.equal(await m.risk('acme/user:sec'), 0.5);
  for (let i = 0; i < 3; i++) await m.observe(ob({ principal: 'acme/user:inj', injectionScore: 0.97, denied: true, status: 403 }));
  assert.equal(await m.risk('acme/user:inj'), 0.918); // 1 − (1 − 0.6·3/10)(1 − 0.9)
  for (let i = 0; i < 5; i++) await m.observe(ob({ principal: 'acme/user:low', injectionScore: INJECTION_BLOCK_CUT }));
  assert.equal(await m.risk('acme/user:low'), 0, 'a score at the threshold is not an injection');
});

contractCase(backends, 'a burst is judged against the principal\'s own history (the expired slices\' average)', async ({ make, clock }) => {
  const m = make({ burstPerWindow: 100 });
  for (let i = 0; i < 300; i++) await m.observe(ob({ principal: 'acme/user:new' }));
  assert.equal(await m.risk('acme/user:new'), 0, 'no burst before the principal has a history');
  for (let i = 0; i < 25; i++) {
    await m.observe(ob()); // two quiet minutes: one request every 5 s
    clock.advance(5_000);
  }
  assert.equal(await m.risk(P), 0);
  for (let i = 0; i < 300; i++) await m.observe(ob());
  assert.equal(await m.risk(P), 0.5);
});

contractCase(backends, 'risk fades as the window slides; the throttle holds until risk falls below half its threshold', async ({ make, clock, actions }) => {
  const m = make({ windowMs: 60_000, throttleAt: 0.6, throttleRps: 1 });
  for (let i = 0; i < 10; i++) await m.observe(ob({ denied: true, status: 403 }));
  assert.deepEqual(actions.map((a) => a.kind), ['throttle']);
  await m.admit(P); // one request per second is allowed
  await assert.rejects(m.admit(P), throttled);
  clock.advance(1000);
  await m.admit(P);
  clock.advance(61_000);
  assert.equal(await m.risk(P), 0, 'the window has passed');
  await m.admit(P);
  await m.admit(P);
  assert.deepEqual(actions.map((a) => a.kind), ['throttle', 'release']);
  assert.deepEqual(actions[0]!.who, who);
});

contractCase(backends, 'revoke: when set, once per credential, carrying the credential in use', async ({ make, actions }) => {
  const m = make({ revokeAt: 0.85 });
  for (let i = 0; i < 5; i++) await m.observe(ob({ injectionScore: 0.99 }));
  await m.observe(ob({ injectionScore: 0.99, credentialId: 'key_2' }));
  const revokes = actions.filter((a) => a.kind === 'revoke');
  assert.deepEqual(revokes.map((a) => (a as { credentialId: string }).credentialId), ['key_1', 'key_2']);
  const [r] = await m.report();
  assert.deepEqual([r!.principal, r!.revoked, r!.throttled, r!.signals.injections], [P, ['key_1', 'key_2'], true, 6]);
});

contractCase(backends, 'reset forgets a principal (unthrottled at once); resetting one never seen says so', async ({ make }) => {
  const m = make();
  for (let i = 0; i < 10; i++) await m.observe(ob({ denied: true, status: 403 }));
  await m.admit(P);
  await assert.rejects(m.admit(P), throttled);
  assert.equal(await m.reset(P), true);
  assert.equal(await m.risk(P), 0);
  await m.admit(P);
  await m.admit(P);
  assert.equal(await m.reset('acme/user:nobody'), false);
  assert.deepEqual(await m.report(), []);
});

test('shared: two replicas see one risk, a reset through either forgets it on both, and a crossing is reported once', async (t) => {
  const skip = redisKeys.skip();
  if (skip) return t.skip(skip);
  const clock = new FixedClock(T0);
  const prefix = newPrefix();
  const seen: string[] = [];
  const a = new SharedBehaviourMonitor(redis, prefix, { clock, onAction: (x) => seen.push(`A:${x.kind}`) });
  const b = new SharedBehaviourMonitor(redis, prefix, { clock, onAction: (x) => seen.push(`B:${x.kind}`) });
  // Denials split across both replicas add up to one principal's risk.
  await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).observe(ob({ denied: true, status: 403 }))));
  assert.equal(await a.currentRisk(P), 0.6);
  await b.admit(P);
  assert.equal(b.risk(P), 0.6, 'the PDP on B reads the risk A contributed to');
  assert.equal(seen.filter((s) => s.endsWith('throttle')).length, 1, `one throttle reported, by one replica: ${seen.join(',')}`);
  await assert.rejects(a.admit(P), throttled, 'B took the allowance; A refuses the next request in the same second');
  assert.equal(await b.reset(P), true);
  await a.admit(P);
  assert.equal(a.risk(P), 0, 'reset through B: A sees nothing left');
  assert.deepEqual(await a.report(), []);
});

test('shared: Redis down refuses admission with 503 monitor_unavailable', async (t) => {
  const skip = redisKeys.skip();
  if (skip) return t.skip(skip);
  // A port nothing listens on: the client cannot connect, and has no offline queue to wait in.
  const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
  dead.on('error', () => {});
  t.after(() => dead.disconnect());
  const m = new SharedBehaviourMonitor(dead, newPrefix(), { clock: new FixedClock(T0) });
  await assert.rejects(m.admit(P), (e: unknown) => e instanceof WardenError && e.status === 503 && e.code === 'monitor_unavailable');
  await assert.rejects(m.observe(ob()), 'an observation that cannot be recorded is an error for the caller to log');
});
