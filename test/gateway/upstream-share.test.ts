// Each principal's share of an upstream's connection pool: a principal holding its share with long streams
// gets 429 upstream_share_exceeded (with Retry-After, recorded, never sent upstream) while other principals are
// still served, the last free connections stay for principals with nothing in flight, and every way a stream
// can end (done, client hang-up, a client that stopped reading and then hung up) gives the slot back.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { request, type Dispatcher } from 'undici';
import { UpstreamShare, UpstreamShareExceeded } from '../../src/network/upstream-share.js';
import { startTestWarden } from '../helpers/warden.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';

describe('UpstreamShare', () => {
  const pool = { name: 'u', connections: 8 };

  test('sizes: a fraction of the pool, at least one per principal', () => {
    assert.deepEqual(UpstreamShare.sizes(128, { perPrincipal: 0.5, reserve: 0.125 }), { perPrincipal: 64, reserve: 16 });
    assert.deepEqual(UpstreamShare.sizes(4, { perPrincipal: 0.5, reserve: 0.125 }), { perPrincipal: 2, reserve: 1 });
    assert.deepEqual(UpstreamShare.sizes(1, { perPrincipal: 0.1, reserve: 0 }), { perPrincipal: 1, reserve: 0 });
    assert.throws(() => new UpstreamShare({ perPrincipal: 0, reserve: 0 }), RangeError);
    assert.throws(() => new UpstreamShare({ perPrincipal: 0.5, reserve: 1 }), RangeError);
  });

  test('a principal at its share is refused; another is not; release is idempotent', () => {
    const s = new UpstreamShare({ perPrincipal: 0.25, reserve: 0 });
    const a = [s.acquire(pool, 'a'), s.acquire(pool, 'a')];
    assert.throws(() => s.acquire(pool, 'a'), (e: unknown) => e instanceof UpstreamShareExceeded && e.status === 429 && e.code === 'upstream_share_exceeded' && e.headers?.['retry-after'] === '1');
    const b = s.acquire(pool, 'b');
    a[0]!.release();
    a[0]!.release();
    assert.equal(s.inFlight('u', 'a'), 1);
    a[1]!.release();
    b.release();
    assert.equal(s.inFlight('u'), 0);
  });

  test('the reserve: holders stop taking connections before the last free ones; newcomers still get them', () => {
    const s = new UpstreamShare({ perPrincipal: 0.5, reserve: 0.25 }); // 8 connections: 4 each, 2 reserved
    for (let i = 0; i < 4; i++) s.acquire(pool, 'a');
    for (let i = 0; i < 2; i++) s.acquire(pool, 'b');
    assert.throws(() => s.acquire(pool, 'b'), UpstreamShareExceeded, 'b holds one and only 2 are free');
    s.acquire(pool, 'c');
    s.acquire(pool, 'd');
    assert.equal(s.inFlight('u'), 8);
  });

  test('property: held never exceeds the share, counts add up, and releasing everything leaves nothing behind', () => {
    const op = fc.record({ who: fc.constantFrom('a', 'b', 'c', 'd'), release: fc.boolean(), pick: fc.nat() });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.array(op, { maxLength: 80 }), (connections, perPrincipal, reserve, ops) => {
        const s = new UpstreamShare({ perPrincipal, reserve });
        const u = { name: 'p', connections };
        const size = UpstreamShare.sizes(connections, { perPrincipal, reserve });
        const live: { who: string; slot: { release(): void } }[] = [];
        for (const o of ops) {
          if (o.release && live.length > 0) {
            const [x] = live.splice(o.pick % live.length, 1);
            x!.slot.release();
            x!.slot.release();
            continue;
          }
          const held = live.filter((x) => x.who === o.who).length;
          const expectRefused = held >= size.perPrincipal || (held > 0 && connections - live.length <= size.reserve);
          try {
            live.push({ who: o.who, slot: s.acquire(u, o.who) });
            assert.equal(expectRefused, false);
          } catch (e) {
            assert.ok(e instanceof UpstreamShareExceeded);
            assert.equal(expectRefused, true);
          }
          assert.equal(s.inFlight('p'), live.length);
          assert.ok(s.inFlight('p', o.who) <= size.perPrincipal);
        }
        for (const x of live) x.slot.release();
        assert.equal(s.inFlight('p'), 0);
        for (const w of ['a', 'b', 'c', 'd']) assert.equal(s.inFlight('p', w), 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('through the gateway: a principal holding its share with slow streams', () => {
  test('is refused (429, Retry-After, ledger entry, nothing sent upstream); others are served; aborted streams give their share back', async () => {
    // FAKE external upstream (not Warden code): "hold" streams one event and stays open until the client goes,
    // "flood" streams as fast as it is read, anything else answers at once.
    let floodBlocked = false;
    const up = await startFakeUpstream((_req, res, raw) => {
      const body = JSON.parse(raw) as { messages: { content: string }[] };
      const what = body.messages[0]!.content;
      const event = (content: string) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;
      if (what === 'hold') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(event('first'));
        return;
      }
      if (what === 'flood') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const big = event('x'.repeat(64 * 1024));
        const pump = () => {
          while (!res.destroyed) {
            if (!res.write(big)) {
              floodBlocked = true;
              res.once('drain', pump);
              return;
            }
          }
        };
        pump();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { total_tokens: 1 } }));
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ name: 'pool', baseUrl: up.url, models: ['m'], connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 5000, bodyTimeoutMs: 60_000 }];
      c.limits.upstreamShare = { perPrincipal: 0.5, reserve: 0.25 }; // 4 connections: 2 per principal, 1 kept for newcomers
    });
    const open: Dispatcher.ResponseData[] = [];
    try {
      const hog = (await t.keyFor('hog', ['m'], ['chat'])).key;
      const second = (await t.keyFor('second', ['m'], ['chat'])).key;
      const newcomer = (await t.keyFor('newcomer', ['m'], ['chat'])).key;
      const chat = (key: string, content: string, stream = false) => t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'm', stream, messages: [{ role: 'user', content }] } });
      const startStream = async (key: string, content: string) => {
        const r = await request(`${t.w.inferenceUrl}/v1/chat/completions`, {
          method: 'POST',
          dispatcher: t.agent,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content }] }),
        });
        assert.equal(r.statusCode, 200);
        open.push(r);
        return r;
      };
      const hangUp = (r: Dispatcher.ResponseData) => r.body.destroy();
      // The slot comes back when Warden has seen the hang-up: asked again for a few seconds, then it must be served.
      const servedSoon = async (key: string, content: string) => {
        const deadline = Date.now() + 5000;
        let r = await chat(key, content);
        while (r.status === 429 && Date.now() < deadline) {
          await new Promise((ok) => setTimeout(ok, 50));
          r = await chat(key, content);
        }
        return r;
      };

      const holds = [await startStream(hog, 'hold'), await startStream(hog, 'hold')];
      const sent = up.requests.length;
      const refused = await chat(hog, 'one more');
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.json.error.code, 'upstream_share_exceeded');
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(up.requests.length, sent, 'a refused request is never sent upstream');
      const entry = t.audits().find((a) => a.requestId === refused.headers['x-request-id']);
      assert.ok(entry, 'the refusal is in the ledger');
      assert.deepEqual([entry.status, entry.stage, entry.decision], [429, 'network', 'deny']);

      // A principal with nothing in flight is served; one that already holds a connection does not take the last.
      await startStream(second, 'hold');
      const reserveKept = await chat(second, 'and another');
      assert.equal(reserveKept.status, 429);
      assert.equal(reserveKept.json.error.code, 'upstream_share_exceeded');
      const served = await chat(newcomer, 'hello');
      assert.equal(served.status, 200, served.text);
      assert.equal(served.json.choices[0].message.content, 'ok');

      // The hog hangs up: its share is free again (released on abort, not leaked).
      for (const r of holds) hangUp(r);
      const again = await servedSoon(hog, 'back');
      assert.equal(again.status, 200, again.text);

      // A client that stops reading (Warden's writes back up) and then hangs up gives its slot back too.
      const stalled = await startStream(hog, 'flood');
      const stalledToo = await startStream(hog, 'hold');
      const blockedBy = Date.now() + 15_000;
      while (!floodBlocked && Date.now() < blockedBy) await new Promise((r) => setTimeout(r, 20));
      assert.ok(floodBlocked, 'the upstream is blocked behind the stalled client');
      assert.equal((await chat(hog, 'while stalled')).status, 429);
      hangUp(stalled);
      hangUp(stalledToo);
      const after = await servedSoon(hog, 'after');
      assert.equal(after.status, 200, after.text);
      const [s1, s2] = await Promise.all([startStream(hog, 'hold'), startStream(hog, 'hold')]);
      assert.deepEqual([s1.statusCode, s2.statusCode], [200, 200], 'the whole share is back');
    } finally {
      for (const r of open) r.body.destroy();
      await t.stop();
      await up.close();
    }
  });
});
