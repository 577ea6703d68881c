// Payload retention across replicas (two in-process Wardens on one PostgreSQL + Redis, one KEK): a request
// answered by replica A has its payloads read back through replica B; erased through B, they are gone (410)
// through A too, and A stores nothing more for the principal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

test('a payload retained by one replica is read and erased through another', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id: 'erin', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const key = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'erin', models: ['demo-chat'], actions: ['chat'] })).json.key as string;
  const body = { model: 'demo-chat', messages: [{ role: 'user', content: 'remember me across replicas' }] };
  const answered = await a.call('inference', 'POST', '/v1/chat/completions', { key, body });
  assert.equal(answered.status, 200, answered.text);
  const id = String(answered.headers['x-request-id']);
  const read = (r: TestWarden, kind: string) => admin(r, 'GET', `/admin/v1/payloads/${id}?principal=erin&kind=${kind}`);

  // Stored by A in PostgreSQL (only ciphertext and a wrapped key there), read through B.
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  t.after(() => db.end());
  const rows = (await db.query<{ ciphertext: Buffer }>(`SELECT ciphertext FROM ${cl.prefix}ledger_payloads WHERE request_id = $1`, [id])).rows;
  assert.equal(rows.length, 2);
  assert.ok(rows.every((row) => !row.ciphertext.toString('latin1').includes('remember me')), 'sealed, not in the clear');
  const viaB = await read(b, 'request');
  assert.equal(viaB.status, 200, viaB.text);
  assert.equal(viaB.text, JSON.stringify(body));
  assert.equal((await read(b, 'response')).text, answered.text);

  // Erased through B: gone through A as well.
  const erased = await admin(b, 'POST', '/admin/v1/principals/erin/erase');
  assert.equal(erased.status, 200, erased.text);
  assert.equal(erased.json.key_destroyed, true);
  assert.equal(erased.json.payloads_deleted, 2);
  const gone = await read(a, 'request');
  assert.equal(gone.status, 410, gone.text);
  assert.equal(gone.json.error.code, 'payload_erased');
  assert.equal((await db.query(`SELECT 1 FROM ${cl.prefix}ledger_payload_keys WHERE principal = 'erin'`)).rowCount, 0, 'the data key is destroyed');
});
