// An MCP session across replicas (two in-process Wardens on one PostgreSQL + Redis, the official MCP SDK client
// behind a "load balancer" that is a fetch choosing the replica): initialized and used through replica A, then A
// dies and the same client object, with the same delegated token (issued by A's token endpoint), lists and calls
// tools through replica B without initializing again. Warden's /mcp is stateless (no Mcp-Session-Id is issued;
// every POST is authenticated and decided on its own) and A's JIT signing key is published in PostgreSQL, so
// nothing of the session lived only in A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fetch as undiciFetch } from 'undici';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

test('an MCP session continues through another replica when its first one dies', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // A fake tool backend (an external upstream, labelled as such).
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const city = (JSON.parse(body || '{}') as { city?: string }).city ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ forecast: `Sunny in ${city}` }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  t.after(() => void backend.close());
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = cl.adminOk;
  await admin(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] });
  const alice = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['*'], actions: ['callTool'] })).key as string;
  await admin(b, 'POST', '/admin/v1/tools', { name: 'weather', description: 'The weather in a city', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/weather` }, egress: [backendUrl] });

  // The session's credential: a short-lived Warden token from replica A's token endpoint.
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: alice, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'callTool' });
  const exchanged = await a.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(exchanged.status, 200, exchanged.text);
  const token = exchanged.json.access_token as string;

  // The load balancer: every request to https://gateway.test goes to the replica in front, over its TLS.
  let front = a;
  const served: string[] = [];
  const lb = (url: string | URL, init?: RequestInit) => {
    served.push(front === a ? 'A' : 'B');
    return undiciFetch(String(url).replace('https://gateway.test', front.w.inferenceUrl), { ...(init as object), dispatcher: front.agent } as never) as unknown as Promise<Response>;
  };
  const transport = new StreamableHTTPClientTransport(new URL('https://gateway.test/mcp'), { fetch: lb as never, requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  assert.equal(transport.sessionId, undefined, 'Warden issues no MCP session id: there is no per-replica session to lose');
  assert.deepEqual((await client.listTools()).tools.map((x) => x.name), ['weather']);
  const first = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });
  assert.match(JSON.stringify(first.content), /Sunny in Oslo/);

  // Replica A dies; the load balancer sends the same session to B.
  await a.stop();
  front = b;
  assert.deepEqual((await client.listTools()).tools.map((x) => x.name), ['weather']);
  const second = await client.callTool({ name: 'weather', arguments: { city: 'Bergen' } });
  assert.equal(second.isError ?? false, false, JSON.stringify(second));
  assert.match(JSON.stringify(second.content), /Sunny in Bergen/);
  assert.ok(served.includes('A') && served.at(-1) === 'B', served.join(','));
  // B recorded the call it served, under alice.
  const entry = b.audits().filter((x) => (x as Record<string, any>).resource?.id === 'weather').at(-1) as Record<string, any>;
  assert.equal(entry.decision, 'allow');
  assert.equal(entry.principal.id, 'alice');
});
