// Tenant-scoped admins (issue 16): an admin of tenant acme (group tenant-admins, MFA stepped up through its
// tenant's identity provider, a labelled FAKE OIDC issuer) manages acme's datasets, vector stores and retained
// payloads through the admin API, and every attempt on globex's is refused: not found (its existence not
// revealed) or 403 cross_tenant_denied when the request names the other tenant, or policy_denied for what only the
// platform may do; each refusal is in the ledger and nothing of globex changes. A platform role granted in a
// customer tenant (admins in acme) is held to its tenant the same way; the platform tenant (`system`) sees all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDataset } from '../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../src/workload/signing/keys.js';
import { startMfaIdp, type MfaIdp } from '../helpers/mfa-idp.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-tenant-admins-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
let w: TestWarden;
let acmeIdp: MfaIdp;
let globexIdp: MfaIdp;
const key: Record<string, string> = {};
const ids: Record<string, string> = {};

/** An admin call with a fresh MFA step-up token of the caller from its tenant's identity provider. */
async function asAdmin(who: 'tam' | 'pam' | 'gia' | 'gil', method: string, path: string, body?: unknown) {
  const idp = who === 'gia' || who === 'gil' ? globexIdp : acmeIdp;
  const mfa = await idp.mfaToken(who, Math.floor(Date.now() / 1000), undefined, []);
  return w.call('admin', method, path, { key: key[who]!, headers: { 'warden-mfa-token': mfa }, ...(body !== undefined ? { body } : {}) });
}

