import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { PdpContext } from '../../src/policy/context.js';
import { PolicyParseFailed, PolicyValidationFailed, PolicyTemplateUnsupported, ObligationUnknown, PolicyIdConflict } from '../../src/policy/errors.js';
import type { ShadowDiff, PolicySetChange } from '../../src/policy/pdp.js';
import { MODELS, NOW, STARTER_DIR, findings, principal, request } from './fixtures.js';

function starter(): PolicyDecisionPoint {
  const pdp = new PolicyDecisionPoint();
  pdp.loadDirectory(STARTER_DIR);
  pdp.setEntities(MODELS);
  return pdp;
}

const chatLlama = () => request(principal(), 'chat', { type: 'Model', id: 'llama-onprem' });

test('a granted consumer may chat; the decision names the permit and the set version', () => {
  const pdp = starter();
  const d = pdp.decide(chatLlama());
  assert.equal(d.allow, true);
  assert.deepEqual(d.policyIds, ['consumers-invoke-granted-models']);
  assert.equal(d.policyVersion, pdp.version);
  assert.match(d.policyVersion, /^sha256:[0-9a-f]{64}$/);
});

test('no policy set loaded: deny (fail closed)', () => {
  const pdp = new PolicyDecisionPoint();
  const d = pdp.decide(chatLlama());
  assert.equal(d.allow, false);
  assert.match(d.reasons[0]!, /no policy set is loaded/);
});

test('a model not granted to any of the principal\'s groups: default deny with no policy ids', () => {
  const d = starter().decide(request(principal(), 'chat', { type: 'Model', id: 'secret-model' }));
  assert.equal(d.allow, false);
  assert.deepEqual(d.policyIds, []);
  assert.match(d.reasons[0]!, /default deny/);
});

test('an action that does not apply to the resource type is denied before Cedar', () => {
  const pdp = starter();
  const d = pdp.decide(request(principal(), 'callTool', { type: 'Model', id: 'llama-onprem' }));
  assert.equal(d.allow, false);
  assert.match(d.reasons[0]!, /does not apply to a Model/);
  assert.equal(pdp.stats.denialsBeforeCedar, 1);
});

test('an unknown action and an unknown resource type are denied', () => {
  const pdp = starter();
  const bad = { ...chatLlama(), action: 'fly' as never };
  assert.match(pdp.decide(bad).reasons[0]!, /unknown action/);
  const principalRes = request(principal(), 'chat', { type: 'Principal', id: 'x' });
  assert.equal(pdp.decide(principalRes).allow, false);
});

test('resource attributes that do not fit the schema deny the request', () => {
  const d = starter().decide(request(principal(), 'chat', { type: 'Model', id: 'x', attrs: { tier: 7 } }));
  assert.equal(d.allow, false);
  assert.match(d.reasons[0]!, /expected a string/);
  const d2 = starter().decide(request(principal(), 'chat', { type: 'Model', id: 'x', attrs: { colour: 'red' } }));
  assert.match(d2.reasons[0]!, /not declared in the schema/);
});

test('request attributes on the resource override the stored ones', () => {
  const d = starter().decide(request(principal(), 'chat', { type: 'Model', id: 'secret-model', attrs: { tier: 'onprem', grantees: ['consumers'] } }));
  assert.equal(d.allow, true);
});

test('a failed load keeps the last good set live and reports Cedar\'s error', () => {
  const pdp = starter();
  const before = pdp.version;
  assert.throws(() => pdp.loadText('permit(principal, action, resource) when { context.nope == 1 };'), (e: unknown) => {
    assert.ok(e instanceof PolicyValidationFailed);
    assert.match(e.message, /attribute `nope` in context/);
    return true;
  });
  assert.throws(() => pdp.loadText('permit(principal, action, resource) when {'), PolicyParseFailed);
  assert.throws(() => pdp.loadText('permit(principal == ?principal, action, resource);'), PolicyTemplateUnsupported);
  assert.throws(() => pdp.loadText('@obligation("teleport") permit(principal, action, resource);'), ObligationUnknown);
  assert.throws(() => pdp.loadText('@id("a") permit(principal, action, resource); @id("a") forbid(principal, action, resource);'), PolicyIdConflict);
  assert.equal(pdp.version, before);
  assert.equal(pdp.decide(chatLlama()).allow, true);
});

