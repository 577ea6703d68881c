// Envelope encryption, the one way Warden seals content at rest: data is sealed with AES-256-GCM under a random
// 32-byte data key; the data key is stored only wrapped by a key-encryption key (KEK). Each tenant's data keys
// are wrapped by the tenant's own KEK when it brought one (BYOK), otherwise by the platform KEK. Rotating a KEK
// rewraps data keys (a few bytes each) and never re-encrypts the data.
//
// Wrapped data key, as stored (bytes):
//   "WDK1" ‖ u8 len ‖ tenant ‖ u8 len ‖ kekId ‖ KEK blob
// The KEK binds `tenant|context` (the record the key belongs to), so a wrapped key moved to another record or
// tenant does not open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EnvelopeTampered, KekUnavailable } from './errors.js';
import type { KeyEncryptionKey } from './kek.js';
import { KEY_BYTES } from './key-file.js';

const MAGIC = Buffer.from('WDK1');
const NONCE = 12;
const TAG = 16;

export interface WrappedKeyHeader {
  tenant: string;
  kekId: string;
  blob: Buffer;
}

/** The header of a wrapped data key in this format, or null when the bytes are not one (a legacy record). */
export function parseWrappedKey(wrapped: Buffer): WrappedKeyHeader | null {
  if (wrapped.length < MAGIC.length + 2 || !wrapped.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  let at = MAGIC.length;
  const field = (): string => {
    const n = wrapped[at]!;
    if (at + 1 + n > wrapped.length) throw new EnvelopeTampered('wrapped data key is truncated');
    const s = wrapped.subarray(at + 1, at + 1 + n).toString('utf8');
    at += 1 + n;
    return s;
  };
  const tenant = field();
  const kekId = field();
  return { tenant, kekId, blob: wrapped.subarray(at) };
}

function encodeWrappedKey(h: WrappedKeyHeader): Buffer {
  const t = Buffer.from(h.tenant, 'utf8');
  const k = Buffer.from(h.kekId, 'utf8');
  if (t.length > 255 || k.length > 255) throw new Error('tenant and KEK id are at most 255 bytes');
  return Buffer.concat([MAGIC, Buffer.from([t.length]), t, Buffer.from([k.length]), k, h.blob]);
}

/** AES-256-GCM under a data key; `aad` names the record so a ciphertext moved elsewhere does not open. */
export function sealWithDataKey(key: Buffer, plaintext: Uint8Array, aad: string): { nonce: Buffer; ciphertext: Buffer } {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  return { nonce, ciphertext: Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]) };
}

export function openWithDataKey(key: Buffer, nonce: Buffer, ciphertext: Buffer, aad: string): Buffer {
  if (nonce.length !== NONCE || ciphertext.length < TAG) throw new EnvelopeTampered(`sealed data for ${aad} is malformed`);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG));
  try {
    return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - TAG)), d.final()]);
  } catch {
    throw new EnvelopeTampered(`sealed data for ${aad} does not authenticate`);
  }
}

/** A tenant whose own key is configured but cannot be opened (file or token key gone): nothing of it opens. */
export class WithdrawnKek implements KeyEncryptionKey {
  readonly id: string;
  constructor(
    tenant: string,
    private readonly why: string,
  ) {
    this.id = `withdrawn:${tenant}`;
  }
  wrap(): Promise<Buffer> {
    return Promise.reject(new KekUnavailable(`KEK ${this.id}: ${this.why}`));
  }
  unwrap(): Promise<Buffer> {
    return Promise.reject(new KekUnavailable(`KEK ${this.id}: ${this.why}`));
  }
}

export interface KeyringOptions {
  /** The platform KEK: wraps every new data key of a tenant without its own. */
  kek: KeyEncryptionKey;
  /** Earlier platform KEKs: they still unwrap until `warden data rewrap` has moved every data key off them. */
  previous?: KeyEncryptionKey[];
  /** BYOK: a tenant's own KEK wraps that tenant's data keys, and only it opens them. */
  tenants?: Map<string, KeyEncryptionKey>;
}

