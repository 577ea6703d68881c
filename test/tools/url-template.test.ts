// A tool's backend URL template fills path segments from arguments: a value that would leave, add or empty a
// segment (`..`, `/`, `\`, their percent-escapes in any case and depth, nothing) is refused with 400
// `tool_url_segment_invalid` before anything is sent, over REST and MCP, and the refusal is in the ledger.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { resolveBackendUrl } from '../../src/tools/backend.js';
import { ToolUrlSegmentInvalid } from '../../src/tools/errors.js';
import { startToolsWorld, type ToolsWorld } from './fixtures.js';

const TRAVERSALS = ['..', '../records/delete', '%2e%2e', '%2E%2e', '.%2e', '%2e.', 'a/b', 'a%2fb', 'a%2Fb', '%252f', '%25252E%25252E', 'a\\b', 'a%5cb', '%5C', '', '%', '.', '%2e', 'x..y'];

describe('resolveBackendUrl', () => {
  const T = 'https://api.example/v1/records/{id}/view?q={q}';

  test('a plain value fills its segment, escaped', () => {
    assert.equal(resolveBackendUrl(T, { id: 'r 1', q: 'x' }), 'https://api.example/v1/records/r%201/view?q=x');
  });

  for (const bad of TRAVERSALS.filter((x) => x !== '%')) {
    test(`a path segment ${JSON.stringify(bad)} is refused`, () => {
      assert.throws(() => resolveBackendUrl(T, { id: bad, q: 'x' }), (e: unknown) => e instanceof ToolUrlSegmentInvalid && e.code === 'tool_url_segment_invalid' && e.status === 400);
    });
  }

  test('a lone % is not an escape: it is sent as %25 and stays in its segment', () => {
    assert.equal(resolveBackendUrl(T, { id: '%', q: 'x' }), 'https://api.example/v1/records/%25/view?q=x');
  });

  test('a value too deeply percent-encoded to judge is refused', () => {
    let v = '..';
    for (let i = 0; i < 6; i++) v = v.replace(/[.%]/g, (c) => '%' + c.charCodeAt(0).toString(16));
    assert.throws(() => resolveBackendUrl(T, { id: v, q: 'x' }), ToolUrlSegmentInvalid);
  });

  test('a query placeholder may carry "/" and ".." (it names no path)', () => {
    assert.equal(resolveBackendUrl(T, { id: 'r1', q: '../a/b' }), 'https://api.example/v1/records/r1/view?q=..%2Fa%2Fb');
  });

  test('a whole-URL template is left to the egress guard', () => {
    assert.equal(resolveBackendUrl('{url}', { url: 'https://api.example/a/../b' }), 'https://api.example/a/../b');
  });

  test('property: an accepted value never changes the path outside its own segment', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('.', '/', '\\', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'a', ' ', '?', '#') }), (v) => {
        let url: string;
        try {
          url = resolveBackendUrl(T, { id: v, q: 'x' });
        } catch (e) {
          assert.ok(e instanceof ToolUrlSegmentInvalid);
          return;
        }
        const segs = new URL(url).pathname.split('/');
        assert.deepEqual([segs.length, segs[1], segs[2], segs[4]], [5, 'v1', 'records', 'view']);
        assert.equal(decodeURIComponent(segs[3]!), v);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('through the gateway (REST and MCP)', () => {
  let w: ToolsWorld;
  before(async () => {
    w = await startToolsWorld();
    // A GET tool whose template fills one path segment; `page` → `${backendUrl}/page` is the served answer.
    await w.t.admin('POST', '/admin/v1/tools', {
      name: 'page_get',
      description: 'Read a page by name',
      risk: 'read',
      grantees: ['consumers'],
      input_schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
      backend: { type: 'http', url: `${w.backendUrl}/{name}`, method: 'GET' },
      egress: [w.backendUrl],
    });
  });
  after(() => w.stop());

  test('REST: a safe value reaches its backend path; every traversal is 400 and nothing is sent', async () => {
    const token = await w.delegate(w.keys.alice, w.keys.agent);
    const ok = await w.invoke(token, 'page_get', { name: 'page' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.result, { text: 'public page' });
    const hits = w.backendHits.length;
    for (const bad of ['..', '%2e%2e', '%2E%2E', 'records%2fdelete', 'records/delete', '..\\records', '%255c', '']) {
      const r = await w.invoke(token, 'page_get', { name: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'tool_url_segment_invalid');
      assert.equal(r.json.error.param, '/name');
      const entry = w.t.audits().find((a) => a.requestId === r.requestId);
      assert.ok(entry, 'the refusal is a ledger entry');
      assert.equal(entry.status, 400);
      assert.match(JSON.stringify(entry), /tool_url_segment_invalid/);
    }
    assert.equal(w.backendHits.length, hits, 'no refused call reached the backend');
  });

  test('MCP tools/call: the same refusal, as an isError result with the code', async () => {
    const token = await w.delegate(w.keys.alice, w.keys.agent);
    const transport = new StreamableHTTPClientTransport(new URL(`${w.t.w.inferenceUrl}/mcp`), { fetch: w.mcpFetch as never, requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      const ok = await client.callTool({ name: 'page_get', arguments: { name: 'page' } });
      assert.equal(ok.isError ?? false, false);
      const hits = w.backendHits.length;
      for (const bad of ['..', '%2F', 'a/b', '%252e%252e']) {
        const r = await client.callTool({ name: 'page_get', arguments: { name: bad } });
        assert.equal(r.isError, true, JSON.stringify(bad));
        assert.equal((r._meta as Record<string, unknown>)['warden/error'], 'tool_url_segment_invalid');
      }
      assert.equal(w.backendHits.length, hits, 'no refused call reached the backend');
    } finally {
      await client.close();
    }
  });
});
