// Issue 12, through a running Warden: a key's scope is a ceiling, never a grant (models, REST tools, MCP
// tools/list and tools/call); the effective permissions of a key; token exchange never widens; a token
// lives no longer than its source key, dies with it and with its principal, keeps its principal's limits,
// and its revocation survives a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import type { WardenConfig } from '../../src/config/config.js';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

/** A labelled fake tool backend (an external upstream): counts what reaches each tool. */
async function toolBackend(): Promise<{ url: string; hits: Record<string, number>; server: Server }> {
  const hits: Record<string, number> = {};
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    hits[name] = (hits[name] ?? 0) + 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, tool: name }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

async function registerTools(t: TestWarden, url: string): Promise<void> {
  const schema = { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false };
  for (const [name, grantees] of [['lookup', ['consumers']], ['other', ['consumers']], ['admin-only', ['admins']]] as const) {
    await t.admin('POST', '/admin/v1/tools', { name, description: name, risk: 'read', grantees, input_schema: schema, backend: { type: 'http', url: `${url}/${name}` }, egress: [url] });
  }
}

function exchange(t: TestWarden, o: Record<string, string>) {
  return t.call('inference', 'POST', '/v1/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: TE, subject_token_type: JWT, ...o }).toString() });
}

function claims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

const mcp = (t: TestWarden, key: string, body: unknown) => t.call('inference', 'POST', '/mcp', { key, headers: MCP_HEADERS, body });
const invoke = (t: TestWarden, key: string, tool: string) => t.call('inference', 'POST', `/v1/tools/${tool}/invoke`, { key, body: { arguments: { q: 'x' } } });

test('a key scoped to everything reaches only what policy grants its principal: models, REST tools, MCP tools', async () => {
  const backend = await toolBackend();
  const t = await startTestWarden((c) => {
    // demo-chat is granted to consumers (the demo default); demo-embed only to research.
    c.models['demo-embed'] = { grantees: ['research'] };
  });
  try {
    await registerTools(t, backend.url);
    const alice = await t.keyFor('alice', ['*'], ['*']); // groups: consumers
    const aliceTools = await t.keyFor('alice', ['*'], ['callTool']);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: alice.key, body: chat('demo-chat') })).status, 200);
    for (const model of ['demo-embed', 'no-such-model']) {
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: alice.key, body: chat(model) });
      assert.equal(r.status, 403, `${model}: ${r.text}`);
      assert.equal(r.json.error.code, 'policy_denied');
    }
    const listed = await t.call('inference', 'GET', '/v1/models', { key: alice.key });
    assert.deepEqual(listed.json.data.map((m: { id: string }) => m.id), ['demo-chat']);

    for (const key of [alice.key, aliceTools.key]) {
      const rest = await t.call('inference', 'GET', '/v1/tools', { key });
      assert.equal(rest.status, 200, rest.text);
      const names = JSON.stringify(rest.json);
      assert.match(names, /"lookup"/);
      assert.doesNotMatch(names, /admin-only/);
      const denied = await invoke(t, key, 'admin-only');
      assert.equal(denied.status, 403, denied.text);
      assert.equal((await invoke(t, key, 'lookup')).status, 200);

      const list = await mcp(t, key, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      assert.equal(list.status, 200, list.text);
      const mcpNames = (list.json.result.tools as { name: string }[]).map((x) => x.name).sort();
      assert.deepEqual(mcpNames, ['lookup', 'other']);
      const call = await mcp(t, key, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'admin-only', arguments: { q: 'x' } } });
      assert.equal(call.json.result.isError, true, call.text);
      assert.equal(call.json.result._meta['warden/error'], 'tool_call_denied');
    }
    assert.equal(backend.hits['admin-only'], undefined, 'the admins-only tool was never reached');
    assert.equal(backend.hits['lookup'], 2);

    // The same key held by a principal in no group can do nothing.
    const nobody = await t.keyFor('nobody', ['*'], ['*'], { groups: [] });
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: nobody.key, body: chat('demo-chat') })).status, 403);
    assert.equal((await invoke(t, nobody.key, 'lookup')).status, 403);
  } finally {
    await t.stop();
    backend.server.close();
  }
});

