// Retention follows the classification (issue 16): `placement.classes.<class>.retention` decides how long retained
// payloads and retrieval chunks live. Against a running Warden on a fixed clock (the test moves time; the demo
// upstream is the built-in, labelled FAKE model): a payload or a chunk is refused from the moment its class's
// retention ends (before any sweep), a class kept indefinitely is untouched, and the sweep records one ledger entry
// with what goes before deleting it. The sweep's fail-closed path (ledger refusing) and the config's refusals too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { FixedClock } from '../../src/core/clock.js';
import { parseConfig } from '../../src/config/config.js';
import { expiryFor } from '../../src/data/placement.js';
import { RetentionSweep } from '../../src/data/retention-sweep.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteRetrievalStore } from '../../src/store/retrieval-sqlite.js';
import { SqlitePayloadStore } from '../../src/store/ledger-payloads-sqlite.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const HOUR = 3_600_000;
const CARD = 'please charge card 4111 1111 1111 1111 for the order';
const FAQ = 'The cafeteria serves lunch from noon until two';
const PLAN = 'Project Nightjar acquisition target is Globex Corp at 41 dollars per share';
const SMALL_CHUNKS = { type: 'static', static: { max_chunk_size_tokens: 64, chunk_overlap_tokens: 0 } };

const clock = new FixedClock(Date.now());
let w: TestWarden;
let key = '';
let store = '';

before(async () => {
  w = await startTestWarden(
    (c) => {
      c.ledger = { ...c.ledger, retainPayloads: true };
      c.placement = { ...c.placement, classes: { public: { retention: '3h' }, confidential: { retention: '1h' }, internal: { retention: 'indefinite' } }, sweepIntervalMs: 1000 };
      c.monitor.enabled = false;
    },
    { clock },
  );
  key = (await w.keyFor('wendy', ['demo-chat', 'demo-embed'], ['*'], { tenant: 'acme', groups: ['consumers', 'retrieval-writers', 'clearance:restricted'] })).key;
  const s = await w.call('inference', 'POST', '/v1/vector_stores', { key, body: { name: 'kb', embedding_model: 'demo-embed' } });
  assert.equal(s.status, 200, s.text);
  store = s.json.id;
});
after(() => w.stop());

async function chat(content: string): Promise<string> {
  const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } });
  assert.equal(r.status, 200, r.text);
  return String(r.headers['x-request-id']);
}
async function payload(id: string): Promise<{ status: number; code?: string }> {
  const g = await request(`${w.w.adminUrl}/admin/v1/payloads/${id}?principal=wendy&kind=request`, { dispatcher: w.agent, headers: { authorization: `Bearer ${w.adminKey}` } });
  const text = await g.body.text();
  return { status: g.statusCode, ...(g.statusCode !== 200 ? { code: JSON.parse(text).error.code as string } : {}) };
}
async function search(query: string): Promise<string[]> {
  const r = await w.call('inference', 'POST', `/v1/vector_stores/${store}/search`, { key, body: { query, max_num_results: 10 } });
  assert.equal(r.status, 200, r.text);
  return r.json.data.map((d: { content: { text: string }[] }) => d.content[0]!.text);
}
async function files(): Promise<string[]> {
  const r = await w.call('inference', 'GET', `/v1/vector_stores/${store}/files`, { key });
  return r.json.data.map((f: { attributes: { filename: string } }) => f.attributes.filename).sort();
}
async function sweepEntries(n: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = w.audits().filter((a) => a.action === 'data.retention.expire');
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('payloads and chunks expire with their class: refused at once, then swept with one ledger entry', async () => {
  const publicReq = await chat('what time is lunch served?');
  const cardReq = await chat(CARD);
  for (const [content, classification, filename] of [[FAQ, 'public', 'faq.txt'], [PLAN, 'confidential', 'plan.txt'], ['Internal wiki: the build server is named Hopper', 'internal', 'wiki.txt']]) {
    const r = await w.call('inference', 'POST', `/v1/vector_stores/${store}/files`, { key, body: { content, classification, filename, chunking_strategy: SMALL_CHUNKS } });
    assert.equal(r.status, 200, r.text);
  }
  assert.deepEqual(await payload(cardReq), { status: 200 });
  assert.ok((await search(PLAN)).includes(PLAN));
  assert.deepEqual(await files(), ['faq.txt', 'plan.txt', 'wiki.txt']);

  // One hour on: the confidential payload and chunk are refused before any sweep ran; the rest is untouched.
  clock.advance(HOUR);
  assert.deepEqual(await payload(cardReq), { status: 410, code: 'payload_expired' });
  assert.deepEqual(await payload(publicReq), { status: 200 });
  const found = await search(PLAN);
  assert.ok(!found.includes(PLAN), 'an expired chunk is never handed out');
  assert.ok(found.includes(FAQ));
  assert.deepEqual(await files(), ['faq.txt', 'wiki.txt']);

  // The sweep records what goes, then deletes it: the payload is no longer there at all.
  const [entry] = await sweepEntries(1);
  assert.ok(entry, 'a data.retention.expire entry');
  const d = entry.details as Record<string, unknown>;
  assert.equal(d['payloads.deleted'], 2, 'request and response of the card request');
  assert.equal(d['retrievalChunks.chunks'], 1);
  assert.equal(d['retrievalChunks.files'], 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await payload(cardReq), { status: 404, code: 'payload_not_found' });

  // Three hours on: the public ones go too; `internal` is kept indefinitely.
  clock.advance(2 * HOUR);
  assert.deepEqual(await payload(publicReq), { status: 410, code: 'payload_expired' });
  assert.ok(!(await search(FAQ)).includes(FAQ));
  assert.deepEqual(await files(), ['wiki.txt']);
  const entries = await sweepEntries(2);
  assert.equal(entries.length, 2);
  assert.equal((entries[1]!.details as Record<string, unknown>)['retrievalChunks.chunks'], 1);
  clock.advance(1000 * 24 * HOUR);
  assert.deepEqual(await files(), ['wiki.txt'], 'internal: indefinite');
});

test('the sweep deletes nothing when the ledger refuses its entry (expired data stays refused)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new SqliteRetrievalStore(openSqlite(join(dir, 'r.db')), { index: 'exact-scan' });
  t.after(() => s.close());
  await s.createStore({ id: 'vs', tenant: 'acme', name: 'vs', classification: 'internal', embeddingModel: 'm', createdBy: 'w', createdAt: 0, dims: null });
  await s.addFile({ id: 'f', storeId: 'vs', tenant: 'acme', filename: 'f', datasetDigest: 'sha256:' + '0'.repeat(64), classification: 'public', access: [], subject: null, chunks: 1, createdBy: 'w', createdAt: 0, expiresAt: 10 }, [
    { embedding: new Float32Array([1, 0]), position: 0, sealed: Buffer.from('x'), classification: 'public', rank: 0, expiresAt: 10, findings: { injectionScore: 0, injectionSignals: [], types: [] } },
  ]);
  const kinds = [{ name: 'retrievalChunks', count: (n: number) => s.countExpired(n), delete: (n: number) => s.deleteExpired(n) }];
  const log = pino({ level: 'silent' });
  // A ledger that refuses every append (fault injection at the sink interface).
  const refusing = new RetentionSweep({ kinds, clock: new FixedClock(11), log, intervalMs: 1000, audit: { append: () => Promise.reject(new Error('ledger unavailable')) } });
  await assert.rejects(refusing.sweep(), /ledger unavailable/);
  assert.deepEqual(await s.countExpired(11), { files: 1, chunks: 1 }, 'nothing deleted without its entry');
  assert.equal((await s.chunks([1], 11)).size, 0, 'still refused on read');
  const appended: unknown[] = [];
  const ok = new RetentionSweep({ kinds, clock: new FixedClock(11), log, intervalMs: 1000, audit: { append: async (e) => (appended.push(e), {}) } });
  assert.deepEqual(await ok.sweep(), { retrievalChunks: { files: 1, chunks: 1 } });
  assert.equal(appended.length, 1);
  assert.equal(await ok.sweep(), null, 'nothing expired: no entry');
  assert.equal(appended.length, 1);
});

