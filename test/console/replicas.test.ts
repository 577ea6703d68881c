// Console sessions across replicas: two Warden instances on one store (PostgreSQL + Redis, test/helpers/cluster.ts)
// and one clock. A session made through one replica is honoured by the other (same CSRF token, same admin API
// and ledger), the idle and absolute timeouts hold whichever replica the requests reach, and signing out
// through one ends the session on both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { FixedClock } from '../../src/core/clock.js';
import { startTestCluster } from '../helpers/cluster.js';
import { requireService } from '../helpers/services.js';
import type { TestWarden } from '../helpers/warden.js';

async function send(r: TestWarden, method: string, path: string, o: { cookie?: string; csrf?: string; body?: unknown } = {}): Promise<{ status: number; json: any; cookie?: string }> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-warden-csrf'] = o.csrf;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(r.w.adminUrl + path, { method: method as 'GET', headers, dispatcher: r.agent, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
  const json = await res.body.json().catch(() => null);
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-warden_console=') && !c.includes('Max-Age=0'));
  return { status: res.statusCode, json, ...(set ? { cookie: set.split(';')[0]! } : {}) };
}

test('console sessions are shared by replicas: made through one, used, timed out and ended through the other', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const clock = new FixedClock(Date.now());
  const cl = await startTestCluster(2, (c) => {
    c.console = { ...c.console, idleTimeoutSec: 900, absoluteTimeoutSec: 3600 };
  }, { clock });
  t.after(() => cl.stop());
  const [r1, r2] = cl.replicas as [TestWarden, TestWarden];
  const signIn = async (via: TestWarden) => {
    const r = await send(via, 'POST', '/console/auth/key', { body: { key: cl.adminKey } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.cookie!;
  };

  // Made through replica 1, used through replica 2: the same session (CSRF token), the same admin API.
  const cookie = await signIn(r1);
  const v1 = await send(r1, 'GET', '/console/auth/session', { cookie });
  const v2 = await send(r2, 'GET', '/console/auth/session', { cookie });
  assert.equal(v2.json.signed_in, true);
  assert.equal(v2.json.csrf, v1.json.csrf);
  const made = await send(r2, 'POST', '/admin/v1/principals', { cookie, csrf: v2.json.csrf, body: { id: 'via-replica-2', groups: ['consumers'] } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.equal((await send(r2, 'POST', '/admin/v1/principals', { cookie, body: { id: 'no-csrf' } })).json.error.code, 'csrf_token_invalid');

  // Sign-out through replica 2 ends it on replica 1.
  assert.equal((await send(r2, 'POST', '/console/auth/signout', { cookie, csrf: v2.json.csrf })).status, 200);
  const after = await send(r1, 'GET', '/admin/v1/principals', { cookie });
  assert.equal(after.status, 401);
  assert.equal(after.json.error.code, 'session_ended');

  // Idle: a request through replica 1 keeps it alive for replica 2; 15 idle minutes end it on both.
  const idle = await signIn(r2);
  clock.advance(800_000);
  assert.equal((await send(r1, 'GET', '/admin/v1/principals', { cookie: idle })).status, 200);
  clock.advance(800_000);
  assert.equal((await send(r2, 'GET', '/admin/v1/principals', { cookie: idle })).status, 200, 'replica 1\'s use counted');
  clock.advance(900_000);
  const gone = await send(r1, 'GET', '/admin/v1/principals', { cookie: idle });
  assert.equal(gone.status, 401);
  assert.match(gone.json.error.message, /idle/);
  assert.equal((await send(r2, 'GET', '/admin/v1/principals', { cookie: idle })).status, 401);

  // Absolute: in use through both replicas in turn, it still ends an hour after sign-in.
  const busy = await signIn(r1);
  for (let i = 0; i < 4; i++) {
    clock.advance(800_000);
    assert.equal((await send(i % 2 ? r1 : r2, 'GET', '/admin/v1/principals', { cookie: busy })).status, 200);
  }
  clock.advance(800_000);
  const old = await send(r2, 'GET', '/admin/v1/principals', { cookie: busy });
  assert.equal(old.status, 401);
  assert.match(old.json.error.message, /maximum age/);
});
