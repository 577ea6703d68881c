// mTLS to an upstream (upstreams[].clientTls): the upstream authenticates Warden by its client certificate.
// The model server here is a small FAKE of an external OpenAI-compatible server that requires client certs.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { issueClientCert, issueServerCert, makeTestCa } from '../helpers/pki.js';
import { startTestWarden } from '../helpers/warden.js';

test('Warden presents its client certificate to an upstream that requires one; without it the upstream refuses (502)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-up-mtls-'));
  const corp = await makeTestCa({ name: 'Acme Corp Service CA' });
  const upstreamCert = await issueServerCert(corp, ['127.0.0.1']);
  const wardenCert = await issueClientCert(corp, { cn: 'warden-gateway' });
  const file = (name: string, pem: string) => {
    const f = join(dir, name);
    writeFileSync(f, pem);
    chmodSync(f, 0o600);
    return f;
  };
  const caFile = file('corp-ca.pem', corp.certPem);
  const certFile = file('warden-client.pem', wardenCert.certPem);
  const keyFile = file('warden-client-key.pem', wardenCert.keyPem);
  const seen: string[] = [];
  // FAKE external model server: TLS with required, verified client certificates.
  const upstream: Server = createServer({ cert: upstreamCert.certPem, key: upstreamCert.keyPem, ca: corp.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello over mTLS' } }], usage: { total_tokens: 3 } }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const baseUrl = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const start = (withClientCert: boolean) =>
    startTestWarden((c) => {
      c.upstreams = [{ name: 'secure', baseUrl, models: ['secure-chat'], connections: 4, connectTimeoutMs: 2000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000, caFile, ...(withClientCert ? { clientTls: { certFile, keyFile } } : {}) }];
      c.models = { 'secure-chat': { grantees: ['consumers'] } };
    });
  try {
    for (const withClientCert of [true, false]) {
      const t = await start(withClientCert);
      try {
        const { key } = await t.keyFor('sam', ['secure-chat'], ['chat'], { groups: ['consumers'] });
        const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'secure-chat', messages: [{ role: 'user', content: 'hi' }] } });
        if (withClientCert) {
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.choices[0].message.content, 'hello over mTLS');
          assert.deepEqual(seen, ['warden-gateway']);
        } else {
          assert.equal(r.status, 502, r.text);
          assert.equal(seen.length, 1, 'the upstream never answered Warden without its certificate');
        }
      } finally {
        await t.stop();
      }
    }
    // A client certificate on a plain-http upstream, or a key that is not the certificate's, stops the start.
    await assert.rejects(
      startTestWarden((c) => {
        c.upstreams = [{ name: 'plain', baseUrl: 'http://127.0.0.1:9/v1', models: ['p'], connections: 1, connectTimeoutMs: 100, headersTimeoutMs: 100, bodyTimeoutMs: 100, clientTls: { certFile, keyFile } }];
      }),
      /clientTls needs an https baseUrl/,
    );
    const stranger = await issueClientCert(corp, { cn: 'someone-else' });
    const wrongKey = file('wrong-key.pem', stranger.keyPem);
    await assert.rejects(
      startTestWarden((c) => {
        c.upstreams = [{ name: 'secure', baseUrl, models: ['secure-chat'], connections: 1, connectTimeoutMs: 100, headersTimeoutMs: 100, bodyTimeoutMs: 100, caFile, clientTls: { certFile, keyFile: wrongKey } }];
      }),
      /is not the private key of the certificate/,
    );
    // For registry deployments (pools made when first routed to) the pair is checked at start-up too.
    await assert.rejects(
      startTestWarden((c) => {
        c.workload.upstream.clientTls = { certFile, keyFile: wrongKey };
      }),
      /is not the private key of the certificate/,
    );
  } finally {
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
