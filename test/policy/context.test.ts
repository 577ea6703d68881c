import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContext, contextFromPlain } from '../../src/policy/context.js';
import { ContextInvalid } from '../../src/policy/errors.js';
import { NOW, findings, principal } from './fixtures.js';

const base = { principal: principal(), now: NOW, sourceIp: '10.0.0.5', listener: 'inference', findings: findings(), riskScore: 0.25, tenant: 'acme' };

test('buildContext fills every RequestContext attribute with Cedar-typed values', () => {
  const p = principal({
    authn: { method: 'mtls', credentialId: 'cert-1', mfaAt: NOW - 125_000, certFingerprint: 'ab' },
    actor: [{ kind: 'agent', id: 'bot-7', tenant: 'acme' }],
  });
  const f = findings({
    classification: 'confidential',
    injectionScore: 0.91,
    items: [
      { category: 'pii', type: 'email', start: 0, end: 1, confidence: 1 },
      { category: 'pii', type: 'email', start: 2, end: 3, confidence: 1 },
      { category: 'pii', type: 'credit_card', start: 4, end: 5, confidence: 1 },
      { category: 'secret', type: 'aws_access_key', start: 6, end: 7, confidence: 1 },
    ],
  });
  const c = buildContext({ ...base, principal: p, findings: f, maxTokens: 256, region: 'eu-west', toolArgs: { path: '/tmp/x', depth: 2 } }).value;
  assert.deepEqual(c.time, { hour: 10, weekday: 3 });
  assert.deepEqual(c.sourceIp, { __extn: { fn: 'ip', arg: '10.0.0.5' } });
  assert.deepEqual(c.authn, { credentialId: 'cert-1', method: 'mtls', mfa: true, mfaAgeSeconds: 125, mtls: true, signed: false, senderBound: false });
  const bound = principal({ authn: { method: 'jit_token', credentialId: 'jti-1', boundKey: 'x'.repeat(43) } });
  assert.equal((buildContext({ ...base, principal: bound }).value.authn as { senderBound: boolean }).senderBound, true);
  assert.equal(c.classification, 'confidential');
  assert.deepEqual(c.findings, {
    fromToolResult: false,
    injectionScorePermille: 910,
    piiTypes: ['credit_card', 'email'],
    secretFound: true,
    secretTypes: ['aws_access_key'],
  });
  assert.equal(c.riskScorePermille, 250);
  assert.equal(c.maxTokens, 256);
  assert.equal(c.budgetTokensLeft, undefined);
  const b = buildContext({ ...base, budgetLeft: { tokens: 1200, cost: 0.25 } }).value;
  assert.equal(b.budgetTokensLeft, 1200);
  assert.equal(b.budgetCostLeftMicros, 250_000);
  assert.equal(buildContext({ ...base, budgetLeft: { tokens: null, cost: 1 } }).value.budgetTokensLeft, undefined);
  assert.equal(c.region, 'eu-west');
  assert.deepEqual(c.agent, { id: 'bot-7', kind: 'agent', tenant: 'acme' });
  assert.equal(c.delegated, true);
  assert.equal(c.inspected, true);
  assert.deepEqual(c.args, [{ name: 'depth', value: '2' }, { name: 'path', value: '/tmp/x' }]);
  // A tool's result is marked as such (the starter policy judges it at the tool-result cut); no findings, no mark.
  assert.equal((buildContext({ ...base, findings: f, fromToolResult: true }).value.findings as { fromToolResult: boolean }).fromToolResult, true);
  assert.equal((buildContext({ ...base, findings: null, fromToolResult: true }).value.findings as { fromToolResult: boolean }).fromToolResult, false);
});

test('no findings: inspected false, classification "none", empty findings', () => {
  const c = buildContext({ ...base, findings: null }).value;
  assert.equal(c.inspected, false);
  assert.equal(c.classification, 'none');
  assert.equal((c.authn as { mfa: boolean }).mfa, false);
  assert.equal('mfaAgeSeconds' in (c.authn as object), false);
  assert.equal('agent' in c, false);
});

test('an invalid source IP, score or MFA time is refused', () => {
  assert.throws(() => buildContext({ ...base, sourceIp: 'not-an-ip' }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, sourceIp: 'fe80::1%eth0' }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, riskScore: 1.5 }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, riskScore: Number.NaN }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, findings: findings({ injectionScore: -0.1 }) }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, maxTokens: 1.5 }), ContextInvalid);
  assert.throws(() => buildContext({ ...base, now: -1 }), ContextInvalid);
  const future = principal({ authn: { method: 'oidc', credentialId: 'j', mfaAt: NOW + 3_600_000 } });
  assert.throws(() => buildContext({ ...base, principal: future }), /mfaAt lies in the future/);
});

test('contextFromPlain checks the shape strictly', () => {
  const ok = {
    time: { hour: 1, weekday: 2 },
    sourceIp: '10.0.0.1',
    listener: 'inference',
    authn: { method: 'oidc', credentialId: 'j', mfa: false, mtls: false, signed: false, senderBound: false },
    inspected: true,
    classification: 'public',
    findings: { piiTypes: [], secretFound: false, secretTypes: [], injectionScorePermille: 500, fromToolResult: false },
    riskScorePermille: 0,
    tenant: 'acme',
    delegated: false,
  };
  assert.deepEqual(contextFromPlain(ok).value.sourceIp, { __extn: { fn: 'ip', arg: '10.0.0.1' } });
  assert.throws(() => contextFromPlain({ ...ok, riskScorePermille: 0.5 }), /expected an integer/);
  assert.throws(() => contextFromPlain({ ...ok, extra: 1 }), /not declared in the schema/);
  const { listener: _dropped, ...missing } = ok;
  assert.throws(() => contextFromPlain(missing), /required attribute missing/);
});
