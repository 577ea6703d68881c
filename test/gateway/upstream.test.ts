import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import OpenAI from 'openai';
import { startTestWarden } from '../helpers/warden.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'user', content }], ...extra });

describe('upstream failures become clear 502/503/504 errors', () => {
  test('connection refused → 502, upstream 500 → 502, upstream 503 → 503, hang → 504', async () => {
    // FAKE external upstreams (not Warden code), one per failure mode.
    const failing = await startFakeUpstream((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'boom' } }));
    });
    const busy = await startFakeUpstream((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"overloaded"}');
    });
    const hang = await startFakeUpstream(() => {
      /* never answers */
    });
    const t = await startTestWarden((c) => {
      const base = { connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 300, bodyTimeoutMs: 300 };
      c.upstreams = [
        { name: 'dead', baseUrl: 'http://127.0.0.1:9/v1', models: ['dead-model'], ...base },
        { name: 'failing', baseUrl: failing.url, models: ['failing-model'], ...base },
        { name: 'busy', baseUrl: busy.url, models: ['busy-model'], ...base },
        { name: 'hang', baseUrl: hang.url, models: ['hang-model'], ...base },
      ];
    });
    try {
      const { key } = await t.keyFor('u', ['*'], ['chat']);
      const go = (model: string) => t.call('inference', 'POST', '/v1/chat/completions', { key, body: { ...chat('x'), model } });
      const dead = await go('dead-model');
      assert.equal(dead.status, 502);
      assert.equal(dead.json.error.code, 'upstream_unreachable');
      const f = await go('failing-model');
      assert.equal(f.status, 502);
      assert.match(f.json.error.message, /HTTP 500.*boom/);
      const b = await go('busy-model');
      assert.equal(b.status, 503);
      const h = await go('hang-model');
      assert.equal(h.status, 504);
      assert.equal(h.json.error.code, 'upstream_timeout');
      const a = t.audits().find((x) => x.requestId === h.headers['x-request-id'])!;
      assert.equal(a.decision, 'error');
      assert.equal(a.stage, 'upstream');
      // The client's credential never reaches the upstream.
      assert.equal(failing.requests[0]!.headers.authorization, undefined);
    } finally {
      await t.stop();
      await Promise.all([failing.close(), busy.close(), hang.close()]);
    }
  });

  test('a streamed request answered whole (JSON, not an event stream) is a 502 upstream_not_streaming, nothing relayed', async () => {
    // FAKE external upstream that ignores "stream": true.
    const whole = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'SECRET-WHOLE-ANSWER' }, finish_reason: 'stop' }] }));
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'whole', baseUrl: whole.url, models: ['whole-model'], connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 }];
    });
    try {
      const { key } = await t.keyFor('u', ['*'], ['chat']);
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { ...chat('x'), model: 'whole-model', stream: true } });
      assert.equal(r.status, 502);
      assert.equal(r.json.error.code, 'upstream_not_streaming');
      assert.match(r.json.error.message, /application\/json.*instead of an event stream/);
      assert.doesNotMatch(r.text, /SECRET-WHOLE-ANSWER/);
      // The stream's opening entry (durable before anything is released) is followed by the entry of the outcome.
      const entries = t.audits().filter((x) => x.requestId === r.headers['x-request-id']);
      assert.equal(entries.at(-1)!.decision, 'error');
      assert.equal(entries.at(-1)!.errorCode, 'upstream_not_streaming');
    } finally {
      await t.stop();
      await whole.close();
    }
  });

  test('upstream credential comes from the environment, never from the client', async () => {
    const up = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { total_tokens: 3 } }));
    });
    process.env.WARDEN_TEST_UPSTREAM_KEY = 'sk-upstream-secret';
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'env', baseUrl: up.url, apiKeyEnv: 'WARDEN_TEST_UPSTREAM_KEY', models: ['m'], connections: 2, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 }];
    });
    try {
      const { key } = await t.keyFor('u', ['m'], ['chat']);
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('x') });
      assert.equal(r.status, 200);
      assert.equal(up.requests[0]!.headers.authorization, 'Bearer sk-upstream-secret');
    } finally {
      delete process.env.WARDEN_TEST_UPSTREAM_KEY;
      await t.stop();
      await up.close();
    }
  });

  test('streams are relayed chunk by chunk and a client disconnect aborts the upstream request', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const up = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'first' } }] })}\n\n`);
      const timer = setInterval(() => res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: '.' } }] })}\n\n`), 50);
      void gate.then(() => clearInterval(timer));
      res.on('close', () => clearInterval(timer));
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'slow', baseUrl: up.url, models: ['m'], connections: 2, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 10000 }];
    });
    try {
      const { key } = await t.keyFor('u', ['m'], ['chat']);
      const ac = new AbortController();
      const r = await request(t.w.inferenceUrl + '/v1/chat/completions', {
        method: 'POST',
        dispatcher: t.agent,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(chat('x', { stream: true })),
        signal: ac.signal,
      });
      assert.equal(r.statusCode, 200);
      // The first event arrives while the upstream is still streaming: nothing is buffered to the end.
      const it = r.body[Symbol.asyncIterator]();
      const first = await it.next();
      assert.match(String(first.value), /first/);
      ac.abort();
      await Promise.race([up.aborted, new Promise((_, rej) => setTimeout(() => rej(new Error('upstream was not aborted')), 5000))]);
      release();
    } finally {
      release();
      await t.stop();
      await up.close();
    }
  });
});

describe('the official openai npm client works through Warden', () => {
  test('chat, streaming chat, embeddings and a denial', async () => {
    const t = await startTestWarden();
    const agent = new Agent({ connect: { ca: t.ca } });
    try {
      const { key } = await t.keyFor('sdk-user', ['demo-chat'], ['chat']);
      const client = new OpenAI({ apiKey: key, baseURL: t.w.inferenceUrl + '/v1', // undici's dispatcher option is accepted by Node's fetch but absent from the DOM RequestInit type.
        fetchOptions: { dispatcher: agent } as never });
      const c = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi sdk' }] });
      assert.equal(c.choices[0]!.message.content, 'You said: hi sdk');
      const stream = await client.chat.completions.create({ model: 'demo-chat', stream: true, messages: [{ role: 'user', content: 'stream me' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      assert.equal(text, 'You said: stream me');
      const models = await client.models.list();
      assert.deepEqual(models.data.map((m) => m.id), ['demo-chat']);
      await assert.rejects(client.embeddings.create({ model: 'demo-embed', input: 'x' }), (e: unknown) => (e as { status?: number }).status === 403);
    } finally {
      await agent.close();
      await t.stop();
    }
  });
});
