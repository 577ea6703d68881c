// One contract, two backends: the dataset store (data sources, datasets, lineage, trainOn decisions) behaves the
// same in SQLite (embedded default) and PostgreSQL (cluster). PostgreSQL cases skip with a reason outside CI when
// no server answers on 127.0.0.1:5432, and fail in CI. Each case uses its own table prefix, dropped afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contractCase, olderSchema, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteDatasetsStore } from '../../src/store/datasets-sqlite.js';
import { DATASETS_MIGRATIONS, PostgresDatasetsStore } from '../../src/store/datasets-postgres.js';
import type { DataSourceRecord, DatasetRecord, DatasetsStore, TrainingRunRecord } from '../../src/store/datasets-store.js';

const pgTables = pgTestTables();

interface Opened {
  store: DatasetsStore;
  /** Another connection pool on the same tables (another replica), where the backend has one. */
  second?: () => Promise<DatasetsStore>;
  close(): Promise<void>;
}

const backends: StoreBackend<Opened>[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = openSqlite(':memory:');
      return { store: new SqliteDatasetsStore(db), close: async () => void db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const prefix = pgTables.newPrefix();
      const s = await PostgresDatasetsStore.connect({ connectionString: PG_TEST_URL, prefix });
      const others: PostgresDatasetsStore[] = [];
      const second = async () => {
        const o = await PostgresDatasetsStore.connect({ connectionString: PG_TEST_URL, prefix });
        others.push(o);
        return o;
      };
      return { store: s, second, close: async () => void (await Promise.all([s.close(), ...others.map((o) => o.close())])) };
    },
  },
];

const withStore = (name: string, fn: (s: DatasetsStore, second?: () => Promise<DatasetsStore>) => Promise<void>) => contractCase(backends, name, (o) => fn(o.store, o.second));

const source = (id: string, over: Partial<DataSourceRecord> = {}): DataSourceRecord => ({
  tenant: 'acme', id, publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n', keyId: `key:sha256:${'a'.repeat(64)}`, algorithm: 'ed25519',
  owner: 'vendor@acme', description: '', createdAt: 1_700_000_000_000, retiredAt: null, ...over,
});

const dataset = (id: string, over: Partial<DatasetRecord> = {}): DatasetRecord => ({
  id, tenant: 'acme', name: 'tickets', version: '1', digest: `sha256:${'b'.repeat(64)}`, sourceId: 'vendor', signerIdentity: `key:sha256:${'a'.repeat(64)}`,
  owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: ['pii', 'financial'], retention: 'P365D', state: 'registered',
  signatureBundle: '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}', files: 2, records: 41, verification: null,
  createdAt: 1_700_000_000_000, verifiedAt: null, retiredAt: null, subjectField: null, ...over,
});

withStore('sources round-trip, list in order, and retire once', async (s) => {
  assert.equal(await s.getSource('acme', 'vendor'), undefined);
  await s.insertSource(source('vendor'));
  await s.insertSource(source('Another', { createdAt: 1_700_000_000_000 }));
  assert.deepEqual(await s.getSource('acme', 'vendor'), source('vendor'));
  assert.deepEqual((await s.listSources('acme')).map((x) => x.id), ['Another', 'vendor'], 'created_at, then id in byte order');
  await assert.rejects(s.insertSource(source('vendor')), 'a source id is unique within its tenant');
  assert.equal(await s.retireSource('acme', 'vendor', 5), true);
  assert.equal(await s.retireSource('acme', 'vendor', 6), false, 'retired once');
  assert.equal((await s.getSource('acme', 'vendor'))!.retiredAt, 5);
});

withStore('sources belong to a tenant: the same id in two tenants, each seen, listed and retired only in its tenant', async (s) => {
  await s.insertSource(source('vendor'));
  const theirs = source('vendor', { tenant: 'globex', keyId: `key:sha256:${'f'.repeat(64)}`, owner: 'globex-vendor' });
  await s.insertSource(theirs);
  assert.deepEqual(await s.getSource('globex', 'vendor'), theirs);
  assert.equal((await s.getSource('acme', 'vendor'))!.owner, 'vendor@acme');
  assert.equal(await s.getSource('initech', 'vendor'), undefined, 'a tenant without the source does not see the others');
  assert.deepEqual((await s.listSources('globex')).map((x) => x.owner), ['globex-vendor']);
  assert.deepEqual(await s.listSources('initech'), []);
  assert.equal(await s.retireSource('initech', 'vendor', 5), false, 'nothing to retire from another tenant');
  assert.equal(await s.retireSource('globex', 'vendor', 5), true);
  assert.equal((await s.getSource('acme', 'vendor'))!.retiredAt, null, 'the source of the same id in the other tenant is untouched');
});

