// Tampering with the stored log in each way issue 3 lists, and showing `warden audit verify` catches it.
import { createServer as createNetServer } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { main } from '../../src/cli/audit.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { inferenceEvent } from './events.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

const root = tmpDir();
const base = join(root, 'base');
let vkey = '';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

/** Copies the base data dir, lets `tamper` edit its SQLite file, re-exports the log and returns the export dir. */
async function tampered(name: string, tamper: (db: ReturnType<typeof openSqlite>) => void): Promise<string> {
  const data = join(root, name);
  cpSync(base, data, { recursive: true });
  const db = openSqlite(join(data, 'warden.db'));
  tamper(db);
  db.close();
  // verifyTail 0: start-up's own tail check (ledger.test.ts) would refuse some of these stores before they are
  // exported; what is tested here is the offline auditor, which must catch the edit in what a server publishes.
  const ledger = await openLedger(data, undefined, 0);
  const out = join(root, name + '-export');
  await exportStatic(ledger, out);
  await ledger.close();
  return out;
}

test.before(async () => {
  const ledger = await openLedger(base);
  vkey = ledger.key.vkey;
  await appendRange(ledger, 0, 600);
  await ledger.close();
});
test.after(() => rmSync(root, { recursive: true, force: true }));

test('an intact log verifies from its static export, via the CLI, and its state file is written', async () => {
  const ledger = await openLedger(base);
  const dir = join(root, 'intact-export');
  const r1 = await exportStatic(ledger, dir);
  assert.equal(r1.size, 600);
  const r2 = await exportStatic(ledger, dir);
  assert.equal(r2.skipped, 4, 'full tiles are immutable and not rewritten');
  await ledger.close();
  const ok = await auditVerify({ log: dir, key: vkey, statePath: join(root, 'intact.state') });
  assert.equal(ok.size, 600);
  const res = await cli(['verify', '--log', dir, '--key', vkey, '--state', join(root, 'intact.state')]);
  assert.equal(res.code, 0, res.err);
  assert.match(res.out, /600 entries/);
  assert.match(res.out, /consistent with the saved checkpoint at size 600/);
});

const cases: [string, (db: ReturnType<typeof openSqlite>) => void, string, RegExp][] = [
  ['changed', (db) => db.prepare('UPDATE ledger_entries SET entry = ? WHERE idx = 300').run(Buffer.from(canonicalJson(inferenceEvent(300, { decision: 'allow', status: 200 })))), 'entry_changed', /entry 300 was changed/],
  ['removed', (db) => {
    db.prepare('DELETE FROM ledger_entries WHERE idx = 300').run();
    db.prepare('UPDATE ledger_entries SET idx = idx - 1 WHERE idx > 300').run();
  }, 'entry_removed', /entry 300 was removed/],
  ['removed-gap', (db) => db.prepare('DELETE FROM ledger_entries WHERE idx = 599').run(), 'entry_removed', /entry 599 is missing/],
  ['reordered', (db) => {
    const a = db.prepare('SELECT entry FROM ledger_entries WHERE idx = 300').pluck().get();
    const b = db.prepare('SELECT entry FROM ledger_entries WHERE idx = 301').pluck().get();
    db.prepare('UPDATE ledger_entries SET entry = ? WHERE idx = 300').run(b);
    db.prepare('UPDATE ledger_entries SET entry = ? WHERE idx = 301').run(a);
  }, 'entries_reordered', /entries 300 and 301 were swapped/],
  ['inserted', (db) => {
    db.prepare('UPDATE ledger_entries SET idx = -idx - 1 WHERE idx >= 300').run();
    db.prepare('UPDATE ledger_entries SET idx = -idx WHERE idx < 0').run();
    db.prepare('INSERT INTO ledger_entries (idx, entry) VALUES (300, ?)').run(Buffer.from(canonicalJson(inferenceEvent(9999))));
  }, 'entry_inserted', /inserted at 300/],
];

for (const [name, tamper, code, message] of cases) {
  test(`a ${name} entry in the stored log is caught with code ${code} and a non-zero exit`, async () => {
    const dir = await tampered(name, tamper);
    await assert.rejects(auditVerify({ log: dir, key: vkey }), { name: 'LogEntryMismatch', code, message });
    const res = await cli(['verify', '--log', dir, '--key', vkey]);
    assert.equal(res.code, 1);
    assert.match(res.err, new RegExp(`FAILED: LogEntryMismatch \\(${code}\\)`));
  });
}