export class Keyring {
  private readonly platform: Map<string, KeyEncryptionKey>;
  private readonly tenants: Map<string, KeyEncryptionKey>;
  /** Tenants withdrawn through the shared record (src/data/crypto/tenant-keks.ts), with why: nothing of theirs opens or is sealed. */
  private readonly withdrawn = new Map<string, string>();
  /** Set while the shared record of tenant KEKs cannot be read: every tenant with its own KEK is refused. */
  private unconfirmed: string | null = null;

  constructor(private readonly o: KeyringOptions) {
    this.platform = new Map([o.kek, ...(o.previous ?? [])].map((k) => [k.id, k]));
    this.tenants = o.tenants ?? new Map<string, KeyEncryptionKey>();
  }

  /** The KEK new data keys of `tenant` are wrapped under. */
  kekFor(tenant: string): KeyEncryptionKey {
    return this.tenants.get(tenant) ?? this.o.kek;
  }

  /** Every KEK this keyring holds (platform, previous, tenants'): what a backup key must never be. */
  kekIds(): string[] {
    return [...new Set([...this.platform.keys(), ...[...this.tenants.values()].map((k) => k.id)])];
  }

  /** The platform KEK's id and its predecessors' (what replicas sharing one store must agree on). */
  platformKekIds(): { current: string; previous: string[] } {
    return { current: this.o.kek.id, previous: (this.o.previous ?? []).map((k) => k.id) };
  }

  hasOwnKek(tenant: string): boolean {
    return this.tenants.has(tenant);
  }

  /** The tenants configured with their own KEK and its id (null: it could not be opened at start). */
  tenantKekIds(): Map<string, string | null> {
    return new Map([...this.tenants].map(([t, k]) => [t, k instanceof WithdrawnKek ? null : k.id]));
  }

  /** Withdraws (`why`) or reinstates (null) a tenant's data here, whatever its KEK itself would do. */
  setWithdrawn(tenant: string, why: string | null): void {
    if (why === null) this.withdrawn.delete(tenant);
    else this.withdrawn.set(tenant, why);
  }

  /** While `why` is set, whether a BYOK tenant was withdrawn elsewhere cannot be told: its data is refused. */
  setUnconfirmed(why: string | null): void {
    this.unconfirmed = why;
  }

  private checkTenant(tenant: string): void {
    const why = this.withdrawn.get(tenant);
    if (why !== undefined) throw new KekUnavailable(`tenant ${tenant}'s KEK is withdrawn: ${why}`);
    if (this.unconfirmed !== null && this.tenants.has(tenant)) throw new KekUnavailable(`tenant ${tenant} brings its own KEK and whether it is withdrawn cannot be confirmed: ${this.unconfirmed}`);
  }

  async wrapDataKey(key: Buffer, tenant: string, context: string): Promise<Buffer> {
    if (key.length !== KEY_BYTES) throw new Error(`a data key is ${KEY_BYTES} bytes`);
    this.checkTenant(tenant);
    const kek = this.kekFor(tenant);
    return encodeWrappedKey({ tenant, kekId: kek.id, blob: await kek.wrap(key, `${tenant}|${context}`) });
  }

  /** A fresh data key and its wrapped form. The caller zeroes `key` when done. */
  async newDataKey(tenant: string, context: string): Promise<{ key: Buffer; wrapped: Buffer }> {
    const key = randomBytes(KEY_BYTES);
    return { key, wrapped: await this.wrapDataKey(key, tenant, context) };
  }

