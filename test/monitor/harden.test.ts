// harden:logprobs and harden:embeddings: the transforms (rounding, stripping, the Laplace mechanism's
// error matching its scale 1/ε, embedding noise that keeps norm and direction), and the obligations
// enforced by the real gateway on a FAKE external model server that returns logprobs and embeddings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WardenConfig } from '../../src/config/config.js';
import { hardenEmbeddings, hardenLogprobsAnswer, hardenLogprobsRequest, laplace, secureRandom } from '../../src/monitor/harden.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const lpEntry = (token: string, logprob: number) => ({ token, logprob, bytes: null, top_logprobs: [0, 1, 2, 3, 4, 5, 6].map((i) => ({ token: `${token}${i}`, logprob: logprob - i * 0.731, bytes: null })) });
const chatAnswer = () => ({
  id: 'c1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Paris is' }, logprobs: { content: [lpEntry('Paris', -0.0123), lpEntry(' is', -1.23456)], refusal: null }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});
const completionAnswer = () => ({ id: 'c2', object: 'text_completion', choices: [{ index: 0, text: ' Paris', logprobs: { tokens: [' Paris'], token_logprobs: [-0.0456], top_logprobs: [{ ' Paris': -0.0456, ' Lyon': -3.21, a: -5, b: -6, c: -7, d: -8, e: -9 }], text_offset: [0] }, finish_reason: 'stop' }] });
const VECTOR = Array.from({ length: 256 }, (_, i) => Math.sin(i + 1));
const norm = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));

test('round: one decimal, at most 5 alternatives; strip: none; the request is capped or stripped', () => {
  const r = hardenLogprobsAnswer(chatAnswer(), { mode: 'round' }) as any;
  const first = r.choices[0].logprobs.content[0];
  assert.equal(first.logprob, -0);
  assert.equal(r.choices[0].logprobs.content[1].logprob, -1.2);
  assert.equal(first.top_logprobs.length, 5);
  assert.ok(first.top_logprobs.every((t: { logprob: number }) => Math.round(t.logprob * 10) === t.logprob * 10));
  assert.equal(r.choices[0].message.content, 'Paris is', 'the text is untouched');
  const c = hardenLogprobsAnswer(completionAnswer(), { mode: 'round' }) as any;
  assert.deepEqual(c.choices[0].logprobs.token_logprobs, [-0]);
  assert.equal(Object.keys(c.choices[0].logprobs.top_logprobs[0]).length, 5);
  assert.equal(c.choices[0].logprobs.top_logprobs[0][' Lyon'], -3.2);
  const s = hardenLogprobsAnswer(chatAnswer(), { mode: 'strip' }) as any;
  assert.equal(s.choices[0].logprobs, null);
  assert.deepEqual(hardenLogprobsRequest('chat', { logprobs: true, top_logprobs: 20, model: 'm' }, { mode: 'strip' }), { model: 'm' });
  assert.deepEqual(hardenLogprobsRequest('chat', { logprobs: true, top_logprobs: 20 }, { mode: 'round' }), { logprobs: true, top_logprobs: 5 });
  assert.deepEqual(hardenLogprobsRequest('completions', { logprobs: 20 }, { mode: 'noise', epsilon: 1 }), { logprobs: 5 });
  // Shapes it does not know are left alone or nulled, never a crash.
  assert.deepEqual(hardenLogprobsAnswer({ choices: [null, { logprobs: 'x' }] }, { mode: 'round' }), { choices: [null, { logprobs: null }] });
  assert.deepEqual(hardenLogprobsAnswer({ data: [] }, { mode: 'round' }), { data: [] });
});

test('noise:ε is the Laplace mechanism: mean absolute error ≈ 1/ε, values clipped to [−20, 0] before and ≤ 0 after', () => {
  for (const epsilon of [0.5, 1, 4]) {
    let err = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) err += Math.abs(laplace(1 / epsilon));
    const mae = err / N;
    assert.ok(Math.abs(mae - 1 / epsilon) < 0.05 / epsilon, `ε=${epsilon}: mean |noise| ${mae} vs ${1 / epsilon}`);
  }
  const released: number[] = [];
  for (let i = 0; i < 200; i++) {
    const r = hardenLogprobsAnswer(chatAnswer(), { mode: 'noise', epsilon: 1 }) as any;
    released.push(r.choices[0].logprobs.content[1].logprob);
    for (const t of r.choices[0].logprobs.content[0].top_logprobs) assert.ok(t.logprob <= 0);
  }
  assert.ok(released.every((v) => v <= 0));
  assert.ok(new Set(released).size > 150, 'fresh noise on every answer');
  const far = hardenLogprobsAnswer({ choices: [{ logprobs: { token_logprobs: [-1e9] } }] }, { mode: 'noise', epsilon: 100 }) as any;
  assert.ok(far.choices[0].logprobs.token_logprobs[0] > -21, 'clipped to −20 before the noise');
  for (let i = 0; i < 1000; i++) {
    const u = secureRandom();
    assert.ok(u >= 0 && u < 1);
  }
});