test('retention in the placement table: durations, indefinite, unknown class judged restricted; bad values refused', () => {
  const cfg = parseConfig('placement:\n  classes:\n    public: { retention: 30d }\n    restricted: { retention: 12h, tiers: [onprem] }\n    internal: { retention: indefinite }\n', 'w.yaml').placement;
  assert.equal(expiryFor(cfg, 'public', 0), 30 * 24 * HOUR);
  assert.equal(expiryFor(cfg, 'internal', 0), null);
  assert.equal(expiryFor(cfg, 'confidential', 0), null, 'a class without retention is kept');
  assert.equal(expiryFor(cfg, undefined, 5), 5 + 12 * HOUR, 'no findings: restricted');
  for (const bad of ['forever', '0d', '30', 'P30D', '-1h', '5ms']) {
    assert.throws(() => parseConfig(`placement:\n  classes:\n    public: { retention: "${bad}" }\n`, 'w.yaml'), /retention/, bad);
  }
  assert.throws(() => parseConfig('placement:\n  sweepIntervalMs: 10\n', 'w.yaml'), /sweepIntervalMs/);
});

test('stores from before retention by class gain the expiry column; their rows are kept indefinitely', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-expiry-upgrade-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = openSqlite(join(dir, 'payloads.db'));
  old.exec('CREATE TABLE ledger_payloads (request_id TEXT NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, PRIMARY KEY (request_id, kind)) WITHOUT ROWID');
  old.prepare('INSERT INTO ledger_payloads VALUES (?, ?, ?, ?, ?)').run('r0', 'request', 'p', Buffer.alloc(12), Buffer.alloc(20));
  const payloads = new SqlitePayloadStore(old);
  assert.equal((await payloads.getPayload('r0', 'request'))!.expiresAt, null);
  assert.equal(await payloads.deleteExpired(Number.MAX_SAFE_INTEGER), 0);
  old.close();

  const file = join(dir, 'retrieval.db');
  const r = new SqliteRetrievalStore(openSqlite(file), { index: 'exact-scan' });
  await r.close();
  const db = openSqlite(file);
  db.exec('DROP INDEX retrieval_chunks_expiry; ALTER TABLE retrieval_chunks DROP COLUMN expires_at; ALTER TABLE retrieval_files DROP COLUMN expires_at');
  db.close();
  const upgraded = new SqliteRetrievalStore(openSqlite(file), { index: 'exact-scan' });
  t.after(() => upgraded.close());
  assert.deepEqual(await upgraded.countExpired(Number.MAX_SAFE_INTEGER), { files: 0, chunks: 0 });
});
