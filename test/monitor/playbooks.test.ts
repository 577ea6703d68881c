// Response playbooks on a fixed clock: conditions → steps, once per crossing and armed again once the
// conditions no longer hold; step-up (RFC 9470 challenge until a fresh MFA authentication), throttle and
// credential suspension are held by the engine and reverted by an operator; revocations and quarantines are
// not reversible in place; dry run records and does nothing; bad playbooks are refused at config load. The
// planes' effects are recorders here (their real wiring is driven in test/monitor/playbooks-e2e.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, withDefaults } from '../../src/config/config.js';
import { FixedClock } from '../../src/core/clock.js';
import { WardenError } from '../../src/core/errors.js';
import type { Principal } from '../../src/core/types.js';
import { PlaybookEngine, validatePlaybooks, type Playbook, type PrincipalFacts, type StepRecord } from '../../src/monitor/playbooks.js';
import { simulatePlaybooks, SimulationInputError } from '../../src/monitor/simulate.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const who = { id: 'eve', kind: 'user', tenant: 'acme' };
const KEY = 'acme/user:eve';
const signals = { requests: 10, denials: 0, injections: 0, secrets: 0 };
const facts = (o: Partial<PrincipalFacts> = {}): PrincipalFacts => ({ principal: KEY, who, authn: 'api_key', credentialId: 'key_1', risk: 0, signals, extraction: 0, ...o });
const principal = (o: Partial<Principal['authn']> = {}): Principal => ({ id: 'eve', kind: 'user', tenant: 'acme', groups: [], authn: { method: 'api_key', credentialId: 'key_1', ...o } }) as unknown as Principal;

function setup(playbooks: Playbook[]) {
  const clock = new FixedClock(T0);
  const steps: StepRecord[] = [];
  const effects: string[] = [];
  const engine = new PlaybookEngine({
    playbooks,
    clock,
    onStep: (r) => steps.push(r),
    effects: {
      revokeCredential: async (authn, id) => (effects.push(`revoke ${authn} ${id}`), authn === 'api_key'),
      revokeTokens: async (w) => (effects.push(`tokens ${w.id}`), true),
      quarantine: async (id) => (effects.push(`quarantine ${id}`), true),
      quarantineTool: async () => null,
      releaseTool: async () => false,
      webhook: async (url) => {
        effects.push(`webhook ${url}`);
        throw new Error('unreachable');
      },
    },
  });
  return { clock, steps, effects, engine };
}

const refusal = (f: () => void): WardenError => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof WardenError);
    return e;
  }
  assert.fail('expected a refusal');
};

