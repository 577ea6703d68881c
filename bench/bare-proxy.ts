// The floor for the gateway benchmark: a bare Node reverse proxy (node:https TLS 1.3 + an undici Pool) that
// does no checks at all. Warden's throughput is reported as a ratio of this one's, measured in the same run.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createCa, issueServerCert } from '../src/network/dev-ca.js';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8000/v1');
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
const base = upstream.pathname.replace(/\/+$/, '');

const ca = await createCa('bench CA');
const cert = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
const server = createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    pool
      .request({ method: req.method as 'POST', path: base + (req.url ?? '/').replace(/^\/v1/, ''), headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
      .then(async (r) => {
        const body = Buffer.from(await r.body.arrayBuffer());
        res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      })
      .catch(() => {
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
