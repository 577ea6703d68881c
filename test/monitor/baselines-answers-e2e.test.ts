// The answer features of the baselines through the real gateway: a FAKE external model server (not Warden code)
// answers each principal briefly and reports its usage; then kim's answers suddenly cost 20× the tokens, lee's
// answers turn into refusals, and ray's requests start carrying personal data. Each gets a deviation with the
// reason named (tokens_out, refusal_rate, finding_rate) in its risk (the admin view, the inventory), while
// their first, ordinary answers raised nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withDefaults } from '../../src/config/config.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

/** What the fake model answers, per principal (the user message names it). */
const mode: Record<string, { content: string; completionTokens: number }> = {};
const SHORT = 'The meeting moved to Tuesday at ten.';

let upstream: FakeUpstream;
let t: TestWarden;
const keys: Record<string, string> = {};

before(async () => {
  upstream = await startFakeUpstream((_req, res, body) => {
    const who = /^(\w+):/.exec((JSON.parse(body) as { messages: { content: string }[] }).messages.at(-1)!.content)?.[1] ?? '';
    const m = mode[who] ?? { content: SHORT, completionTokens: 30 };
    if ((JSON.parse(body) as { stream?: boolean }).stream === true) {
      // Streamed: the content in two pieces, then the usage.
      const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
      const half = Math.ceil(m.content.length / 2);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of [m.content.slice(0, half), m.content.slice(half)]) res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }));
      res.end(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 40, completion_tokens: m.completionTokens, total_tokens: 40 + m.completionTokens } }) + 'data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: m.content }, finish_reason: 'stop' }], usage: { prompt_tokens: 40, completion_tokens: m.completionTokens, total_tokens: 40 + m.completionTokens } }));
  });
  t = await startTestWarden((c) => {
    c.monitor.baselines.minObservations = 20;
    c.upstreams = withDefaults({ upstreams: [{ name: 'fake', baseUrl: upstream.url, models: ['fake-chat'] }] }, null).upstreams;
  });
  for (const who of ['kim', 'lee', 'ray']) keys[who] = (await t.keyFor(who, ['*'], ['chat'])).key;
});

after(async () => {
  await t?.stop();
  await upstream?.close();
});

// lee's answers are streamed: a stream's refusals are profiled at its end like a whole answer's.
const chat = (who: string, text: string) => t.call('inference', 'POST', '/v1/chat/completions', { key: keys[who]!, body: { model: 'fake-chat', stream: who === 'lee', messages: [{ role: 'user', content: `${who}: ${text}` }] } });
type Row = { principal: string; risk: number; baseline: { deviation: { score: number; reasons: string[] } | null; tokensOut: { p99: number } | null; refusalRate: { rate: number; recent: number } | null } | null };
const row = async (who: string) => ((await t.call('admin', 'GET', '/admin/v1/monitor', { key: t.adminKey })).json.data as Row[]).find((r) => r.principal === `acme/user:${who}`)!;

test('20× the tokens, a refusal-rate jump, a finding-rate jump: each a deviation naming its feature; ordinary answers nothing', async () => {
  // A hundred ordinary answers each (a rate is judged against one's long-run rate, which the jump itself must not
  // swamp: a baseline of a few dozen answers would take the new refusals for the usual).
  for (let i = 0; i < 100; i++) for (const who of ['kim', 'lee', 'ray']) assert.equal((await chat(who, `note ${i}: when is the meeting?`)).status, 200);
  for (const who of ['kim', 'lee', 'ray']) assert.equal((await row(who)).baseline!.deviation, null, `${who}: ordinary answers raise nothing`);
  assert.equal((await row('kim')).baseline!.tokensOut!.p99, 30);

  // kim: the same short question, an answer of 20× the tokens.
  mode.kim = { content: 'The meeting moved. '.repeat(200), completionTokens: 600 };
  assert.equal((await chat('kim', 'note 100: when is the meeting?')).status, 200);
  const k = await row('kim');
  assert.ok(k.baseline!.deviation!.reasons.some((r) => /^tokens_out 600 > 3 × p99 \d+$/.test(r)), k.baseline!.deviation!.reasons.join('; '));
  assert.ok(k.risk >= 0.2, `risk ${k.risk}`);

  // lee: the model starts refusing (streamed answers).
  mode.lee = { content: "I'm sorry, but I can't help with that request.", completionTokens: 12 };
  let n = 0;
  while (!(await row('lee')).baseline!.deviation && n < 30) assert.equal((await chat('lee', `note ${100 + n++}: when is the meeting?`)).status, 200);
  const l = await row('lee');
  assert.ok(n <= 10, `refusal-rate jump seen after ${n} refusals`);
  assert.deepEqual(l.baseline!.deviation!.reasons.map((r) => r.split(' ')[0]), ['refusal_rate']);
  assert.ok(l.risk >= 0.25);

  // ray: the requests start carrying personal data (inspection findings; the starter set redacts, it does not refuse).
  n = 0;
  while (!(await row('ray')).baseline!.deviation && n < 30) assert.equal((await chat('ray', `note ${100 + n++}: mail jane.doe${n}@example.com and call +1 415 555 01${10 + n}`)).status, 200);
  const r = await row('ray');
  assert.ok(n <= 10, `finding-rate jump seen after ${n} requests`);
  assert.deepEqual(r.baseline!.deviation!.reasons.map((x) => x.split(' ')[0]), ['finding_rate']);

  // The inventory's at_risk reasons carry them too.
  const inv = JSON.stringify((await t.call('admin', 'GET', '/admin/v1/inventory', { key: t.adminKey })).json);
  for (const feature of ['tokens_out 600', 'refusal_rate', 'finding_rate']) assert.ok(inv.includes(feature), `${feature} in the inventory`);
});
