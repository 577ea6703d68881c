// Formatted secrets written in pieces (issue 20): wrapped at line breaks, split at a JWT's dots, spaced into
// groups, or built by string concatenation in several languages. Each is found as one finding covering the
// pieces and what stands between them, redaction removes all of it, streaming redaction equals whole-text
// redaction for any chunking, and nothing is joined onto a token that is already whole or onto prose.
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { createStreamRedactor, detectSensitive, redact } from '../../src/inspect/index.js';

// AWS's documented example access key id (IAM user guide), and a GitHub-format token made here.
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const GITHUB = 'ghp_' + 'k3J9mQ2xV7pL4wZ8nR5tY1cB6dF0gH3jK9sA';

function jwt(): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'user-1234', name: 'Jane Doe', iat: 1700000000, scope: 'admin read write' })}`;
  return `${body}.${createHmac('sha256', 'test secret').update(body).digest('base64url')}`;
}
const JWT = jwt();

function secrets(text: string): string[] {
  return detectSensitive(text).filter((f) => f.category === 'secret').map((f) => `${f.type}:${text.slice(f.start, f.end)}`);
}

const SPLITS: [string, string, string][] = [
  ['AWS key in groups of four', `key AKIA IOSF ODNN 7EXA MPLE and more`, 'aws_access_key:AKIA IOSF ODNN 7EXA MPLE'],
  ['JavaScript concatenation', `const k = "AKIAIOSF" + "ODNN7EXAMPLE";`, 'aws_access_key:AKIAIOSF" + "ODNN7EXAMPLE'],
  ['Python implicit concatenation', `k = ('AKIAIOSFOD' 'NN7EXAMPLE')`, "aws_access_key:AKIAIOSFOD' 'NN7EXAMPLE"],
  ['PHP concatenation', `$k = 'AKIAIOSF' . 'ODNN7EXAMPLE';`, "aws_access_key:AKIAIOSF' . 'ODNN7EXAMPLE"],
  ['SQL concatenation', `SELECT 'AKIAIOSF' || 'ODNN7EXAMPLE';`, "aws_access_key:AKIAIOSF' || 'ODNN7EXAMPLE"],
  ['concatenation across lines', `t = "${GITHUB.slice(0, 20)}" +\n    "${GITHUB.slice(20)}";`, `github_token:${GITHUB.slice(0, 20)}" +\n    "${GITHUB.slice(20)}`],
  ['shell line continuation', `export T=${GITHUB.slice(0, 18)}\\\n${GITHUB.slice(18)}\necho ok`, `github_token:${GITHUB.slice(0, 18)}\\\n${GITHUB.slice(18)}`],
];

test('secrets written in pieces are found whole, with the separators between the pieces', () => {
  for (const [what, text, expected] of SPLITS) assert.deepEqual(secrets(text), [expected], what);
});

test('a JWT split at its dots, and wrapped at a fixed width, is one finding; the prose after it is not', () => {
  const atDots = JWT.replace(/\./g, '\n.');
  assert.deepEqual(secrets(`token:\n${atDots}\nthanks`), [`jwt:${atDots}`]);
  const lines = JWT.match(/.{1,40}/g)!;
  const wrapped = lines.join('\n');
  assert.ok(lines.length >= 4 && lines.slice(0, -1).every((l) => l.length === 40));
  assert.deepEqual(secrets(`token:\n${wrapped}\nthanks for the help`), [`jwt:${wrapped}`]);
});

test('nothing is joined onto a whole token, onto prose, or onto a placeholder', () => {
  assert.deepEqual(secrets(`${GITHUB}\nnext line words`), [`github_token:${GITHUB}`]);
  assert.deepEqual(secrets(`${AWS_KEY} ${GITHUB}`), [`aws_access_key:${AWS_KEY}`, `github_token:${GITHUB}`]);
  assert.deepEqual(secrets('AKIA is the prefix of AWS keys, see the docs'), []);
  assert.deepEqual(secrets('eyJ is how a JWT header starts. eyJ\n.eyJ\n.x'), []);
  assert.deepEqual(secrets('AKIAXXXX XXXXXXXX XXXX'), [], 'a placeholder in pieces');
  assert.deepEqual(secrets(`"ghp_" + "short"`), [], 'too short to be a token once joined');
});

test('redaction removes every piece of a split secret', () => {
  for (const [what, text] of SPLITS) {
    const out = redact(text, ['secret']);
    assert.ok(out.includes('[REDACTED:'), what);
    assert.ok(!/IOSF|ODNN|7EXA|k3J9|sA"|gH3j/.test(out), `${what}: ${out}`);
  }
});

function streamed(text: string, cuts: number[]): string {
  const r = createStreamRedactor({ categories: ['secret'] });
  const pos = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  let out = '';
  let prev = 0;
  for (const p of [...pos, text.length]) {
    out += r.push(text.slice(prev, p));
    prev = p;
  }
  return out + r.flush();
}

test('property: streaming redaction of split secrets equals whole-text redaction for any chunking', () => {
  const texts = [...SPLITS.map(([, t]) => t), `token:\n${JWT.replace(/\./g, '\n.')}\nthanks`, `x ${JWT.match(/.{1,40}/g)!.join('\n')}\ny`];
  fc.assert(
    fc.property(fc.constantFrom(...texts), fc.array(fc.nat({ max: 600 }), { maxLength: 30 }), (text, cuts) => {
      assert.equal(streamed(text, cuts), redact(text, ['secret']));
    }),
    { numRuns: 500 },
  );
});
