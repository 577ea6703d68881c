import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

describe('admin listener', () => {
  let t: TestWarden;
  before(async () => {
    t = await startTestWarden();
  });
  after(async () => t.stop());

  test('a malformed percent-escape in an admin path is a 400 with a ledger entry, not a 500', async () => {
    const r = await t.call('admin', 'GET', '/admin/v1/keys/%ZZ', { key: t.adminKey });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_path');
    assert.ok(t.audits().some((a) => a.errorCode === 'invalid_path' && a.status === 400));
  });

  test('health and readiness answer without credentials and reveal nothing else', async () => {
    const h = await t.call('admin', 'GET', '/healthz');
    assert.deepEqual([h.status, h.json], [200, { status: 'ok' }]);
    const r = await t.call('admin', 'GET', '/readyz');
    assert.deepEqual([r.status, r.json], [200, { status: 'ready', checks: { lifecycle: 'ok', ledger: 'ok', identity_store: 'ok' } }]);
  });

  test('admin routes need a credential (401) and an admin principal (403), and refusals are audited', async () => {
    const none = await t.call('admin', 'GET', '/admin/v1/keys');
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /Bearer/);
    const m = await t.call('admin', 'GET', '/metrics');
    assert.equal(m.status, 401);
    const { key } = await t.keyFor('plain', ['*'], ['*']);
    const r = await t.call('admin', 'POST', '/admin/v1/keys', { key, body: { principal: 'plain', models: ['*'], actions: ['*'] } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'admin_required');
    const a = t.audits().find((x) => x.requestId === r.headers['x-request-id'])!;
    assert.equal(a.kind, 'control');
    assert.equal(a.decision, 'deny');
  });

  test('an inference key does not open the admin listener and vice versa ports are separate', async () => {
    assert.notEqual(new URL(t.w.adminUrl).port, new URL(t.w.inferenceUrl).port);
    const r = await t.call('inference', 'GET', '/admin/v1/keys', { key: t.adminKey });
    assert.equal(r.status, 404);
  });

  test('metrics are Prometheus text with request counters', async () => {
    const { key } = await t.keyFor('metric-user', ['demo-chat'], ['chat']);
    await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'x' }] } });
    const m = await t.call('admin', 'GET', '/metrics', { key: t.adminKey });
    assert.equal(m.status, 200);
    assert.match(m.text, /warden_requests_total\{endpoint="chat",status="200"\} \d+/);
    assert.match(m.text, /warden_request_duration_seconds_bucket/);
  });

  test('principals and keys: create, list, the key is shown once, bad input is a 400 with the field', async () => {
    const p = await t.admin('POST', '/admin/v1/principals', { id: 'svc-batch', kind: 'service', tenant: 'acme', groups: ['etl'] });
    assert.equal(p.kind, 'service');
    const dup = await t.call('admin', 'POST', '/admin/v1/principals', { key: t.adminKey, body: { id: 'svc-batch' } });
    assert.equal(dup.status, 409);
    const badKind = await t.call('admin', 'POST', '/admin/v1/principals', { key: t.adminKey, body: { id: 'x1', kind: 'robot' } });
    assert.equal(badKind.status, 400);
    const badCidr = await t.call('admin', 'POST', '/admin/v1/principals', { key: t.adminKey, body: { id: 'x2', source_cidrs: ['10.0.0.0/99'] } });
    assert.equal(badCidr.status, 400);
    assert.equal(badCidr.json.error.code, 'invalid_cidr');
    const k = await t.admin('POST', '/admin/v1/keys', { principal: 'svc-batch', models: ['demo-embed'], actions: ['embed'], ttl: '2h' });
    assert.match(k.key, /^wdn_[A-Za-z0-9_-]{43}$/);
    const listed = await t.admin('GET', '/admin/v1/keys?principal=svc-batch');
    assert.equal(listed.data.length, 1);
    assert.equal(listed.data[0].key, undefined);
    assert.ok(!JSON.stringify(listed).includes(k.key));
    const noPrincipal = await t.call('admin', 'POST', '/admin/v1/keys', { key: t.adminKey, body: { principal: 'ghost', models: ['*'], actions: ['chat'] } });
    assert.equal(noPrincipal.status, 404);
    const badAction = await t.call('admin', 'POST', '/admin/v1/keys', { key: t.adminKey, body: { principal: 'svc-batch', models: ['*'], actions: ['fly'] } });
    assert.equal(badAction.status, 400);
    assert.equal(badAction.json.error.code, 'invalid_scope');
    const badTtl = await t.call('admin', 'POST', '/admin/v1/keys', { key: t.adminKey, body: { principal: 'svc-batch', models: ['*'], actions: ['chat'], ttl: 'soon' } });
    assert.equal(badTtl.status, 400);
    const badJson = await t.call('admin', 'POST', '/admin/v1/keys', { key: t.adminKey, body: '{nope' });
    assert.equal(badJson.status, 400);
    const created = t.audits().filter((a) => a.action === 'key.create');
    assert.ok(created.length >= 1);
  });
});