test('entries and leaf tile rewritten together no longer match the signed root', async () => {
  const ledger = await openLedger(base);
  const dir = join(root, 'rewrite-export');
  await exportStatic(ledger, dir);
  await ledger.close();
  // Swap entries 0 and 1 in the bundle and their hashes in the level-0 tile: internally consistent, but not what was signed.
  const { decodeEntryBundle, encodeEntryBundle } = await import('../../src/ledger/tiles.js');
  const bundlePath = join(dir, 'tile/entries/000');
  const entries = decodeEntryBundle(readFileSync(bundlePath));
  [entries[0], entries[1]] = [entries[1]!, entries[0]!];
  writeFileSync(bundlePath, encodeEntryBundle(entries));
  const tilePath = join(dir, 'tile/0/000');
  const tile = readFileSync(tilePath);
  writeFileSync(tilePath, Buffer.concat([tile.subarray(32, 64), tile.subarray(0, 32), tile.subarray(64)]));
  await assert.rejects(auditVerify({ log: dir, key: vkey }), { name: 'RootMismatch', code: 'root_mismatch' });
  assert.equal((await cli(['verify', '--log', dir, '--key', vkey])).code, 1);
});

test('a forked history re-signed with the real key is caught against the saved state', async () => {
  const state = join(root, 'fork.state');
  const ledger = await openLedger(base);
  const original = join(root, 'fork-original');
  await exportStatic(ledger, original);
  await ledger.close();
  assert.equal((await cli(['verify', '--log', original, '--key', vkey, '--state', state])).code, 0);

  // The operator (holding the key) rebuilds the log with entry 10 left out, then grows it past the old size.
  const forkData = join(root, 'fork-data');
  cpSync(join(base, 'ledger-key.pem'), join(forkData, 'ledger-key.pem'), { recursive: true });
  const fork = await openLedger(forkData);
  await Promise.all(Array.from({ length: 700 }, (_, i) => i).filter((i) => i !== 10).map((i) => fork.append(inferenceEvent(i))));
  const forkDir = join(root, 'fork-export');
  await exportStatic(fork, forkDir);
  await fork.close();
  // The fork is self-consistent: without history it verifies...
  assert.equal((await cli(['verify', '--log', forkDir, '--key', vkey])).code, 0);
  // ...but not against what this verifier saw before.
  await assert.rejects(auditVerify({ log: forkDir, key: vkey, statePath: state }), { name: 'LogForked', code: 'forked' });
  const res = await cli(['verify', '--log', forkDir, '--key', vkey, '--state', state]);
  assert.equal(res.code, 1);
  assert.match(res.err, /LogForked \(forked\).*rewritten/);
});

test('a log rolled back to fewer entries than the saved state is caught', async () => {
  const data = join(root, 'rollback-data');
  cpSync(join(base, 'ledger-key.pem'), join(data, 'ledger-key.pem'));
  const ledger = await openLedger(data);
  await appendRange(ledger, 0, 50);
  const small = join(root, 'rollback-small');
  await exportStatic(ledger, small);
  await appendRange(ledger, 50, 60);
  const big = join(root, 'rollback-big');
  await exportStatic(ledger, big);
  await ledger.close();
  const state = join(root, 'rollback.state');
  await auditVerify({ log: big, key: vkey, statePath: state });
  await assert.rejects(auditVerify({ log: small, key: vkey, statePath: state }), { name: 'LogForked', code: 'rolled_back' });
});

test('a log checked with another key, or a missing tile, fails with a precise reason', async () => {
  const ledger = await openLedger(base);
  const dir = join(root, 'wrongkey-export');
  await exportStatic(ledger, dir);
  await ledger.close();
  const other = await openLedger(join(root, 'other-key'));
  await other.close();
  await assert.rejects(auditVerify({ log: dir, key: other.key.vkey }), { name: 'NoteSignatureInvalid', code: 'no_trusted_signature' });
  // PEM public key of the right key works too (name taken from the checkpoint origin).
  const pemFile = join(root, 'ledger.pub.pem');
  writeFileSync(pemFile, ledger.key.publicKeyPem);
  assert.equal((await cli(['verify', '--log', dir, '--key', pemFile])).code, 0);
  rmSync(join(dir, 'tile/0/002.p/88'));
  await assert.rejects(auditVerify({ log: dir, key: vkey }), { name: 'LogResourceMissing', code: 'missing' });
  const res = await cli(['verify', '--log', dir, '--key', vkey]);
  assert.equal(res.code, 1);
  assert.equal((await cli(['verify', '--key', vkey])).code, 2);
});

test('a log that cannot be reached is exit 3 naming the network cause, never reported as a malformed checkpoint', async () => {
  const port = await new Promise<number>((resolvePort) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolvePort(p));
    });
  });
  const res = await cli(['verify', '--log', `http://127.0.0.1:${port}/audit/v1`, '--key', vkey]);
  assert.equal(res.code, 3, res.err);
  assert.match(res.err, /ERROR: could not complete the check: fetch failed \(ECONNREFUSED/);
  assert.doesNotMatch(res.err, /UTF-8/);
});
