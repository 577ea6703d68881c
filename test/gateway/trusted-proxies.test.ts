// Behind a load balancer: with listeners.*.trustedProxies, the client is the right-most X-Forwarded-For
// address that is not a trusted proxy; without it, a client's own X-Forwarded-For is ignored.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { clientAddress, createClientAddressResolver } from '../../src/network/source.js';
import { startTestWarden } from '../helpers/warden.js';

const req = (peer: string, xff?: string | string[]): IncomingMessage =>
  ({ socket: { remoteAddress: peer }, headersDistinct: xff === undefined ? {} : { 'x-forwarded-for': Array.isArray(xff) ? xff : [xff] } }) as unknown as IncomingMessage;
const resolved = (trusted: string[], peer: string, xff?: string | string[]) => {
  const r = req(peer, xff);
  createClientAddressResolver(trusted)(r);
  return clientAddress(r);
};

test('client address: only a trusted peer is believed, the right-most untrusted hop wins, junk is never a guess', () => {
  const lb = ['10.0.0.0/8'];
  assert.equal(resolved(lb, '::ffff:10.1.2.3', '203.0.113.7'), '203.0.113.7');
  assert.equal(resolved(lb, '10.1.2.3', '198.51.100.9, 203.0.113.7, 10.9.9.9'), '203.0.113.7', 'a spoofed left-most entry is not taken');
  assert.equal(resolved(lb, '10.1.2.3', ['198.51.100.9', '203.0.113.7']), '203.0.113.7', 'several headers are one list');
  assert.equal(resolved(lb, '10.1.2.3', '10.5.5.5, 10.6.6.6'), '10.5.5.5', 'all hops trusted: the left-most');
  assert.equal(resolved(lb, '10.1.2.3', 'not-an-ip, 203.0.113.7'), '10.1.2.3', 'a header that does not parse: the peer');
  assert.equal(resolved(lb, '10.1.2.3'), '10.1.2.3');
  assert.equal(resolved(lb, '192.0.2.1', '203.0.113.7'), '192.0.2.1', 'an untrusted peer cannot claim an address');
  assert.equal(resolved([], '192.0.2.1', '203.0.113.7'), '192.0.2.1');
  assert.equal(clientAddress(req('::ffff:127.0.0.1', '203.0.113.7')), '127.0.0.1', 'unresolved: the TCP peer');
  assert.throws(() => createClientAddressResolver(['10.0.0.0/33']), /invalid CIDR/);
});

test('through the gateway: a principal limited to 203.0.113.0/24 is let in only when the trusted proxy says so', async () => {
  for (const trusted of [true, false]) {
    const t = await startTestWarden((c) => {
      if (trusted) c.listeners.inference.trustedProxies = ['127.0.0.0/8'];
    });
    try {
      const { key } = await t.keyFor('pia', ['demo-chat'], ['chat'], { groups: ['consumers'], source_cidrs: ['203.0.113.0/24'] });
      const chat = (xff?: string) =>
        t.call('inference', 'POST', '/v1/chat/completions', { key, headers: xff ? { 'x-forwarded-for': xff } : {}, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } });
      const via = await chat('203.0.113.7');
      assert.equal(via.status, trusted ? 200 : 403, via.text);
      if (!trusted) assert.equal(via.json.error.code, 'source_not_allowed');
      assert.equal((await chat()).status, 403, 'without the header the client is the proxy');
      assert.equal((await chat('198.51.100.1')).status, 403);
    } finally {
      await t.stop();
    }
  }
});