test('hot swap: the next decision uses the new version, never a cached one from the old set', () => {
  const changes: PolicySetChange[] = [];
  const pdp = new PolicyDecisionPoint({ onChange: (c) => changes.push(c) });
  pdp.loadDirectory(STARTER_DIR);
  pdp.setEntities(MODELS);
  const req = chatLlama();
  assert.equal(pdp.decide(req).allow, true);
  assert.equal(pdp.decide(req).allow, true);
  assert.equal(pdp.stats.cacheHits, 1);
  const v1 = pdp.version;
  pdp.loadText('@id("only-forbid") forbid(principal, action, resource);');
  const d = pdp.decide(req);
  assert.equal(d.allow, false);
  assert.notEqual(d.policyVersion, v1);
  assert.deepEqual(changes.map((c) => c.reason), ['load', 'load']);
  assert.equal(changes[1]!.previousVersion, v1);
});

test('an entity change is never answered from the cache', () => {
  const pdp = starter();
  const req = chatLlama();
  assert.equal(pdp.decide(req).allow, true);
  pdp.upsertEntities([{ type: 'Model', id: 'llama-onprem', attrs: { tier: 'onprem', grantees: ['someone-else'] } }]);
  assert.equal(pdp.decide(req).allow, false);
  pdp.removeEntities([{ type: 'Model', id: 'llama-onprem' }]);
  assert.equal(pdp.decide(req).allow, false);
});

test('group hierarchy from stored entities reaches `principal in Group`', () => {
  const pdp = starter();
  pdp.upsertEntities([{ type: 'Group', id: 'ml-team', parents: [{ type: 'Group', id: 'consumers' }] }]);
  const p = principal({ groups: ['ml-team', 'llama-users'] });
  assert.equal(pdp.decide(request(p, 'chat', { type: 'Model', id: 'llama-onprem' })).allow, true);
  assert.equal(pdp.decideNaive(request(p, 'chat', { type: 'Model', id: 'llama-onprem' })).allow, true);
});

test('stored entities are checked against the schema', () => {
  const pdp = starter();
  assert.throws(() => pdp.setEntities([{ type: 'Spaceship', id: 'x' }]), /not in the schema/);
  assert.throws(() => pdp.setEntities([{ type: 'Model', id: 'x', parents: [{ type: 'Group', id: 'g' }] }]), /cannot be in a Group/);
});

test('a forbid that errors at evaluation denies (fail closed), even though Cedar would skip it', () => {
  const pdp = new PolicyDecisionPoint();
  pdp.loadText(`
    @id("allow-all") permit(principal, action, resource);
    @id("overflowing-forbid") forbid(principal, action, resource)
      when { context has maxTokens && context.maxTokens + 9223372036854775807 > 0 };`);
  const ok = pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'm' }));
  assert.equal(ok.allow, true);
  const d = pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'm' }, { maxTokens: 10 }));
  assert.equal(d.allow, false);
  assert.deepEqual(d.policyIds, ['overflowing-forbid']);
  assert.match(d.reasons[0]!, /could not be evaluated: denied \(fail closed\)/);
});

test('a permit that errors is ignored; another permit can still allow', () => {
  const pdp = new PolicyDecisionPoint();
  pdp.loadText(`
    @id("overflowing-permit") @obligation("redact:pii") permit(principal, action, resource)
      when { context has maxTokens && context.maxTokens + 9223372036854775807 > 0 };
    @id("plain-permit") permit(principal, action, resource);`);
  const d = pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'm' }, { maxTokens: 10 }));
  assert.equal(d.allow, true);
  assert.deepEqual(d.policyIds, ['plain-permit']);
  assert.deepEqual(d.obligations, []);
  assert.match(d.reasons.join('\n'), /permit overflowing-permit could not be evaluated: ignored/);
});

