import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { createStreamRedactor, redact, StreamRedactorClosed } from '../../src/inspect/index.js';

const SAMPLE =
  'Hi, I am reachable at jane.doe@example.com or +1 415-555-0100. My card is 4111 1111 1111 1111 and ' +
  'SSN 123-45-6788. Dear Mr. John Smith, send it to 221 Baker Street. Token ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ok. ' +
  'IBAN DE89 3704 0044 0532 0130 00, born on 12 March 1980, host 10.0.0.1 done.';

test('redact replaces only the selected categories or types', () => {
  const all = redact(SAMPLE, ['pii', 'secret']);
  for (const v of ['jane.doe@example.com', '4111 1111 1111 1111', '123-45-6788', 'ghp_', 'DE89', '10.0.0.1', 'John Smith', '12 March 1980']) {
    assert.ok(!all.includes(v), v);
  }
  assert.ok(all.includes('[REDACTED:email]') && all.includes('[REDACTED:github_token]'));
  const onlySecrets = redact(SAMPLE, ['secret']);
  assert.ok(onlySecrets.includes('jane.doe@example.com') && !onlySecrets.includes('ghp_'));
  const onlyEmail = redact(SAMPLE, ['email']);
  assert.ok(!onlyEmail.includes('jane.doe@') && onlyEmail.includes('4111 1111'));
  assert.equal(redact(SAMPLE, []), SAMPLE);
});

function streamed(text: string, cuts: number[], categories = ['pii', 'secret']): { out: string; chunksOut: string[] } {
  const r = createStreamRedactor({ categories });
  const pos = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunksOut: string[] = [];
  let prev = 0;
  for (const p of [...pos, text.length]) {
    chunksOut.push(r.push(text.slice(prev, p)));
    prev = p;
  }
  chunksOut.push(r.flush());
  return { out: chunksOut.join(''), chunksOut };
}

test('streaming redaction equals whole-text redaction for character-by-character chunks', () => {
  const cuts = Array.from({ length: SAMPLE.length }, (_, i) => i);
  assert.equal(streamed(SAMPLE, cuts).out, redact(SAMPLE, ['pii', 'secret']));
});

test('a generated private key split across chunks never leaks, and is held only until its footer', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const text = `key:\n${pem}after`;
  const { out, chunksOut } = streamed(text, [3, 20, 40, 60, 80, 100]);
  assert.equal(out, redact(text, ['secret']));
  assert.ok(!out.includes('MC4CAQ'));
  assert.ok(chunksOut.join('').startsWith('key:\n[REDACTED:private_key]'));
});

test('text that cannot become a match is emitted at once (only the tail is held)', () => {
  const r = createStreamRedactor({ categories: ['pii'] });
  assert.equal(r.push('hello world, how are you today? fine '), 'hello world, how are you today? fine ');
  assert.equal(r.push('thanks'), '');
  assert.equal(r.push(' and'), 'thanks ');
  assert.equal(r.flush(), 'and');
});

test('push after flush is refused', () => {
  const r = createStreamRedactor({ categories: ['pii'] });
  r.flush();
  assert.throws(() => r.push('x'), StreamRedactorClosed);
});

const PIECES = [
  'jane.doe@example.com', '+1 415-555-0100', '4111 1111 1111 1111', '4111111111111111', '123-45-6788', 'SSN ', 'Dear Mr. ',
  'John Smith', '221 Baker Street', 'ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'DE89 3704 0044 0532 0130 00', 'born on ',
  '12 March 1980', '10.0.0.1', '2001:db8::1', 'password: Xk9#mQ2$vL8pZ', 'phone ', '9747 6578', ' ', ' ', '\n', ', ', '. ',
  'and', 'the', 'Hello', 'x', '1', '12', '-', '@', '.', 'A', 'My name is ',
  // Names read from the lists and their cues, and addresses with the parts that follow them, on later lines too.
  'Vilma Holm', 'Svetlana', 'Anna: ', 'says Gerste', 'Tracey said', 'my name is lena', '28030 Edeby 55', '742 Evergreen Terrace',
  '\n Apt. 297', '\n TYSTBERGA', ', Springfield, IL 62704', ' Sweden 99178', '\n    ', '\n> ', '12 rue de la Paix', '31401 ul. Słowicza 10',
  'Trenerys gate 232', 'the corner of Kesklinna 12 and Tartu Road', 'He lives at ',
  // Address forms added later: a unit before the street, lower-case street names and boxes, more street words.
  'Suite 12 ', 'Room 5 ', '4410 Birkenweg 7', '5 rue des fleurs', '2613 avenida praia 1', '31 sortedamsvej 12', 'psc 1234, box 5678',
  '\napo ae 09123', 'Villacher Strasse 89', 'Viru tee 4', '12 Paseo de la Castellana 200', '2113 Via delle Rose 4', '5502 Mere-Kalda 8',
  '77 P.O. Box 310', 'the corner of 22 Harbour Lane and Quay Street', 'unit', ' box', 'rue', '24 August 9, 2002',
  // Names only the person-name model finds: its words read the text before them and the word after.
  'Oksana Petrenko', 'Arvid Kjellberg', 'Svetozar Marinković', 'Yesterday ', ' sent it', 'closed by ', 'Vinka: ',
];

