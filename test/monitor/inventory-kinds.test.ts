// The inventory's datasets, A2A agents and vector stores, read from the real SQLite stores the planes write: a
// dataset registered but never verified is flagged `unverified`, one declared public with personal-data categories
// `sensitive_but_public`, one kept indefinitely `indefinite_retention`; an agent whose card changed since approval
// `card_changed`, one without card keys `unsigned_card`, one granted to nobody `no_grantees`; every tenant's
// vector stores are listed. (The gateway's wiring of these sources: test/monitor/inventory-e2e.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { buildInventory, type InventoryItem } from '../../src/monitor/inventory.js';
import { SqliteDatasetsStore } from '../../src/store/datasets-sqlite.js';
import type { DatasetRecord } from '../../src/store/datasets-store.js';
import { SqliteAgentStore } from '../../src/agents/store.js';
import { SqliteRetrievalStore } from '../../src/store/retrieval-sqlite.js';
import { openSqlite } from '../../src/store/sqlite.js';

test('datasets, agents and vector stores are in the inventory with their flags', async () => {
  const db = openSqlite(':memory:');
  const datasets = new SqliteDatasetsStore(db);
  const agents = new SqliteAgentStore(db);
  const retrieval = new SqliteRetrievalStore(openSqlite(':memory:'), { index: 'exact-scan' });
  for (const tenant of ['acme', 'globex']) await datasets.insertSource({ tenant, id: 'vendor', publicKeyPem: 'PEM', keyId: 'key:sha256:00', algorithm: 'ed25519', owner: 'o', description: '', createdAt: 1, retiredAt: null });
  const ds = (id: string, over: Partial<DatasetRecord>): DatasetRecord => ({
    id, tenant: 'acme', name: id, version: '1', digest: `sha256:${'0'.repeat(63)}${id.length}`, sourceId: 'vendor', signerIdentity: 'key:sha256:00', owner: 'o', licence: 'CC0-1.0',
    classification: 'internal', categories: [], retention: 'P30D', state: 'verified', signatureBundle: '{}', files: 1, records: 1, verification: null, createdAt: 1, verifiedAt: 2, retiredAt: null, subjectField: null, ...over,
  });
  await datasets.insertDataset(ds('clean', {}));
  await datasets.insertDataset(ds('fresh', { state: 'registered', verifiedAt: null }));
  await datasets.insertDataset(ds('leaky', { tenant: 'globex', classification: 'public', categories: ['pii'], retention: 'indefinite' }));
  const agent = { url: 'https://agent.example/a2a', cardUrl: 'https://agent.example/.well-known/agent-card.json', egress: ['https://agent.example'], actions: ['callAgent'], tenant: 'acme', card: { name: 'x' }, digest: 'sha256:aa', registeredBy: 'ann' };
  await agents.create({ ...agent, id: 'helpdesk', grantees: ['consumers'], cardKeys: { keys: [{ kty: 'OKP' }] } }, 1);
  await agents.create({ ...agent, id: 'orphan', grantees: [], cardKeys: null }, 1);
  assert.equal(await agents.setPending('helpdesk', { name: 'changed' }, 'sha256:bb', 2, 'sha256:aa'), true);
  await retrieval.createStore({ id: 'vs_a', tenant: 'acme', name: 'handbook', classification: 'internal', embeddingModel: 'demo-embed', createdBy: 'w', createdAt: 1, dims: null });
  await retrieval.createStore({ id: 'vs_g', tenant: 'globex', name: 'pricing', classification: 'confidential', embeddingModel: 'demo-embed', createdBy: 'g', createdAt: 1, dims: null });

  const items = await buildInventory({
    clock: new FixedClock(10),
    principals: async () => [],
    keys: async () => [],
    tools: () => [],
    deployments: async () => [],
    configuredModels: () => [],
    datasets: () => datasets.listDatasets(),
    agents: () => agents.list(),
    vectorStores: () => retrieval.listStores(null),
    unusedAfterDays: 30,
    rotateAfterDays: 90,
  });
  const flags = (kind: InventoryItem['kind'], id: string) => items.find((i) => i.kind === kind && i.id === id)?.flags;
  assert.deepEqual(flags('dataset', 'clean'), []);
  assert.deepEqual(flags('dataset', 'fresh'), ['unverified']);
  assert.deepEqual(flags('dataset', 'leaky'), ['sensitive_but_public', 'indefinite_retention']);
  assert.equal(items.find((i) => i.id === 'leaky')!.detail.tenant, 'globex', 'every tenant is listed, with its tenant');
  assert.deepEqual(flags('agent', 'helpdesk'), ['card_changed']);
  assert.deepEqual(flags('agent', 'orphan'), ['unsigned_card', 'no_grantees']);
  assert.deepEqual(items.filter((i) => i.kind === 'vector_store').map((i) => [i.id, i.detail.tenant, i.detail.classification]), [['vs_a', 'acme', 'internal'], ['vs_g', 'globex', 'confidential']]);
  await retrieval.close();
  db.close();
});
