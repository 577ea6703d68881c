// The ledger key ring: the key that signs checkpoints now, the key it replaced (still co-signing during an
// overlap, so auditors, witnesses and receipt holders that pinned it keep verifying new checkpoints while they
// learn the new key), and the public halves of every key the log was ever signed with (so a stored or
// published checkpoint from before a rotation still opens, and old receipts still verify).
//
// Files in the data dir, all mode 0600:
//   ledger-key.pem            the current key (PKCS#8), as before rotation existed
//   ledger-key.previous.pem   the replaced key, only until its overlap ends; then deleted (its private half is
//                             never needed again: old checkpoints verify with the public half)
//   ledger-key.next.pem       a new key between two steps of a rotation (see rotateLedgerKey)
//   ledger-keys.json          { current: vkey, since, previous: [{ vkey, publicKeyPem, since, retiredAt, overlapUntil }] }
//
// A rotation writes the new key next to the current one, records it in ledger-keys.json (written to a temporary
// file and renamed), then renames it over ledger-key.pem; a crash between the last two steps is finished at the
// next start (the record names the new key, and ledger-key.next.pem holds it). Keys in a PKCS#11 token are not
// rotated here: a new key is made on the token and configured; the old one is declared in `ledger.previousKeys`.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FailClosed } from '../core/errors.js';
import { DEFAULT_LEDGER_ORIGIN, LEDGER_KEY_FILE, LedgerKeyInsecure, ledgerKeyFromPrivate, loadOrCreateEd25519Key, type LedgerKey } from './key.js';
import { parseVerifierKey, type NoteSigner, type NoteVerifier } from './note.js';

export const LEDGER_KEY_RING_FILE = 'ledger-keys.json';
export const PREVIOUS_KEY_FILE = 'ledger-key.previous.pem';
export const NEXT_KEY_FILE = 'ledger-key.next.pem';

/** A key the log was signed with before the current one. */
export interface PreviousLedgerKey {
  vkey: string;
  publicKeyPem: string;
  /** When it began signing (ms; null when unknown: a key from before the ring was recorded). */
  since: number | null;
  /** When the next key replaced it. */
  retiredAt: number;
  /** Until when it co-signs new checkpoints (ms). */
  overlapUntil: number;
}

interface RingRecord {
  current: string;
  since: number;
  previous: PreviousLedgerKey[];
}

/** What a running ledger signs and trusts with. */
export interface LedgerKeyRing {
  current: LedgerKey;
  /** When the current key began signing (ms). */
  since: number;
  /** Keys that co-sign new checkpoints with the current one (the replaced key during its overlap). */
  cosigners: NoteSigner[];
  /** Every earlier key (newest first): stored checkpoints signed by any of them still open. */
  previous: PreviousLedgerKey[];
}

/** The ring's record or key files disagree in a way that needs a person (fail closed: no start). */
export class LedgerKeyRingInvalid extends FailClosed {
  constructor(message: string) {
    super('ledger_key_ring_invalid', message);
  }
}

/** Verifiers for the current key and every earlier one: what a stored checkpoint may be signed by. */
export function ringVerifiers(ring: Pick<LedgerKeyRing, 'current' | 'previous'>): NoteVerifier[] {
  return [ring.current.verifier, ...ring.previous.map((p) => parseVerifierKey(p.vkey))];
}

function readPrivate(file: string): KeyObject {
  const st = statSync(file);
  if ((st.mode & 0o077) !== 0) throw new LedgerKeyInsecure(`${file} has mode ${(st.mode & 0o777).toString(8)}; it must be 600`);
  return createPrivateKey(readFileSync(file, 'utf8'));
}