  /**
   * Opens a wrapped data key. A BYOK tenant's keys open only under its own KEK: one still wrapped by the platform
   * KEK (from before the tenant brought its key) is refused, except for `rewrap`, which moves it.
   */
  async unwrapDataKey(wrapped: Buffer, context: string, o: { rewrapping?: boolean } = {}): Promise<{ key: Buffer; tenant: string; kekId: string }> {
    const h = parseWrappedKey(wrapped);
    if (!h) throw new EnvelopeTampered(`wrapped data key for ${context} is not in the envelope format`);
    this.checkTenant(h.tenant);
    const own = this.tenants.get(h.tenant);
    let kek: KeyEncryptionKey | undefined;
    if (own && own.id === h.kekId) kek = own;
    else if (own && !(own instanceof WithdrawnKek) && !o.rewrapping) {
      throw new KekUnavailable(`tenant ${h.tenant} brings its own KEK; this data key is still under ${h.kekId}: run \`warden data rewrap\``);
    } else if (own instanceof WithdrawnKek) await own.unwrap();
    else kek = this.platform.get(h.kekId);
    if (!kek) throw new KekUnavailable(`data key for ${context} is wrapped under KEK ${h.kekId}, which is not configured (withdrawn or rotated out)`);
    const key = await kek.unwrap(h.blob, `${h.tenant}|${context}`);
    return { key, tenant: h.tenant, kekId: h.kekId };
  }

  /**
   * Rewraps under the tenant's current KEK (or its newest version, for a KEK that rewraps in place); null when it is
   * already there. The data it protects is untouched.
   */
  async rewrap(wrapped: Buffer, context: string): Promise<Buffer | null> {
    const h = parseWrappedKey(wrapped);
    const current = h ? this.kekFor(h.tenant) : null;
    if (h && current && h.kekId === current.id) {
      // Same KEK: only one with versions inside its service (Vault transit) moves it, without unwrapping here.
      if (!current.rewrapInPlace) return null;
      this.checkTenant(h.tenant);
      const blob = await current.rewrapInPlace(h.blob, `${h.tenant}|${context}`);
      return blob ? encodeWrappedKey({ ...h, blob }) : null;
    }
    const { key, tenant } = await this.unwrapDataKey(wrapped, context, { rewrapping: true });
    try {
      return await this.wrapDataKey(key, tenant, context);
    } finally {
      key.fill(0);
    }
  }

  close(): void {
    const all = new Set([...this.platform.values(), ...this.tenants.values()]);
    this.platform.clear();
    this.tenants.clear();
    this.withdrawn.clear();
    for (const k of all) k.close?.();
  }
}

/**
 * One self-contained sealed blob (exports, retrieval chunks, dataset shards): its own data key, wrapped, then
 * the ciphertext. `"WSB1" ‖ u16 len ‖ wrapped key ‖ nonce ‖ ciphertext+tag`.
 */
const BLOB = Buffer.from('WSB1');
export async function sealBlob(keyring: Keyring, tenant: string, context: string, plaintext: Uint8Array): Promise<Buffer> {
  const { key, wrapped } = await keyring.newDataKey(tenant, context);
  try {
    const s = sealWithDataKey(key, plaintext, context);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(wrapped.length);
    return Buffer.concat([BLOB, len, wrapped, s.nonce, s.ciphertext]);
  } finally {
    key.fill(0);
  }
}

export async function openBlob(keyring: Keyring, context: string, sealed: Buffer): Promise<Buffer> {
  if (sealed.length < BLOB.length + 2 || !sealed.subarray(0, BLOB.length).equals(BLOB)) throw new EnvelopeTampered(`sealed blob for ${context} is not in the envelope format`);
  const n = sealed.readUInt16BE(BLOB.length);
  const at = BLOB.length + 2;
  if (sealed.length < at + n + NONCE + TAG) throw new EnvelopeTampered(`sealed blob for ${context} is truncated`);
  const { key } = await keyring.unwrapDataKey(sealed.subarray(at, at + n), context);
  try {
    return openWithDataKey(key, sealed.subarray(at + n, at + n + NONCE), sealed.subarray(at + n + NONCE), context);
  } finally {
    key.fill(0);
  }
}
