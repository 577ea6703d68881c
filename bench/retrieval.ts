// Retrieval (issue 16): a search with per-chunk authorization (RetrievalPlane.allowedNearest: tenant and clearance
// pushed into the KNN query, every candidate decided by the real Cedar PDP with the starter policies, the allowed
// ones unsealed) against the store's bare search in the same run (the same KNN query, no filter and no decision,
// results unsealed), on the sqlite-vec index and on the exact cosine scan; and the envelope's cost per sealed item
// (sealBlob / openBlob with the local key-file KEK: a fresh data key per item, wrapped by the KEK).
//   npx tsc -p tsconfig.json && node dist/bench/retrieval.js [chunks, default 20000] (or `node dist/bench/run.js retrieval`)
// No embedding model is called: the query vectors are random, like the stored ones (the embedding request's cost is
// the gateway's embeddings route, measured in the gateway area). About a minute on this (shared) machine.
import { mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '../src/core/types.js';
import { Keyring, LocalFileKek, SubjectKeys, openBlob, sealBlob } from '../src/data/crypto/index.js';
import { RetrievalPlane } from '../src/data/retrieval/index.js';
import { PolicyDecisionPoint } from '../src/policy/pdp.js';
import { PdpAuthorizer, STARTER_POLICY_DIR } from '../src/policy/plane.js';
import { inspectText } from '../src/inspect/index.js';
import { chunkAad, type NewChunk, type RetrievalStore } from '../src/store/retrieval-store.js';
import { PostgresRetrievalStore } from '../src/store/retrieval-postgres.js';
import { SqliteRetrievalStore } from '../src/store/retrieval-sqlite.js';
import { openSqlite } from '../src/store/sqlite.js';
import { SqliteSubjectKeyStore } from '../src/store/subject-keys-store.js';
import { machine, writeResult } from './common.js';

const N = Number(process.argv[2] ?? 8_000);
const DIMS = 256;
const K = 10;
const QUERIES = 100;
const CLASSES = ['public', 'internal', 'confidential', 'restricted'];
const tmp = mkdtempSync(join(tmpdir(), 'warden-bench-retrieval-'));

let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const vector = () => Float32Array.from({ length: DIMS }, rnd);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);

