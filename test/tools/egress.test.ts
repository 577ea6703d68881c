import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressGuard, type EgressPolicy } from '../../src/network/egress.js';
import { isPublicAddress } from '../../src/network/egress-address.js';
import { parseDestination } from '../../src/network/egress-destinations.js';
import {
  EgressAddressForbidden,
  EgressDestinationNotDeclared,
  EgressRedirectRefused,
  EgressResponseTooLarge,
  EgressTimeout,
  EgressUrlInvalid,
} from '../../src/network/egress-errors.js';

interface Hit { path: string; auth: string | undefined; body: string }

function serve(handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits })));
}

describe('egress addresses', () => {
  test('special-purpose and metadata addresses are not public, including IPv4 hidden in IPv6', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.100.100.200', '0.0.0.0', '::1', '::', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '224.0.0.1', 'not-an-ip']) {
      assert.equal(isPublicAddress(a), false, a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(a), true, a);
  });

  test('declared destinations must be origins', () => {
    assert.throws(() => parseDestination('https://api.example.com/path'), /origin/);
    assert.throws(() => parseDestination('ftp://x.example.com'), /http and https/);
    assert.throws(() => parseDestination('https://user:pw@x.example.com'), /origin/);
    assert.throws(() => parseDestination('https://*.10.0.0.1'));
    const d = parseDestination('https://*.example.com');
    assert.deepEqual([d.host, d.wildcard, d.port], ['example.com', true, 443]);
  });
});

