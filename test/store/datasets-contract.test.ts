// One contract, two backends: the dataset store (data sources, datasets, lineage, trainOn decisions) behaves the
// same in SQLite (embedded default) and PostgreSQL (cluster). PostgreSQL cases skip with a reason outside CI when
// no server answers on 127.0.0.1:5432, and fail in CI. Each case uses its own table prefix, dropped afterwards.
import assert from 'node:assert/strict';
import { contractCase, PG_TEST_URL, pgTestTables, type StoreBackend } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteDatasetsStore } from '../../src/store/datasets-sqlite.js';
import { PostgresDatasetsStore } from '../../src/store/datasets-postgres.js';
import type { DataSourceRecord, DatasetRecord, DatasetsStore } from '../../src/store/datasets-store.js';

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
  id, publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n', keyId: `key:sha256:${'a'.repeat(64)}`, algorithm: 'ed25519',
  owner: 'vendor@acme', description: '', createdAt: 1_700_000_000_000, retiredAt: null, ...over,
});

const dataset = (id: string, over: Partial<DatasetRecord> = {}): DatasetRecord => ({
  id, tenant: 'acme', name: 'tickets', version: '1', digest: `sha256:${'b'.repeat(64)}`, sourceId: 'vendor', signerIdentity: `key:sha256:${'a'.repeat(64)}`,
  owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: ['pii', 'financial'], retention: 'P365D', state: 'registered',
  signatureBundle: '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}', files: 2, records: 41, verification: null,
  createdAt: 1_700_000_000_000, verifiedAt: null, retiredAt: null, ...over,
});

withStore('sources round-trip, list in order, and retire once', async (s) => {
  assert.equal(await s.getSource('vendor'), undefined);
  await s.insertSource(source('vendor'));
  await s.insertSource(source('Another', { createdAt: 1_700_000_000_000 }));
  assert.deepEqual(await s.getSource('vendor'), source('vendor'));
  assert.deepEqual((await s.listSources()).map((x) => x.id), ['Another', 'vendor'], 'created_at, then id in byte order');
  await assert.rejects(s.insertSource(source('vendor')), 'a source id is unique');
  assert.equal(await s.retireSource('vendor', 5), true);
  assert.equal(await s.retireSource('vendor', 6), false, 'retired once');
  assert.equal((await s.getSource('vendor'))!.retiredAt, 5);
});

withStore('datasets round-trip every field; name@version is unique; found by digest; listed by name, state and tenant', async (s) => {
  await s.insertSource(source('vendor'));
  const d1 = dataset('ds_1');
  const d2 = dataset('ds_2', { version: '2', tenant: 'globex', createdAt: 1_700_000_000_100 });
  const d3 = dataset('ds_3', { name: 'other', digest: `sha256:${'c'.repeat(64)}`, createdAt: 1_700_000_000_200, verification: { files: 1, path: '/data/x' } });
  for (const d of [d1, d2, d3]) await s.insertDataset(d);
  assert.deepEqual(await s.getDataset('ds_1'), d1);
  assert.deepEqual(await s.getDataset('ds_3'), d3);
  assert.equal(await s.getDataset('ds_9'), undefined);
  assert.deepEqual(await s.findDataset('tickets', '2'), d2);
  assert.equal(await s.findDataset('tickets', '3'), undefined);
  await assert.rejects(s.insertDataset(dataset('ds_4')), 'the same name and version again is refused');
  assert.deepEqual((await s.findByDigest(d1.digest)).map((d) => d.id), ['ds_1', 'ds_2']);
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
  const decision = (allow: boolean, at: number) => ({ datasetId: 'ds_1', model: 'tiny-llm', tenant: 'acme', allow, policyIds: ['p1', 'p2'], policyVersion: 'sha256:v', decidedBy: 'alice', at });
  await s.insertTrainDecision(decision(false, 1));
  await s.insertTrainDecision(decision(true, 2));
  assert.deepEqual(await s.listTrainDecisions('ds_1'), [decision(false, 1), decision(true, 2)]);
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
