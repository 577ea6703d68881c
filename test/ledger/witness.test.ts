// C2SP tlog-witness and tlog-cosignature: the witness's answers for every case the spec names, over real
// HTTP with real keys and a real SQLite state, and cosignature/v1 signing and verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FixedClock } from '../../src/core/clock.js';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import { cosign, cosignedMessage, parseCosignatureVerifierKey, parseTimestampedSignature, verifyCosignatures } from '../../src/ledger/cosignature.js';
import { CosignatureInvalid, VerifierKeyMalformed } from '../../src/ledger/errors.js';
import { ledgerKeyFromPrivate } from '../../src/ledger/key.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { parseNote, parseVerifierKey } from '../../src/ledger/note.js';
import { loadOrCreateWitnessKey, type WitnessKey } from '../../src/ledger/witness/key.js';
import { formatAddCheckpointRequest } from '../../src/ledger/witness/request.js';
import { startWitnessServer, type RunningWitness } from '../../src/ledger/witness/server.js';
import { Witness } from '../../src/ledger/witness/witness.js';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite.js';
import { SqliteWitnessStore } from '../../src/store/witness-sqlite.js';
import { appendRange, openLedger, ORIGIN, tmpDir } from './helpers.js';

const root = tmpDir();
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const clock = new FixedClock(T0);
let ledger: Ledger;
let wkey: WitnessKey;
let db: SqliteDb;
let store: SqliteWitnessStore;
let running: RunningWitness;

