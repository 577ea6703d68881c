// Property tests: for random chunkings, the streamed answer equals whole() and a violation is caught in
// the stream iff it is caught in the buffered answer.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { AnswerGuard, checkOutputRules, detectCanary, type AnswerPolicy, type Canary } from '../../../src/inspect/index.js';
import { assembleChat, chatCompletion, chatStream, runStream, runWhole, wholeTexts, type ChatTexts, type Json } from './helpers.js';

const CANARY: Canary = { deploymentId: 'dep-prop', token: 'WDNC7K3M9P2QX4RT8VZ6' };
const fullwidth = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');

const clean = fc.constantFrom('hello', 'the', 'report', 'and', 'Paris', 'on', '2024', ',', '.', '\n', 'Select', 'from', 'rm', 'curl');
const sensitive = fc.constantFrom(
  'jane.doe@example.com',
  'bob@example.org',
  '4111 1111 1111 1111',
  '123-45-6789',
  'AKIAIOSFODNN7EXAMPLE',
  'password: hunter2Xq9!zzTop',
  'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
  'AKIA\u200bIOSFODNN7EXAMPLE',
  'carol\u200b.smith@example.net',
);
const canaryForm = fc.constantFrom(
  CANARY.token,
  CANARY.token.toLowerCase(),
  [...CANARY.token].join(' '),
  [...CANARY.token].join('\u200b'),
  [...CANARY.token].join(' \n  '),
  fullwidth(CANARY.token),
  [...fullwidth(CANARY.token)].join('\u2060 '),
);
const violation = fc.constantFrom('SELECT id FROM users', 'DROP TABLE t;', '```sql', '\nrm -rf /tmp/x', 'echo hi | bash', 'UPDATE  accounts   SET x=1', '\n$ curl -s http://x');
const sep = fc.constantFrom(' ', ' ', '\n', '  ', '\t', ' \u200b');

function textOf(tokens: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.array(fc.tuple(tokens, sep), { maxLength: 14 }).map((xs) => xs.map(([t, s]) => t + s).join(''));
}

const benign = textOf(fc.oneof({ weight: 4, arbitrary: clean }, { weight: 2, arbitrary: sensitive }));
const risky = textOf(fc.oneof({ weight: 4, arbitrary: clean }, { weight: 2, arbitrary: sensitive }, { weight: 1, arbitrary: canaryForm }, { weight: 1, arbitrary: violation }));

function answer(text: fc.Arbitrary<string>): fc.Arbitrary<ChatTexts> {
  return fc.record(
    {
      content: text,
      reasoning_content: text,
      refusal: text,
      calls: fc.array(fc.tuple(fc.constantFrom('lookup', 'send_mail'), text).map(([name, t]) => ({ name, arguments: JSON.stringify({ q: t, n: 4111111111111111 }) })), { maxLength: 2 }),
    },
    { requiredKeys: ['content'] },
  );
}

const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 30 });

function texts(t: ChatTexts): string[] {
  return [t.content, t.reasoning_content, t.refusal, ...(t.calls ?? []).flatMap((c) => [c.name, c.arguments])].filter((x): x is string => x !== undefined);
}

function normalize(t: ChatTexts & { logprobs: boolean }): unknown {
  return {
    content: t.content ?? '',
    reasoning_content: t.reasoning_content ?? '',
    refusal: t.refusal ?? '',
    calls: t.calls ?? [],
    logprobs: t.logprobs,
  };
}

const REDACT: AnswerPolicy = { rules: [], canary: null, redact: ['pii', 'secret'], findings: false };
const CHECK: AnswerPolicy = { rules: ['no_sql', 'no_shell'], canary: CANARY, redact: [], findings: false };
const ALL: AnswerPolicy = { rules: ['no_sql', 'no_shell'], canary: CANARY, redact: ['pii', 'secret'], findings: true };

test('property: a redacted stream assembles to exactly the redacted whole answer, for any chunking', () => {
  fc.assert(
    fc.property(answer(benign), cuts, (t, c) => {
      const w = runWhole(REDACT, chatCompletion(t));
      const s = runStream(REDACT, chatStream(t, c));
      assert.ok('json' in w && 'chunks' in s);
      assert.deepEqual(normalize(assembleChat(s.chunks)), normalize(wholeTexts(w.json)));
      for (const x of texts(wholeTexts(w.json))) {
        // Also through zero-width characters: what a reader sees must not contain them.
        const seen = x.replaceAll('\u200b', '');
        for (const secret of ['jane.doe@example.com', 'AKIAIOSFODNN7EXAMPLE', 'carol.smith@example.net']) assert.ok(!seen.includes(secret), x);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: the same stream without a finish_reason yields the same text through end()', () => {
  fc.assert(
    fc.property(answer(benign), cuts, (t, c) => {
      const w = runWhole(REDACT, chatCompletion(t));
      const s = runStream(REDACT, chatStream(t, c, false));
      assert.ok('json' in w && 'chunks' in s);
      assert.deepEqual(normalize(assembleChat(s.chunks)), normalize(wholeTexts(w.json)));
    }),
    { numRuns: 150 },
  );
});

test('property: a violation (canary in any spread form, SQL, shell) is caught in the stream iff whole', () => {
  fc.assert(
    fc.property(answer(risky), cuts, (t, c) => {
      const w = runWhole(CHECK, chatCompletion(t));
      const s = runStream(CHECK, chatStream(t, c));
      assert.equal('blocked' in s, 'blocked' in w, JSON.stringify({ t, w: 'blocked' in w ? w.blocked : 'passed', s: 'blocked' in s ? s.blocked : 'passed' }));
      // Never less than the whole-text detectors of before find.
      const before = texts(t).some((x) => detectCanary(x, CANARY).length > 0 || checkOutputRules(x.replaceAll('\u200b', ''), CHECK.rules).length > 0);
      if (before) assert.ok('blocked' in w, JSON.stringify(t));
    }),
    { numRuns: 400 },
  );
});

test('property: everything on at once — same verdict, same text, same findings, for any chunking', () => {
  fc.assert(
    fc.property(answer(risky), cuts, (t, c) => {
      const wg = new AnswerGuard(ALL);
      const sg = new AnswerGuard(ALL);
      let whole: Json | string;
      try {
        whole = wg.whole(chatCompletion(t));
      } catch (e) {
        whole = (e as { code: string }).code;
      }
      const out: Json[] = [];
      let streamed: Json[] | string;
      try {
        for (const ch of chatStream(t, c)) out.push(...sg.chunk(ch));
        out.push(...sg.end());
        streamed = out;
      } catch (e) {
        streamed = (e as { code: string }).code;
      }
      assert.equal(typeof streamed, typeof whole);
      if (typeof whole === 'string') return;
      assert.deepEqual(normalize(assembleChat(streamed as Json[])), normalize(wholeTexts(whole)));
      const key = (fs: { type: string; start: number; end: number }[]) => fs.map((f) => `${f.type}@${f.start}-${f.end}`).sort();
      assert.deepEqual(key(sg.findings()), key(wg.findings()));
    }),
    { numRuns: 300 },
  );
});
