// Encrypted backups of a data dir: every SQLite store copied with SQLite's online backup API (a consistent
// snapshot of each file while Warden keeps writing), the other files as they are, all sealed in one envelope
// under a backup key that is NOT a data KEK (the platform and tenant KEKs are never in a backup: a stolen backup
// with its backup key still cannot open retained payloads or model keys). Verified after writing; restored only
// into an empty dir, after which the restored ledger is re-verified (signed checkpoint, every leaf to the root).
//
// A tenant whose own KEK is withdrawn is left out: its content rows are deleted from the copies (withdrawn.ts), the
// sealed manifest names it, and a restore deletes anything of it again.
//
// File: "WBK1" ‖ u32 header length ‖ header (canonical JSON: format, created, backup KEK id) ‖ sealed body.
// The body (manifest + file bytes) is sealed with the header as its context, so the header cannot be swapped.
// warden-backup/2: the manifest is {files, excludedTenants}; warden-backup/1 (read still): the files alone.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../core/canonical-json.js';
import { WardenError } from '../../core/errors.js';
import type { KeyEncryptionKey } from '../crypto/kek.js';
import { Keyring, openBlob, sealBlob } from '../crypto/keyring.js';
import { SUBJECT_KEYS_FILE } from '../crypto/from-config.js';
import { LEDGER_KEY_FILE, type LedgerKey } from '../../ledger/key.js';
import { LEDGER_KEY_RING_FILE, loadLedgerKeyRing, ringVerifiers, type LedgerKeyRing } from '../../ledger/key-ring.js';
import type { NoteVerifier } from '../../ledger/note.js';
import { verifyLedgerFile } from './verify-ledger.js';
import { openSqlite, type SqliteDb } from '../../store/sqlite.js';
import { SqlitePayloadStore } from '../../store/ledger-payloads-sqlite.js';
import { SqliteRetrievalStore } from '../../store/retrieval-sqlite.js';
import { withdrawal } from '../crypto/tenant-keks.js';
import { dropWithdrawnTenants, principalsOf, TENANT_CONTENT_STORES, type ExcludedTenant } from './withdrawn.js';
import type { TenantKekRecord } from '../../store/tenant-keks-store.js';

const MAGIC = Buffer.from('WBK1');
const FORMAT = 'warden-backup/2';
const READABLE = new Set([FORMAT, 'warden-backup/1']);
/**
 * Files that never go into a backup: the data KEK, the pre-envelope KEKs, and the per-subject key store (with its
 * SQLite side files, left out as every store's are), so a key erasure destroys stays destroyed in every backup taken before it.
 */
const NEVER = new Set(['data-kek.bin', 'payload-kek.bin', 'model-kek.bin', SUBJECT_KEYS_FILE]);
const SQLITE_SIDE = /\.db-(wal|shm|journal)$/;
/** The ledger's own file in the data dir (src/app/warden.ts). */
export const LEDGER_FILE = 'ledger.db';

export class BackupInvalid extends WardenError {
  constructor(message: string) {
    super(400, 'invalid_request_error', 'backup_invalid', message);
  }
}

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  mode: number;
  sqlite: boolean;
}

