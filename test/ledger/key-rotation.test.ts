// Rotating the ledger key: the ring on disk (crash-safe steps, private half of the replaced key deleted when its
// overlap ends), a ledger that keeps one tree across keys (co-signed during the overlap, resumable after a
// restart), receipts and audits that verify across the rotation with the old and new public keys, the cadence
// on a fixed clock, and every refusal. Real keys, a real SQLite ledger on its writer thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { FixedClock } from '../../src/core/clock.js';
import { openCheckpoint, openCheckpointWith } from '../../src/ledger/checkpoint.js';
import { ledgerKeyFromPrivate, LEDGER_KEY_FILE, LedgerKeyInsecure } from '../../src/ledger/key.js';
import { endOverlap, fixedKeyRing, LEDGER_KEY_RING_FILE, LedgerKeyRingInvalid, loadLedgerKeyRing, NEXT_KEY_FILE, PREVIOUS_KEY_FILE, ringVerifiers, rotateLedgerKey, type LedgerKeyRing } from '../../src/ledger/key-ring.js';
import { LedgerKeyRotation } from '../../src/ledger/key-rotation.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseNote, parseVerifierKey } from '../../src/ledger/note.js';
import { issueReceipt, openProofReceipt } from '../../src/ledger/receipt-proof.js';
import { ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { inferenceEvent } from './events.js';
import { ORIGIN, tmpDir } from './helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 9);

async function open(dir: string, ring: LedgerKeyRing): Promise<Ledger> {
  return Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'ledger.db')), key: ring.current, cosigners: ring.cosigners, previousKeys: ringVerifiers(ring).slice(1) });
}

