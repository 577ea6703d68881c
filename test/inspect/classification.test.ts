import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BadRequest } from '../../src/core/errors.js';
import type { Classification } from '../../src/core/types.js';
import { inspectText, maxClassification, parseClassification } from '../../src/inspect/index.js';

test('content alone: public, internal (contact data), confidential (card), restricted (secret)', () => {
  assert.equal(inspectText('What is the capital of France?').classification, 'public');
  assert.equal(inspectText('mail me at alice@example.org').classification, 'internal');
  assert.equal(inspectText('card 4111 1111 1111 1111').classification, 'confidential');
  assert.equal(inspectText('wdn_' + 'Ab3_'.repeat(8)).classification, 'restricted');
});

test('an asserted label raises the level but can never lower it', () => {
  assert.equal(inspectText('hello there', { assertedLabel: 'confidential' }).classification, 'confidential');
  assert.equal(inspectText('card 4111 1111 1111 1111', { assertedLabel: 'public' }).classification, 'confidential');
});

test('the dataset/tenant level applies as a floor', () => {
  assert.equal(inspectText('hello there', { contextLevel: 'restricted', assertedLabel: 'internal' }).classification, 'restricted');
  assert.equal(maxClassification(undefined, 'internal', 'public'), 'internal');
});

test('an unknown label is refused, not ignored', () => {
  assert.throws(() => parseClassification('secret'), (e: unknown) => e instanceof BadRequest && e.code === 'invalid_classification');
  assert.throws(() => inspectText('x', { assertedLabel: 'top-secret' as Classification }), BadRequest);
  assert.throws(() => inspectText('x', { contextLevel: 'PUBLIC' as Classification }), BadRequest);
  assert.equal(parseClassification('restricted'), 'restricted');
});
