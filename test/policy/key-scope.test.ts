import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { policiesForKeyScope } from '../../src/policy/key-scope.js';
import { loadPolicyDir, parsePolicies, validatePolicies } from '../../src/policy/policy-set.js';
import { PolicyIdConflict } from '../../src/policy/errors.js';
import type { Principal } from '../../src/core/types.js';
import { MODELS, STARTER_DIR, principal, request } from './fixtures.js';

// billing is a consumer granted llama-onprem and gpt-cloud (MODELS: grantees llama-users) by policy.
const svc = (keyId: string, groups = ['consumers', 'llama-users']): Principal =>
  principal({ kind: 'service', id: 'billing', groups, authn: { method: 'api_key', credentialId: keyId } });

function pdpWithKey(): PolicyDecisionPoint {
  const pdp = new PolicyDecisionPoint();
  pdp.loadDirectory(STARTER_DIR);
  pdp.setEntities(MODELS);
  pdp.setKeyScope('key_abc', { kind: 'service', id: 'billing' }, { models: ['llama-onprem'], actions: ['chat', 'embed'] });
  return pdp;
}

test('a key scope is a ceiling, never a grant: within it, policy decides', () => {
  const pdp = pdpWithKey();
  const d = pdp.decide(request(svc('key_abc'), 'chat', { type: 'Model', id: 'llama-onprem' }));
  assert.equal(d.allow, true);
  assert.deepEqual(d.policyIds, ['consumers-invoke-granted-models']);
  // The same key held by a principal that policy grants nothing: nothing.
  const none = pdp.decide(request(svc('key_abc', []), 'chat', { type: 'Model', id: 'llama-onprem' }));
  assert.equal(none.allow, false);
  assert.deepEqual(none.policyIds, []);
  assert.equal(pdp.policies().filter((p) => p.id.startsWith('key:')).map((p) => p.id).join(), 'key:key_abc:cap');
});

test('a key scoped to every model and action reaches only what policy grants its principal', () => {
  const pdp = pdpWithKey();
  pdp.setKeyScope('key_all', { kind: 'service', id: 'billing' }, { models: ['*'], actions: ['*'] });
  const p = svc('key_all');
  assert.equal(pdp.decide(request(p, 'chat', { type: 'Model', id: 'gpt-cloud' })).allow, true);
  assert.equal(pdp.decide(request(p, 'chat', { type: 'Model', id: 'secret-model' })).allow, false, 'granted to research only');
  assert.equal(pdp.decide(request(p, 'chat', { type: 'Model', id: 'no-such-model' })).allow, false);
  assert.equal(pdp.decide(request(p, 'callTool', { type: 'Tool', id: 'admin-tool', attrs: { grantees: ['admins'] } } as never)).allow, false);
  assert.equal(pdp.decide(request(p, 'callTool', { type: 'Tool', id: 'lookup', attrs: { grantees: ['consumers'], risk: 'low' } } as never)).allow, true);
});

test('outside its scope the key is capped: other model, other action, other credential', () => {
  const pdp = pdpWithKey();
  const other = pdp.decide(request(svc('key_abc'), 'chat', { type: 'Model', id: 'gpt-cloud' }));
  assert.equal(other.allow, false);
  assert.deepEqual(other.policyIds, ['key:key_abc:cap']);
  assert.equal(pdp.decide(request(svc('key_abc'), 'complete', { type: 'Model', id: 'llama-onprem' })).allow, false);
  // Another credential of the same principal is not capped by this key: policy alone decides for it.
  assert.equal(pdp.decide(request(svc('key_other'), 'chat', { type: 'Model', id: 'gpt-cloud' })).allow, true);
});

test('the cap holds even when a role would permit more', () => {
  const pdp = pdpWithKey();
  // billing is also a consumer granted gpt-cloud, but its key only covers llama-onprem
  const p = { ...svc('key_abc'), groups: ['consumers', 'llama-users'] };
  assert.equal(pdp.decide(request(p, 'chat', { type: 'Model', id: 'gpt-cloud' })).allow, false);
  assert.equal(pdp.decide(request({ ...p, authn: { method: 'oidc' as const, credentialId: 'jwt' } }, 'chat', { type: 'Model', id: 'gpt-cloud' })).allow, true);
});

test('deployments are scoped through their model', () => {
  const pdp = pdpWithKey();
  pdp.replacePolicies([...loadPolicyDir(STARTER_DIR), ...parsePolicies('@id("deployments-open") permit(principal, action in Action::"inference", resource is Deployment);', 'test')]);
  pdp.upsertEntities([
    { type: 'Deployment', id: 'd-llama', attrs: { model: 'llama-onprem' } },
    { type: 'Deployment', id: 'd-gpt', attrs: { model: 'gpt-cloud' } },
  ]);
  assert.equal(pdp.decide(request(svc('key_abc'), 'chat', { type: 'Deployment', id: 'd-llama' })).allow, true);
  assert.equal(pdp.decide(request(svc('key_abc'), 'chat', { type: 'Deployment', id: 'd-gpt' })).allow, false);
});