test.before(async () => {
  ledger = await openLedger(join(root, 'log'));
  wkey = loadOrCreateWitnessKey(join(root, 'witness'), 'witness.test/w1');
  db = openSqlite(join(root, 'witness', 'witness.db'));
  store = new SqliteWitnessStore(db);
  running = await startWitnessServer(new Witness({ store, signer: wkey.signer, logKeys: [ledger.key.verifier], clock }), 0);
});
test.after(async () => {
  await running.close();
  db.close();
  await ledger.close();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh data dir holding a copy of the log's signing key: what an insider with the data dir has. */
function withLogKey(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(join(root, 'log', 'ledger-key.pem'), join(dir, 'ledger-key.pem'));
  return dir;
}

async function post(body: string, method = 'POST'): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${running.url}/add-checkpoint`, { method, ...(method === 'POST' ? { body } : {}) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function submission(old: number): Promise<string> {
  const cp = ledger.latestCheckpoint();
  const proof = old === 0 ? [] : (await ledger.consistencyProof(old, cp.size)).hashes.map((h) => Buffer.from(h, 'base64'));
  return formatAddCheckpointRequest({ oldSize: old, proof, checkpoint: cp.note });
}

test('cosignature/v1: the signed message is the spec example, and a cosignature verifies only on its checkpoint', () => {
  const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
  assert.equal(cosignedMessage(body, 1679315147).toString(), `cosignature/v1\ntime 1679315147\n${body}`);
  const w = parseCosignatureVerifierKey(wkey.vkey);
  const cp = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: Buffer.alloc(32, 1) }, ledger.key.signer);
  const line = cosign(`${ORIGIN}\n3\n${Buffer.alloc(32, 1).toString('base64')}\n`, wkey.signer, 1_700_000_000);
  // base64(key ID || u64 timestamp || 64-byte signature)
  const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
  assert.equal(raw.length, 4 + 8 + 64);
  assert.equal(raw.readBigUInt64BE(4), 1_700_000_000n);
  assert.deepEqual(verifyCosignatures(cp.note + line, [w], { now: 1_700_000_100 }), [{ name: 'witness.test/w1', timestamp: 1_700_000_000 }]);
  // The log's own signature is not a cosignature (key ID computed with 0x01, not 0x04) and is ignored.
  assert.deepEqual(verifyCosignatures(cp.note, [w], { now: 1_700_000_100 }), []);
  const other = signCheckpoint({ origin: ORIGIN, size: 4, rootHash: Buffer.alloc(32, 1) }, ledger.key.signer);
  assert.throws(() => verifyCosignatures(other.note + line, [w], { now: 1_700_000_100 }), (e: unknown) => e instanceof CosignatureInvalid && e.code === 'bad_cosignature');
  assert.throws(() => verifyCosignatures(cp.note + line, [w], { now: 1_700_000_000 - 3600 }), (e: unknown) => e instanceof CosignatureInvalid && e.code === 'timestamp_in_future');
});

test('the cosignature in the tlog-cosignature spec example parses: key ID 8d66cf3f, time 1679315147', () => {
  // c2sp.org/tlog-cosignature, "Format" example (the witness's key is not published, so this is parse-only).
  const note = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
    '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
    '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n';
  const sig = parseNote(note).signatures[1]!;
  assert.equal(sig.keyId.toString('hex'), '8d66cf3f');
  const ts = parseTimestampedSignature(sig.signature, sig.name);
  assert.equal(ts.timestamp, 1679315147);
  assert.equal(ts.signature.length, 64);
  // The spec's signed-message example for the same checkpoint and time.
  assert.equal(cosignedMessage(parseNote(note).text, ts.timestamp).toString(), 'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
  assert.throws(() => parseTimestampedSignature(sig.signature.subarray(1), sig.name), (e: unknown) => e instanceof CosignatureInvalid && e.code === 'bad_signature_length');
});

test('a log key is not a witness key, and a witness vkey with a wrong key id is refused', () => {
  assert.throws(() => parseCosignatureVerifierKey(ledger.key.vkey), (e: unknown) => e instanceof VerifierKeyMalformed && e.code === 'not_a_cosignature_key');
  assert.throws(() => parseVerifierKey(wkey.vkey), VerifierKeyMalformed);
  // Key material with '+' in its base64 still parses (only the first two '+' separate fields).
  let plus = wkey;
  for (let i = 0; !/\+.*\+.*\+/.test(plus.vkey); i++) plus = loadOrCreateWitnessKey(join(root, `plus-${i}`), 'witness.test/w1');
  assert.equal(parseCosignatureVerifierKey(plus.vkey).name, 'witness.test/w1');
  const [, name, material] = /^([^+]+)\+[0-9a-f]{8}\+(.+)$/.exec(wkey.vkey)!;
  assert.throws(() => parseCosignatureVerifierKey(`${name}+00000000+${material}`), (e: unknown) => e instanceof VerifierKeyMalformed && e.code === 'key_id_mismatch');
});

test('add-checkpoint: first submission from size 0 is cosigned, a larger one with a proof too; the state is in SQLite', async () => {
  await appendRange(ledger, 0, 40);
  const r1 = await post(await submission(0));
  assert.equal(r1.status, 200, r1.text);
  const cp40 = ledger.latestCheckpoint();
  assert.deepEqual(verifyCosignatures(cp40.note + r1.text, [parseCosignatureVerifierKey(wkey.vkey)], { now: T0 / 1000 }), [{ name: 'witness.test/w1', timestamp: T0 / 1000 }]);
  await appendRange(ledger, 40, 300);
  clock.advance(60_000);
  const r2 = await post(await submission(40));
  assert.equal(r2.status, 200, r2.text);
  assert.match(r2.text, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/=]+\n$/u);
  assert.equal(store.latest(ORIGIN)?.size, 300);
  // Same checkpoint again (old size = size, same root): cosigned afresh, which keeps cosignatures recent.
  clock.advance(60_000);
  const r3 = await post(await submission(300));
  assert.equal(r3.status, 200, r3.text);
  assert.equal(verifyCosignatures(ledger.latestCheckpoint().note + r3.text, [parseCosignatureVerifierKey(wkey.vkey)], { now: clock.now() / 1000 })[0]!.timestamp, clock.now() / 1000);
});

test('add-checkpoint: a stale old size gets 409 with the known size as text/x.tlog.size', async () => {
  const r = await post(await submission(40));
  assert.equal(r.status, 409);
  assert.equal(r.type, 'text/x.tlog.size');
  assert.equal(r.text, '300\n');
  const r0 = await post(await submission(0));
  assert.equal(r0.status, 409);
  assert.equal(r0.text, '300\n');
});

test('add-checkpoint: a checkpoint not signed by the log key gets 403', async () => {
  const impostor = ledgerKeyFromPrivate(generateKeyPairSync('ed25519').privateKey, ORIGIN);
  const cp = ledger.latestCheckpoint();
  const forged = signCheckpoint({ origin: ORIGIN, size: cp.size, rootHash: cp.rootHash }, impostor.signer);
  const r = await post(formatAddCheckpointRequest({ oldSize: 300, proof: [], checkpoint: forged.note }));
  assert.equal(r.status, 403, r.text);
  // A trusted key's signature that does not verify (the body was edited) is refused the same way.
  const edited = cp.note.replace(`\n${cp.size}\n`, `\n${cp.size + 1}\n`);
  assert.equal((await post(formatAddCheckpointRequest({ oldSize: 300, proof: [], checkpoint: edited }))).status, 403);
});

test('add-checkpoint: an unknown origin gets 404', async () => {
  const other = ledgerKeyFromPrivate(generateKeyPairSync('ed25519').privateKey, 'other.test/log');
  const cp = signCheckpoint({ origin: 'other.test/log', size: 1, rootHash: Buffer.alloc(32, 9) }, other.signer);
  const r = await post(formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: cp.note }));
  assert.equal(r.status, 404, r.text);
});

test('add-checkpoint: old size above the checkpoint size, malformed bodies and too many proof lines get 400; GET gets 405', async () => {
  const cp = ledger.latestCheckpoint();
  assert.equal((await post(formatAddCheckpointRequest({ oldSize: cp.size + 1, proof: [], checkpoint: cp.note }))).status, 400);
  assert.equal((await post(`old 0300\n\n${cp.note}`)).status, 400);
  assert.equal((await post(`old 300\nnot-a-hash\n\n${cp.note}`)).status, 400);
  assert.equal((await post(`old 300\n${cp.note}`)).status, 400);
  assert.equal((await post(formatAddCheckpointRequest({ oldSize: 300, proof: Array.from({ length: 64 }, () => Buffer.alloc(32)), checkpoint: cp.note }))).status, 400);
  assert.equal((await post('', 'GET')).status, 405);
});

test('add-checkpoint: an inconsistent proof gets 422 and is kept as evidence; a second root at the cosigned size gets 409', async () => {
  // The insider's move: a different history of 400 entries, signed with the real log key.
  const fork = await openLedger(withLogKey('fork'));
  await appendRange(fork, 1000, 1400);
  const proof = (await fork.consistencyProof(300, 400)).hashes.map((h) => Buffer.from(h, 'base64'));
  const r = await post(formatAddCheckpointRequest({ oldSize: 300, proof, checkpoint: fork.latestCheckpoint().note }));
  assert.equal(r.status, 422, r.text);
  assert.equal(store.evidence(ORIGIN).at(-1)?.reason, 'inconsistent');
  // A truncated-and-regrown history of exactly 300 entries: same size, another root.
  const regrown = await openLedger(withLogKey('regrown'));
  await appendRange(regrown, 2000, 2300);
  const r2 = await post(formatAddCheckpointRequest({ oldSize: 300, proof: [], checkpoint: regrown.latestCheckpoint().note }));
  assert.equal(r2.status, 409, r2.text);
  assert.equal(store.evidence(ORIGIN).at(-1)?.reason, 'root_mismatch');
  assert.equal(store.latest(ORIGIN)?.size, 300, 'the witness state did not move');
  await fork.close();
  await regrown.close();
});

test('the witness key is stored with mode 0600 and reloads to the same vkey', async () => {
  const { statSync } = await import('node:fs');
  assert.equal(statSync(join(root, 'witness', 'witness-key.pem')).mode & 0o777, 0o600);
  assert.equal(loadOrCreateWitnessKey(join(root, 'witness'), 'witness.test/w1').vkey, wkey.vkey);
});
