// The dataset registry across replicas: two in-process Wardens on one PostgreSQL dataset store (and Redis), real
// TLS, one ledger. A source and a signed dataset registered through replica A are verified and read through
// replica B; a training token A issued reads records through B; the dataset retired through B is then refused
// through A (its records, a second verification, a new token), and both replicas show one lineage and one ledger.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { startTestCluster } from '../../helpers/cluster.js';
import { requireService } from '../../helpers/services.js';
import type { TestWarden } from '../../helpers/warden.js';

const LINES = Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `ticket ${i} about billing`, label: i % 2 ? 'billing' : 'other' }));

test('register and sign through replica A, verify and read through B, retire on B: refused on A', { timeout: 180_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2);
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const call = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: cl.adminKey, ...(body !== undefined ? { body } : {}) });

  const pair = generateKeyPairSync('ed25519');
  await cl.adminOk(a, 'POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
  assert.deepEqual((await cl.adminOk(b, 'GET', '/admin/v1/data-sources')).data.map((s: { id: string }) => s.id), ['vendor'], 'B sees the source A registered');

  const dir = join(cl.root, 'tickets');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
  const signed = await signDataset(dir, { name: 'tickets', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string));
  const d = await cl.adminOk(a, 'POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
  assert.equal(d.state, 'registered');
  const again = await call(b, 'POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
  assert.equal(again.status, 409, 'name@version is unique across replicas');
  assert.equal(again.json.error.code, 'dataset_version_exists');

  // Verified through B, under the source key A registered.
  const v = await cl.adminOk(b, 'POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
  assert.equal(v.state, 'verified');
  assert.equal((await cl.adminOk(a, 'GET', `/admin/v1/datasets/${d.id}`)).state, 'verified', 'A reads the state B wrote');
  const twice = await call(a, 'POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
  assert.equal(twice.status, 409);
  assert.equal(twice.json.error.code, 'invalid_transition');

  // A issues the training token; B serves the records it names.
  const tok = await cl.adminOk(a, 'POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [d.id] });
  const read = (r: TestWarden) => r.call('inference', 'GET', `/v1/datasets/${d.id}/records?file=train.jsonl&limit=3`, { key: tok.access_token });
  const onB = await read(b);
  assert.equal(onB.status, 200, onB.text);
  assert.deepEqual(onB.json.records.map((x: { text: string }) => x.text), LINES.slice(0, 3));

  // Retired through B: A refuses to serve it, to verify it again, or to issue a token for it.
  assert.equal((await cl.adminOk(b, 'POST', `/admin/v1/datasets/${d.id}/retire`, {})).state, 'retired');
  const onA = await read(a);
  assert.equal(onA.status, 409, onA.text);
  assert.equal(onA.json.error.code, 'dataset_not_readable');
  const reverify = await call(a, 'POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
  assert.equal(reverify.status, 409);
  const token = await call(a, 'POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [d.id] });
  assert.equal(token.status, 409, token.text);
  assert.equal(token.json.error.code, 'invalid_transition');

  // One lineage, whichever replica wrote each event: register (A), verify (B), training START (A), retire (B).
  for (const r of [a, b]) {
    const events = (await cl.adminOk(r, 'GET', `/admin/v1/datasets/${d.id}/lineage`)).events as { event: { eventType: string; job: { name: string } } }[];
    assert.deepEqual(events.map((e) => `${e.event.eventType} ${e.event.job.name}`), ['COMPLETE data.dataset.register', 'COMPLETE data.dataset.verify', 'START train.tiny-llm', 'COMPLETE data.dataset.retire']);
  }
  // Each replica wrote its share of the ledger entries: the refused read on A and the allowed read on B.
  assert.ok(b.audits().some((e) => e.action === 'data.dataset.read' && e.decision === 'allow'));
  assert.ok(a.audits().some((e) => e.action === 'data.dataset.read' && e.decision === 'deny' && e.errorCode === 'dataset_not_readable'));
});