test('revoking the key removes its policies and changes the version', () => {
  const pdp = pdpWithKey();
  // Outside the key's scope, but granted by policy: capped while the key's policy is there.
  const req = request(svc('key_abc'), 'chat', { type: 'Model', id: 'gpt-cloud' });
  assert.equal(pdp.decide(req).allow, false);
  const v = pdp.version;
  pdp.removeKeyScope('key_abc');
  assert.notEqual(pdp.version, v);
  assert.equal(pdp.decide(req).allow, true);
  assert.equal(pdp.policies().some((p) => p.id.startsWith('key:')), false);
});

test('narrowing a key replaces its policies; a reload keeps generated policies', () => {
  const pdp = pdpWithKey();
  pdp.setKeyScope('key_abc', { kind: 'service', id: 'billing' }, { models: ['llama-onprem'], actions: ['embed'] });
  assert.equal(pdp.decide(request(svc('key_abc'), 'chat', { type: 'Model', id: 'llama-onprem' })).allow, false);
  pdp.loadDirectory(STARTER_DIR);
  assert.equal(pdp.decide(request(svc('key_abc'), 'embed', { type: 'Model', id: 'llama-onprem' })).allow, true);
});

test('wildcards: * models and * actions (admin actions excluded)', () => {
  const text = policiesForKeyScope('k1', { kind: 'user', id: 'u' }, { models: ['*'], actions: ['*'] });
  assert.doesNotMatch(text, /manageKeys|managePolicies|readAudit/);
  assert.match(text, /Action::"chat"/);
  assert.match(text, /Action::"callTool"/);
  assert.doesNotMatch(text, /contains\(resource\)/);
});

test('hostile key and principal ids cannot break out of their string literals', () => {
  const keyId = 'k"); permit(principal, action, resource); //';
  const text = policiesForKeyScope(keyId, { kind: 'user', id: 'x"\n}' }, { models: ['m"'], actions: ['chat'] });
  const entries = parsePolicies(text, 'key');
  assert.deepEqual(entries.map((e) => e.id), [`key:${keyId}:cap`]);
});

test('an unknown action in a scope, or an empty action list', () => {
  assert.throws(() => policiesForKeyScope('k', { kind: 'user', id: 'u' }, { models: ['*'], actions: ['fly'] }), /unknown action/);
  const pdp = new PolicyDecisionPoint();
  pdp.loadText('@id("all") permit(principal, action, resource);');
  pdp.setKeyScope('k0', { kind: 'service', id: 'billing' }, { models: ['*'], actions: [] });
  assert.equal(pdp.decide(request(svc('k0'), 'chat', { type: 'Model', id: 'm' })).allow, false);
});

test('a generated policy may not take the id of a loaded policy', () => {
  const pdp = pdpWithKey();
  assert.throws(() => pdp.upsertGenerated(parsePolicies('@id("admin-needs-recent-mfa") permit(principal, action, resource);', 'x')), PolicyIdConflict);
  assert.throws(() => pdp.loadText('@id("key:key_abc:cap") permit(principal, action, resource);'), PolicyIdConflict);
});

test('every key-scope shape validates against the schema (why repeat shapes may skip validation)', () => {
  const schema = new PolicyDecisionPoint().schema;
  for (const kind of ['user', 'service', 'agent'] as const) {
    for (const actions of [['*'], [], ['chat'], ['chat', 'embed', 'listModels'], ['callTool', 'readDataset'], ['manageKeys', 'readAudit'], ['approve', 'promoteModel', 'chat']]) {
      for (const models of [['*'], [], ['m1'], ['m1', 'm"2\\']]) {
        const text = policiesForKeyScope('k"\n1', { kind, id: 'p"\\x' }, { models, actions });
        assert.doesNotThrow(() => validatePolicies(schema, parsePolicies(text, 'key')), `${kind} ${actions} ${models}`);
      }
    }
  }
});

test('a setKeyScope that fails changes nothing', () => {
  const pdp = pdpWithKey();
  const v = pdp.version;
  pdp.loadText('@id("key:key_zzz:cap") permit(principal, action, resource);');
  const v2 = pdp.version;
  assert.notEqual(v, v2);
  assert.throws(() => pdp.setKeyScope('key_zzz', { kind: 'service', id: 'billing' }, { models: ['*'], actions: ['chat'] }), PolicyIdConflict);
  assert.equal(pdp.version, v2);
  assert.equal(pdp.decide(request(svc('key_abc'), 'chat', { type: 'Model', id: 'llama-onprem' })).allow, true);
});
