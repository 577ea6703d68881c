// The retrieval store contract, run against both nearest-neighbour indexes of the SQLite store: the sqlite-vec
// extension (as shipped by its registry package) and the exact cosine scan used when the extension cannot load.
// Both must return the same candidates, never outside the tenant, the store or the classification rank asked,
// and forget a subject's chunks (vectors included) on erasure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openSqlite } from '../../../src/store/sqlite.js';
import { SqliteRetrievalStore } from '../../../src/store/retrieval-sqlite.js';
import type { NewChunk, VectorFileRecord } from '../../../src/store/retrieval-store.js';

const DIMS = 8;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function fill(store: SqliteRetrievalStore) {
  const rnd = seeded(7);
  const vec = () => Float32Array.from({ length: DIMS }, rnd);
  for (const [tenant, id] of [['acme', 'vs_a'], ['globex', 'vs_g']] as const) {
    store.createStore({ id, tenant, name: id, classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 1, dims: null });
  }
  const file = (id: string, storeId: string, tenant: string, subject: string | null): VectorFileRecord => ({ id, storeId, tenant, filename: id, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'restricted', access: [], subject, chunks: 0, createdBy: 'w', createdAt: 1, expiresAt: null });
  const chunks = (n: number, tag = 'sealed'): NewChunk[] =>
    Array.from({ length: n }, (_, i) => ({ embedding: vec(), position: i, sealed: Buffer.from(`${tag}-${i}`), classification: ['public', 'internal', 'confidential', 'restricted'][i % 4]!, rank: i % 4, expiresAt: null, findings: { injectionScore: 0, injectionSignals: [], types: [] } }));
  store.addFile(file('f1', 'vs_a', 'acme', null), chunks(40));
  const sam = chunks(12, 'sam-sealed');
  store.addFile(file('f2', 'vs_a', 'acme', 'sam'), sam);
  store.addFile(file('f3', 'vs_g', 'globex', null), chunks(40));
  return { query: vec, samVectors: sam.map((c) => Buffer.from(c.embedding.buffer)) };
}

test('sqlite-vec loads here, and both indexes answer the same candidates within tenant, store and rank', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const vec = new SqliteRetrievalStore(openSqlite(join(dir, 'vec.db')));
  const scan = new SqliteRetrievalStore(openSqlite(join(dir, 'scan.db')), { index: 'exact-scan' });
  t.after(() => (vec.close(), scan.close()));
  assert.equal(vec.index, 'sqlite-vec', `sqlite-vec did not load: ${vec.fallbackReason}`);
  assert.equal(scan.index, 'exact-scan');
  const { query } = fill(vec);
  fill(scan);
  await fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 60 }), fc.constantFrom('acme', 'globex'), fc.integer({ min: 0, max: 1000 }), (maxRank, limit, tenant, _n) => {
      const q = { tenant, storeId: tenant === 'acme' ? 'vs_a' : 'vs_g', maxRank, embedding: query(), limit, nowMs: 1 };
      const a = vec.nearest(q);
      const b = scan.nearest(q);
      assert.deepEqual(a.map((c) => c.chunkId), b.map((c) => c.chunkId));
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]!.distance - b[i]!.distance) < 1e-5);
      const rows = vec.chunks(a.map((c) => c.chunkId), 1);
      for (const r of rows.values()) {
        assert.equal(r.tenant, tenant);
        assert.equal(r.storeId, q.storeId);
        assert.ok(r.rank <= maxRank);
      }
      // A store of another tenant answers nothing, whatever is asked.
      assert.deepEqual(vec.nearest({ ...q, storeId: tenant === 'acme' ? 'vs_g' : 'vs_a' }), []);
    }),
    { numRuns: 200 },
  );
});

test('erasing a subject removes its chunks and files from both indexes, and its vectors from the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-erase-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const index of ['auto', 'exact-scan'] as const) {
    const file = join(dir, `${index}.db`);
    const s = new SqliteRetrievalStore(openSqlite(file), { index });
    const { samVectors } = fill(s);
    s.close();
    assert.ok(readFileSync(file).includes(Buffer.from('sam-sealed-')) || readFileSync(file + '-wal').includes(Buffer.from('sam-sealed-')), 'setup: the sealed bytes are in the file');
    const s2 = new SqliteRetrievalStore(openSqlite(file), { index });
    erase(s2, file, samVectors);
  }
});