const signersOf = (note: string) => parseNote(note).signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`);

test('a rotation with overlap: one tree across keys, co-signed until the overlap ends, then the new key alone', async () => {
  const dir = tmpDir();
  try {
    const ring0 = loadLedgerKeyRing(dir, T0, ORIGIN);
    assert.equal(ring0.previous.length, 0);
    assert.equal(JSON.parse(readFileSync(join(dir, LEDGER_KEY_RING_FILE), 'utf8')).current, ring0.current.vkey);
    const ledger = await open(dir, ring0);
    await ledger.append(inferenceEvent(0));
    const before = await ledger.append(inferenceEvent(1)); // an allowed, released response (a receipt vouches for those)
    const oldV = ring0.current.verifier;

    const ring1 = rotateLedgerKey(dir, ring0, T0 + DAY, 7 * DAY, ORIGIN);
    assert.notEqual(ring1.current.vkey, ring0.current.vkey);
    assert.equal(ring1.previous[0]!.vkey, ring0.current.vkey);
    assert.equal(ring1.cosigners.length, 1);
    assert.ok(existsSync(join(dir, PREVIOUS_KEY_FILE)));
    assert.equal(readFileSync(join(dir, PREVIOUS_KEY_FILE)).length > 0, true);
    ledger.useKey(ring1.current, ring1.cosigners, ringVerifiers(ring1).slice(1));

    const during = await ledger.append(inferenceEvent(2));
    assert.equal(during.checkpoint.size, 3, 'the new key extends the same tree');
    assert.deepEqual(signersOf(during.checkpoint.note).length, 2, 'both keys sign during the overlap');
    // A verifier that pinned the old key keeps verifying; one that learnt the new key too.
    assert.equal(openCheckpoint(during.checkpoint.note, oldV).size, 3);
    assert.equal(openCheckpoint(during.checkpoint.note, ring1.current.verifier).size, 3);
    // A receipt from before the rotation verifies with the old key, and with the set of both.
    assert.equal(openProofReceipt(issueReceipt(before), ring0.current.vkey).payload.leafIndex, 1);
    assert.equal(openProofReceipt(issueReceipt(before), [ring1.current.vkey, ring0.current.vkey]).payload.leafIndex, 1);

    // The overlap ends: the old private half is deleted; new checkpoints carry the new key alone.
    assert.equal(endOverlap(dir, ring1, T0 + 5 * DAY), ring1, 'before overlapUntil nothing changes');
    const ring2 = endOverlap(dir, ring1, T0 + 8 * DAY + 1);
    assert.equal(ring2.cosigners.length, 0);
    assert.equal(existsSync(join(dir, PREVIOUS_KEY_FILE)), false, 'the replaced private key is gone');
    ledger.useKey(ring2.current, ring2.cosigners, ringVerifiers(ring2).slice(1));
    const after = await ledger.append(inferenceEvent(3));
    assert.deepEqual(signersOf(after.checkpoint.note), [`${ORIGIN}+${ring2.current.signer.keyId.toString('hex')}`]);
    assert.throws(() => openCheckpoint(after.checkpoint.note, oldV), /no signature from a trusted key/, 'the old key alone no longer vouches for new checkpoints');
    assert.throws(() => openProofReceipt(issueReceipt(after), ring0.current.vkey), /no signature from a trusted key/);
    assert.equal(openProofReceipt(issueReceipt(after), [ring0.current.vkey, ring2.current.vkey]).payload.leafIndex, 3);
    await ledger.close();

    // A restart: the ring loads from disk (no cosigner: the overlap is over) and the log resumes.
    const reloaded = loadLedgerKeyRing(dir, T0 + 9 * DAY, ORIGIN);
    assert.equal(reloaded.current.vkey, ring2.current.vkey);
    assert.equal(reloaded.cosigners.length, 0);
    const again = await open(dir, reloaded);
    assert.equal(again.size, 4);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a log whose last checkpoint the replaced key signed resumes after a restart; without the ring it is refused', async () => {
  const dir = tmpDir();
  try {
    const ring0 = loadLedgerKeyRing(dir, T0, ORIGIN);
    const ledger = await open(dir, ring0);
    await ledger.append(inferenceEvent(0));
    await ledger.close();
    // Offline rotation, no overlap: the stored checkpoint is signed by the old key only.
    rotateLedgerKey(dir, ring0, T0 + DAY, 0, ORIGIN);
    assert.equal(existsSync(join(dir, PREVIOUS_KEY_FILE)), false, 'no overlap, no copy of the old private key');
    const ring1 = loadLedgerKeyRing(dir, T0 + DAY, ORIGIN);
    // The new key without the history of the keys it replaced: the stored tree is not vouched for.
    const store = await ThreadedSqliteLedgerStore.open(join(dir, 'ledger.db'));
    await assert.rejects(Ledger.open({ store, key: ring1.current }), /not signed by this ledger key/);
    await store.close();
    const resumed = await open(dir, ring1);
    const next = await resumed.append(inferenceEvent(1));
    assert.equal(next.index, 1);
    await resumed.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key file replaced by hand, an insecure replaced key, or a corrupt ring refuse the start', () => {
  const dir = tmpDir();
  try {
    loadLedgerKeyRing(dir, T0, ORIGIN);
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, LEDGER_KEY_FILE), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    assert.throws(() => loadLedgerKeyRing(dir, T0, ORIGIN), (e: unknown) => e instanceof LedgerKeyRingInvalid && /replaced by hand/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const dir2 = tmpDir();
  try {
    const ring = loadLedgerKeyRing(dir2, T0, ORIGIN);
    rotateLedgerKey(dir2, ring, T0 + DAY, 7 * DAY, ORIGIN);
    chmodSync(join(dir2, PREVIOUS_KEY_FILE), 0o644);
    assert.throws(() => loadLedgerKeyRing(dir2, T0 + 2 * DAY, ORIGIN), LedgerKeyInsecure);
    chmodSync(join(dir2, PREVIOUS_KEY_FILE), 0o600);
    writeFileSync(join(dir2, LEDGER_KEY_RING_FILE), '{not json');
    assert.throws(() => loadLedgerKeyRing(dir2, T0 + 2 * DAY, ORIGIN), (e: unknown) => e instanceof LedgerKeyRingInvalid && /not JSON/.test(e.message));
    writeFileSync(join(dir2, LEDGER_KEY_RING_FILE), JSON.stringify({ current: 'x', since: 1, previous: [{ vkey: 'nonsense', retiredAt: 1, overlapUntil: 2 }] }));
    assert.throws(() => loadLedgerKeyRing(dir2, T0 + 2 * DAY, ORIGIN));
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
});

test('a rotation interrupted between its steps is finished or undone at the next start', () => {
  const dir = tmpDir();
  try {
    const ring0 = loadLedgerKeyRing(dir, T0, ORIGIN);
    // Crashed after writing the new key, before recording it: the current key never stopped signing.
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, NEXT_KEY_FILE), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const undone = loadLedgerKeyRing(dir, T0, ORIGIN);
    assert.equal(undone.current.vkey, ring0.current.vkey);
    assert.equal(existsSync(join(dir, NEXT_KEY_FILE)), false);
    // Crashed after recording it, before the rename: the record wins and the rename is done.
    const next = ledgerKeyFromPrivate(privateKey, ORIGIN);
    writeFileSync(join(dir, NEXT_KEY_FILE), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const rec = JSON.parse(readFileSync(join(dir, LEDGER_KEY_RING_FILE), 'utf8'));
    writeFileSync(join(dir, LEDGER_KEY_RING_FILE), JSON.stringify({ current: next.vkey, since: T0 + 1, previous: [{ vkey: ring0.current.vkey, publicKeyPem: ring0.current.publicKeyPem, since: rec.since, retiredAt: T0 + 1, overlapUntil: T0 + 1 }] }));
    const finished = loadLedgerKeyRing(dir, T0 + 2, ORIGIN);
    assert.equal(finished.current.vkey, next.vkey);
    assert.equal(existsSync(join(dir, NEXT_KEY_FILE)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the cadence on a fixed clock: rotated when the key is older than the period, recorded first, overlap ended later', async () => {
  const dir = tmpDir();
  const clock = new FixedClock(T0);
  try {
    const ring = loadLedgerKeyRing(dir, clock.now(), ORIGIN);
    const ledger = await open(dir, ring);
    const recorded: { action: string; details: Record<string, unknown>; cp: string }[] = [];
    const rotation = new LedgerKeyRotation({
      ledger, ring, dataDir: dir, shared: false, clock, rotateAfterMs: 30 * DAY, overlapMs: 3 * DAY,
      record: async (action, details) => {
        const r = await ledger.append({ ...inferenceEvent(recorded.length), action });
        recorded.push({ action, details, cp: r.checkpoint.note });
      },
    });
    clock.advance(29 * DAY);
    assert.equal(await rotation.tick(), 'nothing');
    assert.equal(ledger.key.vkey, ring.current.vkey);
    clock.advance(DAY + 1);
    assert.equal(await rotation.tick(), 'rotated');
    assert.notEqual(ledger.key.vkey, ring.current.vkey);
    assert.equal(recorded[0]!.action, 'ledger.key.rotate');
    assert.equal(recorded[0]!.details.previous, ring.current.vkey);
    assert.equal(recorded[0]!.details.scheduled, true);
    // The entry announcing the rotation was committed under the old key alone; the next batch under both.
    assert.deepEqual(signersOf(recorded[0]!.cp), [`${ORIGIN}+${ring.current.signer.keyId.toString('hex')}`]);
    assert.equal(signersOf((await ledger.append(inferenceEvent(99))).checkpoint.note).length, 2);
    assert.equal(rotation.previous()[0]!.vkey, ring.current.vkey);
    clock.advance(DAY);
    assert.equal(await rotation.tick(), 'nothing', 'the new key is young and still in its overlap');
    clock.advance(3 * DAY);
    assert.equal(await rotation.tick(), 'overlap_ended');
    assert.equal(recorded.at(-1)!.action, 'ledger.key.overlap_end');
    assert.equal(signersOf((await ledger.append(inferenceEvent(100))).checkpoint.note).length, 1);
    assert.equal(existsSync(join(dir, PREVIOUS_KEY_FILE)), false);
    await ledger.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refused: a rotation the ledger cannot record leaves the key; a token-held key; a shared log', async () => {
  const dir = tmpDir();
  const clock = new FixedClock(T0);
  try {
    const ring = loadLedgerKeyRing(dir, clock.now(), ORIGIN);
    const ledger = await open(dir, ring);
    const failing = new LedgerKeyRotation({ ledger, ring, dataDir: dir, shared: false, clock, rotateAfterMs: null, overlapMs: DAY, record: async () => { throw new Error('disk full'); } });
    await assert.rejects(failing.rotate('ops'), /disk full/);
    assert.equal(ledger.key.vkey, ring.current.vkey, 'not recorded, not rotated');
    assert.equal(JSON.parse(readFileSync(join(dir, LEDGER_KEY_RING_FILE), 'utf8')).current, ring.current.vkey);

    const onToken = new LedgerKeyRotation({ ledger, ring: fixedKeyRing(ring.current, [], clock.now()), dataDir: null, shared: false, clock, rotateAfterMs: DAY, overlapMs: DAY, record: async () => {} });
    await assert.rejects(onToken.rotate('ops'), (e: unknown) => (e as { status: number; code: string }).status === 409 && (e as { code: string }).code === 'ledger_key_on_token');
    clock.advance(2 * DAY);
    assert.equal(await onToken.tick(), 'nothing', 'the cadence skips a key it cannot rotate');
    const shared = new LedgerKeyRotation({ ledger, ring, dataDir: dir, shared: true, clock, rotateAfterMs: null, overlapMs: DAY, record: async () => {} });
    await assert.rejects(shared.rotate('ops'), (e: unknown) => (e as { code: string }).code === 'ledger_key_shared');
    assert.equal(ledger.key.vkey, ring.current.vkey);
    await ledger.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ledger.previousKeys for a token key: names another log refused; listed keys open old checkpoints', async () => {
  const dir = tmpDir();
  try {
    const ring0 = loadLedgerKeyRing(dir, T0, ORIGIN);
    const ledger = await open(dir, ring0);
    const first = await ledger.append(inferenceEvent(0));
    await ledger.close();
    const { privateKey } = generateKeyPairSync('ed25519');
    const replacement = ledgerKeyFromPrivate(privateKey, ORIGIN);
    const other = ledgerKeyFromPrivate(generateKeyPairSync('ed25519').privateKey, 'another.log/audit');
    assert.throws(() => fixedKeyRing(replacement, [other.vkey], T0), /is for log another\.log\/audit/);
    const ring = fixedKeyRing(replacement, [ring0.current.vkey], T0);
    const resumed = await open(dir, ring);
    const next = await resumed.append(inferenceEvent(1));
    assert.equal(openCheckpointWith(next.checkpoint.note, [parseVerifierKey(replacement.vkey)], ORIGIN).size, 2);
    assert.equal(openCheckpoint(first.checkpoint.note, ring0.current.verifier).size, 1);
    await resumed.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rotation whose key files cannot be written is recorded as failed and leaves the key', async () => {
  const dir = tmpDir();
  const clock = new FixedClock(T0);
  try {
    const ring = loadLedgerKeyRing(dir, clock.now(), ORIGIN);
    const ledger = await open(dir, ring);
    const recorded: string[] = [];
    const rotation = new LedgerKeyRotation({ ledger, ring, dataDir: dir, shared: false, clock, rotateAfterMs: null, overlapMs: DAY, record: async (action) => void recorded.push(action) });
    // A leftover previous-key path that is a directory: the rotation cannot write the replaced key there.
    mkdirSync(join(dir, PREVIOUS_KEY_FILE));
    writeFileSync(join(dir, PREVIOUS_KEY_FILE, 'x'), 'keep');
    await assert.rejects(rotation.rotate('ops'));
    assert.deepEqual(recorded, ['ledger.key.rotate', 'ledger.key.rotate_failed']);
    assert.equal(ledger.key.vkey, ring.current.vkey);
    assert.equal(JSON.parse(readFileSync(join(dir, LEDGER_KEY_RING_FILE), 'utf8')).current, ring.current.vkey);
    await ledger.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
