import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteLedgerStore } from '../../src/store/ledger-sqlite.js';
import { Ledger, LedgerEntryTooLarge } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey, LedgerKeyInsecure } from '../../src/ledger/key.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { parseVerifierKey } from '../../src/ledger/note.js';
import { verifyConsistency, verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { leafHash } from '../../src/ledger/hash.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { inferenceEvent } from './events.js';

const b = (s: string) => Buffer.from(s, 'base64');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'warden-ledger-'));
}
async function openLedger(dir: string, maxBatch?: number): Promise<Ledger> {
  const key = loadOrCreateLedgerKey(dir, 'warden.test/audit');
  return Ledger.open({ store: new SqliteLedgerStore(openSqlite(join(dir, 'warden.db'))), key, ...(maxBatch ? { maxBatch } : {}) });
}

test('concurrent appends are group-committed, each covered by a signed checkpoint and provably included', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  const vkey = parseVerifierKey(ledger.key.vkey);
  const results = await Promise.all(Array.from({ length: 600 }, (_, i) => ledger.append(inferenceEvent(i))));
  assert.deepEqual(results.map((r) => r.index), Array.from({ length: 600 }, (_, i) => i));
  const batches = new Set(results.map((r) => r.checkpoint.size));
  assert.ok(batches.size < 20, `600 concurrent appends took ${batches.size} commits; group commit should need few`);
  for (const r of results.filter((_, i) => i % 37 === 0)) {
    const cp = openCheckpoint(r.checkpoint.note, vkey);
    assert.ok(cp.size > r.index);
    assert.equal(r.leafHash, leafHash(Buffer.from(canonicalJson(inferenceEvent(r.index)))).toString('base64'));
    const p = await ledger.inclusionProof(r.index, cp.size);
    verifyInclusion(r.index, cp.size, b(r.leafHash), p.hashes.map(b), cp.rootHash);
  }
  const [stored] = await ledger.readEntries(5, 1);
  assert.equal(stored!.toString(), canonicalJson(inferenceEvent(5)));
  await ledger.close();
});

test('restart resumes the same tree; new checkpoints are consistent with old ones', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let ledger = await openLedger(dir);
  for (let i = 0; i < 10; i++) await ledger.append(inferenceEvent(i));
  const before = ledger.latestCheckpoint();
  await ledger.close();
  ledger = await openLedger(dir);
  assert.equal(ledger.latestCheckpoint().note, before.note);
  const r = await ledger.append(inferenceEvent(10));
  assert.equal(r.index, 10);
  const after = ledger.latestCheckpoint();
  const c = await ledger.consistencyProof(before.size, after.size);
  verifyConsistency(before.size, after.size, before.rootHash, after.rootHash, c.hashes.map(b));
  await ledger.close();
});

test('a stored tree that no longer matches its signed checkpoint refuses to open', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  for (let i = 0; i < 5; i++) await ledger.append(inferenceEvent(i));
  await ledger.close();
  const db = openSqlite(join(dir, 'warden.db'));
  db.prepare('UPDATE ledger_nodes SET hash = ? WHERE level = 0 AND idx = 4').run(Buffer.alloc(32, 1));
  db.close();
  await assert.rejects(openLedger(dir), { name: 'RootMismatch', code: 'stored_tree_mismatch' });
});

test('an entry of the last batch edited in place (its stored nodes untouched) refuses to open', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  for (let i = 0; i < 6; i++) await ledger.append(inferenceEvent(i));
  await ledger.close();
  // Control: the untouched store opens (and rehashes its tail).
  await (await openLedger(dir)).close();
  const db = openSqlite(join(dir, 'warden.db'));
  const row = db.prepare('SELECT entry FROM ledger_entries WHERE idx = 5').get() as { entry: Buffer };
  const edited = Buffer.from(row.entry.toString('utf8').replace('llama-3-8b', 'llama-3-70b'));
  assert.notDeepEqual(edited, row.entry);
  db.prepare('UPDATE ledger_entries SET entry = ? WHERE idx = 5').run(edited);
  db.close();
  await assert.rejects(openLedger(dir), { name: 'RootMismatch', code: 'stored_entries_mismatch' });
});

test('a store whose checkpoint was signed by another key refuses to open', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  await ledger.append(inferenceEvent(0));
  await ledger.close();
  rmSync(join(dir, 'ledger-key.pem'));
  await assert.rejects(openLedger(dir), { name: 'NoteSignatureInvalid', code: 'no_trusted_signature' });
});

test('a second writer on the same store is refused and the first ledger fails closed', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await openLedger(dir);
  const b2 = await openLedger(dir);
  await b2.append(inferenceEvent(0));
  await assert.rejects(a.append(inferenceEvent(1)), { name: 'LedgerUnavailable', status: 503, code: 'ledger_unavailable' });
  await a.close();
  await b2.close();
});

test('oversized entries, closed ledgers and bad proof parameters are refused', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  await assert.rejects(ledger.append(inferenceEvent(0, { details: { blob: 'x'.repeat(70000) } })), LedgerEntryTooLarge);
  await ledger.append(inferenceEvent(0));
  await assert.rejects(ledger.inclusionProof(1, 1), { code: 'invalid_leaf_index', status: 400 });
  await assert.rejects(ledger.inclusionProof(0, 2), { code: 'tree_size_beyond_checkpoint' });
  await assert.rejects(ledger.consistencyProof(1, 0), { code: 'invalid_tree_size' });
  await assert.rejects(ledger.readTile({ level: 0, index: 0, width: 2 }), { name: 'TileNotFound', status: 404 });
  await ledger.close();
  await assert.rejects(ledger.append(inferenceEvent(1)), { name: 'LedgerUnavailable' });
});

test('ledger key: created 0600, reloaded identically, refused when group/world accessible', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const k1 = loadOrCreateLedgerKey(dir);
  assert.equal(statSync(join(dir, 'ledger-key.pem')).mode & 0o777, 0o600);
  const k2 = loadOrCreateLedgerKey(dir);
  assert.equal(k1.vkey, k2.vkey);
  assert.match(k1.vkey, /^warden\.local\/audit\+[0-9a-f]{8}\+A/);
  assert.equal(k1.publicJwk.kid, k1.kid);
  assert.match(k1.publicKeyPem, /BEGIN PUBLIC KEY/);
  chmodSync(join(dir, 'ledger-key.pem'), 0o644);
  assert.throws(() => loadOrCreateLedgerKey(dir), LedgerKeyInsecure);
});