async function admitDataset(who: 'tam' | 'gia', name: string): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  const signed = await signDataset(dir, { name, version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, signer);
  const d = await asAdmin(who, 'POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
  assert.equal(d.status, 201, d.text);
  const v = await asAdmin(who, 'POST', `/admin/v1/datasets/${d.json.id}/verify`, { path: dir });
  assert.equal(v.status, 200, v.text);
  return d.json.id as string;
}

before(async () => {
  acmeIdp = await startMfaIdp();
  globexIdp = await startMfaIdp();
  w = await startTestWarden((c) => {
    c.oidc.issuers = [acmeIdp.oidcIssuer, { ...globexIdp.oidcIssuer, claims: { tenant: { fixed: 'globex' } } } as never];
    c.ledger = { ...c.ledger, retainPayloads: true };
    c.monitor.enabled = false;
  });
  const admin = async (id: string, tenant: string, groups: string[], issuer: string) => {
    await w.admin('POST', '/admin/v1/principals', { id, tenant, groups, admin: true, oidc_issuer: issuer });
    key[id] = (await w.admin('POST', '/admin/v1/keys', { principal: id, models: ['*'], actions: ['*'] })).key;
  };
  await admin('tam', 'acme', ['tenant-admins'], acmeIdp.issuer);
  await admin('pam', 'acme', ['admins'], acmeIdp.issuer);
  await admin('gia', 'globex', ['tenant-admins'], globexIdp.issuer);
  await admin('gil', 'globex', ['admins'], globexIdp.issuer);
  // Data sources belong to a tenant, and registering one is a platform admin's act (tenant admins may not):
  // each tenant's full admin registers the vendor in its own tenant.
  for (const who of ['pam', 'gil'] as const) {
    const src = await asAdmin(who, 'POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@example' });
    assert.equal(src.status, 201, src.text);
  }
  ids.acmeData = await admitDataset('tam', 'acme-tickets');
  ids.globexData = await admitDataset('gia', 'globex-tickets');

  for (const [who, tenant] of [['ada', 'acme'], ['gus', 'globex']] as const) {
    key[who] = (await w.keyFor(who, ['demo-chat', 'demo-embed'], ['*'], { tenant, groups: ['consumers', 'retrieval-writers'] })).key;
    const s = await w.call('inference', 'POST', '/v1/vector_stores', { key: key[who]!, body: { name: `${tenant}-kb`, embedding_model: 'demo-embed' } });
    ids[`${tenant}Store`] = s.json.id;
    assert.equal((await w.call('inference', 'POST', `/v1/vector_stores/${s.json.id}/files`, { key: key[who]!, body: { content: `${tenant} roadmap`, classification: 'public' } })).status, 200);
    const c = await w.call('inference', 'POST', '/v1/chat/completions', { key: key[who]!, body: { model: 'demo-chat', messages: [{ role: 'user', content: `${tenant} says hi` }] } });
    assert.equal(c.status, 200, c.text);
    ids[`${tenant}Req`] = String(c.headers['x-request-id']);
  }
});
after(async () => {
  await w?.stop();
  acmeIdp?.close();
  globexIdp?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("a tenant admin manages its own tenant's datasets, vector stores and payloads", async () => {
  const list = await asAdmin('tam', 'GET', '/admin/v1/datasets');
  assert.deepEqual(list.json.data.map((d: { id: string }) => d.id), [ids.acmeData]);
  const stores = await asAdmin('tam', 'GET', '/admin/v1/vector-stores');
  assert.equal(stores.status, 200, stores.text);
  assert.deepEqual(stores.json.vector_stores.map((s: { id: string }) => s.id), [ids.acmeStore]);
  assert.equal((await asAdmin('tam', 'GET', `/admin/v1/vector-stores/${ids.acmeStore}`)).status, 200);
  assert.equal((await asAdmin('tam', 'GET', `/admin/v1/payloads/${ids.acmeReq}?principal=ada`)).status, 200);
  // The platform tenant sees every tenant's stores.
  const all = await w.call('admin', 'GET', '/admin/v1/vector-stores', { key: w.adminKey });
  assert.deepEqual(all.json.vector_stores.map((s: { id: string }) => s.id).sort(), [ids.acmeStore, ids.globexStore].sort());
});

test("every attempt of acme's admins on globex's data through the admin API is refused, with its entry", async () => {
  const g = ids.globexData!;
  const attempts: [who: 'tam' | 'pam', method: string, path: string, body: unknown, status: number, code: string][] = [
    ['tam', 'GET', `/admin/v1/datasets/${g}`, undefined, 404, 'dataset_not_found'],
    ['tam', 'GET', `/admin/v1/datasets/${g}/lineage`, undefined, 404, 'dataset_not_found'],
    ['tam', 'GET', `/admin/v1/datasets/${g}/train-on`, undefined, 404, 'dataset_not_found'],
    ['tam', 'POST', `/admin/v1/datasets/${g}/verify`, { path: join(tmp, 'globex-tickets') }, 404, 'dataset_not_found'],
    ['tam', 'POST', `/admin/v1/datasets/${g}/retire`, {}, 404, 'dataset_not_found'],
    ['tam', 'POST', `/admin/v1/datasets/${g}/train-on`, { model: 'm' }, 404, 'dataset_not_found'],
    ['tam', 'POST', `/admin/v1/datasets/${ids.acmeData}/train-on`, { model: 'm', tenant: 'globex' }, 403, 'cross_tenant_denied'],
    ['tam', 'POST', '/admin/v1/training-tokens', { model: 'm', datasets: [g] }, 404, 'dataset_not_found'],
    ['tam', 'POST', '/admin/v1/training-tokens', { model: 'm', datasets: [ids.acmeData], tenant: 'globex' }, 403, 'cross_tenant_denied'],
    ['tam', 'GET', '/admin/v1/vector-stores?tenant=globex', undefined, 403, 'cross_tenant_denied'],
    ['tam', 'GET', `/admin/v1/vector-stores/${ids.globexStore}`, undefined, 404, 'vector_store_not_found'],
    ['tam', 'DELETE', `/admin/v1/vector-stores/${ids.globexStore}`, undefined, 404, 'vector_store_not_found'],
    ['tam', 'GET', `/admin/v1/payloads/${ids.globexReq}?principal=gus`, undefined, 404, 'payload_not_found'],
    ['tam', 'GET', `/admin/v1/payloads/${ids.globexReq}?principal=gus&kind=response`, undefined, 404, 'payload_not_found'],
    // What only the platform may do: data sources, erasure (identity), the audit log.
    ['tam', 'POST', '/admin/v1/data-sources', { id: 'evil', publicKey: 'x', owner: 'o' }, 403, 'policy_denied'],
    ['tam', 'POST', '/admin/v1/principals/gus/erase', {}, 403, 'policy_denied'],
    // A platform role granted in a customer tenant is held to that tenant too.
    ['pam', 'GET', '/admin/v1/vector-stores?tenant=globex', undefined, 403, 'cross_tenant_denied'],
    ['pam', 'DELETE', `/admin/v1/vector-stores/${ids.globexStore}`, undefined, 404, 'vector_store_not_found'],
    ['pam', 'GET', `/admin/v1/payloads/${ids.globexReq}?principal=gus`, undefined, 404, 'payload_not_found'],
    ['pam', 'POST', '/admin/v1/principals/gus/erase', {}, 404, 'principal_not_found'],
    ['pam', 'GET', `/admin/v1/datasets/${g}`, undefined, 404, 'dataset_not_found'],
  ];
  const wrong: string[] = [];
  for (const [who, method, path, body, status, code] of attempts) {
    const r = await asAdmin(who, method, path, body);
    if (r.status !== status || r.json?.error?.code !== code) wrong.push(`${who} ${method} ${path} -> ${r.status} ${r.text}`);
    // Every refusal is in the ledger, except a dataset lookup outside the caller's tenant (the registry answers
    // dataset_not_found without an entry, as for an id that does not exist: a known gap, docs/retrieval.md).
    const entry = w.audits().find((a) => a.requestId === r.headers['x-request-id']);
    if (code !== 'dataset_not_found' && (entry?.decision !== 'deny' || entry.errorCode !== code)) wrong.push(`${who} ${method} ${path}: no deny entry (${JSON.stringify(entry)})`);
  }
  assert.deepEqual(wrong, []);
  // pam's listing without a tenant is acme's only.
  const pamList = await asAdmin('pam', 'GET', '/admin/v1/vector-stores');
  assert.deepEqual(pamList.json.vector_stores.map((s: { id: string }) => s.id), [ids.acmeStore]);

  // Nothing of globex changed.
  const gd = await asAdmin('gia', 'GET', `/admin/v1/datasets/${g}`);
  assert.equal(gd.json.state, 'verified');
  assert.equal((await asAdmin('gia', 'GET', '/admin/v1/vector-stores')).json.vector_stores[0].files, 1);
  const found = await w.call('inference', 'POST', `/v1/vector_stores/${ids.globexStore}/search`, { key: key.gus!, body: { query: 'globex roadmap' } });
  assert.equal(found.json.data[0].content[0].text, 'globex roadmap');
  assert.equal((await asAdmin('gia', 'GET', `/admin/v1/payloads/${ids.globexReq}?principal=gus`)).status, 200);
  assert.equal((await w.call('inference', 'POST', '/v1/chat/completions', { key: key.gus!, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'still here' }] } })).status, 200, 'gus was not erased');
});