interface Header {
  format: string;
  created: string;
  backupKek: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function walk(root: string, dir = root, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) walk(root, p, out);
    else if (st.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

/** What goes into a backup of `dataDir`, ledger last (so every payload in the copy was kept before its entry). */
export function backupContents(dataDir: string, o: { exclude?: string[] } = {}): string[] {
  const excluded = new Set(o.exclude ?? []);
  const files = walk(dataDir).filter((f) => !NEVER.has(f) && !SQLITE_SIDE.test(f) && !excluded.has(f));
  return [...files.filter((f) => f !== LEDGER_FILE), ...files.filter((f) => f === LEDGER_FILE)];
}

/**
 * The stores whose rows expire with their class (placement.classes.<c>.retention): what has expired at `nowMs` is
 * deleted from a backup's copy and again from a restored file, with the stores' own deletion (secure_delete, WAL
 * cut), so a backup never carries expired data and a restore never brings it back.
 */
const EXPIRING: Record<string, (db: SqliteDb, nowMs: number) => Promise<Record<string, number>>> = {
  'payloads.db': async (db, nowMs) => ({ payloads: await new SqlitePayloadStore(db).deleteExpired(nowMs) }),
  'retrieval.db': async (db, nowMs) => {
    const r = await new SqliteRetrievalStore(db).deleteExpired(nowMs);
    return { retrievalChunks: r.chunks, retrievalFiles: r.files };
  },
};

/** Deletes what has expired at `nowMs` from `file` (a copy or a restored store named `name`); what went, by kind. */
async function dropExpired(name: string, file: string, nowMs: number): Promise<Record<string, number>> {
  const drop = EXPIRING[name];
  if (!drop) return {};
  const db = openSqlite(file);
  try {
    return await drop(db, nowMs);
  } finally {
    db.close();
  }
}

function addCounts(into: Record<string, number>, more: Record<string, number>): void {
  for (const [k, n] of Object.entries(more)) into[k] = (into[k] ?? 0) + n;
}

/**
 * Deletes anything of the backup's excluded (withdrawn) tenants from the stores of a restored data dir: the backup
 * should hold none, and whatever it holds is not brought back. What went, by kind (zero for a backup made here).
 */
export function dropWithdrawnRestored(dataDir: string, excluded: readonly ExcludedTenant[]): Record<string, number> {
  const tenants = excluded.map((t) => t.tenant);
  const principals = principalsOf(join(dataDir, 'warden.db'), tenants);
  const dropped: Record<string, number> = {};
  for (const name of TENANT_CONTENT_STORES) if (existsSync(join(dataDir, name))) addCounts(dropped, dropWithdrawnTenants(name, join(dataDir, name), tenants, principals));
  return dropped;
}

/** Deletes what has expired at `nowMs` from the stores of a restored data dir (`restoreFiles` wrote them). */
export async function dropExpiredRestored(dataDir: string, nowMs: number): Promise<Record<string, number>> {
  const dropped: Record<string, number> = {};
  for (const name of Object.keys(EXPIRING)) if (existsSync(join(dataDir, name))) addCounts(dropped, await dropExpired(name, join(dataDir, name), nowMs));
  return dropped;
}

/** Who is left out of a backup, and what of them: the withdrawn tenants and their principals. */
interface LeftOut {
  tenants: string[];
  principals: string[];
  counts: Record<string, number>;
}

async function snapshot(dataDir: string, files: string[], scratch: string, nowMs: number, dropped: Record<string, number>, withdrawn: LeftOut): Promise<{ manifest: ManifestEntry[]; blobs: Buffer[] }> {
  const manifest: ManifestEntry[] = [];
  const blobs: Buffer[] = [];
  for (const f of files) {
    const src = join(dataDir, f);
    const sqlite = f.endsWith('.db');
    let bytes: Buffer;
    if (sqlite) {
      const copy = join(scratch, `${manifest.length}.db`);
      const db = new Database(src, { fileMustExist: true });
      try {
        await db.backup(copy);
      } finally {
        db.close();
      }
      addCounts(dropped, await dropExpired(f, copy, nowMs));
      addCounts(withdrawn.counts, dropWithdrawnTenants(f, copy, withdrawn.tenants, withdrawn.principals));
      bytes = readFileSync(copy);
    } else {
      bytes = readFileSync(src);
    }
    manifest.push({ path: f, size: bytes.length, sha256: sha256(bytes), mode: lstatSync(src).mode & 0o777, sqlite });
    blobs.push(bytes);
  }
  return { manifest, blobs };
}

function writeExclusive(file: string, data: Buffer, mode: number): void {
  const fd = openSync(file, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The tenants whose own KEK the record says is withdrawn: what a backup leaves out. */
export function withdrawnTenants(records: readonly TenantKekRecord[]): ExcludedTenant[] {
  return records.flatMap((r) => (r.withdrawn ? [{ tenant: r.tenant, withdrawn: withdrawal({ ...r, withdrawn: r.withdrawn }) }] : []));
}

/**
 * Seals a backup of `dataDir` into `out` (never overwritten, mode 0600). `dataKekIds`: KEKs the backup key must not
 * be. `tenantKeks`: the recorded tenant KEKs; a withdrawn tenant's content is left out of the copy (its sealed data
 * would otherwise leave with it and be restorable wherever its KEK turns up again) and named in the manifest.
 */
export async function createBackup(o: { dataDir: string; out: string; backupKek: KeyEncryptionKey; dataKekIds: string[]; tenantKeks: TenantKekRecord[]; now: Date; exclude?: string[] }): Promise<{ manifest: ManifestEntry[]; expiredLeftOut: Record<string, number>; excludedTenants: ExcludedTenant[]; withdrawnLeftOut: Record<string, number> }> {
  if (o.dataKekIds.includes(o.backupKek.id)) throw new BackupInvalid(`the backup key ${o.backupKek.id} is a data KEK; backups need a key of their own`);
  const excludedTenants = withdrawnTenants(o.tenantKeks);
  const tenants = excludedTenants.map((t) => t.tenant);
  const withdrawn: LeftOut = { tenants, principals: principalsOf(join(o.dataDir, 'warden.db'), tenants), counts: {} };
  const scratch = mkdtempSync(join(tmpdir(), 'warden-backup-'));
  try {
    const expiredLeftOut: Record<string, number> = {};
    const { manifest, blobs } = await snapshot(o.dataDir, backupContents(o.dataDir, o.exclude ? { exclude: o.exclude } : {}), scratch, o.now.getTime(), expiredLeftOut, withdrawn);
    const header: Header = { format: FORMAT, created: o.now.toISOString(), backupKek: o.backupKek.id };
    const h = Buffer.from(canonicalJson(header));
    const m = Buffer.from(canonicalJson({ files: manifest, excludedTenants }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(m.length);
    const sealed = await sealBlob(new Keyring({ kek: o.backupKek }), 'backup', `backup:${h.toString()}`, Buffer.concat([len, m, ...blobs]));
    const hl = Buffer.alloc(4);
    hl.writeUInt32BE(h.length);
    mkdirSync(dirname(o.out), { recursive: true });
    writeExclusive(o.out, Buffer.concat([MAGIC, hl, h, sealed]), 0o600);
    return { manifest, expiredLeftOut, excludedTenants, withdrawnLeftOut: withdrawn.counts };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface OpenedBackup {
  header: Header;
  files: { entry: ManifestEntry; bytes: Buffer }[];
  /** Withdrawn tenants whose content was left out (none in a warden-backup/1 file). */
  excludedTenants: ExcludedTenant[];
}

/** Decrypts and checks every file against the sealed manifest; any mismatch is BackupInvalid. */
export async function openBackup(file: string, backupKek: KeyEncryptionKey): Promise<OpenedBackup> {
  const raw = readFileSync(file);
  if (raw.length < 8 || !raw.subarray(0, 4).equals(MAGIC)) throw new BackupInvalid(`${file} is not a Warden backup`);
  const hl = raw.readUInt32BE(4);
  if (8 + hl > raw.length) throw new BackupInvalid(`${file} is truncated`);
  const h = raw.subarray(8, 8 + hl);
  let header: Header;
  try {
    header = JSON.parse(h.toString('utf8')) as Header;
  } catch {
    throw new BackupInvalid(`${file} has an unreadable header`);
  }
  if (!READABLE.has(header.format)) throw new BackupInvalid(`${file} is ${String(header.format)}, this Warden reads ${[...READABLE].join(' and ')}`);
  if (header.backupKek !== backupKek.id) throw new BackupInvalid(`${file} is sealed under backup key ${header.backupKek}, not ${backupKek.id}`);
  const body = await openBlob(new Keyring({ kek: backupKek }), `backup:${h.toString()}`, raw.subarray(8 + hl));
  const ml = body.readUInt32BE(0);
  const sealedManifest = JSON.parse(body.subarray(4, 4 + ml).toString('utf8')) as ManifestEntry[] | { files: ManifestEntry[]; excludedTenants: ExcludedTenant[] };
  const [manifest, excludedTenants] = Array.isArray(sealedManifest) ? [sealedManifest, []] : [sealedManifest.files, sealedManifest.excludedTenants];
  if (!Array.isArray(manifest) || !Array.isArray(excludedTenants) || excludedTenants.some((t) => typeof t?.tenant !== 'string')) throw new BackupInvalid(`${file} has a malformed manifest`);
  let at = 4 + ml;
  const files = manifest.map((entry) => {
    const bytes = body.subarray(at, at + entry.size);
    at += entry.size;
    if (bytes.length !== entry.size || sha256(bytes) !== entry.sha256) throw new BackupInvalid(`${entry.path} in ${file} does not match its manifest digest`);
    if (entry.path.split('/').some((p) => p === '..' || p === '') || entry.path.startsWith('/')) throw new BackupInvalid(`${file} names an unsafe path ${entry.path}`);
    return { entry, bytes };
  });
  if (at !== body.length) throw new BackupInvalid(`${file} carries bytes beyond its manifest`);
  return { header, files, excludedTenants };
}

/** Every SQLite file in the backup passes `PRAGMA integrity_check` (checked on a scratch copy). */
export function checkSqliteIntegrity(b: OpenedBackup): void {
  const scratch = mkdtempSync(join(tmpdir(), 'warden-backup-check-'));
  try {
    for (const [i, f] of b.files.entries()) {
      if (!f.entry.sqlite) continue;
      const p = join(scratch, `${i}.db`);
      writeExclusive(p, f.bytes, 0o600);
      const db = new Database(p, { readonly: true, fileMustExist: true });
      try {
        const r = db.pragma('integrity_check', { simple: true });
        if (r !== 'ok') throw new BackupInvalid(`${f.entry.path}: integrity_check says ${String(r)}`);
      } finally {
        db.close();
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Writes a verified backup into `dataDir`, which must be absent or empty; files are owner-only. */
export function restoreFiles(b: OpenedBackup, dataDir: string): void {
  let existing: string[] = [];
  try {
    existing = readdirSync(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing.length) throw new BackupInvalid(`${dataDir} is not empty; a backup is restored only into an empty data dir`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const f of b.files) {
    const p = join(dataDir, ...f.entry.path.split('/'));
    mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    writeExclusive(p, f.bytes, f.entry.mode & 0o700);
  }
}

/**
 * Verifies the ledger inside a backup (written to a scratch dir): with `key` (a token-held ledger key) or else the
 * backup's own ledger-key.pem. Null when the backup holds no ledger (it lives in PostgreSQL: back that up there).
 */
export async function verifyBackupLedger(b: OpenedBackup, key?: LedgerKey, previousKeys: readonly NoteVerifier[] = []): Promise<{ size: number; rootHash: string } | null> {
  const ledger = b.files.find((f) => f.entry.path === LEDGER_FILE);
  if (!ledger) return null;
  const scratch = mkdtempSync(join(tmpdir(), 'warden-backup-ledger-'));
  try {
    writeExclusive(join(scratch, LEDGER_FILE), ledger.bytes, 0o600);
    if (key) return await verifyLedgerFile(join(scratch, LEDGER_FILE), key, previousKeys);
    const ring = ownLedgerKeyRing(b, scratch);
    return await verifyLedgerFile(join(scratch, LEDGER_FILE), ring.current, ringVerifiers(ring).slice(1));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The backup's ledger-key.pem with the key history beside it (ledger-keys.json, for a rotated key), never a new
 * key: a backup without its key cannot prove its ledger.
 */
function ownLedgerKeyRing(b: OpenedBackup, dir: string): LedgerKeyRing {
  const pem = b.files.find((f) => f.entry.path === LEDGER_KEY_FILE);
  if (!pem) throw new BackupInvalid(`the backup holds ${LEDGER_FILE} but no ${LEDGER_KEY_FILE}; give the ledger signing key (ledger.signingKey) to verify it`);
  writeExclusive(join(dir, LEDGER_KEY_FILE), pem.bytes, 0o600);
  const ring = b.files.find((f) => f.entry.path === LEDGER_KEY_RING_FILE);
  if (ring) writeExclusive(join(dir, LEDGER_KEY_RING_FILE), ring.bytes, 0o600);
  return loadLedgerKeyRing(dir, Date.now());
}
