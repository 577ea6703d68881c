import { strict as assert } from 'node:assert';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { detectSensitive, inspectText } from '../../src/inspect/index.js';
import { shannonEntropy } from '../../src/inspect/secrets/credential-context.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function rand(n: number, alphabet = ALNUM): string {
  const b = randomBytes(n);
  let s = '';
  for (const x of b) s += alphabet[x % alphabet.length];
  return s;
}
function found(text: string): { type: string; value: string }[] {
  return detectSensitive(text).filter((f) => f.category === 'secret').map((f) => ({ type: f.type, value: text.slice(f.start, f.end) }));
}

test('freshly generated PEM private keys (PKCS#8, PKCS#1, SEC1, OpenSSH) are found whole', () => {
  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { privateKey: ed } = generateKeyPairSync('ed25519');
  const pems = [
    rsa.export({ type: 'pkcs8', format: 'pem' }) as string,
    rsa.export({ type: 'pkcs1', format: 'pem' }) as string,
    ec.export({ type: 'sec1', format: 'pem' }) as string,
    ed.export({ type: 'pkcs8', format: 'pem' }) as string,
  ];
  for (const pem of pems) {
    const text = `here is my key:\n${pem}\nthanks`;
    assert.deepEqual(found(text), [{ type: 'private_key', value: pem.trimEnd() }]);
  }
});

test('a private key without its footer (truncated) covers the rest of the text', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const truncated = 'x ' + pem.slice(0, 60);
  const f = detectSensitive(truncated).filter((x) => x.type === 'private_key');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.end, truncated.length);
});

test('public keys and certificates are not secrets', () => {
  const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
  assert.deepEqual(found(pub), []);
});

test('platform token formats: AWS, GitHub, Slack, Stripe, Warden', () => {
  const cases: [string, string][] = [
    ['aws_access_key', 'AKIA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')],
    ['aws_access_key', 'ASIA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')],
    ['github_token', 'ghp_' + rand(36)],
    ['github_token', 'github_pat_' + rand(22) + '_' + rand(59)],
    ['slack_token', 'xoxb-' + rand(12, '0123456789') + '-' + rand(24)],
    ['stripe_key', 'sk_live_' + rand(24)],
    ['warden_key', 'wdn_' + randomBytes(32).toString('base64url')],
  ];
  for (const [type, value] of cases) assert.deepEqual(found(`token=${value} end`).filter((x) => x.type === type), [{ type, value }], value);
  assert.deepEqual(found('aws_secret_access_key = ' + rand(40)).map((x) => x.type), ['aws_secret_key']);
});

test('near misses are not tokens: wrong length, publishable Stripe key, prefix inside a word', () => {
  assert.deepEqual(found('ghp_' + rand(10)), []);
  assert.deepEqual(found('pk_live_' + rand(24)), []);
  assert.deepEqual(found('xAKIA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')), []);
});

test('a real signed JWT is found; a JWT-shaped string whose header is not JSON is not', async () => {
  const jwt = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32));
  assert.deepEqual(found(`Authorization: ${jwt}`), [{ type: 'jwt', value: jwt }]);
  assert.deepEqual(found('eyJub3Rqc29u.eyJhIjoxfQ.abc').filter((x) => x.type === 'jwt'), []);
});

test('high-entropy values after a credential word are secrets; placeholders are not', () => {
  const value = rand(20);
  assert.deepEqual(found(`password: ${value}`), [{ type: 'credential', value }]);
  assert.deepEqual(found(`export API_KEY="${value}"`), [{ type: 'credential', value }]);
  assert.deepEqual(found('password: ********'), []);
  assert.deepEqual(found('password = aaaaaaaaaaaa'), []);
  assert.ok(shannonEntropy('aaaa') === 0 && shannonEntropy('abcd') === 2);
  const bearer = rand(32);
  assert.deepEqual(found(`Authorization: Bearer ${bearer}`), [{ type: 'credential', value: bearer }]);
});

test('secrets make the text restricted', () => {
  assert.equal(inspectText('my key is ghp_' + rand(36)).classification, 'restricted');
});