test('embedding noise keeps the norm and (nearly) the direction, and differs every time; non-float vectors are withheld', () => {
  const a = (hardenEmbeddings({ data: [{ index: 0, embedding: VECTOR }] }, 0.05) as any).data[0].embedding as number[];
  const b = (hardenEmbeddings({ data: [{ index: 0, embedding: VECTOR }] }, 0.05) as any).data[0].embedding as number[];
  assert.ok(Math.abs(norm(a) - norm(VECTOR)) < 1e-9);
  assert.ok(cosine(a, VECTOR) > 0.99 && cosine(a, VECTOR) < 0.99999, `cos ${cosine(a, VECTOR)}`);
  assert.notDeepEqual(a, b);
  const loud = (hardenEmbeddings({ data: [{ embedding: VECTOR }] }, 1) as any).data[0].embedding as number[];
  assert.ok(cosine(loud, VECTOR) < 0.9, 'σ = 1 is a lot of noise');
  assert.equal((hardenEmbeddings({ data: [{ embedding: 'AAAA' }] }, 0.05) as any).data[0].embedding, null);
  assert.deepEqual(hardenEmbeddings({ object: 'list' }, 0.05), { object: 'list' });
});

let t: TestWarden;
let up: FakeUpstream;

before(async () => {
  // A FAKE OpenAI-compatible server: answers with logprobs whatever was asked (a server that ignores the
  // request's fields), and embeddings as floats unless base64 was asked for.
  up = await startFakeUpstream((req, res, body) => {
    const b = JSON.parse(body) as Record<string, unknown>;
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.endsWith('/embeddings')) {
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: b.encoding_format === 'base64' ? 'AAAA' : VECTOR }], usage: { prompt_tokens: 2, total_tokens: 2 } }));
      return;
    }
    res.end(JSON.stringify(chatAnswer()));
  });
  t = await startTestWarden((c) => {
    c.upstreams = [...c.upstreams, { ...c.upstreams[0]!, name: 'lp', baseUrl: up.url, models: ['lp-round', 'lp-strip', 'lp-noise', 'lp-plain', 'emb'] } as WardenConfig['upstreams'][number]];
  });
  await t.admin('POST', '/admin/v1/policies', {
    text: [
      '@id("all")\npermit (principal, action, resource);',
      '@id("round")\n@obligation("harden:logprobs")\npermit (principal, action == Action::"chat", resource == Model::"lp-round");',
      '@id("strip")\n@obligation("harden:logprobs=strip")\npermit (principal, action == Action::"chat", resource == Model::"lp-strip");',
      '@id("noise")\n@obligation("harden:logprobs=noise:1")\npermit (principal, action == Action::"chat", resource == Model::"lp-noise");',
      '@id("emb")\n@obligation("harden:embeddings")\npermit (principal, action == Action::"embed", resource == Model::"emb");',
    ].join('\n'),
  });
});

after(async () => {
  await t?.stop();
  await up?.close();
});

test('through the gateway: the obligations limit the request and rewrite the answer before release', async () => {
  const { key } = await t.keyFor('ivy', ['*'], ['chat', 'embed']);
  const ask = (model: string, extra: Record<string, unknown> = { logprobs: true, top_logprobs: 20 }) => t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'capital of France?' }], ...extra } });
  const plain = await ask('lp-plain');
  assert.equal(plain.status, 200, plain.text);
  assert.equal(plain.json.choices[0].logprobs.content[1].logprob, -1.23456, 'no obligation: untouched');

  const round = await ask('lp-round');
  assert.equal(round.status, 200, round.text);
  assert.equal(round.json.choices[0].logprobs.content[1].logprob, -1.2);
  assert.equal(round.json.choices[0].logprobs.content[0].top_logprobs.length, 5);
  assert.equal(JSON.parse(up.requests.at(-1)!.body).top_logprobs, 5, 'the request was capped too');

  const strip = await ask('lp-strip');
  assert.equal(strip.status, 200);
  assert.equal(strip.json.choices[0].logprobs, null, 'stripped even though the server sent them');
  const forwarded = JSON.parse(up.requests.at(-1)!.body);
  assert.equal(forwarded.logprobs, undefined);
  assert.equal(forwarded.top_logprobs, undefined);

  const noise = await ask('lp-noise');
  assert.equal(noise.status, 200);
  const v = noise.json.choices[0].logprobs.content[1].logprob;
  assert.ok(v <= 0 && v !== -1.23456);

  // A streamed request under harden:logprobs is stripped (streams are not rewritten chunk by chunk).
  await ask('lp-round', { logprobs: true, top_logprobs: 3, stream: true });
  const streamed = JSON.parse(up.requests.at(-1)!.body);
  assert.equal(streamed.logprobs, undefined);
  assert.equal(streamed.stream, true);

  const emb = await t.call('inference', 'POST', '/v1/embeddings', { key, body: { model: 'emb', input: 'hello', encoding_format: 'base64' } });
  assert.equal(emb.status, 200, emb.text);
  assert.equal(JSON.parse(up.requests.at(-1)!.body).encoding_format, 'float', 'floats are asked for so they can be noised');
  const e = emb.json.data[0].embedding as number[];
  assert.equal(e.length, VECTOR.length);
  assert.ok(cosine(e, VECTOR) > 0.99 && cosine(e, VECTOR) < 0.99999);
});
