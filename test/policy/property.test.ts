// Property: the sliced path and the cached path give exactly the decision of naive full-set Cedar
// evaluation, over random policy sets, random entity stores and random requests, including across
// policy and entity changes between requests (a stale cache entry would show up as a difference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { parsePolicies } from '../../src/policy/policy-set.js';
import type { Findings, Principal, PrincipalKind } from '../../src/core/types.js';
import { NOW, request } from './fixtures.js';

const users = ['u0', 'u1', 'u2'];
const groups = ['g0', 'g1', 'g2', 'g3'];
const tenants = ['t0', 't1'];
const models = ['m0', 'm1', 'm2', 'm3'];
const actions = ['chat', 'complete', 'embed', 'listModels'] as const;

const principalScope = fc.oneof(
  fc.constant('principal'),
  fc.constantFrom(...users).map((u) => `principal == User::"${u}"`),
  fc.constantFrom(...groups).map((g) => `principal in Group::"${g}"`),
  fc.constantFrom(...tenants).map((t) => `principal in Tenant::"${t}"`),
  fc.constantFrom('User', 'Service', 'Agent').map((t) => `principal is ${t}`),
  fc.tuple(fc.constantFrom('User', 'Agent'), fc.constantFrom(...groups)).map(([t, g]) => `principal is ${t} in Group::"${g}"`),
);
const actionScope = fc.oneof(
  fc.constant('action'),
  fc.constantFrom(...actions).map((a) => `action == Action::"${a}"`),
  fc.subarray([...actions], { minLength: 1 }).map((as) => `action in [${as.map((a) => `Action::"${a}"`).join(', ')}]`),
  fc.constant('action in Action::"inference"'),
  fc.constant('action == Action::"inference"'),
);
const resourceScope = fc.oneof(
  fc.constant('resource'),
  fc.constantFrom(...models).map((m) => `resource == Model::"${m}"`),
  fc.constant('resource is Model'),
  fc.constant('resource is Deployment'),
  fc.constantFrom(...tenants).map((t) => `resource in Tenant::"${t}"`),
  fc.constantFrom(...tenants).map((t) => `resource is Model in Tenant::"${t}"`),
);
const condition = fc.constantFrom(
  '',
  'when { context.findings.injectionScorePermille > 500 }',
  'when { context.sourceIp.isInRange(ip("10.0.0.0/8")) && context has region && context.region == "eu" }', // extension + optional attribute
  'when { [Action::"chat", Action::"inference"].contains(action) }', // reads the action in a condition
  'when { action in Action::"inference" }', // needs the action hierarchy from a condition
  'when { context.classification == "restricted" }',
  'unless { resource has tier && resource.tier == "onprem" }',
  'when { principal.admin }',
  'when { context.time.hour < 12 }',
  'when { context.authn has mfaAgeSeconds && context.authn.mfaAgeSeconds < 900 }',
  'when { resource has grantees && principal in resource.grantees }',
  'when { context has maxTokens && context.maxTokens + 9223372036854775807 > 0 }', // errors when maxTokens > 0
  'when { context.findings.piiTypes.contains("email") }',
  'when { context.sourceIp.isInRange(ip("10.0.0.0/8")) }',
  'when { principal.tenant == Tenant::"t0" }',
  'when { context == context }', // reads the whole context: disables narrowing
  'unless { context has maxTokens }', // presence alone
  'when { context.authn has mfaAgeSeconds }',
);
const policy = fc.record({
  effect: fc.constantFrom('permit', 'forbid'),
  p: principalScope,
  a: actionScope,
  r: resourceScope,
  c: condition,
  obligation: fc.constantFrom(null, 'redact:pii', 'max_tokens:256', 'route:tier=onprem'),
});
type Gen<A> = A extends fc.Arbitrary<infer T> ? T : never;
type GenPolicy = Gen<typeof policy>;

function policyText(p: { effect: string; p: string; a: string; r: string; c: string; obligation: string | null }, id: string): string {
  const ob = p.obligation && p.effect === 'permit' ? `@obligation("${p.obligation}") ` : '';
  return `@id("${id}") ${ob}${p.effect}(${p.p}, ${p.a}, ${p.r}) ${p.c};`;
}

const principalArb = fc.record({
  kind: fc.constantFrom<PrincipalKind>('user', 'service', 'agent'),
  id: fc.constantFrom(...users),
  tenant: fc.constantFrom(...tenants),
  groups: fc.subarray(groups),
  admin: fc.boolean(),
  mfaAgo: fc.option(fc.integer({ min: 0, max: 3600 })),
});
const contextArb = fc.record({
  classification: fc.constantFrom<Findings['classification']>('public', 'internal', 'restricted'),
  injectionScore: fc.constantFrom(0, 0.3, 0.7, 0.95),
  pii: fc.boolean(),
  hourOffset: fc.integer({ min: 0, max: 23 }),
  maxTokens: fc.option(fc.constantFrom(0, 100)),
  sourceIp: fc.constantFrom('10.1.2.3', '192.168.0.1', '2001:db8::1'),
  region: fc.option(fc.constantFrom('eu', 'us')),
});
// Requests draw from small pools so the same principal/action/resource recurs with other contexts
// and after changes: that is where a wrong cache key or a stale cache entry would show.
const requestArb = fc.record({
  principal: fc.nat(2),
  action: fc.constantFrom<(typeof actions)[number]>('chat', 'listModels'),
  resource: fc.constantFrom({ type: 'Model' as const, id: 'm0' }, { type: 'Model' as const, id: 'm1' }, { type: 'Deployment' as const, id: 'd0' }),
  context: contextArb,
});
type GenRequest = Gen<typeof requestArb>;