withStore('name@version is unique per tenant; a dataset can only name a source of its own tenant', async (s) => {
  await s.insertSource(source('vendor'));
  await s.insertSource(source('vendor', { tenant: 'globex' }));
  await s.insertDataset(dataset('ds_a'));
  await s.insertDataset(dataset('ds_g', { tenant: 'globex' }));
  assert.equal((await s.findDataset('acme', 'tickets', '1'))!.id, 'ds_a');
  assert.equal((await s.findDataset('globex', 'tickets', '1'))!.id, 'ds_g');
  assert.equal(await s.findDataset('initech', 'tickets', '1'), undefined);
  await assert.rejects(s.insertDataset(dataset('ds_a2', { tenant: 'globex' })), 'tickets@1 twice in one tenant');
  assert.deepEqual((await s.findByDigest(`sha256:${'b'.repeat(64)}`, 'globex')).map((d) => d.id), ['ds_g'], 'found by digest in the tenant asked');
  await s.insertSource(source('only-acme'));
  await assert.rejects(s.insertDataset(dataset('ds_x', { tenant: 'globex', version: '9', sourceId: 'only-acme' })), 'a dataset naming a source of another tenant is refused by the store');
});

withStore('datasets round-trip every field; name@version is unique; found by digest; listed by name, state and tenant', async (s) => {
  await s.insertSource(source('vendor'));
  const d1 = dataset('ds_1');
  await s.insertSource(source('vendor', { tenant: 'globex' }));
  const d2 = dataset('ds_2', { version: '2', tenant: 'globex', createdAt: 1_700_000_000_100 });
  const d3 = dataset('ds_3', { name: 'other', digest: `sha256:${'c'.repeat(64)}`, createdAt: 1_700_000_000_200, verification: { files: 1, path: '/data/x' } });
  for (const d of [d1, d2, d3]) await s.insertDataset(d);
  assert.deepEqual(await s.getDataset('ds_1'), d1);
  assert.deepEqual(await s.getDataset('ds_3'), d3);
  assert.equal(await s.getDataset('ds_9'), undefined);
  assert.deepEqual(await s.findDataset('globex', 'tickets', '2'), d2);
  assert.equal(await s.findDataset('globex', 'tickets', '3'), undefined);
  await assert.rejects(s.insertDataset(dataset('ds_4')), 'the same name and version again is refused');
  assert.deepEqual((await s.findByDigest(d1.digest)).map((d) => d.id), ['ds_1', 'ds_2']);
  assert.deepEqual((await s.findByDigest(d1.digest, 'acme')).map((d) => d.id), ['ds_1']);
  assert.deepEqual((await s.findByDigest(d1.digest, 'globex')).map((d) => d.id), ['ds_2']);
  assert.deepEqual((await s.listDatasets()).map((d) => d.id), ['ds_1', 'ds_2', 'ds_3']);
  assert.deepEqual((await s.listDatasets({ name: 'tickets' })).map((d) => d.id), ['ds_1', 'ds_2']);
  assert.deepEqual((await s.listDatasets({ tenant: 'acme' })).map((d) => d.id), ['ds_1', 'ds_3']);
  assert.deepEqual((await s.listDatasets({ tenant: 'acme', name: 'tickets', state: 'registered' })).map((d) => d.id), ['ds_1']);
  assert.deepEqual(await s.listDatasets({ state: 'verified' }), []);
});

withStore('state changes are compare-and-set; verification is kept; retirement is stamped', async (s) => {
  await s.insertSource(source('vendor'));
  await s.insertDataset(dataset('ds_1'));
  const verification = { files: 2, bytes: 900, records: 41, classificationScan: null, path: '/srv/data/tickets' };
  assert.equal(await s.transition('ds_1', 'verified', 'retired', { at: 3 }), false, 'not in the expected state');
  assert.equal(await s.transition('ds_1', 'registered', 'verified', { verification, at: 4 }), true);
  assert.equal(await s.transition('ds_1', 'registered', 'verified', { verification, at: 5 }), false, 'verified once');
  assert.equal(await s.transition('ds_1', 'verified', 'retired', { at: 6 }), true);
  assert.deepEqual(await s.getDataset('ds_1'), { ...dataset('ds_1'), state: 'retired', verification, verifiedAt: 4, retiredAt: 6 });
});