test('a principal playbook fires once per crossing: step-up until fresh MFA, throttle, suspension; operators revert', async () => {
  const { clock, steps, effects, engine } = setup([
    { name: 'contain', when: { risk: 0.8 }, steps: [{ do: 'stepUp', maxAgeSec: 600 }, { do: 'throttle', requestsPerSecond: 1 }, { do: 'suspendCredential' }, { do: 'revokeCredential' }, { do: 'webhook', url: 'https://hooks.example/x' }] },
  ]);
  await engine.onPrincipal(facts({ risk: 0.5 }));
  assert.equal(steps.length, 0);
  engine.admit(KEY, principal());
  await engine.onPrincipal(facts({ risk: 0.85 }));
  await engine.onPrincipal(facts({ risk: 0.9 }));
  assert.deepEqual(steps.map((s) => `${s.step}:${s.done}:${s.reversible}`), ['stepUp:true:true', 'throttle:true:true', 'suspendCredential:true:true', 'revokeCredential:true:false', 'webhook:false:false']);
  assert.deepEqual(effects, ['revoke api_key key_1', 'webhook https://hooks.example/x']);
  assert.equal(steps[0]!.detail.risk, 0.85);

  // The suspended credential is refused first; another credential of the same principal meets the step-up.
  assert.equal(refusal(() => engine.admit(KEY, principal())).code, 'credential_suspended');
  const challenge = refusal(() => engine.admit(KEY, principal({ credentialId: 'key_2' })));
  assert.equal(challenge.status, 401);
  assert.equal(challenge.code, 'insufficient_user_authentication');
  assert.match(String(challenge.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication".*max_age=600$/);
  // MFA from before the step does not count; MFA after it does (then the throttle applies: 1/s).
  assert.equal(refusal(() => engine.admit(KEY, principal({ credentialId: 'tok', method: 'oidc', mfaAt: T0 - 1 } as never))).code, 'insufficient_user_authentication');
  clock.advance(1_000);
  const fresh = principal({ credentialId: 'tok', method: 'oidc', mfaAt: T0 + 500 } as never);
  engine.admit(KEY, fresh);
  assert.equal(refusal(() => engine.admit(KEY, fresh)).code, 'playbook_throttled');
  // Too old by now: the step-up's max_age.
  clock.advance(700_000);
  assert.equal(refusal(() => engine.admit(KEY, fresh)).code, 'insufficient_user_authentication');

  // Reverting: each held step is lifted; revocations and notifications cannot be undone in place.
  const [stepUp, throttle, suspend, revoke, webhook] = steps;
  assert.equal(refusal(() => engine.revertable(revoke!.id)).code, 'step_not_reversible');
  assert.equal(refusal(() => engine.revertable(webhook!.id)).code, 'step_not_reversible');
  assert.equal(refusal(() => engine.revertable('pbs_none')).code, 'step_not_found');
  engine.revert(suspend!.id);
  engine.revert(stepUp!.id);
  assert.equal(refusal(() => engine.revert(stepUp!.id)).code, 'step_already_reverted');
  engine.admit(KEY, principal());
  assert.equal(refusal(() => engine.admit(KEY, principal())).code, 'playbook_throttled');
  engine.revert(throttle!.id);
  for (let i = 0; i < 5; i++) engine.admit(KEY, principal());
  assert.ok(engine.steps().find((s) => s.id === stepUp!.id)!.revertedAt !== null);
});

test('conditions: every one given must hold; a playbook is armed again once they no longer do', async () => {
  const { steps, engine } = setup([{ name: 'noisy', when: { risk: 0.5, signals: { injections: 2 } }, steps: [{ do: 'stepUp' }] }]);
  await engine.onPrincipal(facts({ risk: 0.9, signals: { ...signals, injections: 1 } }));
  assert.equal(steps.length, 0, 'risk alone is not enough');
  await engine.onPrincipal(facts({ risk: 0.9, signals: { ...signals, injections: 2 } }));
  await engine.onPrincipal(facts({ risk: 0.9, signals: { ...signals, injections: 3 } }));
  assert.equal(steps.length, 1);
  await engine.onPrincipal(facts({ risk: 0.1 }));
  await engine.onPrincipal(facts({ risk: 0.9, signals: { ...signals, injections: 2 } }));
  assert.equal(steps.length, 2, 'fired again after the conditions fell');
  // An operator's reset of the principal lifts its holds and arms its playbooks.
  await engine.forget(KEY);
  engine.admit(KEY, principal());
  await engine.onPrincipal(facts({ risk: 0.9, signals: { ...signals, injections: 2 } }));
  assert.equal(steps.length, 3);
  const x = setup([{ name: 'extraction', when: { extraction: 0.7 }, steps: [{ do: 'revokeTokens' }] }]);
  await x.engine.onPrincipal(facts({ extraction: 0.6 }));
  await x.engine.onPrincipal(facts({ extraction: 0.75 }));
  assert.deepEqual(x.effects, ['tokens eve']);
  assert.equal(x.steps[0]!.done, true);
});

test('quarantineTool: the named tool or the one just called is quarantined; a revert lifts only that quarantine', async () => {
  const clock = new FixedClock(T0);
  const steps: StepRecord[] = [];
  const quarantined = new Map<string, { by: string; at: number }>();
  const engine = new PlaybookEngine({
    playbooks: [
      { name: 'tool-abuse', when: { signals: { denials: 3 } }, steps: [{ do: 'quarantineTool' }] },
      { name: 'pin-search', when: { risk: 0.9 }, steps: [{ do: 'quarantineTool', tool: 'search' }] },
    ],
    clock,
    onStep: (r) => steps.push(r),
    effects: {
      revokeCredential: async () => false,
      revokeTokens: async () => false,
      quarantine: async () => false,
      webhook: async () => false,
      // A fake of the tools plane's quarantine (the real one: test/tools/quarantine.test.ts, playbooks-e2e).
      quarantineTool: async (name, _reason, by) => {
        if (name === 'ghost' || quarantined.has(name)) return null;
        const made = { by, at: clock.now() };
        quarantined.set(name, made);
        return made;
      },
      releaseTool: async (name, _by, made) => {
        const q = quarantined.get(name);
        if (!q || q.at !== made.at || q.by !== made.by) return false;
        quarantined.delete(name);
        return true;
      },
    },
  });
  // A request that was no tool call: there is no tool to quarantine; the step says so.
  await engine.onPrincipal(facts({ signals: { ...signals, denials: 3 } }));
  assert.deepEqual(steps.map((s) => [s.step, s.done, s.reversible, s.detail.tool]), [['quarantineTool', false, false, null]]);
  await engine.forget(KEY);
  await engine.onPrincipal(facts({ signals: { ...signals, denials: 3 }, tool: 'orders_lookup' }));
  const made = steps.at(-1)!;
  assert.deepEqual([made.done, made.reversible, made.detail.tool, made.detail.quarantinedBy], [true, true, 'orders_lookup', 'playbook:tool-abuse']);
  await engine.onPrincipal(facts({ risk: 0.95, tool: 'orders_lookup' }));
  assert.equal(steps.at(-1)!.detail.tool, 'search', 'a named tool, whatever was called');
  assert.ok(quarantined.has('search') && quarantined.has('orders_lookup'));
  assert.throws(() => engine.revert(made.id), { code: 'step_needs_release' });
  await engine.revertStep(made.id);
  assert.equal(quarantined.has('orders_lookup'), false);
  await assert.rejects(engine.revertStep(made.id), { code: 'step_already_reverted' });
  // Released by an admin and quarantined again by someone else: the step's revert does not lift the new one.
  const search = steps.at(-1)!;
  quarantined.set('search', { by: 'bob', at: T0 + 5 });
  await assert.rejects(engine.revertStep(search.id), { code: 'tool_quarantine_changed' });
  assert.ok(quarantined.has('search'));
});

test('dry run records what would run and does nothing', async () => {
  const { steps, effects, engine } = setup([{ name: 'rehearse', dryRun: true, when: { risk: 0.5 }, steps: [{ do: 'stepUp' }, { do: 'revokeCredential' }] }]);
  await engine.onPrincipal(facts({ risk: 0.7 }));
  assert.deepEqual(steps.map((s) => [s.step, s.dryRun, s.done, s.reversible]), [['stepUp', true, false, false], ['revokeCredential', true, false, false]]);
  assert.deepEqual(effects, []);
  engine.admit(KEY, principal());
});

test('drift playbooks quarantine the deployment, optionally only for some features', async () => {
  const { steps, effects, engine } = setup([
    { name: 'sql-out', when: { drift: { features: ['sql', 'shell'] } }, steps: [{ do: 'quarantineDeployment' }] },
    { name: 'any-drift', when: { drift: true }, steps: [{ do: 'webhook', url: 'https://hooks.example/drift' }] },
  ]);
  const drift = { deployment: 'dep_1', model: 'summarizer', psi: 2.1, answersSinceBaseline: 6, baseline: 0, window: 0.6 };
  await engine.onDrift({ ...drift, feature: 'url' });
  assert.deepEqual(effects, ['webhook https://hooks.example/drift']);
  await engine.onDrift({ ...drift, feature: 'sql' });
  assert.deepEqual(effects.slice(1), ['quarantine dep_1', 'webhook https://hooks.example/drift']);
  const q = steps.find((s) => s.step === 'quarantineDeployment')!;
  assert.equal(q.subject, 'dep_1');
  assert.equal(q.who, null);
  assert.equal(q.done, true);
  assert.equal(q.reversible, false);
});

test('attestation playbooks quarantine the deployment whose attestation failed and notify; dry run does neither', async () => {
  const { steps, effects, engine } = setup([
    { name: 'untrusted-out', when: { attestation: true }, steps: [{ do: 'quarantineDeployment' }, { do: 'webhook', url: 'https://hooks.example/att' }] },
    { name: 'drift-only', when: { drift: true }, steps: [{ do: 'quarantineDeployment' }] },
  ]);
  await engine.onAttestationFailure({ deployment: 'dep_tee', code: 'evidence_stale', reason: 'evidence older than 5 min' });
  assert.deepEqual(effects, ['quarantine dep_tee', 'webhook https://hooks.example/att'], 'the drift playbook does not fire on an attestation failure');
  const [q, w] = steps;
  assert.equal(q!.step, 'quarantineDeployment');
  assert.equal(q!.subject, 'dep_tee');
  assert.equal(q!.done, true);
  assert.deepEqual(q!.detail, { code: 'evidence_stale', reason: 'evidence older than 5 min' });
  assert.equal(w!.done, false, 'the webhook did not answer: the step says so');
  const dry = setup([{ name: 'watch', dryRun: true, when: { attestation: true }, steps: [{ do: 'quarantineDeployment' }] }]);
  await dry.engine.onAttestationFailure({ deployment: 'dep_tee', code: null, reason: null });
  assert.deepEqual(dry.effects, []);
  assert.equal(dry.steps[0]!.dryRun, true);
  assert.equal(dry.steps[0]!.done, false);
  // The playbooks do not fire on drift for an attestation-only book.
  await dry.engine.onDrift({ deployment: 'dep_tee', model: 'm', feature: 'sql', psi: 3, answersSinceBaseline: 5, baseline: 0, window: 1 });
  assert.equal(dry.steps.length, 1);
});

test('playbooks that could never fire, or whose steps do not fit their subject, are refused at config load', () => {
  const bad: [Playbook[], RegExp][] = [
    [[{ name: 'a', when: { risk: 0.5, drift: true }, steps: [{ do: 'stepUp' }] }], /not both/],
    [[{ name: 'a', when: {}, steps: [{ do: 'stepUp' }] }], /not neither/],
    [[{ name: 'a', when: { drift: true }, steps: [{ do: 'stepUp' }] }], /stepUp does not apply to a deployment/],
    [[{ name: 'a', when: { attestation: true }, steps: [{ do: 'revokeCredential' }] }], /revokeCredential does not apply to a deployment/],
    [[{ name: 'a', when: { attestation: true, risk: 0.5 }, steps: [{ do: 'webhook', url: 'https://h.example' }] }], /not both/],
    [[{ name: 'a', when: { attestation: true, drift: true }, steps: [{ do: 'quarantineDeployment' }] }], /one event each/],
    [[{ name: 'a', when: { risk: 0.5 }, steps: [{ do: 'quarantineDeployment' }] }], /does not apply to a principal/],
    [[{ name: 'a', when: { risk: 0.5 }, steps: [{ do: 'stepUp' }] }, { name: 'a', when: { risk: 0.6 }, steps: [{ do: 'stepUp' }] }], /used twice/],
    [[{ name: 'a', when: { risk: 0.5 }, steps: [] }], /no steps/],
  ];
  for (const [p, re] of bad) {
    assert.throws(() => validatePlaybooks(p), re);
    assert.throws(() => withDefaults({ monitor: { playbooks: p } }, 'warden.yaml'), (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith('warden.yaml: '));
  }
  const ok = withDefaults({ monitor: { playbooks: [{ name: 'ok', when: { risk: 0.9 }, steps: [{ do: 'throttle', requestsPerSecond: 2 }] }] } }, null);
  assert.equal(ok.monitor.playbooks.length, 1);
});

test('the simulator replays scripted traffic in dry run: what would fire, when, on which line', async () => {
  const config = withDefaults({ monitor: { drift: { baselineAnswers: 10, windowAnswers: 5 } } }, null);
  const books: Playbook[] = [
    { name: 'injections', when: { signals: { injections: 2 } }, steps: [{ do: 'stepUp' }, { do: 'revokeCredential' }] },
    { name: 'drift', when: { drift: true }, steps: [{ do: 'quarantineDeployment' }] },
    { name: 'never', when: { risk: 1 }, steps: [{ do: 'throttle', requestsPerSecond: 1 }] },
    { name: 'tee', when: { attestation: true }, steps: [{ do: 'quarantineDeployment' }] },
  ];
  const lines: unknown[] = [];
  for (let i = 0; i < 5; i++) lines.push({ at: i * 100, principal: 'acme/user:bob', status: 200 });
  lines.push({ at: 600, principal: 'acme/user:eve', status: 403, denied: true, injectionScore: 0.97 });
  lines.push({ at: 900, principal: 'acme/user:eve', status: 403, denied: true, injectionScore: 0.98 });
  for (let i = 0; i < 12; i++) lines.push({ at: 1000 + i, deployment: 'dep_1', model: 'summarizer', answer: 'The quarter went well and revenue grew.' });
  for (let i = 0; i < 5; i++) lines.push({ at: 2000 + i, deployment: 'dep_1', model: 'summarizer', answer: 'SELECT * FROM users;' });
  lines.push({ at: 3000, deployment: 'dep_tee', attestation: 'failed', code: 'evidence_stale' });
  const report = await simulatePlaybooks(config.monitor, books, lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(report.principals, 2);
  assert.equal(report.deployments, 2);
  assert.deepEqual(report.byPlaybook.tee, { steps: 1, firstAt: 3000 });
  assert.deepEqual(report.byPlaybook.injections, { steps: 2, firstAt: 900 });
  assert.equal(report.fired[0]!.line, 7);
  assert.equal(report.fired[0]!.subject, 'acme/user:eve');
  assert.equal(report.byPlaybook.drift!.steps, 1);
  assert.ok(report.byPlaybook.drift!.firstAt! >= 2000);
  assert.deepEqual(report.byPlaybook.never, { steps: 0, firstAt: null });
  for (const [bad, re] of [['not json', /line 1: not JSON/], ['[1]', /not a JSON object/], ['{"at":5,"principal":"x"}\n{"at":1,"principal":"acme/user:a"}', /line 1: principal must look like/], ['{"at":5,"principal":"a/user:x"}\n{"at":1,"principal":"a/user:x"}', /line 2: "at"/], ['{"at":1}', /needs "principal"/]] as const) {
    await assert.rejects(simulatePlaybooks(config.monitor, books, bad), (e: unknown) => e instanceof SimulationInputError && re.test(e.message));
  }
});
