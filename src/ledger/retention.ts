// Payload retention with crypto-shredding. Raw prompts/responses never enter the Merkle tree (entries
// hold only digests). When retention is on, payloads are sealed with AES-256-GCM under a per-principal
// data key, itself wrapped by a key-encryption key kept in the data dir. Erasing a principal destroys
// its data key: the ciphertexts become unreadable, while the tree (and every proof) is untouched.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { NotFound, WardenError } from '../core/errors.js';
import type { SqlitePayloadStore } from '../store/ledger-payloads-sqlite.js';
import { LedgerKeyInsecure } from './key.js';

export const PAYLOAD_KEK_FILE = 'payload-kek.bin';
export type PayloadKind = 'request' | 'response';

/** The principal was erased: its payloads are cryptographically gone (410). */
export class PayloadErased extends WardenError {
  constructor(principal: string) {
    super(410, 'not_found_error', 'payload_erased', `payloads of principal ${principal} were erased (data key destroyed)`);
  }
}
/** Ciphertext, key or binding does not authenticate: refuse rather than return altered data. */
export class PayloadTampered extends WardenError {
  constructor(message: string) {
    super(500, 'server_error', 'payload_tampered', message);
  }
}

function seal(key: Buffer, plaintext: Buffer, aad: string): { nonce: Buffer; ciphertext: Buffer } {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { nonce, ciphertext };
}

function open(key: Buffer, nonce: Buffer, ciphertext: Buffer, aad: string): Buffer {
  if (ciphertext.length < 16) throw new PayloadTampered('ciphertext shorter than its tag');
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  try {
    return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - 16)), d.final()]);
  } catch {
    throw new PayloadTampered(`sealed data for ${aad} does not authenticate`);
  }
}

/** Loads `<dataDir>/payload-kek.bin` (32 random bytes, mode 0600) or creates it. */
export function loadOrCreatePayloadKek(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, PAYLOAD_KEK_FILE);
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) throw new LedgerKeyInsecure(`${file} has mode ${(st.mode & 0o777).toString(8)}; it must be 600`);
    const kek = readFileSync(file);
    if (kek.length !== 32) throw new LedgerKeyInsecure(`${file} is not a 32-byte key`);
    return kek;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const kek = randomBytes(32);
    writeFileSync(file, kek, { mode: 0o600, flag: 'wx' });
    return kek;
  }
}

export class PayloadVault {
  constructor(
    private readonly store: SqlitePayloadStore,
    private readonly kek: Buffer,
    private readonly clock: Clock,
  ) {}

  private dataKey(principal: string, create: boolean): Buffer {
    if (this.store.erasedAt(principal) !== undefined) throw new PayloadErased(principal);
    const wrapped = this.store.wrappedKey(principal);
    if (wrapped) return open(this.kek, wrapped.subarray(0, 12), wrapped.subarray(12), `data-key:${principal}`);
    if (!create) throw new NotFound('payload_not_found', `no payloads retained for principal ${principal}`);
    const key = randomBytes(32);
    const w = seal(this.kek, key, `data-key:${principal}`);
    this.store.putKey(principal, Buffer.concat([w.nonce, w.ciphertext]), this.clock.now());
    return key;
  }

  /** Seals and stores a payload; refused for an erased principal (erasure is permanent). */
  put(principal: string, requestId: string, kind: PayloadKind, data: Uint8Array): void {
    const s = seal(this.dataKey(principal, true), Buffer.from(data), `${principal}|${requestId}|${kind}`);
    this.store.putPayload(requestId, kind, { principal, ...s });
  }

  get(principal: string, requestId: string, kind: PayloadKind): Buffer {
    const p = this.store.getPayload(requestId, kind);
    if (!p || p.principal !== principal) throw new NotFound('payload_not_found', `no ${kind} payload for ${requestId}`);
    return open(this.dataKey(principal, false), p.nonce, p.ciphertext, `${principal}|${requestId}|${kind}`);
  }

  /** Crypto-shredding: destroys the principal's data key; returns how many payloads became unreadable. */
  erase(principal: string): { keyDestroyed: boolean; payloadsUnreadable: number } {
    const r = this.store.destroyKey(principal, this.clock.now());
    return { keyDestroyed: r.keyExisted, payloadsUnreadable: r.payloads };
  }
}