async function timeEach(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

const carl: Principal = { kind: 'user', id: 'carl', tenant: 'acme', groups: ['consumers'], authn: { method: 'api_key', credentialId: 'key_1' }, scope: { models: ['*'], actions: ['*'] } };

async function run(store: RetrievalStore, n: number, keyring: Keyring, authorizer: PdpAuthorizer) {
  await store.createStore({ id: 'vs_bench', tenant: 'acme', name: 'bench', classification: 'internal', embeddingModel: 'm', createdBy: 'bench', createdAt: Date.now(), dims: null });
  await store.createStore({ id: 'vs_other', tenant: 'globex', name: 'other', classification: 'internal', embeddingModel: 'm', createdBy: 'bench', createdAt: Date.now(), dims: null });
  const text = 'x'.repeat(400);
  const perFile = 400;
  for (let f = 0; f < n / perFile; f++) {
    const fileId = `file_${f}`;
    const chunks: NewChunk[] = [];
    for (let i = 0; i < perFile; i++) {
      const cls = CLASSES[(f * perFile + i) % 4]!;
      chunks.push({ embedding: vector(), position: i, sealed: await sealBlob(keyring, 'acme', chunkAad('vs_bench', fileId, i), Buffer.from(`${text} ${f}/${i}`)), classification: cls, rank: CLASSES.indexOf(cls), expiresAt: null, findings: { injectionScore: 0, injectionSignals: [], types: [] } });
    }
    // Every fifth file is for the legal group only: found by the KNN query, then refused by the PDP.
    await store.addFile({ id: fileId, storeId: 'vs_bench', tenant: 'acme', filename: fileId, datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'restricted', access: f % 5 === 0 ? ['legal'] : [], subject: null, chunks: perFile, createdBy: 'bench', createdAt: Date.now(), expiresAt: null }, chunks);
  }
  const plane = new RetrievalPlane({
    store,
    keyring,
    subjectKeys: new SubjectKeys(keyring, SqliteSubjectKeyStore.open(':memory:'), () => Date.now()),
    clock: { now: () => Date.now() } as never,
    inspect: inspectText,
    defaultEmbeddingModel: null,
    authorize: (principal, action, resource, findings, sourceIp) => authorizer.authorize({ principal, action, resource, context: { now: Date.now(), sourceIp, listener: 'inference', findings } }),
  });
  const rec = (await store.getStore('acme', 'vs_bench'))!;
  const queries = Array.from({ length: QUERIES }, vector);
  // Interleaved per query (bare, filtered KNN, authorized), so a load spike on this shared machine hits all three.
  const bare: number[] = [];
  const filtered: number[] = [];
  const authorized: number[] = [];
  let candidates = 0;
  let denied = 0;
  const time = async (into: number[], fn: () => unknown) => {
    const t0 = performance.now();
    await fn();
    into.push((performance.now() - t0) * 1000);
  };
  for (let i = 0; i < QUERIES; i++) {
    await time(bare, async () => {
      const found = await store.nearest({ tenant: 'acme', storeId: 'vs_bench', maxRank: 3, embedding: queries[i]!, limit: K, nowMs: Date.now() });
      const rows = await store.chunks(found.map((c) => c.chunkId), Date.now());
      for (const c of rows.values()) await openBlob(keyring, chunkAad(c.storeId, c.fileId, c.position), c.sealed);
    });
    await time(filtered, () => store.nearest({ tenant: 'acme', storeId: 'vs_bench', maxRank: 1, embedding: queries[i]!, limit: 16, nowMs: Date.now() }));
    await time(authorized, async () => {
      const r = await plane.allowedNearest({ principal: carl, sourceIp: '10.0.0.1' }, rec, queries[i]!, K);
      if (r.results.length !== K) throw new Error(`expected ${K} results, got ${r.results.length}`);
      candidates += r.candidates;
      denied += r.denied;
    });
  }
  await store.close();
  return { n, index: store.index, bare, filtered, authorized, candidates: candidates / QUERIES, denied: denied / QUERIES };
}

type RunResult = Awaited<ReturnType<typeof run>>;

function row(r: RunResult): string {
  return `| ${r.index} | ${r.n} | ${fmt(pct(r.bare, 50))} / ${fmt(pct(r.bare, 99))} | ${fmt(pct(r.filtered, 50))} | ${fmt(pct(r.authorized, 50))} / ${fmt(pct(r.authorized, 99))} | ${(pct(r.authorized, 50) / pct(r.bare, 50)).toFixed(2)}x | ${r.candidates.toFixed(1)} | ${r.denied.toFixed(1)} |`;
}

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_CHUNKS = Math.min(N, 2_000);

/** Adds the PostgreSQL row (its tables dropped afterwards); what to say when PostgreSQL does not answer. */
async function pgRow(keyring: Keyring, authorizer: PdpAuthorizer, rows: string[]): Promise<string> {
  const prefix = `bench_retrieval_${process.pid}_`;
  let store: PostgresRetrievalStore;
  try {
    store = await PostgresRetrievalStore.connect({ connectionString: PG_URL, prefix });
  } catch (e) {
    return `PostgreSQL row not measured: ${(e as Error).message}.`;
  }
  try {
    rows.push(row(await run(store, PG_CHUNKS, keyring, authorizer)));
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${prefix}retrieval_chunks, ${prefix}retrieval_files, ${prefix}retrieval_stores, ${prefix}schema_migrations`);
    await c.end();
  }
  return `The \`postgres-exact\` row is the cluster's store (\`store.postgres\`): an exact cosine scan computed inside PostgreSQL (no pgvector here), measured on ${PG_CHUNKS} chunks; its time grows linearly with the store's size.`;
}

try {
  const keyring = new Keyring({ kek: LocalFileKek.open(join(tmp, 'kek.bin'), { create: true }) });
  const pdp = new PolicyDecisionPoint();
  pdp.loadDirectory(STARTER_POLICY_DIR);
  const authorizer = new PdpAuthorizer(pdp);
  // Warm the PDP once (first Cedar call parses the slice).
  authorizer.authorize({ principal: carl, action: 'retrieve', resource: { type: 'Chunk', id: 'w', attrs: { tenant: 'acme', store: 's', classification: 'public', dataset: 'd', access: [] } } as never, context: { now: Date.now(), sourceIp: '10.0.0.1', listener: 'inference', findings: null } });
  const t0 = performance.now();
  const rows: string[] = [];
  for (const index of ['auto', 'exact-scan'] as const) rows.push(row(await run(new SqliteRetrievalStore(openSqlite(join(tmp, `${index}.db`)), { index }), N, keyring, authorizer)));
  // The cluster's store (store.postgres), when PostgreSQL answers here: an exact scan computed in the server, on fewer
  // chunks (it is a scan: its time grows with the store's size).
  const pgNote = await pgRow(keyring, authorizer, rows);
  const payload = Buffer.alloc(2048, 7);
  const sealed = await sealBlob(keyring, 'acme', 'bench', payload);
  const seal = await timeEach(2000, () => sealBlob(keyring, 'acme', 'bench', payload));
  const open = await timeEach(2000, () => openBlob(keyring, 'bench', sealed));
  keyring.close();
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  writeResult(
    'retrieval',
    [
      '## Retrieval: search with per-chunk authorization vs the bare search, and the envelope per item (issue 16)',
      '',
      `Run ${new Date().toISOString()} on ${machine()}, ${secs} s. \`node dist/bench/retrieval.js [chunks]\`: ${N} chunks of ${DIMS}`,
      `dimensions in one store (a quarter each public, internal, confidential, restricted; every fifth file for group \`legal\` only),`,
      `plus a second tenant's store; ${QUERIES} random query vectors, k = ${K}, same data and queries for both columns.`,
      '**Bare**: the same KNN query on the store (its partition) with no clearance filter and no decision, the 10 results unsealed.',
      '**Authorized**: `allowedNearest` for a principal of the tenant without clearance: tenant and clearance (≤ internal) in the',
      'KNN query, each candidate decided by the Cedar PDP with the starter policies (`retrieve`), more fetched while fewer than',
      '10 are allowed, the allowed ones unsealed. **Filtered KNN alone**: the first round\'s query (16 candidates, clearance filter)',
      'without decisions or unsealing. Latency p50 / p99 per search, the three interleaved query by query; no embedding call.',
      '',
      '| index | chunks | bare p50 / p99 | filtered KNN alone p50 | authorized p50 / p99 | ratio (p50) | candidates decided | denied by the PDP |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      pgNote,
      '',
      `**Envelope per item** (2 KB, local key-file KEK, a fresh AES-256-GCM data key per item wrapped by the KEK; the KEK file is`,
      `re-checked on every use): seal p50 ${fmt(pct(seal, 50))} (p99 ${fmt(pct(seal, 99))}), open p50 ${fmt(pct(open, 50))} (p99 ${fmt(pct(open, 99))}).`,
      'A retained request costs two seals (request and answer: `ledger.retainPayloads`); a search opens one per returned chunk.',
    ].join('\n'),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
