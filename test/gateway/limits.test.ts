import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FixedClock } from '../../src/core/clock.js';
import { startTestWarden } from '../helpers/warden.js';

const chat = (content: string) => ({ model: 'demo-chat', messages: [{ role: 'user', content }] });

describe('network plane limits and credential lifetimes', () => {
  test('requests per second: the bucket empties to 429 with Retry-After', async () => {
    const t = await startTestWarden();
    try {
      // One token per 30 s: the bucket cannot refill between these requests however slow a loaded machine is (at
      // 1 per second, four requests that took over a second each under CI load found a token again).
      const { key } = await t.keyFor('ratey', ['demo-chat'], ['chat'], { limits: { requestsPerSecond: 1 / 30, burst: 2 } });
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('x') })).status);
      assert.deepEqual(codes, [200, 200, 429]);
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('x') });
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.equal(r.json.error.code, 'rate_limited');
    } finally {
      await t.stop();
    }
  });

  test('tokens per minute: usage reported by the upstream is charged, then 429', async () => {
    const t = await startTestWarden();
    try {
      const { key } = await t.keyFor('tokeny', ['demo-chat'], ['chat'], { limits: { tokensPerMinute: 10 } });
      const long = 'one two three four five six';
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat(long) })).status, 200);
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('again') });
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'token_limited');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    } finally {
      await t.stop();
    }
  });

  test('source CIDR allowlist: a principal restricted to another network is refused', async () => {
    const t = await startTestWarden();
    try {
      const far = await t.keyFor('remote-only', ['demo-chat'], ['chat'], { source_cidrs: ['10.0.0.0/8'] });
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: far.key, body: chat('x') });
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'source_not_allowed');
      const near = await t.keyFor('local-only', ['demo-chat'], ['chat'], { source_cidrs: ['127.0.0.0/8'] });
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: near.key, body: chat('x') })).status, 200);
    } finally {
      await t.stop();
    }
  });

  test('expiry and rotation overlap: old and new work during grace, then only the new one', async () => {
    const clock = new FixedClock(Date.parse('2026-11-22T10:00:00Z'));
    const t = await startTestWarden(() => {}, { clock });
    try {
      const short = await t.keyFor('temp', ['demo-chat'], ['chat'], { ttl: '1h' });
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: short.key, body: chat('x') })).status, 200);
      const old = await t.keyFor('rotor', ['demo-chat'], ['chat']);
      const rotated = await t.admin('POST', `/admin/v1/keys/${old.id}/rotate`, { grace: '10m' });
      assert.match(rotated.key, /^wdn_/);
      assert.equal(rotated.previous.state, 'rotating');
      for (const k of [old.key, rotated.key]) {
        assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: k, body: chat('x') })).status, 200);
      }
      clock.advance(11 * 60_000);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: old.key, body: chat('x') })).status, 401);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: rotated.key, body: chat('x') })).status, 200);
      clock.advance(50 * 60_000);
      const expired = await t.call('inference', 'POST', '/v1/chat/completions', { key: short.key, body: chat('x') });
      assert.equal(expired.status, 401);
      const again = await t.call('admin', 'POST', `/admin/v1/keys/${old.id}/rotate`, { key: t.adminKey, body: { grace: '1m' } });
      assert.equal(again.status, 409);
    } finally {
      await t.stop();
    }
  });
});

describe('concurrent requests per principal', () => {
  test('a second request while the first is in flight is refused with 429 concurrency_limited', async () => {
    const { startFakeUpstream } = await import('../helpers/fake-upstream.js');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // FAKE external upstream that answers only when the test lets it.
    const up = await startFakeUpstream((_req, res) => {
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { total_tokens: 1 } }));
      });
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'slow', baseUrl: up.url, models: ['m'], connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 }];
    });
    try {
      const { key } = await t.keyFor('one-at-a-time', ['m'], ['chat'], { limits: { concurrency: 1 } });
      const body = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
      const first = t.call('inference', 'POST', '/v1/chat/completions', { key, body });
      while (up.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      const second = await t.call('inference', 'POST', '/v1/chat/completions', { key, body });
      assert.equal(second.status, 429);
      assert.equal(second.json.error.code, 'concurrency_limited');
      assert.ok(Number(second.headers['retry-after']) >= 1);
      release();
      assert.equal((await first).status, 200);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body })).status, 200, 'the slot is free again');
    } finally {
      release();
      await t.stop();
      await up.close();
    }
  });
});
