// Vector stores across replicas: two in-process Wardens on one PostgreSQL retrieval store (and Redis), real TLS,
// the real PDP with the starter policies, embeddings from the built-in demo upstream (a labelled FAKE model) through
// each replica's own embeddings stages. A store created and filled through replica A is searched through replica B
// (chunk text opened there under the shared KEK); a principal without clearance never gets the confidential chunk
// through either replica; an erasure and a deletion through B are what A answers afterwards; neither replica keeps a
// local retrieval.db. Sam's chunks are sealed under his subject key in the shared table: after the erasure a copy of
// them (a dump, a dead row) no longer opens.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { Keyring, LocalFileKek, SubjectErased, SubjectKeys } from '../../../src/data/crypto/index.js';
import { chunkText } from '../../../src/data/retrieval/index.js';
import { PostgresRetrievalStore } from '../../../src/store/retrieval-postgres.js';
import { chunkAad } from '../../../src/store/retrieval-store.js';
import { PG_URL, sharedKekFile, startTestCluster } from '../../helpers/cluster.js';
import { requireService } from '../../helpers/services.js';
import { multipart } from '../../helpers/multipart.js';
import type { TestWarden } from '../../helpers/warden.js';

const SECRET = 'Project Nightjar acquisition target is Globex Corp at 41 dollars per share';
const FAQ = ['Our office opens at nine in the morning on weekdays', 'Parking permits are issued by the facilities desk', 'The library lends laptops for up to three days'];
const UPLOADED = 'Visitors collect their badges at the east lobby desk';
const TICKET = 'Sam Rivers asked for a refund on order 7781 and his address is 12 Elm Street';
const SMALL_CHUNKS = { type: 'static', static: { max_chunk_size_tokens: 16, chunk_overlap_tokens: 0 } };
const first = (text: string) => chunkText(text, { maxTokens: 16, overlapTokens: 0 })[0]!;
const texts = (r: { json: any }): string[] => (r.json?.data ?? []).map((d: any) => d.content[0].text as string);