withStore('lineage events and trainOn decisions come back in the order they were stored', async (s) => {
  await s.insertSource(source('vendor'));
  await s.insertDataset(dataset('ds_1'));
  const event = (job: string) => ({ eventType: 'COMPLETE', eventTime: '2026-12-06T00:00:00.000Z', run: { runId: 'r', facets: {} }, job: { namespace: 'warden', name: job }, inputs: [], outputs: [{ namespace: 'warden-dataset', name: 'tickets@1', facets: { warden_dataset: { id: 'ds_1', state: 'registered' } } }] });
  await s.insertLineage({ datasetId: 'ds_1', digest: 'sha256:1', event: event('data.dataset.register'), at: 1 });
  await s.insertLineage({ datasetId: 'ds_1', digest: 'sha256:2', event: event('data.dataset.verify'), at: 2 });
  assert.deepEqual(await s.listLineage('ds_1'), [{ digest: 'sha256:1', event: event('data.dataset.register'), at: 1 }, { digest: 'sha256:2', event: event('data.dataset.verify'), at: 2 }]);
  assert.deepEqual(await s.listLineage('ds_2'), []);
  const decision = (allow: boolean, at: number, purpose: string | null = null) => ({ datasetId: 'ds_1', model: 'tiny-llm', tenant: 'acme', allow, policyIds: ['p1', 'p2'], policyVersion: 'sha256:v', decidedBy: 'alice', at, purpose });
  await s.insertTrainDecision(decision(false, 1, 'marketing'));
  await s.insertTrainDecision(decision(true, 2));
  assert.deepEqual(await s.listTrainDecisions('ds_1'), [decision(false, 1, 'marketing'), decision(true, 2)], 'the purpose asked for is kept with the decision');
  await assert.rejects(s.insertTrainDecision({ ...decision(true, 3), datasetId: 'ds_missing' }), 'a decision names a stored dataset');
});

withStore('two replicas racing to verify the same dataset: exactly one wins', async (s, second) => {
  await s.insertSource(source('vendor'));
  await s.insertDataset(dataset('ds_1'));
  const other = second ? await second() : s;
  const results = await Promise.all([s.transition('ds_1', 'registered', 'verified', { at: 1 }), other.transition('ds_1', 'registered', 'verified', { at: 2 })]);
  assert.deepEqual(results.filter(Boolean).length, 1);
  assert.equal((await other.getDataset('ds_1'))!.state, 'verified');
});

// Stores written before sources were scoped to a tenant: the source is copied into every tenant whose datasets name
// it (the rest stays in 'default'), and name@version becomes unique per tenant.
const V1_SOURCE = `('vendor', 'pem', 'key:sha256:aa', 'ed25519', 'o', '', 1, NULL)`;
const V1_DATASET = (id: string, tenant: string) => `('${id}', '${tenant}', 'tickets', '1', 'sha256:bb', 'vendor', 'key:sha256:aa', 'o', 'l', 'internal', '[]', 'P1D', 'registered', '{}', 1, 0, NULL, 1, NULL, NULL)`;

test('PostgreSQL: migration 2 gives every tenant whose datasets name a source its own copy, and scopes name@version to the tenant', async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = await olderSchema(pgTables, 'datasets', DATASETS_MIGRATIONS, 1, async (c, p) => {
    await c.query(`INSERT INTO ${p}data_sources (id, public_key_pem, key_id, algorithm, owner, description, created_at, retired_at) VALUES ${V1_SOURCE}`);
    await c.query(`INSERT INTO ${p}datasets VALUES ${V1_DATASET('ds_g', 'globex')}`);
  });
  const s = await PostgresDatasetsStore.connect({ connectionString: PG_TEST_URL, prefix });
  try {
    assert.deepEqual(s.migration.applied, [2, 3, 4, 5]);
    assert.equal((await s.getSource('default', 'vendor'))!.keyId, 'key:sha256:aa');
    assert.equal((await s.getSource('globex', 'vendor'))!.keyId, 'key:sha256:aa', 'copied into the tenant of the dataset that names it');
    assert.equal(await s.getSource('acme', 'vendor'), undefined);
    await s.insertSource(source('vendor'));
    await s.insertDataset(dataset('ds_a', { tenant: 'acme' }));
    assert.equal((await s.findDataset('acme', 'tickets', '1'))!.id, 'ds_a', 'the same name@version in another tenant is now allowed');
    await assert.rejects(s.insertDataset(dataset('ds_a2', { tenant: 'globex', sourceId: 'missing' })), 'the source foreign key holds per tenant');
  } finally {
    await s.close();
  }
});