describe('/admin/v1/inspect', () => {
  test('returns findings with spans and the injection score; bad input is a 400', async () => {
    const t = await startTestWarden();
    try {
      const r = await t.admin('POST', '/admin/v1/inspect', { text: 'reach me at jane.doe@example.com' });
      assert.equal(r.findings[0].type, 'email');
      assert.equal(typeof r.injectionScore, 'number');
      assert.ok(!JSON.stringify(r).includes('jane.doe@example.com'));
      const bad = await t.call('admin', 'POST', '/admin/v1/inspect', { key: t.adminKey, body: { text: 42 } });
      assert.equal(bad.status, 400);
      const badLabel = await t.call('admin', 'POST', '/admin/v1/inspect', { key: t.adminKey, body: { text: 'x', label: 'topsecret' } });
      assert.equal(badLabel.status, 400);
      const anon = await t.call('admin', 'POST', '/admin/v1/inspect', { body: { text: 'x' } });
      assert.equal(anon.status, 401);
    } finally {
      await t.stop();
    }
  });
});

describe('admin actions are decided by the PDP', () => {
  test('an admin without MFA is refused by policy; the bootstrap credential sets up, and revoking it ends it', async () => {
    const t = await startTestWarden();
    try {
      await t.admin('POST', '/admin/v1/principals', { id: 'ops-admin', tenant: 'acme', groups: ['admins'], admin: true });
      const k = await t.admin('POST', '/admin/v1/keys', { principal: 'ops-admin', models: ['*'], actions: ['*'] });
      const r = await t.call('admin', 'POST', '/admin/v1/keys', { key: k.key, body: { principal: 'ops-admin', models: ['*'], actions: ['chat'] } });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json.error.code, 'policy_denied');
      const entry = t.audits().find((a) => a.requestId === r.headers['x-request-id'])!;
      assert.equal(entry.decision, 'deny');
      assert.equal(entry.action, 'manageKeys');
      assert.ok((entry.policyIds as string[]).length > 0, 'the deciding policies are recorded');
      const m = await t.call('admin', 'GET', '/metrics', { key: k.key });
      assert.equal(m.status, 403, 'reading metrics is readAudit, also an admin action');
      // Without an OIDC issuer nothing can prove MFA: a step-up token is refused, not ignored.
      const su = await t.call('admin', 'GET', '/admin/v1/keys', { key: k.key, headers: { 'warden-mfa-token': 'eyJhbGciOiJub25lIn0.e30.' } });
      assert.equal(su.status, 403);
      assert.equal(su.json.error.code, 'step_up_unavailable');
      const blank = await t.call('admin', 'GET', '/admin/v1/keys', { key: k.key, headers: { 'warden-mfa-token': '' } });
      assert.equal(blank.status, 400);
      assert.equal(blank.json.error.code, 'invalid_header');
      // The registries are admin actions too; an admin path nobody mapped to an action is refused before any route.
      assert.equal((await t.call('admin', 'GET', '/admin/v1/tools', { key: k.key })).status, 403);
      assert.equal((await t.call('admin', 'GET', '/admin/v1/tools', { key: t.adminKey })).status, 200);
      const unknown = await t.call('admin', 'GET', '/admin/v1/nothing-here', { key: t.adminKey });
      assert.equal(unknown.status, 404);
      // Undeclared routes (src/admin/routes.ts) are refused before the credential or body is looked at.
      assert.equal(unknown.json.error.code, 'route_not_found');
      // The bootstrap credential is recorded as such, then retired.
      const ok = await t.call('admin', 'GET', '/admin/v1/keys', { key: t.adminKey });
      assert.equal(ok.status, 200);
      const boot = (ok.json.data as { id: string; principal: string }[]).find((x) => x.principal === 'admin')!;
      assert.equal((await t.call('admin', 'POST', `/admin/v1/keys/${boot.id}/revoke`, { key: t.adminKey })).status, 200);
      assert.equal((await t.call('admin', 'GET', '/admin/v1/keys', { key: t.adminKey })).status, 401);
      assert.ok(t.audits().some((a) => (a.principal as { authn?: string } | null)?.authn === 'bootstrap'));
    } finally {
      await t.stop();
    }
  });
});