const entityArb = fc.record({
  g1InG0: fc.boolean(),
  m1Tier: fc.constantFrom('onprem', 'public_cloud'),
  m1Grantees: fc.subarray(groups),
  m0Tenant: fc.constantFrom(...tenants),
});
function entities(e: Gen<typeof entityArb>) {
  return [
    { type: 'Group', id: 'g1', parents: e.g1InG0 ? [{ type: 'Group', id: 'g0' }] : [] },
    { type: 'Group', id: 'g2', parents: [{ type: 'Tenant', id: 't1' }] },
    { type: 'Model', id: 'm0', attrs: { tier: 'onprem' }, parents: [{ type: 'Tenant', id: e.m0Tenant }] },
    { type: 'Model', id: 'm1', attrs: { tier: e.m1Tier, grantees: e.m1Grantees } },
    { type: 'Deployment', id: 'd0', attrs: { tier: 'onprem' }, parents: [{ type: 'Model', id: 'm0' }] },
  ];
}

function toRequest(r: GenRequest, pool: Gen<typeof principalArb>[]) {
  const gp = pool[r.principal % pool.length]!;
  const p: Principal = {
    kind: gp.kind,
    id: gp.id,
    tenant: gp.tenant,
    groups: gp.groups,
    admin: gp.admin,
    authn: { method: 'oidc', credentialId: 'c', ...(gp.mfaAgo !== null ? { mfaAt: NOW - gp.mfaAgo * 1000 } : {}) },
    scope: { models: ['*'], actions: ['*'] },
  };
  const c = r.context;
  return request(p, r.action, r.resource, {
    now: NOW + c.hourOffset * 3600_000,
    sourceIp: c.sourceIp,
    findings: {
      items: c.pii ? [{ category: 'pii', type: 'email', start: 0, end: 3, confidence: 1 }] : [],
      classification: c.classification,
      injectionScore: c.injectionScore,
      injectionSignals: [],
    },
    ...(c.maxTokens !== null ? { maxTokens: c.maxTokens } : {}),
    ...(c.region !== null ? { region: c.region } : {}),
  });
}

type Op =
  | { op: 'decide'; req: GenRequest }
  | { op: 'addGenerated'; policy: GenPolicy }
  | { op: 'entities'; e: Gen<typeof entityArb> };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: requestArb.map((req) => ({ op: 'decide' as const, req })) },
  { weight: 1, arbitrary: policy.map((p) => ({ op: 'addGenerated' as const, policy: p })) },
  { weight: 1, arbitrary: entityArb.map((e) => ({ op: 'entities' as const, e })) },
);

test('sliced and cached decisions equal naive full-set Cedar evaluation', () => {
  let decisions = 0;
  fc.assert(
    fc.property(fc.array(policy, { minLength: 0, maxLength: 14 }), entityArb, fc.array(principalArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { minLength: 8, maxLength: 30 }), (policies, ents, pool, ops) => {
      const pdp = new PolicyDecisionPoint();
      pdp.loadText(policies.map((p, i) => policyText(p, `p${i}`)).join('\n'), 'random');
      pdp.setEntities(entities(ents));
      let generated = 0;
      for (const op of ops) {
        if (op.op === 'addGenerated') pdp.upsertGenerated(parsePolicies(policyText(op.policy, `gen${generated++}`), 'gen'));
        else if (op.op === 'entities') pdp.setEntities(entities(op.e));
        else {
          const req = toRequest(op.req, pool);
          const naive = pdp.decideNaive(req);
          assert.deepEqual(pdp.decideUncached(req), naive, 'sliced');
          assert.deepEqual(pdp.decide(req), naive, 'first decide');
          assert.deepEqual(pdp.decide(req), naive, 'cached decide');
          decisions++;
        }
      }
    }),
    { numRuns: 80, seed: 20250115 },
  );
  assert.ok(decisions > 800, `exercised ${decisions} decisions`);
});

test('the property would catch a slicing index that drops a matching policy', () => {
  // Guard against a vacuous property: a request that only an unscoped-principal policy permits.
  const pdp = new PolicyDecisionPoint();
  pdp.loadText('@id("any-model") permit(principal, action in Action::"inference", resource is Model);');
  const req = toRequest({
    principal: 0,
    action: 'chat',
    resource: { type: 'Model', id: 'm0' },
    context: { classification: 'public', injectionScore: 0, pii: false, hourOffset: 0, maxTokens: null, sourceIp: '10.1.2.3', region: null },
  }, [{ kind: 'user', id: 'u0', tenant: 't0', groups: [], admin: false, mfaAgo: null }]);
  assert.equal(pdp.decideNaive(req).allow, true);
  assert.equal(pdp.decide(req).allow, true);
});
