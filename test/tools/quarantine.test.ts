// Tool quarantine through the real gateway, admin API, ledger and CLI: a quarantined tool is refused on every path
// that calls tools — /v1/tools/{name}/invoke, MCP tools/call, an approved held call (its approval is not spent),
// the listings and a model's proposed calls — with 403 `tool_quarantined`, until it is released. Quarantine and
// release are PDP-decided admin actions (manageTools on the tool), each a ledger entry. The backends are the
// fixtures' labelled fakes; `backendHits` shows a refused call reached nothing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliIo, startToolsWorld, type ToolsWorld } from './fixtures.js';
import { main as toolsCli } from '../../src/cli/tools.js';

let w: ToolsWorld;
before(async () => {
  w = await startToolsWorld();
});
after(async () => {
  await w.stop();
});

const entry = (action: string, decision: string) => w.t.audits().filter((a) => a.action === action && a.decision === decision).at(-1) as Record<string, any> | undefined;

describe('tool quarantine', () => {
  test('a quarantined tool is refused over HTTP and MCP, hidden from listings, until released (CLI); each change in the ledger', async () => {
    const token = await w.delegate(w.keys.alice, w.keys.agent);
    assert.equal((await w.invoke(token, 'orders_lookup', { customer_id: 'alice' })).status, 200);

    const { out, io } = cliIo(w);
    assert.equal(await toolsCli(['quarantine', 'orders_lookup', '--reason', 'suspected data exfiltration'], io), 0);
    assert.match(out.join(''), /quarantined orders_lookup/);
    const q = entry('tool.quarantine', 'allow')!;
    assert.equal(q.resource.id, 'orders_lookup');
    assert.equal(q.details.reason, 'suspected data exfiltration');

    const hits = w.backendHits.length;
    const refused = await w.invoke(token, 'orders_lookup', { customer_id: 'alice' });
    assert.equal(refused.status, 403, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'tool_quarantined');
    assert.match(refused.json.error.message, /suspected data exfiltration/);
    const callEntry = w.t.audits().find((a) => a.requestId === refused.requestId) as Record<string, any>;
    assert.equal(callEntry.errorCode, 'tool_quarantined');
    assert.equal(callEntry.decision, 'deny');

    const listed = await w.t.call('inference', 'GET', '/v1/tools', { key: token });
    assert.equal(listed.status, 200);
    const names = listed.json.data.map((t: { function: { name: string } }) => t.function.name);
    assert.ok(!names.includes('orders_lookup') && names.includes('fetch_doc'), names.join(','));

    const transport = new StreamableHTTPClientTransport(new URL(`${w.t.w.inferenceUrl}/mcp`), { fetch: w.mcpFetch as never, requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'orders_lookup'));
      const r = await client.callTool({ name: 'orders_lookup', arguments: { customer_id: 'alice' } });
      assert.equal(r.isError, true);
      assert.equal((r._meta as Record<string, unknown>)['warden/error'], 'tool_quarantined');
    } finally {
      await client.close();
    }
    assert.equal(w.backendHits.length, hits, 'no refused call reached the backend');

    const shown = await w.t.admin('GET', '/admin/v1/tools/orders_lookup');
    assert.equal(shown.quarantine.reason, 'suspected data exfiltration');
    assert.equal(shown.quarantine.by, 'admin');
    const all = await w.t.admin('GET', '/admin/v1/tools');
    assert.equal(all.data.find((t: { name: string }) => t.name === 'fetch_doc').quarantine, null);

    assert.equal(await toolsCli(['release', 'orders_lookup'], io), 0);
    const rel = entry('tool.release', 'allow')!;
    assert.equal(rel.details.reason, 'suspected data exfiltration');
    assert.equal((await w.invoke(token, 'orders_lookup', { customer_id: 'alice' })).status, 200);
  });

  test('an approved held call does not run (nor spend its approval) while its tool is quarantined', async () => {
    const token = await w.delegate(w.keys.alice, w.keys.agent);
    const held = await w.invoke(token, 'delete_record', { record_id: 'r-q1' });
    assert.equal(held.status, 202, JSON.stringify(held.json));
    const id = held.json.approval.id as string;
    const ok = await w.t.call('admin', 'POST', `/admin/v1/approvals/${id}/approve`, { key: w.keys.bob, body: { mfa_token: await w.mfaToken('bob') } });
    assert.equal(ok.status, 200, ok.text);
    await w.t.admin('POST', '/admin/v1/tools/delete_record/quarantine', { reason: 'incident 42' });
    const hits = w.backendHits.length;
    const run = await w.invoke(token, 'delete_record', { record_id: 'r-q1' }, id);
    assert.equal(run.status, 403);
    assert.equal(run.json.error.code, 'tool_quarantined');
    assert.equal(w.backendHits.length, hits);
    assert.equal((await w.t.call('inference', 'GET', `/v1/tools/approvals/${id}`, { key: token })).json.status, 'approved');
    await w.t.admin('POST', '/admin/v1/tools/delete_record/release', {});
    assert.equal((await w.invoke(token, 'delete_record', { record_id: 'r-q1' }, id)).status, 200);
  });

  test('refusals: no reason, unknown tool, twice, release of a tool not quarantined, a non-admin; each refusal recorded', async () => {
    const call = (path: string, body: unknown, key = w.t.adminKey) => w.t.call('admin', 'POST', path, { key, body });
    const cases: [string, unknown, number, string][] = [
      ['/admin/v1/tools/fetch_doc/quarantine', {}, 400, 'invalid_field'],
      ['/admin/v1/tools/fetch_doc/quarantine', { reason: '   ' }, 400, 'invalid_field'],
      ['/admin/v1/tools/fetch_doc/quarantine', { reason: 'x'.repeat(1001) }, 400, 'invalid_field'],
      ['/admin/v1/tools/no_such_tool/quarantine', { reason: 'r' }, 404, 'tool_not_found'],
      ['/admin/v1/tools/fetch_doc/release', {}, 409, 'tool_not_quarantined'],
    ];
    for (const [path, body, status, code] of cases) {
      const r = await call(path, body);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, code);
      assert.ok(w.t.audits().some((a) => a.requestId === r.headers['x-request-id'] && a.decision === 'deny' && a.errorCode === code), `${path}: refusal recorded`);
    }
    assert.equal((await call('/admin/v1/tools/fetch_doc/quarantine', { reason: 'first' })).status, 200);
    const twice = await call('/admin/v1/tools/fetch_doc/quarantine', { reason: 'second' });
    assert.equal(twice.status, 409);
    assert.equal(twice.json.error.code, 'tool_already_quarantined');
    assert.equal((await w.t.admin('GET', '/admin/v1/tools/fetch_doc')).quarantine.reason, 'first', 'the first quarantine stays');
    // Not an admin: the gate refuses before the route runs, and the tool stays quarantined.
    const alice = await call('/admin/v1/tools/fetch_doc/release', {}, w.keys.alice);
    assert.ok(alice.status === 401 || alice.status === 403, alice.text);
    assert.ok((await w.t.admin('GET', '/admin/v1/tools/fetch_doc')).quarantine);
    // An admin whose credential the PDP does not grant manageTools (bob's API key, without an MFA step-up).
    const bob = await call('/admin/v1/tools/orders_lookup/quarantine', { reason: 'r' }, w.keys.bob);
    assert.equal(bob.status, 403, bob.text);
    assert.ok(w.t.audits().some((a) => a.requestId === bob.headers['x-request-id'] && a.decision === 'deny'), 'the refusal is in the ledger');
    assert.equal((await w.t.admin('GET', '/admin/v1/tools/orders_lookup')).quarantine, null);
    // A quarantine outlives the tool: deleted and registered again, it is still refused until released.
    const def = await w.t.admin('GET', '/admin/v1/tools/fetch_doc');
    await w.t.call('admin', 'DELETE', '/admin/v1/tools/fetch_doc', { key: w.t.adminKey });
    const { name, description, input_schema, risk, backend, egress, grantees } = def;
    assert.equal((await call('/admin/v1/tools', { name, description, input_schema, risk, backend, egress, grantees })).status, 201);
    const token = await w.delegate(w.keys.alice, w.keys.agent);
    assert.equal((await w.invoke(token, 'fetch_doc', { doc_id: 'd1' })).json.error.code, 'tool_quarantined');
    assert.equal((await call('/admin/v1/tools/fetch_doc/release', {})).status, 200);
  });

  test('CLI: quarantine without --reason is a usage error', async () => {
    const { out, io } = cliIo(w);
    await assert.rejects(toolsCli(['quarantine', 'fetch_doc'], io), /--reason is required/);
    assert.equal(out.length, 0);
  });
});
