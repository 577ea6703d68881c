// Upstream pools through the real gateway (TLS listener, ledger): weighted balancing, failover and ejection when
// one endpoint dies, active health checks, a 503 naming the model when none is left, no retry once a byte of
// the request went out, and stream stalls. Every model server here is a FAKE of an external OpenAI-compatible
// server (test/helpers/fake-upstream.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type UpstreamConfig } from '../../src/config/config.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

/** FAKE model server: answers chat with its own name, /models with `modelsStatus` (its health). */
async function fakeModel(name: string, opts: { modelsStatus?: () => number; onChat?: (res: import('node:http').ServerResponse) => boolean } = {}): Promise<FakeUpstream> {
  return startFakeUpstream((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(opts.modelsStatus?.() ?? 200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ object: 'list', data: [{ id: 'pooled', object: 'model' }] }));
    }
    if (opts.onChat?.(res)) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `from ${name}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }));
  });
}

function upstreamFrom(yaml: string): UpstreamConfig {
  return parseConfig(yaml, '/tmp/warden.yaml').upstreams[0]!;
}

const chats = (f: FakeUpstream) => f.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

async function withPool(yaml: string, body: (t: TestWarden, key: string) => Promise<void>): Promise<void> {
  const t = await startTestWarden((c) => {
    c.demoUpstream.enabled = false;
    c.upstreams = [upstreamFrom(yaml)];
  });
  try {
    const { key } = await t.keyFor('alice', ['pooled'], ['chat']);
    await body(t, key);
  } finally {
    await t.stop();
  }
}

const ask = (t: TestWarden, key: string, extra: Record<string, unknown> = {}) => t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'pooled', messages: [{ role: 'user', content: 'hello' }], ...extra } });
const lastEntry = (t: TestWarden) => t.audits().filter((e) => (e.resource as { id?: string } | null)?.id === 'pooled').at(-1) as Record<string, any>;

test('weights split the traffic; one endpoint killed: no request fails, attempts are in the entries, and after ejection it is not tried', async () => {
  const a = await fakeModel('a');
  const b = await fakeModel('b');
  try {
    const yaml = `upstreams:\n  - name: pool\n    models: [pooled]\n    endpoints:\n      - { url: "${a.url}", weight: 3 }\n      - { url: "${b.url}" }\n    healthCheck: { intervalMs: 60000 }\n    outlierEjection: { consecutiveFailures: 2, ejectMs: 60000 }\n`;
    await withPool(yaml, async (t, key) => {
      for (let i = 0; i < 8; i++) assert.equal((await ask(t, key)).status, 200);
      assert.deepEqual([chats(a), chats(b)], [6, 2]);
      assert.match(lastEntry(t).details.upstreamAttempts, /^pool#[01] http:\/\/127\.0\.0\.1:\d+ responded 200$/);
      await b.close(); // killed: connections to it are refused from now on
      const statuses: number[] = [];
      const attempts: string[] = [];
      for (let i = 0; i < 16; i++) {
        statuses.push((await ask(t, key)).status);
        attempts.push(lastEntry(t).details.upstreamAttempts);
      }
      assert.deepEqual(statuses, Array(16).fill(200), 'no request failed: connection failures failed over to a');
      const failedOver = attempts.filter((s) => /connect_failed ECONNREFUSED; pool#0 .* responded 200$/.test(s));
      assert.equal(failedOver.length, 2, `b was tried until ejected (2 consecutive failures): ${attempts.join(' | ')}`);
      // After ejection every request goes straight to a.
      assert.ok(attempts.slice(-8).every((s) => /^pool#0 \S+ responded 200$/.test(s)), attempts.join(' | '));
    });
  } finally {
    await a.close();
  }
});

test('active health checks: an endpoint whose /models fails is taken out before any request fails on it', async () => {
  let bHealthy = false;
  const a = await fakeModel('a');
  const b = await fakeModel('b', { modelsStatus: () => (bHealthy ? 200 : 503) });
  try {
    const yaml = `upstreams:\n  - name: pool\n    models: [pooled]\n    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]\n    healthCheck: { intervalMs: 100, unhealthyAfter: 1, healthyAfter: 1 }\n`;
    await withPool(yaml, async (t, key) => {
      await new Promise((r) => setTimeout(r, 400));
      for (let i = 0; i < 6; i++) assert.equal((await ask(t, key)).status, 200);
      assert.deepEqual([chats(a), chats(b)], [6, 0]);
      bHealthy = true;
      await new Promise((r) => setTimeout(r, 400));
      for (let i = 0; i < 6; i++) assert.equal((await ask(t, key)).status, 200);
      assert.ok(chats(b) >= 2, 'b is back once its health check passes');
    });
  } finally {
    await a.close();
    await b.close();
  }
});

test('every endpoint down: 503 naming the model, with the attempts in the entry', async () => {
  const a = await fakeModel('a');
  const b = await fakeModel('b');
  await a.close();
  await b.close();
  const yaml = `upstreams:\n  - name: pool\n    models: [pooled]\n    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]\n    healthCheck: { intervalMs: 60000 }\n`;
  await withPool(yaml, async (t, key) => {
    const r = await ask(t, key);
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'no_healthy_upstream');
    assert.match(r.json.error.message, /model pooled/);
    const e = lastEntry(t);
    assert.equal(e.errorCode, 'no_healthy_upstream');
    assert.match(e.details.upstreamAttempts, /^pool#\d \S+ connect_failed ECONNREFUSED; pool#\d \S+ connect_failed ECONNREFUSED$/);
    // The same for a stream: refused before any byte of the answer.
    const s = await ask(t, key, { stream: true });
    assert.equal(s.status, 503);
    assert.equal(s.json.error.code, 'no_healthy_upstream');
  });
});

test('no retry once the request reached an endpoint: a connection cut after the request was sent is a 502, the other endpoint never sees it', async () => {
  // a reads the whole request, then drops the connection without answering (it may have run the model).
  const a = await fakeModel('a', { onChat: (res) => (res.socket?.destroy(), true) });
  const b = await fakeModel('b');
  try {
    const yaml = `upstreams:\n  - name: pool\n    models: [pooled]\n    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]\n    healthCheck: { intervalMs: 60000 }\n`;
    await withPool(yaml, async (t, key) => {
      const r = await ask(t, key);
      assert.equal(r.status, 502);
      assert.equal(chats(a), 1);
      assert.equal(chats(b), 0, 'retried after bytes were sent');
      assert.match(lastEntry(t).details.upstreamAttempts, /^pool#0 \S+ failed \S+$/);
    });
  } finally {
    await a.close();
    await b.close();
  }
});

test('a stream that stalls for streamStallMs ends with an error event and an entry', async () => {
  // A FAKE server that sends one chunk and then nothing, holding the connection open.
  const stalled = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'first ' }, finish_reason: null }] })}\n\n`);
  });
  try {
    await withPool(`upstreams:\n  - { name: slow, baseUrl: "${stalled.url}", models: [pooled], streamStallMs: 300 }\n`, async (t, key) => {
      const started = Date.now();
      const r = await ask(t, key, { stream: true });
      assert.ok(Date.now() - started < 5_000);
      assert.equal(r.status, 200);
      assert.match(r.text, /first /);
      const last = JSON.parse(r.text.trim().split('\n\n').at(-1)!.replace(/^data: /, '')) as { error: { code: string } };
      assert.equal(last.error.code, 'upstream_stream_stalled');
      assert.equal(lastEntry(t).errorCode, 'upstream_stream_stalled');
    });
  } finally {
    await stalled.close();
  }
});