test('GET /admin/v1/keys/{id}/effective: the scope intersected with what policy grants', async () => {
  const backend = await toolBackend();
  const t = await startTestWarden((c) => {
    c.models['demo-embed'] = { grantees: ['research'] };
  });
  try {
    await registerTools(t, backend.url);
    const all = await t.keyFor('alice', ['*'], ['*']);
    const e = await t.admin('GET', `/admin/v1/keys/${all.id}/effective`);
    assert.deepEqual(e.models, [{ id: 'demo-chat', actions: ['chat', 'complete', 'embed'] }]);
    assert.deepEqual(e.tools, [{ name: 'lookup', approval_required: false }, { name: 'other', approval_required: false }]);
    assert.equal(e.empty, false);
    assert.deepEqual(e.ceiling, { models: ['*'], actions: ['*'] });
    // A narrower ceiling narrows it: no tools without callTool, only the named model.
    const narrow = await t.keyFor('alice', ['demo-chat', 'demo-embed'], ['chat']);
    const n = await t.admin('GET', `/admin/v1/keys/${narrow.id}/effective`);
    assert.deepEqual(n.models, [{ id: 'demo-chat', actions: ['chat'] }]);
    assert.deepEqual(n.tools, []);
    // Nothing granted, or a revoked key: empty.
    const nobody = await t.keyFor('nobody', ['*'], ['*'], { groups: [] });
    assert.equal((await t.admin('GET', `/admin/v1/keys/${nobody.id}/effective`)).empty, true);
    await t.admin('POST', `/admin/v1/keys/${all.id}/revoke`);
    const revoked = await t.admin('GET', `/admin/v1/keys/${all.id}/effective`);
    assert.equal(revoked.state, 'revoked');
    assert.equal(revoked.empty, true);
    const missing = await t.call('admin', 'GET', '/admin/v1/keys/key_missing/effective', { key: t.adminKey });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'key_not_found');
    // Gated like every key route: a non-admin credential is refused.
    assert.equal((await t.call('admin', 'GET', `/admin/v1/keys/${narrow.id}/effective`, { key: narrow.key })).status, 403);
  } finally {
    await t.stop();
    backend.server.close();
  }
});

