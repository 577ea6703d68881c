// The floor for the gateway benchmark: a bare Node reverse proxy (node:https TLS 1.3 + an undici Pool) that
// does no checks at all. Warden's throughput is reported as a ratio of this one's, measured in the same run.
// `node dist/bench/bare-proxy.js <upstream base URL> [cert.pem key.pem]`: with no certificate files it makes
// its own; the gateway benchmark passes the files it also gives nginx, so both floors do the same handshake.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createCa, issueServerCert } from '../src/network/dev-ca.js';

const [upstreamArg, certFile, keyFile] = process.argv.slice(2);
const upstream = new URL(upstreamArg ?? 'http://127.0.0.1:8000/v1');
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
const base = upstream.pathname.replace(/\/+$/, '');

async function certificate(): Promise<{ certPem: string; keyPem: string }> {
  if (certFile && keyFile) return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  if (certFile || keyFile) throw new Error('bare-proxy: give both cert.pem and key.pem, or neither');
  return issueServerCert(await createCa('bench CA'), ['127.0.0.1', 'localhost']);
}

const cert = await certificate();
const server = createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    pool
      .request({ method: req.method as 'POST', path: base + (req.url ?? '/').replace(/^\/v1/, ''), headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
      .then(async (r) => {
        const type = String(r.headers['content-type'] ?? 'application/json');
        if (type.startsWith('text/event-stream')) {
          // A stream is relayed chunk by chunk (no re-buffering), so its time to first byte is a floor too.
          res.writeHead(r.statusCode, { 'content-type': type, 'cache-control': 'no-cache' });
          for await (const c of r.body) res.write(c);
          res.end();
          return;
        }
        const body = Buffer.from(await r.body.arrayBuffer());
        res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      })
      .catch(() => {
        if (res.headersSent) return res.destroy();
        res.writeHead(502);
        res.end();
      });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare proxy listening at https://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
