// The retrieval store contract, run against every nearest-neighbour query the stores have: the SQLite store with
// the sqlite-vec extension (as shipped by its registry package), the SQLite store's exact cosine scan (used when the
// extension cannot load), and the PostgreSQL store replicas share (an exact scan computed in the server; two store
// instances on one table prefix stand for two replicas: what one writes, the other answers). All must return the
// same candidates, never outside the tenant, the store or the classification rank asked, never an expired chunk,
// and forget a subject's chunks (vectors included) on erasure.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { openSqlite } from '../../../src/store/sqlite.js';
import { SqliteRetrievalStore } from '../../../src/store/retrieval-sqlite.js';
import { PostgresRetrievalStore } from '../../../src/store/retrieval-postgres.js';
import { FileIdTaken, type NewChunk, type RetrievalStore, type VectorFileRecord } from '../../../src/store/retrieval-store.js';
import { PG_TEST_URL, pgTestTables } from '../../helpers/contract.js';

const pgTables = pgTestTables();

/** Two PostgreSQL store instances on one fresh prefix (two replicas), or why PostgreSQL cannot be used here. */
async function pgPair(): Promise<{ a: PostgresRetrievalStore; b: PostgresRetrievalStore; prefix: string } | string> {
  const skip = pgTables.skip();
  if (skip) return skip;
  const prefix = pgTables.newPrefix();
  const a = await PostgresRetrievalStore.connect({ connectionString: PG_TEST_URL, prefix });
  const b = await PostgresRetrievalStore.connect({ connectionString: PG_TEST_URL, prefix });
  return { a, b, prefix };
}

async function pgQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

const DIMS = 8;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** The same content in every store: two tenants' stores, one file with a data subject. `read` may be another replica. */
async function fill(store: RetrievalStore) {
  const rnd = seeded(7);
  const vec = () => Float32Array.from({ length: DIMS }, rnd);
  for (const [tenant, id] of [['acme', 'vs_a'], ['globex', 'vs_g']] as const) {
    await store.createStore({ id, tenant, name: id, classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 1, dims: null });
  }
  const file = (id: string, storeId: string, tenant: string, subject: string | null): VectorFileRecord => ({ id, storeId, tenant, filename: id, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'restricted', access: [], subject, chunks: 0, createdBy: 'w', createdAt: 1, expiresAt: null });
  const chunks = (n: number, tag = 'sealed'): NewChunk[] =>
    Array.from({ length: n }, (_, i) => ({ embedding: vec(), position: i, sealed: Buffer.from(`${tag}-${i}`), classification: ['public', 'internal', 'confidential', 'restricted'][i % 4]!, rank: i % 4, expiresAt: null, findings: { injectionScore: 0, injectionSignals: [], types: [] } }));
  await store.addFile(file('f1', 'vs_a', 'acme', null), chunks(40));
  const sam = chunks(12, 'sam-sealed');
  await store.addFile(file('f2', 'vs_a', 'acme', 'sam'), sam);
  await store.addFile(file('f3', 'vs_g', 'globex', null), chunks(40));
  return { query: vec, samVectors: sam.map((c) => Buffer.from(c.embedding.buffer)) };
}

test('sqlite-vec loads here, and every index answers the same candidates within tenant, store and rank (PostgreSQL: through another replica)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const vec = new SqliteRetrievalStore(openSqlite(join(dir, 'vec.db')));
  const scan = new SqliteRetrievalStore(openSqlite(join(dir, 'scan.db')), { index: 'exact-scan' });
  t.after(() => Promise.all([vec.close(), scan.close()]));
  assert.equal(vec.index, 'sqlite-vec', `sqlite-vec did not load: ${vec.fallbackReason}`);
  assert.equal(scan.index, 'exact-scan');
  const pair = await pgPair();
  if (typeof pair === 'string') t.diagnostic(`PostgreSQL store not compared: ${pair}`);
  else t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  // PostgreSQL: written through replica a, answered by replica b.
  const others: [string, RetrievalStore][] = [['sqlite-vec', vec], ...(typeof pair === 'string' ? [] : ([['postgres', pair.b]] as [string, RetrievalStore][]))];
  const { query } = await fill(vec);
  await fill(scan);
  if (typeof pair !== 'string') await fill(pair.a);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 60 }), fc.constantFrom('acme', 'globex'), fc.integer({ min: 0, max: 1000 }), async (maxRank, limit, tenant, _n) => {
      const q = { tenant, storeId: tenant === 'acme' ? 'vs_a' : 'vs_g', maxRank, embedding: query(), limit, nowMs: 1 };
      const want = await scan.nearest(q);
      for (const [name, store] of others) {
        const got = await store.nearest(q);
        assert.deepEqual(got.map((c) => c.chunkId), want.map((c) => c.chunkId), name);
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]!.distance - want[i]!.distance) < 1e-5, name);
        const rows = await store.chunks(got.map((c) => c.chunkId), 1);
        assert.equal(rows.size, got.length, name);
        for (const r of rows.values()) {
          assert.equal(r.tenant, tenant);
          assert.equal(r.storeId, q.storeId);
          assert.ok(r.rank <= maxRank);
          assert.ok(r.sealed.toString().startsWith(r.subject === 'sam' ? 'sam-sealed-' : 'sealed-'), name);
        }
        // A store of another tenant answers nothing, whatever is asked.
        assert.deepEqual(await store.nearest({ ...q, storeId: tenant === 'acme' ? 'vs_g' : 'vs_a' }), [], name);
      }
    }),
    { numRuns: 200 },
  );
});