test('SQLite: a data dir from before tenant-scoped sources is rebuilt the same way', async () => {
  const db = openSqlite(':memory:');
  db.exec(`CREATE TABLE data_sources (id TEXT PRIMARY KEY, public_key_pem TEXT NOT NULL, key_id TEXT NOT NULL, algorithm TEXT NOT NULL,
      owner TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER);
    CREATE TABLE datasets (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
      source_id TEXT NOT NULL REFERENCES data_sources(id), signer_identity TEXT NOT NULL, owner TEXT NOT NULL, licence TEXT NOT NULL,
      classification TEXT NOT NULL, categories TEXT NOT NULL, retention TEXT NOT NULL, state TEXT NOT NULL, signature_bundle TEXT NOT NULL,
      files INTEGER NOT NULL, records INTEGER NOT NULL, verification TEXT, created_at INTEGER NOT NULL, verified_at INTEGER, retired_at INTEGER,
      UNIQUE (name, version));
    CREATE TABLE dataset_lineage (seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), digest TEXT NOT NULL, event TEXT NOT NULL, at INTEGER NOT NULL);
    INSERT INTO data_sources VALUES ${V1_SOURCE};
    INSERT INTO datasets VALUES ${V1_DATASET('ds_g', 'globex')};
    INSERT INTO dataset_lineage (dataset_id, digest, event, at) VALUES ('ds_g', 'sha256:1', '{}', 1);`);
  const s = new SqliteDatasetsStore(db);
  try {
    assert.equal((await s.getSource('default', 'vendor'))!.keyId, 'key:sha256:aa');
    assert.equal((await s.getSource('globex', 'vendor'))!.keyId, 'key:sha256:aa');
    assert.equal((await s.getDataset('ds_g'))!.tenant, 'globex');
    assert.equal((await s.listLineage('ds_g')).length, 1, 'lineage kept, still pointing at its dataset');
    await s.insertSource(source('vendor'));
    await s.insertDataset(dataset('ds_a', { tenant: 'acme' }));
    assert.equal((await s.findDataset('acme', 'tickets', '1'))!.id, 'ds_a');
    await assert.rejects(s.insertDataset(dataset('ds_a2', { tenant: 'globex', sourceId: 'missing' })), 'the source foreign key holds per tenant');
    await s.insertLineage({ datasetId: 'ds_a', digest: 'sha256:2', event: {}, at: 2 });
    assert.deepEqual(db.pragma('foreign_key_check'), [], 'no dangling references after the rebuild');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are on again');
  } finally {
    db.close();
  }
});

test('SQLite: a data dir from before trainOn decisions kept their purpose gains the column; earlier decisions name none', async () => {
  const db = openSqlite(':memory:');
  const s0 = new SqliteDatasetsStore(db);
  await s0.insertSource(source('vendor'));
  await s0.insertDataset(dataset('ds_1'));
  // The table as it was: no purpose column, one decision in it.
  db.exec(`DROP TABLE dataset_train_decisions;
    CREATE TABLE dataset_train_decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL REFERENCES datasets(id), model TEXT NOT NULL, tenant TEXT NOT NULL,
      allow INTEGER NOT NULL, policy_ids TEXT NOT NULL, policy_version TEXT NOT NULL, decided_by TEXT NOT NULL, at INTEGER NOT NULL);
    INSERT INTO dataset_train_decisions (dataset_id, model, tenant, allow, policy_ids, policy_version, decided_by, at) VALUES ('ds_1', 'tiny-llm', 'acme', 1, '["p"]', 'v', 'alice', 1);`);
  const s = new SqliteDatasetsStore(db);
  try {
    await s.insertTrainDecision({ datasetId: 'ds_1', model: 'tiny-llm', tenant: 'acme', allow: false, policyIds: ['q'], policyVersion: 'v', decidedBy: 'bob', at: 2, purpose: 'marketing' });
    assert.deepEqual((await s.listTrainDecisions('ds_1')).map((d) => [d.decidedBy, d.purpose]), [['alice', null], ['bob', 'marketing']]);
  } finally {
    db.close();
  }
});

