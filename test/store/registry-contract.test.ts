// One contract, two backends: the model registry store (versions, deployments, their states and verification
// results) behaves the same in SQLite (embedded default) and PostgreSQL (cluster). State changes are
// compare-and-set: of parallel moves of one deployment exactly one wins, and a multi-step move (promotion
// retiring the slot's previous deployment) is all or nothing.
import assert from 'node:assert/strict';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteRegistryStore } from '../../src/store/registry-sqlite.js';
import { PostgresRegistryStore } from '../../src/store/registry-postgres.js';
import type { DeploymentRecord, ModelVersionRecord, RegistryStore } from '../../src/store/registry-store.js';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';

const pgTables = pgTestTables();

interface Opened {
  store: RegistryStore;
  close(): Promise<void>;
}

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      return { store: new SqliteRegistryStore(db), close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const store = await PostgresRegistryStore.connect({ connectionString: PG_TEST_URL, prefix: pgTables.newPrefix() });
      return { store, close: () => store.close() };
    },
  },
];

const T0 = 1_700_000_000_000;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function version(id: string, v: string, model = 'llama'): ModelVersionRecord {
  return {
    id, model, version: v, artifactDigest: DIGEST, signatureBundle: '{"mediaType":"x"}', signerIdentity: null,
    // Key order kept as written (both backends store the JSON text).
    provenance: { z: 1, a: [1, 'two', { nested: true }] }, sbom: null, scanReport: null, verification: null, createdAt: T0, verifiedAt: null,
  };
}

function deployment(id: string, versionId: string, extra: Partial<DeploymentRecord> = {}): Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'> {
  return {
    id, versionId, upstream: 'http://127.0.0.1:9001', tier: 'onprem', region: 'eu-west-1', tenant: 'acme',
    attestation: null, state: 'registered', approvals: [], knownGood: false, supersededBy: null, createdAt: T0, updatedAt: T0, promotedAt: null, ...extra,
  };
}

contractCase(backends, 'a deployment and its new version are stored together and read back exactly', async ({ store }) => {
  await store.insertDeployment(deployment('dep_1', 'mv_1', { attestation: { type: 'aws-nitro', referenceValues: { PCR0: 'aa' } } }), version('mv_1', '1.0'));
  const d = (await store.getDeployment('dep_1'))!;
  assert.deepEqual(d, {
    id: 'dep_1', versionId: 'mv_1', model: 'llama', version: '1.0', artifactDigest: DIGEST, upstream: 'http://127.0.0.1:9001', tier: 'onprem', region: 'eu-west-1', tenant: 'acme',
    attestation: { type: 'aws-nitro', referenceValues: { PCR0: 'aa' } }, state: 'registered', approvals: [], knownGood: false, supersededBy: null, createdAt: T0, updatedAt: T0, promotedAt: null,
  });
  assert.deepEqual(await store.getVersion('mv_1'), version('mv_1', '1.0'));
  assert.equal(JSON.stringify((await store.getVersion('mv_1'))!.provenance), '{"z":1,"a":[1,"two",{"nested":true}]}');
  assert.deepEqual(await store.findVersion('llama', '1.0'), version('mv_1', '1.0'));
  assert.equal(await store.findVersion('llama', '2.0'), undefined);
  assert.equal(await store.getDeployment('dep_none'), undefined);
  assert.equal(await store.getVersion('mv_none'), undefined);

  // A second deployment of the same version (another region) reuses it.
  await store.insertDeployment(deployment('dep_2', 'mv_1', { region: 'us-east-1' }));
  assert.deepEqual((await store.listDeployments({ model: 'llama' })).map((x) => x.id), ['dep_1', 'dep_2']);
});

contractCase(backends, 'a version that clashes (same model and version) stores neither it nor its deployment', async ({ store }) => {
  await store.insertDeployment(deployment('dep_1', 'mv_1'), version('mv_1', '1.0'));
  await assert.rejects(store.insertDeployment(deployment('dep_2', 'mv_2'), version('mv_2', '1.0')));
  assert.equal(await store.getDeployment('dep_2'), undefined, 'the deployment went with its failed version');
  assert.equal(await store.getVersion('mv_2'), undefined);
  await assert.rejects(store.insertDeployment(deployment('dep_3', 'mv_missing')), 'a deployment of an unknown version is refused');
});

contractCase(backends, 'listing filters by model, state and tenant, oldest first and then by id', async ({ store }) => {
  await store.insertDeployment(deployment('dep_b', 'mv_1', { createdAt: T0 + 5 }), version('mv_1', '1.0'));
  await store.insertDeployment(deployment('dep_a', 'mv_1', { createdAt: T0 + 5, tenant: 'other' }));
  await store.insertDeployment(deployment('dep_c', 'mv_1', { createdAt: T0 + 1, state: 'promoted' }));
  await store.insertDeployment(deployment('dep_q', 'mv_2', { createdAt: T0 }), version('mv_2', '1.0', 'qwen'));
  assert.deepEqual((await store.listDeployments()).map((x) => x.id), ['dep_q', 'dep_c', 'dep_a', 'dep_b']);
  assert.deepEqual((await store.listDeployments({ model: 'llama' })).map((x) => x.id), ['dep_c', 'dep_a', 'dep_b']);
  assert.deepEqual((await store.listDeployments({ state: 'promoted' })).map((x) => x.id), ['dep_c']);
  assert.deepEqual((await store.listDeployments({ tenant: 'other' })).map((x) => x.id), ['dep_a']);
  assert.deepEqual((await store.listDeployments({ model: 'llama', state: 'registered', tenant: 'acme' })).map((x) => x.id), ['dep_b']);
  assert.deepEqual(await store.listDeployments({ model: 'none' }), []);
});

