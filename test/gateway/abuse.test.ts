// A gateway that stays up under abuse: an unauthenticated flood costs no fsync per request and is cut off per
// source, slow or stalled uploads are timed out, a body is never read before the credential is checked, and a
// normal client on another address is served throughout.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const chat = (content: string) => ({ model: 'demo-chat', messages: [{ role: 'user', content }] });

describe('abuse', () => {
  let t: TestWarden;
  let normalKey: string;
  // The attacker comes from 127.0.0.2: the per-source budget is per address, the normal client is on 127.0.0.1.
  let attacker: Agent;

  before(async () => {
    t = await startTestWarden((c) => {
      c.limits.unauthenticated = { requestsPerSecond: 1, burst: 20, accountingWindowMs: 60_000 };
      c.limits.requestTimeoutMs = 1_500;
      c.limits.headersTimeoutMs = 1_000;
    });
    normalKey = (await t.keyFor('normal', ['demo-chat'], ['chat'], { groups: ['consumers'] })).key;
    attacker = new Agent({ localAddress: '127.0.0.2', connect: { ca: t.ca } });
  });
  after(async () => {
    await attacker?.close();
    await t?.stop();
  });

  test('a bad-key flood is counted into one entry per source, then refused before any work; a normal client is served', async () => {
    const before = t.audits().length;
    const statuses: number[] = [];
    const codes = new Set<string>();
    const normal: number[] = [];
    for (let round = 0; round < 10; round++) {
      const flood = Array.from({ length: 20 }, () =>
        request(t.w.inferenceUrl + '/v1/chat/completions', { method: 'POST', dispatcher: attacker, headers: { authorization: 'Bearer wdn_' + 'B'.repeat(43), 'content-type': 'application/json' }, body: JSON.stringify(chat('x')) }).then(async (r) => {
          statuses.push(r.statusCode);
          codes.add(((await r.body.json()) as { error: { code: string } }).error.code);
        }),
      );
      const ok = t.call('inference', 'POST', '/v1/chat/completions', { key: normalKey, body: chat('hello') }).then((r) => normal.push(r.status));
      await Promise.all([...flood, ok]);
    }
    assert.equal(statuses.length, 200);
    assert.ok(statuses.filter((s) => s === 401).length >= 20, 'the first failures are 401s');
    assert.ok(statuses.filter((s) => s === 429).length >= 150, `past its budget the source is refused: ${statuses.filter((s) => s === 429).length} 429s`);
    assert.ok(codes.has('too_many_failed_requests'));
    assert.deepEqual(normal, Array(10).fill(200), 'the normal client is served throughout');
    // 200 refusals, not 200 ledger entries: the window's entry for 127.0.0.2 carries them all.
    await t.w.flushRefusals();
    const added = t.audits().slice(before);
    const refusals = added.filter((a) => a.action === 'refused.unauthenticated');
    assert.equal(refusals.length, 1);
    const d = refusals[0]!.details as Record<string, unknown>;
    assert.equal(d.source, '127.0.0.2');
    assert.equal(d.count, 200);
    assert.match(String(d.codes), /invalid_api_key:\d+/);
    assert.match(String(d.codes), /too_many_failed_requests:\d+/);
    assert.equal(added.filter((a) => a.kind === 'inference').length, 10, 'one entry per normal request');
  });

  test('a body is not read before the credential is checked', async () => {
    // Declares 50 MB and sends none of it: the 401 comes back at once, from the headers alone.
    const status = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(t.w.inferenceUrl);
      const s = connect({ host: '127.0.0.1', port: Number(port), ca: t.ca, servername: 'localhost' }, () => {
        s.write('POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n');
      });
      let data = '';
      s.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.includes('\r\n\r\n')) {
          resolve(data.split('\r\n')[0]!);
          s.destroy();
        }
      });
      s.on('error', reject);
    });
    assert.match(status, /^HTTP\/1\.1 401 /);
  });

  test('a stalled upload is cut off at requestTimeoutMs; the gateway keeps serving', async () => {
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(t.w.inferenceUrl);
      const s = connect({ host: '127.0.0.1', port: Number(port), ca: t.ca, servername: 'localhost' }, () => {
        // An authenticated client that sends part of its body, then stalls.
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${normalKey}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":`);
      });
      s.on('data', () => {});
      s.on('close', () => resolve(Date.now() - started));
      s.on('error', () => {});
      setTimeout(() => reject(new Error('the stalled upload was never cut off')), 10_000).unref();
    });
    assert.ok(closedAfter >= 1_000 && closedAfter < 6_000, `closed after ${closedAfter} ms`);
    const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key: normalKey, body: chat('still there?') });
    assert.equal(ok.status, 200);
  });

  test('two Authorization headers are refused as ambiguous', async () => {
    const r = await request(t.w.inferenceUrl + '/v1/models', { method: 'GET', dispatcher: t.agent, headers: ['authorization', `Bearer ${normalKey}`, 'authorization', 'Bearer wdn_' + 'C'.repeat(43)] });
    assert.equal(r.statusCode, 401);
    assert.equal(((await r.body.json()) as { error: { code: string } }).error.code, 'ambiguous_credentials');
  });

  test('a malformed percent-escape in a path is a 400, not a crash', async () => {
    const r = await t.call('inference', 'POST', '/v1/tools/%E0%A4%A/invoke', { key: normalKey, body: { arguments: {} } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'invalid_path');
  });
  test("a client's X-Request-Id is an attribute of its entry, never the entry's id", async () => {
    const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: normalKey, headers: { 'x-request-id': 'client-42' }, body: chat('hi') });
    assert.equal(r.status, 200, r.text);
    const ours = String(r.headers['x-request-id']);
    assert.notEqual(ours, 'client-42');
    const e = t.audits().find((a) => a.requestId === ours)!;
    assert.equal((e.details as Record<string, unknown>).client_request_id, 'client-42');
    assert.ok(!t.audits().some((a) => a.requestId === 'client-42'));
    const bad = await t.call('inference', 'POST', '/v1/chat/completions', { key: normalKey, headers: { 'x-request-id': 'x'.repeat(200) }, body: chat('hi') });
    const e2 = t.audits().find((a) => a.requestId === String(bad.headers['x-request-id']))!;
    assert.equal((e2.details as Record<string, unknown> | undefined)?.client_request_id, undefined, 'an oversized id is dropped');
  });
  test('refusal reasons reach the operator (window entry and log), never the client body', async () => {
    const revoked = await t.keyFor('leaver', ['demo-chat'], ['chat'], { groups: ['consumers'] });
    await t.admin('DELETE', `/admin/v1/keys/${revoked.id}`);
    const r1 = await t.call('inference', 'POST', '/v1/chat/completions', { key: revoked.key, body: chat('hi') });
    const r2 = await t.call('inference', 'POST', '/v1/chat/completions', { key: 'wdn_' + 'D'.repeat(43), body: chat('hi') });
    for (const r of [r1, r2]) {
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'invalid_api_key');
      assert.equal(r.json.error.message, 'the API key is invalid, expired or revoked');
      assert.doesNotMatch(r.text, /key_revoked|key_unknown/);
    }
    await t.w.flushRefusals();
    const windows = t.audits().filter((a) => a.action === 'refused.unauthenticated' && (a.details as Record<string, unknown>).source === '127.0.0.1');
    const reasons = windows.map((a) => String((a.details as Record<string, unknown>).reasons)).join(',');
    assert.match(reasons, /key_revoked:1/);
    assert.match(reasons, /key_unknown:1/);
    const line = t.logs.find((l) => l.msg === 'refused unauthenticated requests' && String(l.reasons).includes('key_revoked'));
    assert.ok(line, 'the log names the reason');
  });
});
