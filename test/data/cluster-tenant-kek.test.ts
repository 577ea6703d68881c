// Tenants' own KEKs across replicas (two in-process Wardens on one PostgreSQL + Redis, each given the same key
// file for tenant acme): a withdrawal through replica A makes acme's retained payloads unreadable through
// replica B within a second (measured), stops acme's retention there, leaves globex served, and a restore through
// B reinstates it on A; a third replica given another key for acme is refused at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createKeyFile } from '../../src/data/crypto/index.js';
import { WARDEN_BIN } from '../helpers/proc.js';
import { requireService } from '../helpers/services.js';
import { PG_URL, sharedKekFile, startTestCluster } from '../helpers/cluster.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

test('a tenant KEK withdrawn through one replica is withdrawn on all within a second; restored likewise; another key is refused', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'warden-tenant-kek-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const acmeKek = join(dir, 'acme.key');
  createKeyFile(acmeKek);
  const cl = await startTestCluster(2, (c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
    c.encryption.tenants = { acme: { file: acmeKek } };
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });
  const keyOf = async (id: string, tenant: string) => {
    assert.equal((await admin(a, 'POST', '/admin/v1/principals', { id, tenant, groups: ['consumers'] })).status, 201);
    return (await admin(a, 'POST', '/admin/v1/keys', { principal: id, models: ['demo-chat'], actions: ['chat'] })).json.key as string;
  };
  const [alice, gina] = [await keyOf('alice', 'acme'), await keyOf('gina', 'globex')];
  const chat = (r: TestWarden, key: string, text: string) => r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: text }] } });
  const fromA = await chat(a, alice, 'acme secret');
  const ginaOnA = await chat(a, gina, 'globex note');
  assert.equal(fromA.status, 200, fromA.text);
  assert.equal(ginaOnA.status, 200, ginaOnA.text);
  const payload = (r: TestWarden, res: { headers: Record<string, unknown> }, principal: string) => admin(r, 'GET', `/admin/v1/payloads/${String(res.headers['x-request-id'])}?principal=${principal}&kind=request`);
  assert.match((await payload(b, fromA, 'alice')).text, /acme secret/);
  const listed = await admin(b, 'GET', '/admin/v1/tenant-keks');
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.json.data.map((k: { tenant: string; withdrawn: unknown }) => [k.tenant, k.withdrawn]), [['acme', null]]);

  // Withdrawn through A: refused through B within a second.
  const withdrawn = await admin(a, 'POST', '/admin/v1/tenant-keks/acme/withdraw', { reason: 'the tenant revoked our access' });
  assert.equal(withdrawn.status, 200, withdrawn.text);
  const at = Date.now();
  assert.equal(withdrawn.json.withdrawn.reason, 'the tenant revoked our access');
  let refused = await payload(b, fromA, 'alice');
  while (refused.status === 200 && Date.now() - at < 2000) refused = await payload(b, fromA, 'alice');
  const ms = Date.now() - at;
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'kek_unavailable');
  assert.ok(ms < 1000, `withdrawn on the other replica after ${ms} ms`);
  console.log(`# tenant KEK withdrawal through A refused on B after ${ms} ms`);
  assert.equal((await payload(a, fromA, 'alice')).status, 503, 'and on A');
  const more = await chat(b, alice, 'more acme data');
  assert.equal(more.status, 503, more.text);
  assert.equal(more.json.error.code, 'retention_unavailable');
  assert.match((await payload(b, ginaOnA, 'gina')).text, /globex note/, 'another tenant is served');
  assert.equal((await chat(b, gina, 'still fine')).status, 200);
  // The withdrawal is in the one log, decided for the admin who made it.
  const entry = a.audits().find((x) => (x as Record<string, any>).action === 'tenant_kek.withdraw') as Record<string, any>;
  assert.equal(entry.resource.id, 'tenant-kek:acme');
  // Nothing is recorded for a tenant without its own KEK.
  const nobody = await admin(b, 'POST', '/admin/v1/tenant-keks/globex/withdraw', {});
  assert.equal(nobody.status, 404, nobody.text);
  assert.equal(nobody.json.error.code, 'tenant_kek_not_found');
  const bad = await admin(b, 'POST', '/admin/v1/tenant-keks/acme/withdraw', { reason: 7 });
  assert.equal(bad.status, 400, bad.text);

  // Restored through B with the CLI: readable through A again.
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [WARDEN_BIN, 'data', 'kek', ...args], { env: { ...process.env, WARDEN_ADMIN_KEY: cl.adminKey, WARDEN_ADMIN_URL: b.w.adminUrl, WARDEN_CA: b.w.caPemPath } });
  assert.match((await cli('list')).stdout, /^acme\t\S+\twithdrawn .* by \S+ \(the tenant revoked our access\)$/m);
  assert.match((await cli('restore', 'acme')).stdout, /^acme\t\S+\tin use$/m);
  const since = Date.now();
  let back = await payload(a, fromA, 'alice');
  while (back.status !== 200 && Date.now() - since < 2000) back = await payload(a, fromA, 'alice');
  assert.equal(back.status, 200, back.text);
  assert.match(back.text, /acme secret/);

  // A third replica given another key for acme is refused at start.
  const otherKek = join(dir, 'acme-other.key');
  createKeyFile(otherKek);
  await assert.rejects(
    startTestWarden((c) => {
      c.store = { postgres: { connectionString: PG_URL, prefix: cl.prefix }, redis: { url: 'redis://127.0.0.1:6379', prefix: `${cl.prefix}:` } };
      c.encryption.kek = { file: sharedKekFile(cl.root) };
      c.encryption.tenants = { acme: { file: otherKek } };
    }, { dataDir: mkdtempSync(join(dir, 'r3-')) }),
    /tenant acme's data keys are recorded under its KEK/,
  );
});