contractCase(backends, 'a transition is a compare-and-set that applies its patch; a stale one changes nothing', async ({ store }) => {
  await store.insertDeployment(deployment('dep_1', 'mv_1', { supersededBy: 'dep_0' }), version('mv_1', '1.0'));
  assert.equal(await store.transition('dep_1', 'verified', 'promoted', {}, T0 + 1), false, 'not in verified');
  assert.equal((await store.getDeployment('dep_1'))!.state, 'registered');
  assert.equal(await store.transition('dep_1', 'registered', 'verified', {}, T0 + 2), true);
  let d = (await store.getDeployment('dep_1'))!;
  assert.deepEqual([d.state, d.updatedAt, d.supersededBy, d.approvals, d.knownGood], ['verified', T0 + 2, 'dep_0', [], false], 'an empty patch keeps every field');
  assert.equal(await store.transition('dep_1', 'verified', 'promoted', { approvals: ['ann', 'bob'], knownGood: true, promotedAt: T0 + 3, supersededBy: null }, T0 + 3), true);
  d = (await store.getDeployment('dep_1'))!;
  assert.deepEqual([d.state, d.approvals, d.knownGood, d.promotedAt, d.supersededBy], ['promoted', ['ann', 'bob'], true, T0 + 3, null], 'supersededBy: null clears it');
  assert.equal(await store.transition('dep_1', 'promoted', 'quarantined', { knownGood: false, approvals: [] }, T0 + 4), true);
  d = (await store.getDeployment('dep_1'))!;
  assert.deepEqual([d.state, d.approvals, d.knownGood, d.promotedAt], ['quarantined', [], false, T0 + 3]);
  assert.equal(await store.transition('dep_none', 'registered', 'verified', {}, T0), false);
});

contractCase(backends, 'of parallel moves of one deployment exactly one wins', async ({ store }) => {
  await store.insertDeployment(deployment('dep_1', 'mv_1', { state: 'promoted' }), version('mv_1', '1.0'));
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.transition('dep_1', 'promoted', i % 2 ? 'quarantined' : 'retired', {}, T0 + i)));
  assert.equal(results.filter(Boolean).length, 1);
});

contractCase(backends, 'transitionAll is all or nothing', async ({ store }) => {
  await store.insertDeployment(deployment('dep_old', 'mv_1', { state: 'promoted' }), version('mv_1', '1.0'));
  await store.insertDeployment(deployment('dep_new', 'mv_2', { state: 'verified' }), version('mv_2', '2.0'));
  const promoteNew = [
    { id: 'dep_old', from: 'promoted' as const, to: 'retired' as const, patch: { supersededBy: 'dep_new' } },
    { id: 'dep_new', from: 'registered' as const, to: 'promoted' as const, patch: { knownGood: true } },
  ];
  assert.equal(await store.transitionAll(promoteNew, T0 + 1), false, 'dep_new is not registered');
  assert.equal((await store.getDeployment('dep_old'))!.state, 'promoted', 'the first step was rolled back');
  assert.equal((await store.getDeployment('dep_old'))!.supersededBy, null);
  assert.equal(await store.transitionAll([promoteNew[0]!, { ...promoteNew[1]!, from: 'verified' }], T0 + 2), true);
  const [o, n] = [(await store.getDeployment('dep_old'))!, (await store.getDeployment('dep_new'))!];
  assert.deepEqual([o.state, o.supersededBy, n.state, n.knownGood, n.updatedAt], ['retired', 'dep_new', 'promoted', true, T0 + 2]);
});

contractCase(backends, 'approvals are set only while the deployment is in the expected state; verification results are stored', async ({ store }) => {
  await store.insertDeployment(deployment('dep_1', 'mv_1', { state: 'verified' }), version('mv_1', '1.0'));
  assert.equal(await store.setApprovals('dep_1', 'registered', ['ann'], T0 + 1), false);
  assert.equal(await store.setApprovals('dep_1', 'verified', ['ann'], T0 + 1), true);
  assert.deepEqual((await store.getDeployment('dep_1'))!.approvals, ['ann']);
  await store.setVersionVerification('mv_1', { signerIdentity: 'key:abc', scanReport: { ok: true, issues: [] }, verification: { files: 2, bytes: 10 }, verifiedAt: T0 + 9 });
  const v = (await store.getVersion('mv_1'))!;
  assert.deepEqual([v.signerIdentity, v.scanReport, v.verification, v.verifiedAt], ['key:abc', { ok: true, issues: [] }, { files: 2, bytes: 10 }, T0 + 9]);
});
