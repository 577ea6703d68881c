// The promotion gate resolves a model's training datasets in the deployment's tenant and the platform tenant only
// (real SQLite store): tenant B's dataset with B's trainOn approval does not let a model of tenant A be promoted,
// even with the same digest; the platform's datasets feed any tenant's slot, approved by a decision about the
// platform's model or this tenant's; a decision about another tenant's model never counts.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Principal } from '../../../src/core/types.js';
import { explainTrainingData, trainingDataGate } from '../../../src/data/datasets/gate.js';
import { DatasetRegistry } from '../../../src/data/datasets/registry.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { verifyDataset } from '../../../src/data/datasets/verify-dataset.js';
import { SqliteDatasetsStore } from '../../../src/store/datasets-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-gate-tenants-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const admin = (id: string, tenant: string): Principal => ({ kind: 'user', id, tenant, groups: ['admins'], authn: { method: 'api_key', credentialId: `key_${id}` }, scope: { models: ['*'], actions: ['*'] }, admin: true });
const allow = () => ({ allow: true, policyIds: ['p'], policyVersion: 'v', obligations: [], reasons: [] });

test('the gate finds training datasets only in the deployment tenant and the platform tenant', async () => {
  const reg = new DatasetRegistry({ store: new SqliteDatasetsStore(openSqlite(join(tmp, 'warden.db'))), audit: () => {} });
  const pair = generateKeyPairSync('ed25519');
  const pub = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const dir = join(tmp, 'ds');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  const signed = await signDataset(dir, { name: 'tickets', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P1D' }, pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string));
  const verified = await verifyDataset(dir, signed.bundle, pair.publicKey);
  const ref = { uri: 'warden-dataset:tickets@1', digest: { sha256: signed.digest.replace(/^sha256:/, '') } };
  const admit = async (p: Principal) => {
    await reg.registerSource(p, { id: 'vendor', publicKey: pub, owner: 'v' });
    const d = await reg.register(p, signed.bundle);
    await reg.markVerified(p, d.id, verified, null, dir);
    return d;
  };
  const acmeDep = { model: 'm', tenant: 'acme' };

  // Tenant globex registers, verifies and approves the dataset for its model m.
  const globex = admin('gina', 'globex');
  const g = await admit(globex);
  await reg.trainOn(globex, g.id, { model: 'm', tenant: 'globex' }, allow);
  assert.deepEqual((await explainTrainingData(reg, { model: 'm', tenant: 'globex' }, [ref])).map((s) => [s.dataset, s.ok]), [[g.id, true]], 'allowed in its own tenant');
  // A model of acme with the same digest in its provenance: globex's dataset and approval are not seen.
  const [s] = await explainTrainingData(reg, acmeDep, [ref]);
  assert.equal(s!.ok, false);
  assert.equal(s!.dataset, null, 'the other tenant\'s dataset is not even named');
  assert.match(s!.reason!, /^warden-dataset:tickets@1 \(sha256:[0-9a-f]{12}…\) is not a registered dataset of tenant acme or the platform tenant system$/);
  assert.match((await trainingDataGate(reg)(acmeDep, [ref]))!, /^training data: .*not a registered dataset of tenant acme/);

  // The platform registers the same data; a decision about globex's model on it does not approve acme's.
  const platform = admin('admin', 'system');
  const sys = await admit(platform);
  await reg.trainOn(platform, sys.id, { model: 'm', tenant: 'globex' }, allow);
  const [p] = await explainTrainingData(reg, acmeDep, [ref]);
  assert.deepEqual([p!.dataset, p!.ok], [sys.id, false]);
  assert.match(p!.reason!, /tickets@1 is not approved for m \(no allowing trainOn decision\)/);
  // Approved for the platform's model m (the platform-admin flow): acme's slot may use it.
  await reg.trainOn(platform, sys.id, { model: 'm', tenant: 'system' }, allow);
  assert.deepEqual((await explainTrainingData(reg, acmeDep, [ref])).map((x) => [x.dataset, x.ok]), [[sys.id, true]]);
  assert.equal(await trainingDataGate(reg)(acmeDep, [ref]), null);
  // Or approved for acme's own model m.
  const other = { model: 'n', tenant: 'acme' };
  assert.equal((await explainTrainingData(reg, other, [ref]))[0]!.ok, false);
  await reg.trainOn(platform, sys.id, { model: 'n', tenant: 'acme' }, allow);
  assert.equal(await trainingDataGate(reg)(other, [ref]), null);
  // And a deployment of the platform tenant itself uses the platform's dataset, not globex's.
  assert.deepEqual((await explainTrainingData(reg, { model: 'm', tenant: 'system' }, [ref])).map((x) => [x.dataset, x.ok]), [[sys.id, true]]);
});
