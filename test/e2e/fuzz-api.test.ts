// Bad input always gets a clear error: random JSON values, random bytes and random form fields sent to the
// inference, token, tools and admin endpoints of a real Warden get a 2xx or a 4xx with the JSON error body
// (never a 5xx, never a hang), and the gateway keeps serving afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

let t: TestWarden;
let key: string;
before(async () => {
  t = await startTestWarden();
  key = (await t.keyFor('fuzzy', ['*'], ['*'], { groups: ['consumers'] })).key;
});
after(() => t.stop());

type Res = Awaited<ReturnType<TestWarden['call']>>;
function clearError(r: Res, what: string): void {
  assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  if (r.status >= 400) {
    const e = r.json?.error;
    assert.ok(e && typeof e.type === 'string' && typeof e.code === 'string' && typeof e.message === 'string' && typeof e.request_id === 'string', `${what}: no JSON error body: ${r.text.slice(0, 300)}`);
  }
}

// Bodies: any JSON value, JSON-ish objects with the field names the endpoints read, or raw bytes.
const fields = ['model', 'messages', 'prompt', 'input', 'max_tokens', 'stream', 'tools', 'role', 'content', 'id', 'principal', 'models', 'actions', 'tenant', 'groups', 'text', 'name', 'arguments', 'approval_id', 'path', 'reason', 'signatureBundle'];
const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom(...fields), fc.jsonValue(), { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.record({ model: fc.constantFrom('demo-chat', 'demo-embed', 'nope'), messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'tool', 'x'), content: fc.oneof(fc.string(), fc.jsonValue()) }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

const ROUTES: [listener: 'inference' | 'admin', path: string, who: () => string][] = [
  ['inference', '/v1/chat/completions', () => key],
  ['inference', '/v1/completions', () => key],
  ['inference', '/v1/embeddings', () => key],
  ['inference', '/v1/tools/delete_record/invoke', () => key],
  ['inference', '/v1/attestation/key', () => key],
  ['admin', '/admin/v1/principals', () => t.adminKey],
  ['admin', '/admin/v1/keys', () => t.adminKey],
  ['admin', '/admin/v1/policies', () => t.adminKey],
  ['admin', '/admin/v1/models', () => t.adminKey],
  ['admin', '/admin/v1/tools', () => t.adminKey],
  ['admin', '/admin/v1/inspect', () => t.adminKey],
  ['admin', '/admin/v1/tokens/revoke', () => t.adminKey],
];

test('random bodies on every POST endpoint get a 2xx or a clear 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), body, async ([listener, path, who], b) => {
      const r = await t.call(listener, 'POST', path, { key: who(), body: b, headers: { 'content-type': 'application/json' } });
      clearError(r, `POST ${path} ${JSON.stringify(b).slice(0, 120)}`);
    }),
    { numRuns: 300 },
  );
  // Still serving, and still right.
  const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'still there?' }] } });
  assert.equal(ok.status, 200, ok.text);
});

test('random token-exchange forms get an RFC 6749 error, never a 5xx', async () => {
  const names = ['grant_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'scope', 'audience', 'resource', 'expires_in', 'requested_token_type'];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...names), fc.oneof(fc.string(), fc.constant(key), fc.constant('urn:ietf:params:oauth:grant-type:token-exchange'))), { maxLength: 8 }), async (pairs) => {
      const form = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      const r = await t.call('inference', 'POST', '/v1/token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.ok(r.status < 500, `${r.status} ${r.text}`);
      if (r.status !== 200) assert.equal(typeof r.json?.error, 'string', r.text);
    }),
    { numRuns: 150 },
  );
});

test('random JSON-RPC on /mcp gets a JSON-RPC or HTTP error, never a 5xx', async () => {
  const token = (await t.call('inference', 'POST', '/v1/token', {
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: key, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', scope: 'callTool' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })).json.access_token as string;
  const rpc = fc.oneof(
    fc.jsonValue(),
    fc.record({ jsonrpc: fc.constantFrom('2.0', '1.0'), id: fc.oneof(fc.integer(), fc.string()), method: fc.constantFrom('initialize', 'tools/list', 'tools/call', 'ping', 'nope'), params: fc.jsonValue() }, { requiredKeys: ['jsonrpc', 'method'] }),
    fc.array(fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), method: fc.constantFrom('tools/list', 'tools/call'), params: fc.jsonValue() }), { maxLength: 3 }),
  );
  await fc.assert(
    fc.asyncProperty(rpc, async (msg) => {
      const r = await t.call('inference', 'POST', '/mcp', { key: token, body: JSON.stringify(msg), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
      assert.ok(r.status < 500, `${r.status} ${r.text.slice(0, 300)}`);
    }),
    { numRuns: 150 },
  );
});

test('random methods, paths and queries on both listeners get a clear answer, never a 5xx', async () => {
  const seg = fc.oneof(fc.constantFrom('admin', 'v1', 'models', 'tools', 'keys', 'principals', 'policies', 'approvals', 'monitor', 'audit', 'tile', 'entries', 'proof', 'inclusion', 'payloads', 'reset', 'promote', 'key', '..', '%2e%2e', '%00', 'dep_x'), fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent));
  const target = fc.tuple(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.option(fc.dictionary(fc.constantFrom('state', 'model', 'index', 'size', 'old', 'principal', 'status'), fc.string({ maxLength: 8 })), { nil: undefined }));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom<'inference' | 'admin'>('inference', 'admin'), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), target, async (listener, method, [segs, q]) => {
      const path = '/' + segs.join('/') + (q ? '?' + new URLSearchParams(q).toString() : '');
      const r = await t.call(listener, method, path, { key: listener === 'admin' ? t.adminKey : key, ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }) });
      assert.ok(r.status < 500, `${method} ${path} on ${listener}: ${r.status} ${r.text.slice(0, 200)}`);
    }),
    { numRuns: 300 },
  );
});
