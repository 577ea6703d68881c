// Forgetting a withdrawn tenant's KEK record (`warden data kek forget`, POST /admin/v1/tenant-keks/{t}/forget),
// against real Wardens on one data dir: refused (409, each refusal in the ledger) while the KEK is in use, while
// this replica is still configured with it, and while a payload data key of the tenant is still wrapped under it;
// an unknown tenant is 404. Once the tenant's subject is erased and the key is out of the config, the CLI forgets
// it: one ledger entry written first, the record gone from the list, and forgetting again is 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile } from '../../../src/data/crypto/index.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

test('a withdrawn tenant KEK record is forgotten only once nothing is wrapped under it and no replica is configured with it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-forget-kek-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const acmeKek = join(dir, 'acme.key');
  createKeyFile(acmeKek);
  let w: TestWarden = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
    c.encryption.tenants = { acme: { file: acmeKek } };
  }, { dataDir });
  t.after(() => w.stop());
  // The bootstrap credential (shown on the first start only; it stays valid across restarts).
  const adminKey = w.adminKey;
  const asAdmin = (method: string, path: string, body?: unknown) => w.call('admin', method, path, { key: adminKey, ...(body !== undefined ? { body } : {}) });
  const forget = (tenant: string) => asAdmin('POST', `/admin/v1/tenant-keks/${tenant}/forget`, {});
  const refused = async (tenant: string, status: number, code: string, message?: RegExp) => {
    const r = await forget(tenant);
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.error.code, code);
    if (message) assert.match(r.json.error.message, message);
    const entry = w.audits().filter((a) => a.action === 'tenant_kek.forget').at(-1)!;
    assert.equal(entry.decision, 'deny', 'the refusal is in the ledger');
    assert.equal(entry.errorCode, code);
  };

  const { key } = await w.keyFor('alice', ['demo-chat'], ['chat'], { tenant: 'acme' });
  const chat = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'acme secret' }] } });
  assert.equal(chat.status, 200, chat.text);

  await refused('acme', 409, 'tenant_kek_in_use', /withdraw it first/);
  await refused('nobody', 404, 'tenant_kek_not_found');
  const bad = await asAdmin('POST', '/admin/v1/tenant-keks/acme/forget', { force: true });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_field');
  assert.equal((await w.admin('POST', '/admin/v1/tenant-keks/acme/withdraw', { reason: 'contract ended' })).withdrawn.reason, 'contract ended');
  await refused('acme', 409, 'tenant_kek_still_configured', /encryption\.tenants\.acme/);

  // The key out of this replica's config (restarted on the same data dir): acme's payload key is still there.
  await w.stop();
  w = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, retainPayloads: true };
  }, { dataDir });
  await refused('acme', 409, 'tenant_kek_still_wraps_data', /tenant acme still has data wrapped under its keys \(1 payloadKeys\)/);
  assert.deepEqual((await asAdmin('GET', '/admin/v1/tenant-keks')).json.data.map((k: { tenant: string }) => k.tenant), ['acme'], 'nothing was forgotten');

  // The subject erased (its data key destroyed), the CLI forgets the record.
  const env = { WARDEN_ADMIN_URL: w.w.adminUrl, WARDEN_CA: w.w.caPemPath, WARDEN_ADMIN_KEY: adminKey, WARDEN_MFA_TOKEN: '' };
  const erased = await runWarden(['erase', 'alice'], env);
  assert.equal(erased.code, 0, erased.stdout + erased.stderr);
  const forgot = await runWarden(['data', 'kek', 'forget', 'acme', '--reason', 'data erased'], env);
  assert.equal(forgot.code, 0, forgot.stdout + forgot.stderr);
  assert.match(forgot.stdout, /^forgot acme's KEK record \(\S+\); it was withdrawn \S+ by admin \(contract ended\)/);
  const entry = w.audits().filter((a) => a.action === 'tenant_kek.forget').at(-1)!;
  assert.equal(entry.decision, 'allow');
  const d = entry.details as Record<string, string | number>;
  assert.deepEqual([d.tenant, d.reason, d.payloadKeys, d.modelKeys, d.retrievalChunks, d.withdrawnBy], ['acme', 'data erased', 0, 0, 0, 'admin']);
  assert.deepEqual((await asAdmin('GET', '/admin/v1/tenant-keks')).json.data, []);
  await refused('acme', 404, 'tenant_kek_not_found');
});