const ERASE_QUERY = { tenant: 'acme', storeId: 'vs_a', maxRank: 3, embedding: new Float32Array(DIMS).fill(0.5), limit: 100, nowMs: 1 };

/** Erases `sam` through `s` (another replica `other` answers the same afterwards); the store-specific traces are checked by the caller. */
async function erase(s: RetrievalStore, other: RetrievalStore): Promise<void> {
  const before = await other.nearest(ERASE_QUERY);
  assert.equal(before.length, 52);
  const samIds = new Set([...(await other.chunks(before.map((c) => c.chunkId), 1)).values()].filter((c) => c.subject === 'sam').map((c) => c.id));
  assert.equal(samIds.size, 12);
  assert.deepEqual(await other.countSubject('sam'), { files: 1, chunks: 12 });
  assert.deepEqual(await s.eraseSubject('sam'), { files: 1, chunks: 12 });
  assert.deepEqual(await other.countSubject('sam'), { files: 0, chunks: 0 });
  const after = await other.nearest(ERASE_QUERY);
  assert.equal(after.length, 40);
  assert.ok(after.every((c) => !samIds.has(c.chunkId)));
  assert.equal((await other.chunks([...samIds], 1)).size, 0, 'an erased chunk is not handed out by id either');
  assert.equal((await other.listFiles('acme', 'vs_a', 1)).length, 1);
}

test('erasing a subject removes its chunks and files from every index, and (SQLite) its vectors and sealed text from the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-erase-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const index of ['auto', 'exact-scan'] as const) {
    const file = join(dir, `${index}.db`);
    const s = new SqliteRetrievalStore(openSqlite(file), { index });
    const { samVectors } = await fill(s);
    await s.close();
    assert.ok(readFileSync(file).includes(Buffer.from('sam-sealed-')) || readFileSync(file + '-wal').includes(Buffer.from('sam-sealed-')), 'setup: the sealed bytes are in the file');
    const s2 = new SqliteRetrievalStore(openSqlite(file), { index });
    await erase(s2, s2);
    await s2.close();
    // secure_delete and the zeroed vec0 slots: neither the sealed text nor the vectors of the erased chunks are left.
    const bytes = Buffer.concat([readFileSync(file), ...(existsSync(file + '-wal') ? [readFileSync(file + '-wal')] : [])]);
    assert.equal(bytes.includes(Buffer.from('sam-sealed-')), false, `${s2.index}: sealed text left in the file`);
    for (const v of samVectors) assert.equal(bytes.includes(v), false, `${s2.index}: an erased vector is left in the file`);
  }
  const pair = await pgPair();
  if (typeof pair === 'string') return t.diagnostic(`PostgreSQL store not tested: ${pair}`);
  t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  await fill(pair.a);
  // Erased through replica b, checked through replica a, then in the tables themselves.
  await erase(pair.b, pair.a);
  const left = await pgQuery(`SELECT (SELECT count(*) FROM ${pair.prefix}retrieval_chunks WHERE subject = 'sam' OR position(convert_to('sam-sealed-', 'UTF8') in sealed) > 0) AS chunks, (SELECT count(*) FROM ${pair.prefix}retrieval_files WHERE subject = 'sam') AS files`);
  assert.deepEqual(left.rows[0], { chunks: '0', files: '0' });
});

