// The RFC 8785 canonicalizer Warden writes ledger entries with: the same bytes as the `canonicalize` package
// (the reference it replaced for speed) on generated values, including the cases its fast path hands to the
// general writer (array-index keys), and the RFC's own examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalizeLib from 'canonicalize';
import { canonicalJson } from '../../src/core/canonical-json.js';

const reference = canonicalizeLib as unknown as (v: unknown) => string | undefined;

test('same bytes as the canonicalize package on generated JSON values', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => assert.equal(canonicalJson(v), reference(v))), { numRuns: 2000 });
});

test('same bytes on objects whose keys are array indices, unicode and mixed', () => {
  const key = fc.oneof(fc.nat().map(String), fc.string(), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.constantFrom('4294967294', '4294967295', '01', '-1', '1.5'));
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
  })).node;
  fc.assert(fc.property(value, (v) => assert.equal(canonicalJson(v), reference(v))), { numRuns: 2000 });
});

test('RFC 8785 §3.2.2 numbers and §3.2.3 property order', () => {
  // The RFC's sample values (Appendix B) and its sorting example (code-unit order, not locale order).
  const numbers: unknown = JSON.parse('[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001, -0, 9007199254740991]');
  assert.equal(canonicalJson(numbers), '[333333333.3333333,1e+30,4.5,0.002,1e-27,0,9007199254740991]');
  const sorted = canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' });
  assert.equal(sorted, '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  assert.equal(canonicalJson({ '10': 1, '9': 2, b: 3, a: 4 }), '{"10":1,"9":2,"a":4,"b":3}');
});

test('undefined members are left out, undefined array items are null, toJSON is used', () => {
  assert.equal(canonicalJson({ b: undefined, a: [undefined, 1], d: new Date(0) }), '{"a":[null,1],"d":"1970-01-01T00:00:00.000Z"}');
  assert.equal(canonicalJson({ x: { toJSON: () => ({ '2': 'b', '1': 'a' }) } }), '{"x":{"1":"a","2":"b"}}');
});

test('a "__proto__" member from parsed JSON is kept as a member', () => {
  assert.equal(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":2},"a":[{"__proto__":0}]}')), '{"__proto__":{"x":2},"a":[{"__proto__":0}],"b":1}');
});

test('values JSON cannot carry are refused', () => {
  assert.throws(() => canonicalJson(undefined), TypeError);
  assert.throws(() => canonicalJson({ a: Number.NaN }), /NaN/);
  assert.throws(() => canonicalJson([Number.POSITIVE_INFINITY]), /Infinity/);
  assert.throws(() => canonicalJson({ '1': Number.NaN }), /NaN/);
  assert.throws(() => canonicalJson({ a: 1n }), /BigInt/);
});