test('a client that hangs up does not count against the endpoint: no ejection from cancelled calls', async () => {
  let hang = true;
  // a keeps its first chat request unanswered (a slow model); the client gives up on it.
  const a = await fakeModel('a', { onChat: () => (hang ? ((hang = false), true) : false) });
  const b = await fakeModel('b');
  try {
    const yaml = `upstreams:\n  - name: pool\n    models: [pooled]\n    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]\n    healthCheck: { intervalMs: 60000 }\n    outlierEjection: { consecutiveFailures: 1, ejectMs: 60000 }\n`;
    await withPool(yaml, async (t, key) => {
      const { request } = await import('undici');
      const gaveUp = new AbortController();
      const pending = request(`${t.w.inferenceUrl}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: t.agent,
        signal: gaveUp.signal,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'pooled', messages: [{ role: 'user', content: 'hello' }] }),
      });
      while (chats(a) === 0) await new Promise((r) => setTimeout(r, 10));
      gaveUp.abort();
      await assert.rejects(pending);
      await a.aborted; // Warden cancelled its call to a
      for (let i = 0; i < 4; i++) assert.equal((await ask(t, key)).status, 200);
      assert.deepEqual([chats(a), chats(b)], [3, 2], 'a still takes its share: one failure would have ejected it');
    });
  } finally {
    await a.close();
    await b.close();
  }
});