test('retention by class: an expired chunk is never handed out, and the sweep deletes it with its vector', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-expiry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const T0 = 1_000_000;
  const DAY = 86_400_000;
  const pair = await pgPair();
  if (typeof pair === 'string') t.diagnostic(`PostgreSQL store not tested: ${pair}`);
  else t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  const cases: { name: string; s: RetrievalStore; read: RetrievalStore; file?: string }[] = [];
  for (const index of ['auto', 'exact-scan'] as const) {
    const file = join(dir, `${index}.db`);
    const s = new SqliteRetrievalStore(openSqlite(file), { index });
    cases.push({ name: index, s, read: s, file });
  }
  if (typeof pair !== 'string') cases.push({ name: 'postgres', s: pair.a, read: pair.b });
  for (const { name, s, read, file } of cases) {
    await s.createStore({ id: 'vs_r', tenant: 'acme', name: 'r', classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: T0, dims: null });
    const rnd = seeded(11);
    const chunk = (i: number, classification: string, expiresAt: number | null, tag: string): NewChunk => ({ embedding: Float32Array.from({ length: DIMS }, rnd), position: i, sealed: Buffer.from(`${tag}-${i}`), classification, rank: 1, expiresAt, findings: { injectionScore: 0, injectionSignals: [], types: [] } });
    const rec = (id: string, expiresAt: number | null): VectorFileRecord => ({ id, storeId: 'vs_r', tenant: 'acme', filename: id, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'internal', access: [], subject: null, chunks: 0, createdBy: 'w', createdAt: T0, expiresAt });
    // short.txt: every chunk kept one day; mixed.txt: one chunk one day, one for ever; keep.txt: for ever.
    const short = [0, 1, 2].map((i) => chunk(i, 'confidential', T0 + DAY, 'short-lived'));
    await s.addFile(rec('short', T0 + DAY), short);
    await s.addFile(rec('mixed', null), [chunk(0, 'confidential', T0 + DAY, 'mixed-short'), chunk(1, 'public', null, 'mixed-kept')]);
    await s.addFile(rec('keep', null), [chunk(0, 'public', null, 'kept')]);
    const q = async (nowMs: number) => {
      const found = await read.nearest({ tenant: 'acme', storeId: 'vs_r', maxRank: 3, embedding: new Float32Array(DIMS).fill(0.5), limit: 100, nowMs });
      return [...(await read.chunks(found.map((c) => c.chunkId), nowMs)).values()].map((c) => c.sealed.toString()).sort();
    };
    assert.equal((await q(T0 + DAY - 1)).length, 6, `${name}: all live a moment before expiry`);
    assert.deepEqual(await read.countExpired(T0 + DAY - 1), { files: 0, chunks: 0 });
    // From the expiry on (before any sweep), the expired chunks are not handed out and their file is not listed.
    assert.deepEqual(await q(T0 + DAY), ['kept-0', 'mixed-kept-1'], `${name}: expired chunks refused before the sweep`);
    assert.deepEqual((await read.listFiles('acme', 'vs_r', T0 + DAY)).map((f) => f.id).sort(), ['keep', 'mixed']);
    assert.deepEqual(await read.countExpired(T0 + DAY), { files: 1, chunks: 4 });
    assert.deepEqual(await s.deleteExpired(T0 + DAY), { files: 1, chunks: 4 });
    assert.deepEqual(await read.deleteExpired(T0 + DAY), { files: 0, chunks: 0 }, 'nothing twice');
    assert.equal((await read.listFiles('acme', 'vs_r', 0)).find((f) => f.id === 'mixed')?.chunks, 1, 'the count of what is left');
    assert.deepEqual(await q(0), ['kept-0', 'mixed-kept-1'], 'gone even for a clock set back');
    if (!file) continue;
    await s.close();
    const bytes = Buffer.concat([readFileSync(file), ...(existsSync(file + '-wal') ? [readFileSync(file + '-wal')] : [])]);
    assert.equal(bytes.includes(Buffer.from('short-lived-')), false, `${name}: expired sealed text left in the file`);
    for (const c of short) assert.equal(bytes.includes(Buffer.from(c.embedding.buffer)), false, `${name}: an expired vector is left in the file`);
  }
});