withStore('a training run ends once (compare-and-set), can be opened again, and is found once its token expired', async (s, second) => {
  const run = (runId: string, expiresAt: number): TrainingRunRecord => ({ runId, tenant: 'acme', model: 'tiny-llm', datasets: ['ds_1', 'ds_2'], issuedBy: 'alice', startedAt: 1, expiresAt, endedAt: null, outcome: null });
  await s.insertTrainingRun(run('r1', 100));
  await s.insertTrainingRun(run('r2', 50));
  await s.insertTrainingRun(run('r3', 500));
  assert.deepEqual(await s.getTrainingRun('r1'), run('r1', 100));
  assert.equal(await s.getTrainingRun('nope'), undefined);
  assert.deepEqual((await s.expiredTrainingRuns(200, 10)).map((r) => r.runId), ['r2', 'r1'], 'oldest expiry first; open runs only');
  assert.deepEqual((await s.expiredTrainingRuns(200, 1)).map((r) => r.runId), ['r2']);
  const other = second ? await second() : s;
  const ends = await Promise.all([s.endTrainingRun('r1', 'COMPLETE', 7), other.endTrainingRun('r1', 'FAIL', 8)]);
  assert.equal(ends.filter(Boolean).length, 1, 'two replicas ending the same run: exactly one wins');
  assert.equal((await s.getTrainingRun('r1'))!.endedAt !== null, true);
  assert.deepEqual((await s.expiredTrainingRuns(200, 10)).map((r) => r.runId), ['r2']);
  await s.reopenTrainingRun('r1');
  assert.deepEqual((await s.getTrainingRun('r1'))!.outcome, null);
  assert.deepEqual((await s.expiredTrainingRuns(200, 10)).map((r) => r.runId), ['r2', 'r1']);
});

withStore('the lineage outbox holds each event once until it is pushed; failures are counted', async (s) => {
  const ev = (n: number) => ({ eventType: 'COMPLETE', run: { runId: `r${n}` } });
  await s.enqueueLineagePush({ digest: 'sha256:b', event: ev(2), at: 2 });
  await s.enqueueLineagePush({ digest: 'sha256:a', event: ev(1), at: 1 });
  await s.enqueueLineagePush({ digest: 'sha256:a', event: ev(1), at: 3 });
  assert.deepEqual(await s.pendingLineagePushes(10), [{ digest: 'sha256:a', event: ev(1), attempts: 0 }, { digest: 'sha256:b', event: ev(2), attempts: 0 }]);
  await s.lineagePushFailed('sha256:a', 'connection refused', 4);
  await s.markLineagePushed('sha256:b', 5);
  assert.deepEqual(await s.pendingLineagePushes(10), [{ digest: 'sha256:a', event: ev(1), attempts: 1 }]);
  await s.markLineagePushed('sha256:a', 6);
  assert.deepEqual(await s.pendingLineagePushes(10), []);
  // Pushed events are pruned by age; a pending one never is.
  await s.enqueueLineagePush({ digest: 'sha256:c', event: ev(3), at: 7 });
  assert.equal(await s.pruneLineagePushed(6), 1, 'only b was pushed before 6');
  assert.equal(await s.pruneLineagePushed(1_000), 1, 'then a; c is still pending');
  assert.deepEqual(await s.pendingLineagePushes(10), [{ digest: 'sha256:c', event: ev(3), attempts: 0 }]);
});

withStore('a declared subject field round-trips; erased records are stored once and listed by range', async (s) => {
  await s.insertSource(source('vendor'));
  await s.insertDataset(dataset('ds_1', { subjectField: 'customer_id' }));
  assert.equal((await s.getDataset('ds_1'))!.subjectField, 'customer_id');
  const erased = (index: number, file = 'a.jsonl') => ({ datasetId: 'ds_1', file, index, erasedAt: 9 });
  assert.equal(await s.insertRecordErasures([]), 0);
  assert.equal(await s.insertRecordErasures([erased(3), erased(7), erased(3, 'b.csv')]), 3);
  assert.equal(await s.insertRecordErasures([erased(3), erased(8)]), 1, 'a record already erased is not counted again');
  assert.deepEqual(await s.erasedRecords('ds_1', 'a.jsonl', 0, 100), [3, 7, 8]);
  assert.deepEqual(await s.erasedRecords('ds_1', 'a.jsonl', 4, 8), [7], 'from inclusive, to exclusive');
  assert.deepEqual(await s.erasedRecords('ds_1', 'b.csv', 0, 100), [3]);
  assert.deepEqual(await s.erasedRecords('ds_2', 'a.jsonl', 0, 100), []);
  await assert.rejects(s.insertRecordErasures([{ ...erased(1), datasetId: 'ds_missing' }]), 'an erasure names a stored dataset');
});
