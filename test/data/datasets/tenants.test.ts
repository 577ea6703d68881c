// Tenant scoping of the dataset registry on a real SQLite store: a dataset belongs to the tenant of the admin who
// registered it; every read and change made from another tenant finds nothing (DatasetNotFound, so another
// tenant's datasets are not even revealed), lists hold only the caller's tenant, and trainOn carries the
// dataset's tenant to the PDP. (Admin-API refusals need a second admin with MFA; the gateway's own path is in
// training-access.test.ts: a model of another tenant is refused by the starter dataset-tenant-isolation policy.)
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AuditEvent, Principal, Resource } from '../../../src/core/types.js';
import { DatasetRegistry } from '../../../src/data/datasets/registry.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { verifyDataset } from '../../../src/data/datasets/verify-dataset.js';
import { SqliteDatasetsStore } from '../../../src/store/datasets-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-dataset-tenants-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const admin = (id: string, tenant: string): Principal => ({ kind: 'user', id, tenant, groups: ['admins'], authn: { method: 'api_key', credentialId: `key_${id}` }, scope: { models: ['*'], actions: ['*'] }, admin: true });

test('every dataset query is scoped by tenant; cross-tenant reads and changes find nothing', async () => {
  const audits: AuditEvent[] = [];
  const reg = new DatasetRegistry({ store: new SqliteDatasetsStore(openSqlite(join(tmp, 'warden.db'))), audit: (e) => void audits.push(e) });
  const acme = admin('alice', 'acme');
  const globex = admin('gina', 'globex');
  const pair = generateKeyPairSync('ed25519');
  await reg.registerSource(acme, { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string, owner: 'v' });
  const dir = join(tmp, 'ds');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  const signed = await signDataset(dir, { name: 'tickets', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P1D' }, pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string));
  const d = await reg.register(acme, signed.bundle);
  assert.equal(d.tenant, 'acme');
  assert.equal((await reg.get(d.id, 'acme')).id, d.id);
  assert.deepEqual((await reg.list('acme')).map((x) => x.id), [d.id]);
  assert.deepEqual(await reg.list('globex'), []);

  const notFound = { code: 'dataset_not_found', status: 404 };
  await assert.rejects(reg.get(d.id, 'globex'), notFound);
  await assert.rejects(reg.lineageOf(d.id, 'globex'), notFound);
  await assert.rejects(reg.trainDecisions(d.id, 'globex'), notFound);
  await assert.rejects(reg.retire(globex, d.id), notFound);
  await assert.rejects(reg.sourceKeyFor(globex, d.id), notFound);
  const verified = await verifyDataset(dir, signed.bundle, pair.publicKey);
  await assert.rejects(reg.markVerified(globex, d.id, verified, null, dir), notFound);
  let asked: (Resource & { attrs: Record<string, unknown> }) | undefined;
  const decide = (_p: Principal, r: Resource & { attrs: Record<string, unknown> }) => ((asked = r), { allow: true, policyIds: ['p'], policyVersion: 'v', obligations: [], reasons: [] });
  await assert.rejects(reg.trainOn(globex, d.id, { model: 'm', tenant: 'globex' }, decide), notFound);
  assert.equal(asked, undefined, 'the PDP was not even asked from the other tenant');
  assert.equal((await reg.get(d.id, 'acme')).state, 'registered', 'nothing changed');

  // From its own tenant: verified, then trainOn asked with the dataset's tenant as a resource attribute.
  await reg.markVerified(acme, d.id, verified, null, dir);
  await reg.trainOn(acme, d.id, { model: 'm', tenant: 'acme' }, decide);
  assert.deepEqual(asked!.attrs, { classification: 'internal', tenant: 'acme', categories: [] });
});

test('a datasets table from before tenants gains the column; its rows belong to the default tenant', async () => {
  const db = openSqlite(join(tmp, 'old.db'));
  db.exec(`CREATE TABLE datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, source_id TEXT NOT NULL, signer_identity TEXT NOT NULL,
    owner TEXT NOT NULL, licence TEXT NOT NULL, classification TEXT NOT NULL, categories TEXT NOT NULL, retention TEXT NOT NULL,
    state TEXT NOT NULL, signature_bundle TEXT NOT NULL, files INTEGER NOT NULL, records INTEGER NOT NULL, verification TEXT,
    created_at INTEGER NOT NULL, verified_at INTEGER, retired_at INTEGER, UNIQUE (name, version));
    INSERT INTO datasets VALUES ('ds_old','n','1','sha256:00','s','k','o','l','public','[]','P1D','registered','{}',1,0,NULL,1,NULL,NULL);`);
  const store = new SqliteDatasetsStore(db);
  assert.equal((await store.getDataset('ds_old'))!.tenant, 'default');
  assert.deepEqual((await store.listDatasets({ tenant: 'default' })).map((d) => d.id), ['ds_old']);
  assert.deepEqual(await store.listDatasets({ tenant: 'acme' }), []);
});

test('data sources belong to a tenant: same names in two tenants, and one tenant can never use, see or retire the source of another', async () => {
  const audits: AuditEvent[] = [];
  const reg = new DatasetRegistry({ store: new SqliteDatasetsStore(openSqlite(join(tmp, 'sources.db'))), audit: (e) => void audits.push(e) });
  const acme = admin('alice', 'acme');
  const globex = admin('gina', 'globex');
  const initech = admin('ivan', 'initech');
  const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'pem' }) as string;
  const acmeKey = generateKeyPairSync('ed25519');
  const globexKey = generateKeyPairSync('ed25519');
  const a = await reg.registerSource(acme, { id: 'vendor', publicKey: pem(acmeKey.publicKey), owner: 'acme-vendor' });
  const g = await reg.registerSource(globex, { id: 'vendor', publicKey: pem(globexKey.publicKey), owner: 'globex-vendor' });
  assert.deepEqual([a.tenant, g.tenant], ['acme', 'globex'], 'the same source id registered by two tenants');
  assert.notEqual(a.keyId, g.keyId);
  assert.deepEqual((await reg.listSources('globex')).map((s) => s.owner), ['globex-vendor']);
  assert.deepEqual(await reg.listSources('initech'), []);
  const sourceNotFound = { code: 'data_source_not_found', status: 404 };
  await assert.rejects(reg.getSource('vendor', 'initech'), sourceNotFound);
  await assert.rejects(reg.retireSource(initech, 'vendor'), sourceNotFound);

  const dir = join(tmp, 'shared-name');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n');
  const meta = { name: 'tickets', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P1D' };
  const signedByAcmeVendor = await signDataset(dir, meta, pemSigner(acmeKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string));
  const signedByGlobexVendor = await signDataset(dir, meta, pemSigner(globexKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string));

  // globex's `vendor` is not acme's: a manifest acme's vendor signed does not verify under globex's source key.
  audits.length = 0;
  await assert.rejects(reg.register(globex, signedByAcmeVendor.bundle), { code: 'untrusted_data_source', status: 403 });
  assert.equal(audits.at(-1)?.decision, 'deny', 'the refusal is in the ledger');
  // A tenant without a source of that name cannot borrow another tenant's: unknown source.
  await assert.rejects(reg.register(initech, signedByAcmeVendor.bundle), (e: Error & { code?: string }) => e.code === 'untrusted_data_source' && /not registered/.test(e.message));
  assert.deepEqual(await reg.list('initech'), []);

  // Each tenant registers tickets@1 signed by its own vendor: name@version is unique per tenant, not across them.
  const da = await reg.register(acme, signedByAcmeVendor.bundle);
  const dg = await reg.register(globex, signedByGlobexVendor.bundle);
  assert.notEqual(da.id, dg.id);
  assert.equal(dg.signerIdentity, g.keyId);
  await assert.rejects(reg.register(globex, signedByGlobexVendor.bundle), { code: 'dataset_version_exists' });

  // Retiring acme's vendor leaves globex's untouched: globex's dataset still verifies, acme's no longer does.
  await reg.retireSource(acme, 'vendor');
  assert.equal((await reg.getSource('vendor', 'globex')).retiredAt, null);
  assert.equal((await reg.sourceKeyFor(globex, dg.id)).dataset.id, dg.id);
  await assert.rejects(reg.sourceKeyFor(acme, da.id), (e: Error & { code?: string }) => e.code === 'untrusted_data_source' && /retired/.test(e.message));
});