test('a vector store filled through replica A is searched, erased from and deleted through replica B; clearance holds on both', { timeout: 180_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const cl = await startTestCluster(2, (c) => {
    c.monitor.enabled = false; // many searches from one principal would (rightly) look like extraction
  });
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const key: Record<string, string> = {};
  for (const [id, groups] of [
    ['wendy', ['consumers', 'retrieval-writers', 'clearance:restricted']],
    ['carl', ['consumers']],
    ['sam', ['consumers']],
  ] as const) {
    await cl.adminOk(a, 'POST', '/admin/v1/principals', { id, tenant: 'acme', groups });
    key[id] = (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: id, models: ['demo-embed'], actions: ['*'] })).key;
  }
  const call = (r: TestWarden, who: string, method: string, path: string, body?: unknown) => r.call('inference', method, path, { key: key[who]!, ...(body !== undefined ? { body } : {}) });

  const created = await call(a, 'wendy', 'POST', '/v1/vector_stores', { name: 'handbook', embedding_model: 'demo-embed' });
  assert.equal(created.status, 200, created.text);
  const store = created.json.id as string;
  const add = async (content: string, extra: Record<string, unknown>) => {
    const r = await call(a, 'wendy', 'POST', `/v1/vector_stores/${store}/files`, { content, chunking_strategy: SMALL_CHUNKS, ...extra });
    assert.equal(r.status, 200, r.text);
  };
  for (const line of FAQ) await add(line, { classification: 'public' });
  await add(SECRET, { classification: 'confidential' });
  await add(TICKET, { classification: 'internal', subject: 'sam' });

  // A file uploaded through A (OpenAI's Files API, multipart) is added to the store through B by its file_id.
  const up = await a.call('inference', 'POST', '/v1/files', { key: key.wendy!, ...(await multipart({ purpose: 'assistants', file: { name: 'uploaded.txt', bytes: UPLOADED } })) });
  assert.equal(up.status, 200, up.text);
  const attached = await call(b, 'wendy', 'POST', `/v1/vector_stores/${store}/files`, { file_id: up.json.id, chunking_strategy: SMALL_CHUNKS });
  assert.equal(attached.status, 200, attached.text);
  assert.equal((await call(a, 'wendy', 'GET', `/v1/vector_stores/${store}/files/${up.json.id}`)).json.status, 'completed', 'A sees the file B added');

  // B lists and reads what A wrote, and opens the chunk text (sealed under the tenant's KEK, shared by the replicas).
  const listed = await call(b, 'wendy', 'GET', `/v1/vector_stores/${store}/files`);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.json.data.length, 6);
  const cleared = await call(b, 'wendy', 'POST', `/v1/vector_stores/${store}/search`, { query: first(SECRET), max_num_results: 1 });
  assert.equal(cleared.status, 200, cleared.text);
  assert.deepEqual(texts(cleared), [first(SECRET)], 'B finds and opens the chunk A stored');

  // Carl (no clearance) asks both replicas for the secret in many phrasings: never returned, public answers still come.
  const queries = [first(SECRET), SECRET, 'Nightjar', 'acquisition target', 'Globex share price', ...FAQ.map(first)];
  for (const r of [a, b]) {
    for (const q of queries) {
      const res = await call(r, 'carl', 'POST', `/v1/vector_stores/${store}/search`, { query: q, max_num_results: 10 });
      assert.equal(res.status, 200, res.text);
      assert.ok(!texts(res).some((x) => x.includes('Nightjar')), `the confidential chunk reached carl through ${r === a ? 'A' : 'B'}`);
      assert.ok(texts(res).length > 0, 'public chunks are still answered');
    }
  }

  // Sam erased through B (the admin API): A's searches no longer return the ticket.
  const before = await call(a, 'wendy', 'POST', `/v1/vector_stores/${store}/search`, { query: first(TICKET), max_num_results: 1 });
  assert.deepEqual(texts(before), [first(TICKET)]);
  // A copy of Sam's sealed chunks as a database dump or a dead row would keep them: sealed under his subject key.
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  t.after(() => pgc.end());
  const copies = (await pgc.query<{ sealed: Buffer; store_id: string; file_id: string; position: number }>(`SELECT sealed, store_id, file_id, position FROM ${cl.prefix}retrieval_chunks WHERE subject = 'sam'`)).rows;
  assert.ok(copies.length > 0 && copies.every((c) => c.sealed.subarray(0, 4).toString() === 'WSK1'));
  const erased = await cl.adminOk(b, 'POST', '/admin/v1/principals/sam/erase', {});
  assert.equal(erased.retrieval_chunks_deleted, chunkText(TICKET, { maxTokens: 16, overlapTokens: 0 }).length);
  assert.equal(erased.retrieval_files_deleted, 1);
  assert.equal(erased.subject_keys_destroyed, 1);
  // The shared key is destroyed (a tombstone left): the copies no longer open on any replica, and nothing new about Sam is stored.
  assert.deepEqual((await pgc.query(`SELECT tenant, subject, wrapped FROM ${cl.prefix}subject_keys WHERE subject = 'sam'`)).rows, [{ tenant: 'acme', subject: 'sam', wrapped: null }]);
  const shared = await PostgresRetrievalStore.connect({ connectionString: PG_URL, prefix: cl.prefix });
  t.after(() => shared.close());
  const keyring = new Keyring({ kek: LocalFileKek.open(sharedKekFile(cl.root)) });
  const keys = new SubjectKeys(keyring, shared.subjectKeys(), () => Date.now());
  for (const c of copies) await assert.rejects(keys.open(chunkAad(c.store_id, c.file_id, c.position), c.sealed), SubjectErased);
  const again = await call(a, 'wendy', 'POST', `/v1/vector_stores/${store}/files`, { content: 'Sam Rivers again', subject: 'sam' });
  assert.deepEqual([again.status, again.json.error.code], [410, 'subject_erased']);
  const afterErase = await call(a, 'wendy', 'POST', `/v1/vector_stores/${store}/search`, { query: first(TICKET), max_num_results: 10 });
  assert.equal(afterErase.status, 200, afterErase.text);
  assert.ok(!texts(afterErase).some((x) => x.includes('Sam Rivers')), 'the erased subject is gone from A too');

  // Deleted through B: A no longer knows the store.
  const del = await call(b, 'wendy', 'DELETE', `/v1/vector_stores/${store}`);
  assert.equal(del.status, 200, del.text);
  const gone = await call(a, 'wendy', 'GET', `/v1/vector_stores/${store}`);
  assert.equal(gone.status, 404, gone.text);
  assert.equal(gone.json.error.code, 'vector_store_not_found');
  for (const r of [a, b]) assert.equal(existsSync(join(r.w.dataDir, 'retrieval.db')), false, 'no local retrieval store in a cluster');
});