function readRecord(dataDir: string): RingRecord | null {
  const file = join(dataDir, LEDGER_KEY_RING_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let rec: RingRecord;
  try {
    rec = JSON.parse(text) as RingRecord;
  } catch (e) {
    throw new LedgerKeyRingInvalid(`${file} is not JSON (${(e as Error).message}); restore it from a backup: it lists the keys earlier checkpoints were signed with`);
  }
  if (typeof rec?.current !== 'string' || typeof rec.since !== 'number' || !Array.isArray(rec.previous)) throw new LedgerKeyRingInvalid(`${file} lacks current, since or previous`);
  for (const p of rec.previous) {
    if (typeof p?.vkey !== 'string' || typeof p.retiredAt !== 'number' || typeof p.overlapUntil !== 'number') throw new LedgerKeyRingInvalid(`${file}: a previous key lacks vkey, retiredAt or overlapUntil`);
    parseVerifierKey(p.vkey);
  }
  return rec;
}

function writeRecord(dataDir: string, rec: RingRecord): void {
  const file = join(dataDir, LEDGER_KEY_RING_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Loads the ring from the data dir (creating the key and its record on a first start), finishing a rotation a
 * crash interrupted, and deleting the replaced key's private half once its overlap has ended.
 */
export function loadLedgerKeyRing(dataDir: string, now: number, name: string = DEFAULT_LEDGER_ORIGIN): LedgerKeyRing {
  let rec = readRecord(dataDir);
  const nextFile = join(dataDir, NEXT_KEY_FILE);
  if (existsSync(nextFile)) {
    const next = ledgerKeyFromPrivate(readPrivate(nextFile), name);
    // Recorded: the rotation got past its record and only the rename is missing. Not recorded: it stopped
    // before the record, so the current key never stopped signing; drop the unused new key.
    if (rec?.current === next.vkey) renameSync(nextFile, join(dataDir, LEDGER_KEY_FILE));
    else unlinkSync(nextFile);
  }
  const current = ledgerKeyFromPrivate(loadOrCreateEd25519Key(dataDir, LEDGER_KEY_FILE), name);
  if (rec === null) {
    rec = { current: current.vkey, since: now, previous: [] };
    writeRecord(dataDir, rec);
  } else if (rec.current !== current.vkey) {
    throw new LedgerKeyRingInvalid(`${join(dataDir, LEDGER_KEY_FILE)} (${current.vkey}) is not the key ${join(dataDir, LEDGER_KEY_RING_FILE)} records as current (${rec.current}): a key file was replaced by hand; rotate with \`warden ledger key rotate\` instead`);
  }
  const cosigners: NoteSigner[] = [];
  const prevFile = join(dataDir, PREVIOUS_KEY_FILE);
  const newest = rec.previous[0];
  if (newest && now < newest.overlapUntil && existsSync(prevFile)) {
    const prev = ledgerKeyFromPrivate(readPrivate(prevFile), name);
    if (prev.vkey !== newest.vkey) throw new LedgerKeyRingInvalid(`${prevFile} is not the replaced key ${newest.vkey} that ${LEDGER_KEY_RING_FILE} records`);
    cosigners.push(prev.signer);
  } else {
    removeIfPresent(prevFile);
  }
  return { current, since: rec.since, cosigners, previous: rec.previous };
}

/**
 * Replaces the current key with a new one; the replaced key co-signs for `overlapMs` (0: never). Returns the
 * new ring. Steps are ordered so a crash at any point leaves either the old ring or the new one (see above).
 */
export function rotateLedgerKey(dataDir: string, ring: LedgerKeyRing, now: number, overlapMs: number, name: string = DEFAULT_LEDGER_ORIGIN): LedgerKeyRing {
  if (!(Number.isSafeInteger(overlapMs) && overlapMs >= 0)) throw new RangeError('overlap must be a non-negative number of milliseconds');
  const rec = readRecord(dataDir);
  if (rec === null || rec.current !== ring.current.vkey) throw new LedgerKeyRingInvalid(`the key ring in ${dataDir} changed since this ledger loaded it (another process rotated it?); restart to load it`);
  const oldPrivate = readPrivate(join(dataDir, LEDGER_KEY_FILE));
  const { privateKey } = generateKeyPairSync('ed25519');
  const next = ledgerKeyFromPrivate(privateKey, name);
  const prevFile = join(dataDir, PREVIOUS_KEY_FILE);
  removeIfPresent(prevFile);
  if (overlapMs > 0) writeFileSync(prevFile, oldPrivate.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  const nextFile = join(dataDir, NEXT_KEY_FILE);
  removeIfPresent(nextFile);
  writeFileSync(nextFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  const replaced: PreviousLedgerKey = { vkey: ring.current.vkey, publicKeyPem: ring.current.publicKeyPem, since: rec.since, retiredAt: now, overlapUntil: now + overlapMs };
  writeRecord(dataDir, { current: next.vkey, since: now, previous: [replaced, ...rec.previous] });
  renameSync(nextFile, join(dataDir, LEDGER_KEY_FILE));
  return { current: next, since: now, cosigners: overlapMs > 0 ? [ring.current.signer] : [], previous: [replaced, ...rec.previous] };
}

/** The ring after `now`: the replaced key stops co-signing (and its private half is deleted) once its overlap ended. */
export function endOverlap(dataDir: string, ring: LedgerKeyRing, now: number): LedgerKeyRing {
  const newest = ring.previous[0];
  if (ring.cosigners.length === 0 || !newest || now < newest.overlapUntil) return ring;
  removeIfPresent(join(dataDir, PREVIOUS_KEY_FILE));
  return { ...ring, cosigners: [] };
}

/** A ring for a key held elsewhere (PKCS#11): no rotation here; `previousKeys` are the vkeys it replaced. */
export function fixedKeyRing(current: LedgerKey, previousKeys: readonly string[], now: number): LedgerKeyRing {
  const previous = previousKeys.map((vkey): PreviousLedgerKey => {
    const v = parseVerifierKey(vkey);
    if (v.name !== current.name) throw new LedgerKeyRingInvalid(`ledger.previousKeys: ${vkey} is for log ${v.name}, not ${current.name}`);
    return { vkey, publicKeyPem: v.publicKey.export({ format: 'pem', type: 'spki' }).toString(), since: null, retiredAt: 0, overlapUntil: 0 };
  });
  return { current, since: now, cosigners: [], previous };
}
