import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_OBLIGATIONS, parseObligation, parseDecisionObligations, obligationsFromAnnotations } from '../../src/policy/obligations.js';
import { ObligationUnknown } from '../../src/policy/errors.js';

test('every known obligation form parses', () => {
  assert.deepEqual(parseObligation('redact:pii'), { kind: 'redact', what: 'pii' });
  assert.deepEqual(parseObligation('redact:secrets'), { kind: 'redact', what: 'secrets' });
  assert.deepEqual(parseObligation('approval'), { kind: 'approval' });
  assert.deepEqual(parseObligation('max_tokens:512'), { kind: 'max_tokens', limit: 512 });
  assert.deepEqual(parseObligation('route:tier=onprem'), { kind: 'route', key: 'tier', value: 'onprem' });
  assert.deepEqual(parseObligation('route:region=eu-west'), { kind: 'route', key: 'region', value: 'eu-west' });
  assert.deepEqual(parseObligation('flag:injection'), { kind: 'flag', label: 'injection' });
  assert.deepEqual(parseObligation('flag:pii-review_2'), { kind: 'flag', label: 'pii-review_2' });
  assert.equal(KNOWN_OBLIGATIONS.length, 14);
  assert.deepEqual(parseObligation('spotlight'), { kind: 'spotlight' });
  assert.deepEqual(parseObligation('harden:logprobs'), { kind: 'harden', what: 'logprobs', hardening: { mode: 'round' } });
  assert.deepEqual(parseObligation('harden:logprobs=round'), { kind: 'harden', what: 'logprobs', hardening: { mode: 'round' } });
  assert.deepEqual(parseObligation('harden:logprobs=strip'), { kind: 'harden', what: 'logprobs', hardening: { mode: 'strip' } });
  assert.deepEqual(parseObligation('harden:logprobs=noise:0.5'), { kind: 'harden', what: 'logprobs', hardening: { mode: 'noise', epsilon: 0.5 } });
  assert.deepEqual(parseObligation('harden:logprobs=noise:100'), { kind: 'harden', what: 'logprobs', hardening: { mode: 'noise', epsilon: 100 } });
  assert.deepEqual(parseObligation('harden:embeddings'), { kind: 'harden', what: 'embeddings', sigma: 0.05 });
  assert.deepEqual(parseObligation('harden:embeddings=0.2'), { kind: 'harden', what: 'embeddings', sigma: 0.2 });
});

test('anything else is an unknown obligation (the gateway denies)', () => {
  for (const bad of ['redact:everything', 'max_tokens:0', 'max_tokens:-1', 'max_tokens:12abc', 'route:tier=', 'route:zone=a', 'approval ', 'APPROVAL', '', 'harden:logprobs=noise:0', 'harden:logprobs=noise:101', 'harden:logprobs=noise:', 'harden:logprobs=blur', 'harden:embeddings=0', 'harden:embeddings=1.5', 'harden:weights', 'flag:', 'flag', 'flag:Injection', 'flag:a b', 'flag:-x']) {
    assert.throws(() => parseObligation(bad), ObligationUnknown, bad);
  }
  assert.throws(() => parseDecisionObligations(['approval', 'teleport']), ObligationUnknown);
});

test('@obligation and @obligation_<n> annotations are read; other annotations are not', () => {
  assert.deepEqual(obligationsFromAnnotations({ id: 'x', obligation: 'approval', obligation_2: 'max_tokens:5', note: 'hi' }, 'x'), ['approval', 'max_tokens:5']);
});
