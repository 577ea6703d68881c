import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { redact, redactionMarker, redactJsonText } from '../../../src/inspect/index.js';

const T = ['pii', 'secret'];

test('the redaction marker contains no quote, backslash or control character', () => {
  for (const type of ['email', 'credit_card', 'aws_access_key', 'private_key', 'credential', 'us_ssn']) {
    assert.match(redactionMarker(type), /^[\x20-\x7e]+$/);
    assert.doesNotMatch(redactionMarker(type), /["\\]/);
  }
});

test('findings next to escapes, in numbers and in keys keep the arguments valid JSON', () => {
  const cases: [string, unknown][] = [
    ['{"a":"\\njane.doe@example.com"}', { a: '[REDACTED:email]' }],
    ['{"a":"mail jane.doe@example.com\\\\"}', { a: 'mail [REDACTED:email]\\' }],
    ['{"card":4111111111111111}', { card: '[REDACTED:credit_card]' }],
    ['{"jane.doe@example.com":1}', { '[REDACTED:email]': 1 }],
    ['{"password": "hunter2Xq9!zzTop"}', { password: '[REDACTED:credential]' }],
    ['["a \\u00e9 jane.doe@example.com"]', ['a é [REDACTED:email]']],
  ];
  for (const [text, expected] of cases) assert.deepEqual(JSON.parse(redactJsonText(text, T)), expected, text);
});

test('text that is not JSON is redacted as plain text', () => {
  const text = '{"to": "jane.doe@example.com"'; // truncated
  assert.equal(redactJsonText(text, T), redact(text, T));
});

const piiString = fc.constantFrom('jane.doe@example.com', '4111 1111 1111 1111', 'AKIAIOSFODNN7EXAMPLE', '123-45-6789', 'Jane Doe', '192.168.1.20', '+1 415 555 0100');
const filler = fc.constantFrom('a', ' ', '\n', '\\', '"', 'é', '\u2028', 'x=', ':', 'password: ', 'DOB ');
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.array(fc.oneof(piiString, filler), { maxLength: 6 }).map((a) => a.join(' ')),
    fc.constantFrom(4111111111111111, 1234, 0.5, true, null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(piiString, fc.constantFrom('to', 'note', 'k')), tie('value'), { maxKeys: 4 }),
  ),
}));

test('property: valid JSON stays valid JSON, and no e-mail or key survives', () => {
  fc.assert(
    fc.property(jsonValue.value, fc.boolean(), (v, pretty) => {
      const text = pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
      const out = redactJsonText(text, T);
      JSON.parse(out);
      assert.ok(!out.includes('jane.doe@example.com'), out);
      assert.ok(!out.includes('AKIAIOSFODNN7EXAMPLE'), out);
    }),
    { numRuns: 400 },
  );
});
