// The log side of tlog-witness with two real witnesses: one going down does not lower what auditors see
// until the served checkpoint is three intervals old; an unreachable witness or a bad answer is a failure
// of that witness only, never of the round or of the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FixedClock } from '../../src/core/clock.js';
import { parseCosignatureVerifierKey, verifyCosignatures } from '../../src/ledger/cosignature.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { loadOrCreateWitnessKey, type WitnessKey } from '../../src/ledger/witness/key.js';
import { startWitnessServer, type RunningWitness } from '../../src/ledger/witness/server.js';
import { Witness } from '../../src/ledger/witness/witness.js';
import { WitnessSubmitter } from '../../src/ledger/witness-submitter.js';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite.js';
import { SqliteWitnessStore } from '../../src/store/witness-sqlite.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

const root = tmpDir();
const clock = new FixedClock(Math.floor(Date.now() / 1000) * 1000);
const INTERVAL = 60_000;
let ledger: Ledger;
const keys: WitnessKey[] = [];
const dbs: SqliteDb[] = [];
const servers: RunningWitness[] = [];

async function startWitness(i: number): Promise<RunningWitness> {
  keys[i] ??= loadOrCreateWitnessKey(join(root, `w${i}`), `witness.test/w${i}`);
  dbs[i] ??= openSqlite(join(root, `w${i}`, 'witness.db'));
  const w = await startWitnessServer(new Witness({ store: new SqliteWitnessStore(dbs[i]!), signer: keys[i]!.signer, logKeys: [ledger.key.verifier], clock }), 0);
  servers[i] = w;
  return w;
}

test.before(async () => {
  ledger = await openLedger(join(root, 'log'));
});
test.after(async () => {
  for (const s of servers.filter(Boolean)) await s.close();
  for (const d of dbs.filter(Boolean)) d.close();
  await ledger.close();
  rmSync(root, { recursive: true, force: true });
});

const count = (note: string | null) => verifyCosignatures(note ?? '', keys.filter(Boolean).map((k) => parseCosignatureVerifierKey(k.vkey)), { now: clock.now() / 1000 }).length;

test('one witness down: the checkpoint with both cosignatures stays served for three intervals, then the newer one replaces it', async () => {
  const [w1, w2] = [await startWitness(1), await startWitness(2)];
  const submitter = new WitnessSubmitter({
    ledger,
    logKey: ledger.key.verifier,
    witnesses: [{ name: 'w1', url: w1.url, key: keys[1]!.vkey }, { name: 'w2', url: w2.url, key: keys[2]!.vkey }],
    intervalMs: INTERVAL,
    clock,
    statePath: join(root, 'log', 'witnessed-checkpoint'),
    timeoutMs: 2000,
  });
  await appendRange(ledger, 0, 100);
  assert.deepEqual((await submitter.submitOnce()).cosigned, ['w1', 'w2']);
  assert.equal(count(submitter.witnessedCheckpoint()), 2);

  await w2.close();
  await appendRange(ledger, 100, 120);
  clock.advance(INTERVAL);
  const r = await submitter.submitOnce();
  assert.deepEqual(r.cosigned, ['w1']);
  assert.equal(r.failed[0]!.name, 'w2');
  assert.match(submitter.witnessedCheckpoint()!, /\n100\n/, 'the older checkpoint with two cosignatures is still served');

  clock.advance(3 * INTERVAL);
  await submitter.submitOnce();
  assert.match(submitter.witnessedCheckpoint()!, /\n120\n/);
  assert.equal(count(submitter.witnessedCheckpoint()), 1);

  // w2 back: it resyncs from 100 (its state) to the log's size and both cosign again.
  const back = await startWitness(2);
  const again = new WitnessSubmitter({
    ledger,
    logKey: ledger.key.verifier,
    witnesses: [{ name: 'w1', url: w1.url, key: keys[1]!.vkey }, { name: 'w2', url: back.url, key: keys[2]!.vkey }],
    intervalMs: INTERVAL,
    clock,
    statePath: join(root, 'log', 'witnessed-checkpoint'),
  });
  assert.deepEqual((await again.submitOnce()).cosigned, ['w1', 'w2']);
  assert.equal(count(again.witnessedCheckpoint()), 2);
});

test('a witness that answers 200 without a cosignature by its configured key, or with garbage, is a failure of that witness', async () => {
  const liar = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // A cosignature line by another key: ignored, so no cosignature from the configured one.
      res.end(req.url === '/a/add-checkpoint' ? '\u2014 witness.test/w1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' : 'not a signature\n');
    });
  });
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  const other = loadOrCreateWitnessKey(join(root, 'liar'), 'witness.test/liar');
  try {
    const submitter = new WitnessSubmitter({
      ledger,
      logKey: ledger.key.verifier,
      witnesses: [{ name: 'a', url: `${url}/a`, key: other.vkey }, { name: 'b', url: `${url}/b`, key: other.vkey }, { name: 'gone', url: 'http://127.0.0.1:1', key: other.vkey }],
      intervalMs: INTERVAL,
      clock,
      statePath: join(root, 'liar-state'),
      timeoutMs: 2000,
    });
    const r = await submitter.submitOnce();
    assert.deepEqual(r.cosigned, []);
    assert.deepEqual(r.failed.map((f) => f.name), ['a', 'b', 'gone']);
    assert.match(r.failed[0]!.error, /without a cosignature from its configured key/);
    assert.match(r.failed[1]!.error, /not a sequence of note signature lines/);
    assert.equal(submitter.witnessedCheckpoint(), null);
  } finally {
    await new Promise<void>((r) => {
      liar.close(() => r());
      liar.closeAllConnections();
    });
  }
});