test('a unit written before its street line is held with it, at every single cut (the head "31401 ul. " is held by the address rules, not as a token)', () => {
  for (const text of ['\n Apt. 297 31401 ul. Słowicza 10', 'Deliver to Suite 12 4410 Birkenweg 7\nKiel 24103 thanks', 'x Room 5 psc 1234, box 5678\napo ae 09123']) {
    const whole = redact(text, ['pii', 'secret']);
    assert.ok(!whole.includes('Apt. 297') && !whole.includes('Suite 12') && !whole.includes('psc 1234'), whole);
    for (let cut = 0; cut <= text.length; cut++) assert.equal(streamed(text, [cut]).out, whole, `cut at ${cut}`);
  }
});

test('the property test\'s counterexamples, at every single cut: a "name number" line with a lower-case particle ("221 Baker Streetborn on " was sent), and a name whose address reading fails later ("221 Baker " was sent before "Baker Streetphone Viru")', () => {
  for (const text of ['221 Baker Streetborn on Yesterday 9747 6578', 'to 20789 Allika di Roma 46\n10115 Berlin', '221 Baker Streetphone Viru tee 428030 Edeby 55']) {
    const whole = redact(text, ['pii', 'secret']);
    assert.ok(whole.includes('[REDACTED:'), whole);
    for (let cut = 0; cut <= text.length; cut++) assert.equal(streamed(text, [cut]).out, whole, `cut at ${cut}`);
  }
});

test('property: for any text of PII pieces and any chunking, streaming equals non-streaming redaction', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }),
      fc.array(fc.nat({ max: 2000 }), { maxLength: 40 }),
      (pieces, cuts) => {
        const text = pieces.join('');
        assert.equal(streamed(text, cuts).out, redact(text, ['pii', 'secret']));
      },
    ),
    { numRuns: 400 },
  );
});

// Every secret format Warden redacts, in the spellings people write them (spaces around '=', quotes, YAML,
// env files, prose, URLs, headers), as phrases of a text separated as words are; values are generated-looking,
// not the vendors' EXAMPLE keys. (Cue words glued to each other without a separator chain assignments into
// one another — "api_key=password=…" — which real text does not do, and which a scan of a window can read
// differently from a scan of the whole.)
const AWS_SECRET = 'Tz3kP9qLm2Vx8RbN4wHj7YsC1dFg5AeK6uQo0Xi/';
const SECRET_PHRASES = [
  `aws_secret_access_key = ${AWS_SECRET}`, `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`, `"SecretAccessKey": "${AWS_SECRET}"`, `aws_secret_key: ${AWS_SECRET}`,
  'AKIA4XQ7RZ2MBT5KJW3N', 'ghp_Zk3Lm9Qx2Vb7Np4Rt8Wy1Hs6Jd5Fg0Ca3Ee7', 'xoxb-2048-1234567890-Kq9Zr3Lm7Vx2Np8T',
  'sk_live_9Kq2Zr7Lm3Vx8Np4Tw1Hy6J', 'wdn_Xk9Qm2Zr7Lp3Vb8Nt4Wy1Hs', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlX2hlcmU',
  'AIzaSyD4x9K2mQ7vL3pZ8nR1tW6yH5jC0bF2eG9', 'npm_4Kq9Zr3Lm7Vx2Np8TwXy1Hs6Jd5Fg0Ca3Ee', 'glpat-Zk3Lm9Qx2Vb7Np4Rt8Wy',
  'password = Xk9#mQ2$vL8pZ', 'password: q8Zr2VbN4kLp9TxW7yHs', 'api_key=q8Zr2VbN4kLp9TxW7yHs', 'client_secret := Xk9#mQ2$vL8pZ',
  'my password is Xk9#mQ2$vL8pZ', 'Authorization: Bearer q8Zr2VbN4kLp9TxW7yHs', 'Authorization: Basic YWRtaW46UzNjcjN0UGE1NXcwcmQ=',
  'postgres://admin:S3cr3tPa55w0rd@db.internal:5432/app', 'password = ${DB_PASSWORD}', 'AKIAXXXXXXXXXXXXXXXX',
  'jane.doe@example.com', 'the key is', 'and', 'export', 'x', '1', '=',
];

test('property: for any text of secret phrases (cues, spellings, formats) and any chunking, streaming equals non-streaming redaction', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...SECRET_PHRASES), fc.constantFrom(' ', '  ', '\n', ', ', '. ', '; ', '\t')), { maxLength: 16 }),
      fc.array(fc.nat({ max: 1500 }), { maxLength: 40 }),
      (words, cuts) => {
        const text = words.map(([w, sep]) => w + sep).join('');
        assert.equal(streamed(text, cuts).out, redact(text, ['pii', 'secret']));
      },
    ),
    { numRuns: 600 },
  );
});

test('an AWS secret key written "aws_secret_access_key = KEY" never streams out, at every fixed chunk size (the reported leak)', () => {
  const key = AWS_SECRET;
  for (const text of [`aws_secret_access_key = ${key}`, `config:\naws_secret_access_key = ${key}\nok`, `AWS_SECRET_ACCESS_KEY=${key} done`]) {
    const whole = redact(text, ['secret']);
    assert.ok(!whole.includes(key) && whole.includes('[REDACTED:aws_secret_key]'), whole);
    for (let n = 1; n <= 48; n++) {
      const cuts = Array.from({ length: Math.ceil(text.length / n) }, (_, i) => i * n);
      const out = streamed(text, cuts, ['secret']).out;
      assert.equal(out, whole, `chunk size ${n}`);
    }
  }
});

test('property: arbitrary strings stream-redact like whole-text redaction', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789 -.@+()abcXYZ:\n'), maxLength: 120 }), fc.array(fc.nat({ max: 200 }), { maxLength: 20 }), (text, cuts) => {
      assert.equal(streamed(text, cuts).out, redact(text, ['pii', 'secret']));
    }),
    { numRuns: 400 },
  );
});