test('token exchange never widens: a token narrowed to one tool keeps that bound when exchanged again', async () => {
  const backend = await toolBackend();
  const t = await startTestWarden();
  try {
    await registerTools(t, backend.url);
    const alice = await t.keyFor('alice', ['*'], ['*']);
    const narrowed = await exchange(t, { subject_token: alice.key, scope: 'callTool tool:lookup' });
    assert.equal(narrowed.status, 200, narrowed.text);
    const again = await exchange(t, { subject_token: narrowed.json.access_token });
    assert.equal(again.status, 200, again.text);
    const token = again.json.access_token as string;
    assert.equal(claims(token).tool, 'lookup');
    assert.equal((await invoke(t, token, 'lookup')).status, 200);
    assert.equal((await invoke(t, token, 'other')).status, 403);
    const list = await mcp(t, token, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.deepEqual((list.json.result.tools as { name: string }[]).map((x) => x.name), ['lookup']);
    for (const scope of ['callTool tool:other', 'chat', 'embed tool:lookup']) {
      // A third exchange asking beyond the bound: refused (RFC 8693 §2.2.2 invalid_scope), never widened.
      const r = await exchange(t, { subject_token: token, scope });
      assert.equal(r.status, 400, `${scope}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_scope');
    }
    assert.equal(backend.hits['other'], undefined);
  } finally {
    await t.stop();
    backend.server.close();
  }
});

test('a token lives no longer than its key, dies with it and with its principal, and keeps the principal\'s limits', async () => {
  const t = await startTestWarden();
  try {
    const short = await t.keyFor('alice', ['demo-chat'], ['chat'], { ttl: '60s' });
    const r = await exchange(t, { subject_token: short.key, expires_in: '3600' });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.expires_in <= 60 && r.json.expires_in > 50, `expires_in ${r.json.expires_in}`);
    const p = claims(r.json.access_token);
    assert.ok(p.exp - p.iat <= 60);

    // Key revoked: its token (and one exchanged from that) stop at once.
    const key = await t.keyFor('alice', ['demo-chat'], ['chat']);
    const tok = (await exchange(t, { subject_token: key.key })).json.access_token as string;
    const child = (await exchange(t, { subject_token: tok })).json.access_token as string;
    const other = (await exchange(t, { subject_token: short.key })).json.access_token as string;
    for (const k of [tok, child]) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: k, body: chat('demo-chat') })).status, 200);
    await t.admin('POST', `/admin/v1/keys/${key.id}/revoke`);
    for (const k of [tok, child]) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: k, body: chat('demo-chat') })).status, 401);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: other, body: chat('demo-chat') })).status, 200, 'another key\'s token is unaffected');

    // Rotated with no grace: the old key's tokens stop with it.
    const rot = await t.keyFor('alice', ['demo-chat'], ['chat']);
    const rotTok = (await exchange(t, { subject_token: rot.key })).json.access_token as string;
    await t.admin('POST', `/admin/v1/keys/${rot.id}/rotate`, { grace: '0s' });
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: rotTok, body: chat('demo-chat') })).status, 401);

    // Principal erased: every token naming it stops.
    const erin = await t.keyFor('erin', ['demo-chat'], ['chat']);
    const erinTok = (await exchange(t, { subject_token: erin.key })).json.access_token as string;
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: erinTok, body: chat('demo-chat') })).status, 200);
    await t.admin('POST', '/admin/v1/principals/erin/erase');
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: erinTok, body: chat('demo-chat') })).status, 401);

    // A principal limited to two requests (burst 2, 0.01/s) is limited the same through its token (the
    // listener default would serve all three).
    const slow = await t.keyFor('slow', ['demo-chat'], ['chat'], { limits: { requestsPerSecond: 0.01, burst: 2 } });
    const slowTok = (await exchange(t, { subject_token: slow.key })).json.access_token as string;
    assert.deepEqual(claims(slowTok).lim, { requestsPerSecond: 0.01, burst: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.call('inference', 'POST', '/v1/chat/completions', { key: slowTok, body: chat('demo-chat') })).status);
    assert.equal(statuses[0], 200, statuses.join());
    assert.ok(statuses.includes(429), statuses.join());
  } finally {
    await t.stop();
  }
});

test('`tokens revoke` survives a restart (revocations persist in warden.db)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-revoke-e2e-'));
  // A fixed public origin keeps the token issuer the same across the restart (the ports change).
  const fixed = (c: WardenConfig) => {
    c.listeners.inference.publicUrl = 'https://warden.test:8443';
  };
  let t = await startTestWarden(fixed, { dataDir });
  try {
    const key = await t.keyFor('alice', ['demo-chat'], ['chat']);
    const revoked = (await exchange(t, { subject_token: key.key, expires_in: '3600' })).json.access_token as string;
    const kept = (await exchange(t, { subject_token: key.key, expires_in: '3600' })).json.access_token as string;
    assert.equal((await t.call('admin', 'POST', '/admin/v1/tokens/revoke', { key: t.adminKey, body: { token: revoked } })).status, 200);
    await t.stop();
    t = await startTestWarden(fixed, { dataDir });
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: kept, body: chat('demo-chat') })).status, 200, 'control: tokens verify after the restart');
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: revoked, body: chat('demo-chat') })).status, 401);
  } finally {
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('disabling a principal stops its keys and revokes its tokens for good; enabling restores the keys only', async () => {
  const t = await startTestWarden();
  try {
    const dora = await t.keyFor('dora', ['demo-chat'], ['chat']);
    const tok = (await exchange(t, { subject_token: dora.key })).json.access_token as string;
    const bob = await t.keyFor('bob', ['demo-chat'], ['chat']);
    for (const k of [dora.key, tok]) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: k, body: chat('demo-chat') })).status, 200);

    const adm = (path: string) => t.call('admin', 'POST', path, { key: t.adminKey });
    const d = await adm('/admin/v1/principals/dora/disable');
    assert.equal(d.status, 200, d.text);
    assert.ok(d.json.disabled_at, 'the record says when');
    for (const k of [dora.key, tok]) {
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: k, body: chat('demo-chat') });
      assert.equal(r.status, 401);
      assert.doesNotMatch(r.text, /principal_disabled/, 'the reason is for the operator, not the client');
    }
    // A disabled principal cannot mint a token either.
    assert.notEqual((await exchange(t, { subject_token: dora.key })).status, 200);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: bob.key, body: chat('demo-chat') })).status, 200, 'others are unaffected');
    await t.w.flushRefusals();
    const reasons = t.audits().filter((a) => a.action === 'refused.unauthenticated').map((a) => String((a.details as Record<string, unknown>).reasons)).join(',');
    assert.match(reasons, /principal_disabled/);
    assert.ok(t.audits().some((a) => a.action === 'principal.disable' && a.decision === 'allow'), 'the change is in the ledger');

    const e = await adm('/admin/v1/principals/dora/enable');
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.disabled_at, null);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: dora.key, body: chat('demo-chat') })).status, 200, 'the key works again');
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: tok, body: chat('demo-chat') })).status, 401, 'tokens minted before stay revoked');

    assert.equal((await adm('/admin/v1/principals/nobody/disable')).status, 404);
    assert.equal((await adm('/admin/v1/principals/admin/disable')).status, 400, 'the bootstrap admin is not disabled');
  } finally {
    await t.stop();
  }
});