function erase(s: SqliteRetrievalStore, file: string, samVectors: Buffer[]): void {
  {
    const before = s.nearest({ tenant: 'acme', storeId: 'vs_a', maxRank: 3, embedding: new Float32Array(DIMS).fill(0.5), limit: 100, nowMs: 1 });
    assert.equal(before.length, 52);
    const samIds = new Set([...s.chunks(before.map((c) => c.chunkId), 1).values()].filter((c) => c.subject === 'sam').map((c) => c.id));
    assert.equal(samIds.size, 12);
    assert.deepEqual(s.countSubject('sam'), { files: 1, chunks: 12 });
    assert.deepEqual(s.eraseSubject('sam'), { files: 1, chunks: 12 });
    assert.deepEqual(s.countSubject('sam'), { files: 0, chunks: 0 });
    const after = s.nearest({ tenant: 'acme', storeId: 'vs_a', maxRank: 3, embedding: new Float32Array(DIMS).fill(0.5), limit: 100, nowMs: 1 });
    assert.equal(after.length, 40);
    assert.ok(after.every((c) => !samIds.has(c.chunkId)));
    assert.equal(s.listFiles('acme', 'vs_a', 1).length, 1);
    s.close();
    // secure_delete and the zeroed vec0 slots: neither the sealed text nor the vectors of the erased chunks are left.
    const bytes = Buffer.concat([readFileSync(file), ...(existsSync(file + '-wal') ? [readFileSync(file + '-wal')] : [])]);
    assert.equal(bytes.includes(Buffer.from('sam-sealed-')), false, `${s.index}: sealed text left in the file`);
    for (const v of samVectors) assert.equal(bytes.includes(v), false, `${s.index}: an erased vector is left in the file`);
  }
}

test('retention by class: an expired chunk is never handed out, and the sweep deletes it with its vector', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-retrieval-expiry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const T0 = 1_000_000;
  const DAY = 86_400_000;
  for (const index of ['auto', 'exact-scan'] as const) {
    const file = join(dir, `${index}.db`);
    const s = new SqliteRetrievalStore(openSqlite(file), { index });
    s.createStore({ id: 'vs_r', tenant: 'acme', name: 'r', classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: T0, dims: null });
    const rnd = seeded(11);
    const chunk = (i: number, classification: string, expiresAt: number | null, tag: string): NewChunk => ({ embedding: Float32Array.from({ length: DIMS }, rnd), position: i, sealed: Buffer.from(`${tag}-${i}`), classification, rank: 1, expiresAt, findings: { injectionScore: 0, injectionSignals: [], types: [] } });
    const rec = (id: string, expiresAt: number | null): VectorFileRecord => ({ id, storeId: 'vs_r', tenant: 'acme', filename: id, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'internal', access: [], subject: null, chunks: 0, createdBy: 'w', createdAt: T0, expiresAt });
    // short.txt: every chunk kept one day; mixed.txt: one chunk one day, one for ever; keep.txt: for ever.
    const short = [0, 1, 2].map((i) => chunk(i, 'confidential', T0 + DAY, 'short-lived'));
    s.addFile(rec('short', T0 + DAY), short);
    s.addFile(rec('mixed', null), [chunk(0, 'confidential', T0 + DAY, 'mixed-short'), chunk(1, 'public', null, 'mixed-kept')]);
    s.addFile(rec('keep', null), [chunk(0, 'public', null, 'kept')]);
    const q = (nowMs: number) => {
      const found = s.nearest({ tenant: 'acme', storeId: 'vs_r', maxRank: 3, embedding: new Float32Array(DIMS).fill(0.5), limit: 100, nowMs });
      return [...s.chunks(found.map((c) => c.chunkId), nowMs).values()].map((c) => c.sealed.toString()).sort();
    };
    assert.equal(q(T0 + DAY - 1).length, 6, `${index}: all live a moment before expiry`);
    assert.deepEqual(s.countExpired(T0 + DAY - 1), { files: 0, chunks: 0 });
    // From the expiry on (before any sweep), the expired chunks are not handed out and their file is not listed.
    assert.deepEqual(q(T0 + DAY), ['kept-0', 'mixed-kept-1'], `${index}: expired chunks refused before the sweep`);
    assert.deepEqual(s.listFiles('acme', 'vs_r', T0 + DAY).map((f) => f.id).sort(), ['keep', 'mixed']);
    assert.deepEqual(s.countExpired(T0 + DAY), { files: 1, chunks: 4 });
    assert.deepEqual(s.deleteExpired(T0 + DAY), { files: 1, chunks: 4 });
    assert.deepEqual(s.deleteExpired(T0 + DAY), { files: 0, chunks: 0 }, 'nothing twice');
    assert.equal(s.listFiles('acme', 'vs_r', 0).find((f) => f.id === 'mixed')?.chunks, 1, 'the count of what is left');
    assert.deepEqual(q(0), ['kept-0', 'mixed-kept-1'], 'gone even for a clock set back');
    s.close();
    const bytes = Buffer.concat([readFileSync(file), ...(existsSync(file + '-wal') ? [readFileSync(file + '-wal')] : [])]);
    assert.equal(bytes.includes(Buffer.from('short-lived-')), false, `${index}: expired sealed text left in the file`);
    for (const c of short) assert.equal(bytes.includes(Buffer.from(c.embedding.buffer)), false, `${index}: an expired vector is left in the file`);
  }
});