test('PostgreSQL: two replicas adding first files of different sizes at once fix one size; another tenant\'s store is neither filled nor deleted', async (t) => {
  const pair = await pgPair();
  if (typeof pair === 'string') return t.skip(pair);
  t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  const { a, b } = pair;
  await a.createStore({ id: 'vs_d', tenant: 'acme', name: 'd', classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 1, dims: null });
  const rec = (id: string, tenant = 'acme'): VectorFileRecord => ({ id, storeId: 'vs_d', tenant, filename: id, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'internal', access: ['eng'], subject: null, chunks: 0, createdBy: 'w', createdAt: 1, expiresAt: null });
  const chunk = (dims: number): NewChunk => ({ embedding: new Float32Array(dims).fill(1), position: 0, sealed: Buffer.from('x'), classification: 'internal', rank: 1, expiresAt: null, findings: { injectionScore: 0.1, injectionSignals: ['s'], types: ['pii.email'] } });
  const raced = await Promise.allSettled([a.addFile(rec('f4'), [chunk(4)]), b.addFile(rec('f6'), [chunk(6)])]);
  assert.equal(raced.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one size wins');
  const rejected = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.match((rejected.reason as Error).message, /holds \d-dimensional vectors/);
  const dims = (await b.getStore('acme', 'vs_d'))!.dims;
  assert.ok(dims === 4 || dims === 6);
  assert.equal((await a.listFiles('acme', 'vs_d', 1)).length, 1, 'the refused file left nothing behind');
  // A file mixing sizes, and a file for the store under another tenant, are refused; nothing is written.
  await assert.rejects(a.addFile(rec('mixed'), [chunk(dims!), { ...chunk(dims! + 1), position: 1 }]), /different vector sizes/);
  await assert.rejects(b.addFile(rec('g', 'globex'), [chunk(dims!)]), /no vector store vs_d in tenant globex/);
  assert.deepEqual(await b.deleteStore('globex', 'vs_d'), { files: 0, chunks: 0 }, 'not deleted from another tenant');
  assert.equal(await b.getStore('globex', 'vs_d'), null);
  // Records round-trip: access lists and findings as written, ids as numbers.
  const [found] = await b.nearest({ tenant: 'acme', storeId: 'vs_d', maxRank: 3, embedding: new Float32Array(dims!).fill(1), limit: 5, nowMs: 1 });
  const got = (await a.chunks([found!.chunkId], 1)).get(found!.chunkId)!;
  assert.ok(Math.abs(found!.distance) < 1e-9);
  assert.deepEqual({ access: got.access, findings: got.findings, rank: got.rank, position: got.position }, { access: ['eng'], findings: { injectionScore: 0.1, injectionSignals: ['s'], types: ['pii.email'] }, rank: 1, position: 0 });
  assert.deepEqual(await a.deleteStore('acme', 'vs_d'), { files: 1, chunks: 1 });
  assert.equal(await b.getStoreAnyTenant('vs_d'), null);
});

/** The upload contract's backends: a SQLite file (one handle) and, where PostgreSQL runs, two replicas on one prefix. */
async function uploadStores(t: TestContext, tmpPrefix: string) {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pair = await pgPair();
  if (typeof pair === 'string') t.diagnostic(`PostgreSQL store not tested: ${pair}`);
  else t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  const file = join(dir, 'u.db');
  const local = new SqliteRetrievalStore(openSqlite(file), { index: 'exact-scan' });
  t.after(() => local.close());
  const cases: [string, RetrievalStore, RetrievalStore][] = [['sqlite', local, local], ...(typeof pair === 'string' ? [] : ([['postgres', pair.a, pair.b]] as [string, RetrievalStore, RetrievalStore][]))];
  return { cases, file, pair };
}

test('uploads: stored sealed as given, read by id from any handle, listed per tenant, deleted only in their tenant, expired alike on every backend', async (t) => {
  const { cases } = await uploadStores(t, 'warden-retrieval-uploads-');
  for (const [name, a, b] of cases) {
    const up = (id: string, tenant: string, createdAt: number, expiresAt: number) => a.putUpload({ id, tenant, filename: `${id}.txt`, purpose: 'assistants', bytes: 3, createdBy: 'w', createdAt, expiresAt }, Buffer.from(`sealed-${id}`));
    await up('file-1', 'acme', 10, 100);
    await up('file-2', 'acme', 20, 1000);
    await up('file-3', 'globex', 30, 1000);
    const got = await b.getUpload('file-1', 50);
    assert.deepEqual(got && { ...got, sealed: got.sealed.toString() }, { id: 'file-1', tenant: 'acme', filename: 'file-1.txt', purpose: 'assistants', bytes: 3, createdBy: 'w', createdAt: 10, expiresAt: 100, sealed: 'sealed-file-1' }, name);
    assert.equal(await b.getUpload('file-1', 100), null, `${name}: expired at its expiry`);
    assert.deepEqual((await b.listUploads('acme', 50)).map((u) => u.id), ['file-1', 'file-2'], name);
    assert.deepEqual((await b.listUploads('acme', 100)).map((u) => u.id), ['file-2'], name);
    assert.deepEqual(await b.countTenant('acme'), { chunks: 0, uploads: 2 }, name);
    assert.equal(await b.deleteUpload('globex', 'file-2'), false, `${name}: not deleted from another tenant`);
    assert.equal(await b.countExpiredUploads(100), 1, name);
    assert.equal(await a.deleteExpiredUploads(100), 1, name);
    assert.equal(await b.deleteExpiredUploads(100), 0, `${name}: nothing twice`);
    assert.equal(await b.deleteUpload('acme', 'file-2'), true, name);
    assert.deepEqual(await a.countTenant('acme'), { chunks: 0, uploads: 0 }, name);
    assert.deepEqual(await a.countTenant('globex'), { chunks: 0, uploads: 1 }, name);
  }
});

test('a file id already in a store is refused on every backend (FileIdTaken), and nothing of the second add is written', async (t) => {
  const pair = await pgPair();
  if (typeof pair === 'string') t.diagnostic(`PostgreSQL store not tested: ${pair}`);
  else t.after(() => Promise.all([pair.a.close(), pair.b.close()]));
  const local = new SqliteRetrievalStore(openSqlite(':memory:'), { index: 'exact-scan' });
  t.after(() => local.close());
  for (const [name, s] of [['sqlite', local], ...(typeof pair === 'string' ? [] : [['postgres', pair.a]])] as [string, RetrievalStore][]) {
    for (const id of ['vs_1', 'vs_2']) await s.createStore({ id, tenant: 'acme', name: id, classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 1, dims: null });
    const rec = (storeId: string): VectorFileRecord => ({ id: 'file-same', storeId, tenant: 'acme', filename: 'f', datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'internal', access: [], subject: null, chunks: 0, createdBy: 'w', createdAt: 1, expiresAt: null });
    const chunk: NewChunk = { embedding: new Float32Array([1, 0]), position: 0, sealed: Buffer.from('x'), classification: 'internal', rank: 1, expiresAt: null, findings: { injectionScore: 0, injectionSignals: [], types: [] } };
    await s.addFile(rec('vs_1'), [chunk]);
    await assert.rejects(s.addFile(rec('vs_2'), [chunk]), FileIdTaken, name);
    assert.deepEqual(await s.listFiles('acme', 'vs_2', 1), [], `${name}: nothing written to the second store`);
    assert.equal((await s.getStore('acme', 'vs_2'))!.dims, null, `${name}: the second store's size was not fixed`);
  }
});

test('erasing a principal\'s uploads: every one it made in its tenant (expired or not) goes, on every backend; others stay; (SQLite) the sealed bytes leave the file', async (t) => {
  // PostgreSQL: written and erased through replica a, checked through replica b.
  const { cases, file, pair } = await uploadStores(t, 'warden-retrieval-erase-uploads-');
  for (const [name, a, b] of cases) {
    const up = (id: string, tenant: string, createdBy: string, expiresAt = 1000) => a.putUpload({ id, tenant, filename: `${id}.txt`, purpose: 'assistants', bytes: 3, createdBy, createdAt: 10, expiresAt }, Buffer.from(`erasable-${createdBy}-${id}`));
    await up('file-w1', 'acme', 'wendy');
    await up('file-w2', 'acme', 'wendy', 50); // expired, not yet swept: still on disk, so erased too
    await up('file-v1', 'acme', 'walt');
    await up('file-g1', 'globex', 'wendy'); // the same id in another tenant is another principal
    assert.equal(await b.countUploadsBy('acme', 'wendy'), 2, name);
    assert.equal(await a.eraseUploadsBy('acme', 'wendy'), 2, name);
    assert.equal(await b.countUploadsBy('acme', 'wendy'), 0, name);
    assert.equal(await b.eraseUploadsBy('acme', 'wendy'), 0, `${name}: nothing twice`);
    assert.equal(await b.getUpload('file-w1', 20), null, name);
    assert.deepEqual((await b.listUploads('acme', 20)).map((u) => u.id), ['file-v1'], name);
    assert.deepEqual((await b.listUploads('globex', 20)).map((u) => u.id), ['file-g1'], name);
  }
  const bytes = Buffer.concat([readFileSync(file), ...(existsSync(file + '-wal') ? [readFileSync(file + '-wal')] : [])]);
  assert.equal(bytes.includes(Buffer.from('erasable-wendy-file-w')), false, 'sealed bytes left in the SQLite file');
  assert.equal(bytes.includes(Buffer.from('erasable-walt-file-v1')), true, 'setup: the bytes would be seen');
  if (typeof pair !== 'string') {
    const left = await pgQuery(`SELECT count(*) AS n FROM ${pair.prefix}retrieval_uploads WHERE position(convert_to('erasable-wendy-file-w', 'UTF8') in sealed) > 0`);
    assert.equal(left.rows[0].n, '0');
  }
});
