// The admin route table and its handlers cannot drift apart: every declared route is answered by a handler
// (never "not found" / "not enabled" with every plane on), an undeclared path or method is refused before
// authentication, and the PDP is asked the declared action.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_ROUTES, adminActionFor, matchAdminRoute } from '../../src/admin/routes.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

describe('admin routes declared as data', () => {
  let t: TestWarden;
  before(async () => {
    t = await startTestWarden();
  });
  after(async () => {
    await t?.stop();
  });

  test('every declared route reaches a handler', async () => {
    const unanswered: string[] = [];
    for (const r of ADMIN_ROUTES) {
      const path = typeof r.path === 'string' ? r.path : r.example;
      assert.ok(path, `${r.name} declares a pattern without an example path`);
      assert.ok(typeof r.path === 'string' || r.path.test(path), `${r.name}: its example ${path} does not match its pattern`);
      const res = await t.call('admin', r.method, path, { key: t.adminKey, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: {} }) });
      const code = (res.json as { error?: { code?: string } } | null)?.error?.code;
      // A handler may refuse the empty body or the unknown id (400/404 with its own code), but it must answer.
      if (code === 'route_not_found' || code === 'route_not_enabled' || code === 'method_not_allowed' || res.status >= 500) unanswered.push(`${r.method} ${path} (${r.name}) -> ${res.status} ${code}`);
    }
    assert.deepEqual(unanswered, []);
  });

  test('an undeclared path is 404 and an undeclared method 405 with Allow, before any credential is checked', async () => {
    const none = await t.call('admin', 'GET', '/admin/v1/nothing-here');
    assert.equal(none.status, 404);
    assert.equal(none.json.error.code, 'route_not_found');
    const wrong = await t.call('admin', 'PATCH', '/admin/v1/keys');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET, POST');
    // A sub-path a handler once matched by prefix is not reachable unless declared.
    assert.equal((await t.call('admin', 'GET', '/admin/v1/keys/k/nonsense', { key: t.adminKey })).status, 404);
  });

  test('the PDP question comes from the table: method and captures decide action and resource', () => {
    assert.deepEqual(adminActionFor('GET', '/admin/v1/tools/web%20search'), { action: 'readRegistry', resource: { type: 'Tool', id: 'web search' } });
    assert.deepEqual(adminActionFor('PUT', '/admin/v1/tools/x'), { action: 'manageTools', resource: { type: 'Tool', id: 'x' } });
    assert.deepEqual(adminActionFor('POST', '/admin/v1/models/m1/promote'), 'plane');
    assert.deepEqual(adminActionFor('GET', '/admin/v1/keys/k1/effective'), { action: 'manageKeys', resource: { type: 'Key', id: 'k1' } });
    assert.equal(adminActionFor('GET', '/admin/v1/models/m1/promote'), null);
    assert.deepEqual(matchAdminRoute('DELETE', '/admin/v1/principals'), { route: null, allowed: ['GET', 'POST'] });
    const names = ADMIN_ROUTES.map((r) => r.name);
    assert.equal(new Set(names).size, names.length, 'route names are unique');
  });
});
