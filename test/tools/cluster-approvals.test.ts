// Tools and approvals across replicas (two in-process Wardens on one PostgreSQL + Redis): a tool registered
// through one replica is callable through the other; a call held on replica A with `Prefer: wait` is released
// by an approval granted through replica B (LISTEN/NOTIFY), and ended by a denial the same way; parallel
// executions of one approved call through both replicas run it exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireService } from '../helpers/services.js';
import { startTestCluster } from '../helpers/cluster.js';
import { startMfaIdp } from '../helpers/mfa-idp.js';
import type { TestWarden } from '../helpers/warden.js';

test('an approval through replica B releases a call held on replica A; an approved call runs once across replicas', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);

  // A fake tool backend (an external upstream, labelled as such): counts the deletions that reach it.
  const deleted: string[] = [];
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const id = (JSON.parse(body || '{}') as { record_id?: string }).record_id ?? '';
      deleted.push(id);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deleted: id }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  t.after(() => void backend.close());
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const idp = await startMfaIdp();
  t.after(() => idp.close());

  const cl = await startTestCluster(2, (c) => {
    c.oidc.issuers = [idp.oidcIssuer];
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = cl.adminOk;

  // Principals and keys through replica A; the tool registered through replica B.
  await admin(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] });
  const alice = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['*'], actions: ['callTool'] })).key as string;
  await admin(a, 'POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['operators'], admin: true });
  const bob = (await admin(a, 'POST', '/admin/v1/keys', { principal: 'bob', models: ['*'], actions: ['*'] })).key as string;
  const def = { name: 'delete_record', description: 'Delete a record', risk: 'destructive', grantees: ['consumers'], input_schema: { type: 'object', properties: { record_id: { type: 'string' } }, required: ['record_id'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/records/delete` }, egress: [backendUrl] };
  assert.equal((await admin(b, 'POST', '/admin/v1/tools', def)).version, 1);
  // Replica A's listing (its in-memory mirror) follows within a second.
  const listedOnA = async () => ((await a.call('inference', 'GET', '/v1/tools', { key: alice })).json.data as { function: { name: string } }[]).some((x) => x.function.name === 'delete_record');
  const since = Date.now();
  while (!(await listedOnA()) && Date.now() - since < 1000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await listedOnA(), 'a tool registered through B is listed by A within a second');

  const invoke = (r: TestWarden, recordId: string, o: { approvalId?: string; wait?: number } = {}) =>
    r.call('inference', 'POST', '/v1/tools/delete_record/invoke', {
      key: alice,
      body: { arguments: { record_id: recordId }, ...(o.approvalId ? { approval_id: o.approvalId } : {}) },
      ...(o.wait ? { headers: { prefer: `wait=${o.wait}` } } : {}),
    });
  const decide = async (r: TestWarden, id: string, verdict: 'approve' | 'deny') =>
    r.call('admin', 'POST', `/admin/v1/approvals/${id}/${verdict}`, { key: bob, body: { mfa_token: await idp.mfaToken('bob', Math.floor(Date.now() / 1000)) } });
  const pendingId = async (recordId: string): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const list = await b.call('admin', 'GET', '/admin/v1/approvals?status=pending', { key: bob, headers: { 'warden-mfa-token': await idp.mfaToken('bob', Math.floor(Date.now() / 1000)) } });
      const hit = (list.json?.data as { id: string; arguments: { record_id: string } }[] | undefined)?.find((x) => x.arguments.record_id === recordId);
      if (hit) return hit.id;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no pending approval for ${recordId} is visible through replica B`);
  };

  // Held on A (Prefer: wait), approved through B: A's caller gets the result within a second of the approval.
  const heldOnA = invoke(a, 'r-1', { wait: 20 });
  const id1 = await pendingId('r-1');
  const approvedAt = Date.now();
  const ok = await decide(b, id1, 'approve');
  assert.equal(ok.status, 200, ok.text);
  const released = await heldOnA;
  const latency = Date.now() - approvedAt;
  assert.equal(released.status, 200, released.text);
  assert.equal(released.json.result.deleted, 'r-1');
  assert.ok(latency < 1000, `released ${latency} ms after the approval through the other replica`);
  assert.deepEqual(deleted, ['r-1']);
  console.log(`# approval on B released the call held on A after ${latency} ms`);

  // Denied through B: the call held on A ends with the refusal, nothing runs.
  const heldForDenial = invoke(a, 'r-2', { wait: 20 });
  const id2 = await pendingId('r-2');
  assert.equal((await decide(b, id2, 'deny')).status, 200);
  const refused = await heldForDenial;
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error.code, 'approval_not_approved');
  assert.deepEqual(deleted, ['r-1']);

  // Approved through A, then executed in parallel through both replicas: exactly one runs.
  const held = await invoke(a, 'r-3');
  assert.equal(held.status, 202, held.text);
  const id3 = held.json.approval.id as string;
  assert.equal((await decide(a, id3, 'approve')).status, 200);
  const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => invoke(i % 2 ? a : b, 'r-3', { approvalId: id3 })));
  const statuses = attempts.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409], attempts.map((r) => r.text).join('\n'));
  for (const r of attempts.filter((x) => x.status === 409)) assert.equal(r.json.error.code, 'approval_already_used');
  assert.deepEqual(deleted, ['r-1', 'r-3'], 'the approved call ran once');

  // A tool deleted through A is gone for B's executions at once (they read the store, not a mirror).
  await admin(a, 'DELETE', '/admin/v1/tools/delete_record');
  const gone = await invoke(b, 'r-4');
  assert.equal(gone.status, 404, gone.text);
  assert.equal(gone.json.error.code, 'tool_not_found');
});