describe('egress guard', () => {
  let backend: Awaited<ReturnType<typeof serve>>;
  let attacker: Awaited<ReturnType<typeof serve>>;
  let guard: EgressGuard;
  const policy = (destinations: string[], extra: Partial<EgressPolicy> = {}): EgressPolicy => ({ destinations, maxResponseBytes: 1024, timeoutMs: 2000, maxRedirects: 2, ...extra });

  before(async () => {
    attacker = await serve((_req, _b, res) => res.end('stolen'));
    backend = await serve((req, body, res) => {
      if (req.url === '/big') return res.end('x'.repeat(5000));
      if (req.url === '/big-chunked') {
        res.write('x'.repeat(800));
        return res.end('y'.repeat(800));
      }
      if (req.url === '/hang') return; // never answers
      if (req.url === '/to-attacker') {
        res.writeHead(302, { location: `${attacker.url}/collect` });
        return res.end();
      }
      if (req.url === '/to-self') {
        res.writeHead(307, { location: '/echo' });
        return res.end();
      }
      if (req.url === '/loop') {
        res.writeHead(307, { location: '/loop' });
        return res.end();
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, method: req.method, body }));
    });
    const fakeDns: Record<string, string[]> = {
      'metadata.attacker.test': ['169.254.169.254'],
      'rebind.attacker.test': ['93.184.215.14', '127.0.0.1'],
      'internal.corp.test': ['10.0.0.5'],
    };
    guard = new EgressGuard({
      resolve: async (h) => {
        const a = fakeDns[h];
        if (a) return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
        const { lookup } = await import('node:dns/promises');
        return lookup(h, { all: true });
      },
    });
  });
  after(async () => {
    await guard.close();
    backend.server.close();
    attacker.server.close();
  });

  test('a declared destination (declared by IP, so loopback is allowed) is reached with method, headers and body', async () => {
    const r = await guard.request(`${backend.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"a":1}' }, policy([backend.url]));
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { path: '/echo', method: 'POST', body: '{"a":1}' });
    assert.equal(backend.hits.at(-1)!.auth, 'Bearer t');
  });

  test('an undeclared destination is refused before any connection', async () => {
    const before = attacker.hits.length;
    await assert.rejects(guard.request(`${attacker.url}/collect`, { method: 'POST', body: 'secret' }, policy([backend.url])), EgressDestinationNotDeclared);
    // the same host with another scheme is another destination
    await assert.rejects(guard.request(backend.url.replace('http:', 'https:'), { method: 'GET' }, policy([backend.url])), EgressDestinationNotDeclared);
    // 127.0.0.1 written as a decimal integer is normalised by the URL parser and still checked
    const port = new URL(attacker.url).port;
    await assert.rejects(guard.request(`http://2130706433:${port}/`, { method: 'GET' }, policy([backend.url])), EgressDestinationNotDeclared);
    assert.equal(attacker.hits.length, before);
  });

  test('hostnames that resolve to loopback, private, link-local/metadata or mixed addresses are refused', async () => {
    const port = new URL(backend.url).port;
    for (const host of ['localhost', 'metadata.attacker.test', 'rebind.attacker.test', 'internal.corp.test']) {
      const dest = `http://${host}:${port}`;
      await assert.rejects(guard.request(`${dest}/echo`, { method: 'GET' }, policy([dest])), EgressAddressForbidden, host);
    }
    await assert.rejects(guard.request('http://*.x.test/', { method: 'GET' }, policy(['http://*.x.test'])), EgressUrlInvalid);
  });

  test('URLs with credentials or other schemes are refused', async () => {
    await assert.rejects(guard.request(`http://u:p@127.0.0.1:${new URL(backend.url).port}/`, { method: 'GET' }, policy([backend.url])), EgressUrlInvalid);
    await assert.rejects(guard.request('file:///etc/passwd', { method: 'GET' }, policy([backend.url])), EgressUrlInvalid);
  });

  test('a redirect to an undeclared host is refused and never followed; a declared one is', async () => {
    const before = attacker.hits.length;
    await assert.rejects(guard.request(`${backend.url}/to-attacker`, { method: 'GET' }, policy([backend.url])), EgressRedirectRefused);
    assert.equal(attacker.hits.length, before);
    const ok = await guard.request(`${backend.url}/to-self`, { method: 'POST', body: 'b' }, policy([backend.url]));
    assert.equal(JSON.parse(ok.body.toString()).body, 'b'); // 307 keeps method and body
    await assert.rejects(guard.request(`${backend.url}/loop`, { method: 'GET' }, policy([backend.url])), EgressRedirectRefused);
    await assert.rejects(guard.request(`${backend.url}/to-self`, { method: 'GET' }, policy([backend.url], { maxRedirects: 0 })), EgressRedirectRefused);
  });

  test('the credential is dropped when a redirect changes origin', async () => {
    const r = await guard.request(`${backend.url}/to-attacker`, { method: 'GET', headers: { authorization: 'Bearer secret' } }, policy([backend.url, attacker.url]));
    assert.equal(r.body.toString(), 'stolen');
    assert.equal(attacker.hits.at(-1)!.auth, undefined);
  });

  test('responses over the size limit are refused, declared length or streamed', async () => {
    await assert.rejects(guard.request(`${backend.url}/big`, { method: 'GET' }, policy([backend.url])), EgressResponseTooLarge);
    await assert.rejects(guard.request(`${backend.url}/big-chunked`, { method: 'GET' }, policy([backend.url])), EgressResponseTooLarge);
  });

  test('a backend that does not answer in time is a timeout', async () => {
    await assert.rejects(guard.request(`${backend.url}/hang`, { method: 'GET' }, policy([backend.url], { timeoutMs: 150 })), EgressTimeout);
  });

  test('fetchFor applies the same checks and refuses every redirect', async () => {
    const f = guard.fetchFor(policy([backend.url]));
    const ok = await f(`${backend.url}/echo`, { method: 'POST', body: 'z' });
    assert.equal(((await ok.json()) as { body: string }).body, 'z');
    await assert.rejects(f(`${attacker.url}/x`), EgressDestinationNotDeclared);
    await assert.rejects(f(`${backend.url}/to-self`), EgressRedirectRefused);
    const big = await f(`${backend.url}/big-chunked`);
    await assert.rejects(big.text(), EgressResponseTooLarge);
  });
});
