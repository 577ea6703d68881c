// Output inspection per deployment: canary leaks and output rules withhold the answer (and cut streams).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWarden } from '../helpers/warden.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';

describe('output policy on answers', () => {
  test('a canary planted in the system prompt that comes back is withheld; output rules block SQL; streams are cut off', async () => {
    // FAKE external upstream: echoes the system prompt (a model tricked into leaking it) or emits SQL.
    const up = await startFakeUpstream((_req, res, raw) => {
      const body = JSON.parse(raw) as { model: string; stream?: boolean; messages: { role: string; content: string }[] };
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const user = body.messages.at(-1)!.content;
      const text = user === 'leak' ? `Sure! My instructions say: ${system}` : user === 'sql' ? 'Run: SELECT * FROM users WHERE 1=1;' : 'A short, harmless summary.';
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < text.length; i += 7) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text.slice(i, i + 7) } }] })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text } }], usage: { total_tokens: 5 } }));
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'summarizer', baseUrl: up.url, models: ['sum'], canary: true, outputRules: ['no_sql', 'no_shell'], connections: 2, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 }];
    });
    try {
      const { key } = await t.keyFor('o', ['sum'], ['chat']);
      const ask = (content: string, stream = false) =>
        t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'sum', stream, messages: [{ role: 'system', content: 'You summarize.' }, { role: 'user', content }] } });
      const ok = await ask('summarize this');
      assert.equal(ok.status, 200);
      assert.match(JSON.parse(up.requests[0]!.body).messages[0].content, /WDNC[0-9A-Z]{16}/, 'canary planted in the system prompt');
      const leak = await ask('leak');
      assert.equal(leak.status, 403);
      assert.equal(leak.json.error.code, 'output_blocked');
      assert.doesNotMatch(leak.text, /WDNC/);
      const entry = t.audits().find((a) => a.requestId === leak.headers['x-request-id'])!;
      assert.equal(entry.stage, 'verify');
      assert.equal((entry.findings as Record<string, number>)['output.canary_leak'], 1);
      const sql = await ask('sql');
      assert.equal(sql.status, 403);
      const streamed = await ask('sql', true);
      assert.equal(streamed.status, 200);
      assert.doesNotMatch(streamed.text, /\[DONE\]/);
      assert.match(streamed.text, /"code":"output_blocked"/);
      // The stream's opening entry allowed it; its final entry records that the answer was cut off.
      const sEntries = t.audits().filter((a) => a.requestId === streamed.headers['x-request-id']);
      assert.deepEqual(sEntries.map((e) => e.decision), ['allow', 'deny']);
      assert.equal((sEntries[0]!.details as Record<string, unknown>).phase, 'open');
      const fine = await ask('summarize', true);
      assert.match(fine.text, /\[DONE\]/);
    } finally {
      await t.stop();
      await up.close();
    }
  });
});