test('obligations of every determining permit are returned, deduplicated', () => {
  const pdp = starter();
  const pii = findings({ items: [{ category: 'pii', type: 'email', start: 0, end: 5, confidence: 0.9 }] });
  const p = principal({ groups: ['consumers', 'llama-users', 'trial'] });
  const d = pdp.decide(request(p, 'chat', { type: 'Model', id: 'gpt-cloud' }, { findings: pii }));
  assert.equal(d.allow, true);
  assert.deepEqual(d.policyIds, ['consumers-invoke-granted-models', 'consumers-pii-redacted-off-prem', 'trial-invoke-granted-models']);
  assert.deepEqual([...d.obligations].sort(), ['max_tokens:512', 'redact:pii']);
});

test('decisions are frozen so a caller cannot alter a cached decision', () => {
  const pdp = starter();
  const d = pdp.decide(chatLlama());
  assert.throws(() => (d.policyIds as string[]).push('x'));
  assert.throws(() => ((d as { allow: boolean }).allow = false));
});

test('shadow mode reports each differing decision and promotion makes the candidate live', () => {
  const diffs: ShadowDiff[] = [];
  const pdp = new PolicyDecisionPoint({ onShadowDiff: (d) => diffs.push(d) });
  pdp.loadDirectory(STARTER_DIR);
  pdp.setEntities(MODELS);
  const { version } = pdp.setShadow([]); // the empty set denies everything
  assert.equal(pdp.shadowVersion, version);
  assert.equal(pdp.decide(chatLlama()).allow, true, 'the live set still decides');
  assert.equal(pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'secret-model' })).allow, false);
  assert.equal(diffs.length, 1, 'only the differing decision is reported');
  assert.equal(diffs[0]!.live.allow, true);
  assert.equal(diffs[0]!.candidate.allow, false);
  assert.deepEqual(diffs[0]!.resource, { type: 'Model', id: 'llama-onprem' });
  pdp.promoteShadow();
  assert.equal(pdp.version, version);
  assert.equal(pdp.decide(chatLlama()).allow, false);
  assert.throws(() => pdp.promoteShadow(), /no shadow policy set/);
});

test('a throwing shadow reporter does not change the live decision', () => {
  const pdp = new PolicyDecisionPoint({ onShadowDiff: () => { throw new Error('reporter down'); } });
  pdp.loadDirectory(STARTER_DIR);
  pdp.setEntities(MODELS);
  pdp.setShadow([]);
  assert.equal(pdp.decide(chatLlama()).allow, true);
  assert.equal(pdp.stats.shadowDiffs, 1);
});

test('an invalid shadow candidate is rejected and shadow mode stays off', () => {
  const pdp = starter();
  assert.throws(() => pdp.setShadow([...pdp.policies(), ...pdp.policies()]), PolicyIdConflict);
  assert.equal(pdp.shadowVersion, null);
});

test('time in context comes from the clock value given (UTC hour and weekday)', () => {
  const pdp = new PolicyDecisionPoint();
  pdp.loadText('@id("office-hours") permit(principal, action, resource) when { context.time.hour >= 8 && context.time.hour < 18 && context.time.weekday != 0 };');
  assert.equal(pdp.decide(request(principal(), 'chat', { type: 'Model', id: 'm' })).allow, true);
  const night = request(principal(), 'chat', { type: 'Model', id: 'm' }, { now: NOW + 12 * 3600_000 });
  assert.equal(pdp.decide(night).allow, false);
});

test('a context not built by buildContext is denied, not evaluated', () => {
  const pdp = starter();
  const forged = { ...chatLlama(), context: { value: { listener: 'admin' } } as never };
  const d = pdp.decide(forged);
  assert.equal(d.allow, false);
  assert.match(d.reasons[0]!, /not built by buildContext/);
});

test('an exception inside evaluation denies (fail closed) instead of escaping decide()', () => {
  const pdp = starter();
  const broken = { ...chatLlama(), context: new PdpContext(null as never) };
  const d = pdp.decide(broken);
  assert.equal(d.allow, false);
  assert.match(d.reasons[0]!, /policy evaluation failed/);
});
