// The incremental rule matcher against a direct reference: checkOutputRules over the whole normalized,
// whitespace-collapsed text. Any chunking must give the reference's verdict (no window to hide in).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { AnswerGuard, checkOutputRules, detectCanary, OutputBlocked, RuleMatcher, StreamFolder, type AnswerPolicy } from '../../../src/inspect/index.js';
import { split } from './helpers.js';

const RULES = ['no_sql', 'no_shell'];

/** The reference view: per code point NFKC, default-ignorables removed, whitespace runs collapsed. */
function reference(text: string): boolean {
  const folded = [...text].map((ch) => (/\p{Default_Ignorable_Code_Point}/u.test(ch) ? '' : ch.normalize('NFKC'))).join('');
  const collapsed = folded.replace(/\s+/g, (run) => (/[\n\r\u2028\u2029]/.test(run) ? '\n' : ' '));
  return checkOutputRules(collapsed, RULES).length > 0;
}

function streamed(text: string, cuts: number[]): boolean {
  const m = new RuleMatcher(RULES);
  const f = new StreamFolder();
  for (const p of split(text, cuts)) if (m.push(f.push(p), false) !== null) return true;
  return m.push(f.push('', true), true) !== null;
}

const word = fc.constantFrom('SELECT', 'FROM', 'users', 'DROP', 'TABLE', 'TABLES', 'rm', '-rf', '-x', 'curl', '-s', '|', 'bash', 'sh', ';', '```sql', '```', 'UPDATE', 'SET', 'x', 'npm', 'install', 'i', 'export', 'A=1', 'the', 'from', 'select', 'ＳＥＬＥＣＴ', 'sudo');
const gap = fc.constantFrom(' ', '  ', '\n', ' \n ', '\t', '\u200b', '', '\u00a0', '   \u200b  ');
const text = fc.array(fc.tuple(word, gap), { maxLength: 16 }).map((xs) => xs.map(([w, g]) => w + g).join(''));

test('property: the rule matcher gives the reference verdict for any chunking', () => {
  fc.assert(
    fc.property(text, fc.array(fc.nat({ max: 200 }), { maxLength: 25 }), (t, cuts) => {
      assert.equal(streamed(t, cuts), reference(t), JSON.stringify(t));
    }),
    { numRuns: 2000 },
  );
});

test('property: long filler between the parts of a statement: verdict independent of chunking', () => {
  fc.assert(
    fc.property(fc.nat({ max: 260 }), fc.array(fc.nat({ max: 400 }), { maxLength: 40 }), (n, cuts) => {
      const t = `SELECT ${'a'.repeat(n)} FROM t`;
      assert.equal(streamed(t, cuts), n <= 200, String(n));
      assert.equal(reference(t), n <= 200);
    }),
    { numRuns: 300 },
  );
});

test('property: a completions stream (choices[].text) equals the whole text_completion', () => {
  const policy: AnswerPolicy = { rules: RULES, canary: null, redact: ['pii'], findings: true };
  const content = fc.array(fc.tuple(fc.oneof(word, fc.constantFrom('jane.doe@example.com', '4111 1111 1111 1111', 'Jane Doe')), gap), { maxLength: 12 }).map((xs) => xs.map(([w, g]) => w + g).join(''));
  fc.assert(
    fc.property(content, fc.array(fc.nat({ max: 200 }), { maxLength: 20 }), (t, cuts) => {
      let whole: string;
      try {
        const w = new AnswerGuard(policy).whole({ object: 'text_completion', choices: [{ index: 0, text: t, logprobs: null, finish_reason: 'stop' }] });
        whole = (w.choices as { text: string }[])[0]!.text;
      } catch (e) {
        whole = `blocked:${(e as { code: string }).code}`;
      }
      let stream = '';
      try {
        const g = new AnswerGuard(policy);
        const parts = split(t, cuts);
        parts.forEach((p, i) => {
          for (const c of g.chunk({ object: 'text_completion', choices: [{ index: 0, text: p, logprobs: null, finish_reason: i === parts.length - 1 ? 'length' : null }] })) {
            stream += (c.choices as { text: string }[])[0]!.text;
          }
        });
        for (const c of g.end()) stream += (c.choices as { text: string }[])[0]!.text;
      } catch (e) {
        stream = `blocked:${(e as { code: string }).code}`;
      }
      assert.equal(stream, whole);
    }),
    { numRuns: 400 },
  );
});

test('property: the guard finds at least what the rules and the canary find in the text as sent', () => {
  const canary = { deploymentId: 'd', token: 'WDNC7K3M9P2QX4RT8VZ6' };
  const policy: AnswerPolicy = { rules: RULES, canary, redact: [], findings: false };
  const glue = fc.constantFrom('', ' ', '\u200b', '\u00b2', '\uff0e', '-', '\n');
  const spread = fc.array(glue, { minLength: 19, maxLength: 19 }).map((gs) => [...canary.token].map((c, i) => c + (gs[i] ?? '')).join(''));
  const mixed = fc.array(fc.tuple(fc.oneof(word, spread), gap), { maxLength: 10 }).map((xs) => xs.map(([w, g]) => w + g).join(''));
  fc.assert(
    fc.property(mixed, fc.array(fc.nat({ max: 300 }), { maxLength: 20 }), (t, cuts) => {
      const before = checkOutputRules(t, RULES).length > 0 || detectCanary(t, canary).length > 0;
      if (!before) return;
      assert.throws(() => new AnswerGuard(policy).whole({ object: 'text_completion', choices: [{ index: 0, text: t }] }), OutputBlocked, JSON.stringify(t));
      const g = new AnswerGuard(policy);
      assert.throws(() => {
        for (const p of split(t, cuts)) g.chunk({ object: 'text_completion', choices: [{ index: 0, text: p }] });
        g.end();
      }, OutputBlocked, JSON.stringify(t));
    }),
    { numRuns: 1500 },
  );
});
