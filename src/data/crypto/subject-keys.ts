// Per-subject keys: content about one data subject (a retrieval chunk naming it as `subject`, a file it uploaded) is
// sealed under that subject's own AES-256 key, itself stored only wrapped by the tenant's KEK (so BYOK and KEK
// withdrawal still apply). Erasure destroys the key: every copy of the content the delete cannot reach (a backup
// taken before the erasure, a PostgreSQL row not yet vacuumed) stays unreadable — crypto-shredding. The keys live
// in a store `warden backup` never copies (src/store/subject-keys-store.ts).
//
// Sealed form: "WSK1" ‖ u8 len ‖ tenant ‖ u16 len ‖ subject ‖ nonce ‖ ciphertext+tag, AAD = the record's context
// (chunkAad / uploadAad), so a ciphertext moved to another record does not open. Content sealed before subject keys
// (sealBlob's "WSB1", under a data key of its own wrapped by the tenant KEK) still opens: `open` reads both.
import { WardenError } from '../../core/errors.js';
import type { SubjectKeyStore } from '../../store/subject-keys-store.js';
import { EnvelopeTampered } from './errors.js';
import { openBlob, openWithDataKey, sealWithDataKey, type Keyring } from './keyring.js';

const MAGIC = Buffer.from('WSK1');
const NONCE = 12;

/** The subject was erased: its key is destroyed, and content about it neither opens nor is stored again. */
export class SubjectErased extends WardenError {
  constructor(readonly subject: string) {
    super(410, 'not_found_error', 'subject_erased', `data subject ${subject} was erased (its key is destroyed)`);
  }
}

/** The subject-key store cannot answer (unreachable, unreadable, or missing a key it should hold): refused, never the clear. */
export class SubjectKeysUnavailable extends WardenError {
  constructor(message: string) {
    super(503, 'unavailable_error', 'subject_keys_unavailable', message);
  }
}

/** The context a subject's key is wrapped under (with its tenant): a wrapped key moved to another subject does not open. */
export const subjectKeyContext = (subject: string) => `subject-key:${subject}`;

/** The (tenant, subject) a sealed blob is under, or null for content sealed under the tenant's key alone (WSB1). */
export function sealedSubject(sealed: Buffer): { tenant: string; subject: string } | null {
  if (sealed.length < MAGIC.length + 3 || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const tl = sealed[MAGIC.length]!;
  const at = MAGIC.length + 1 + tl;
  if (at + 2 > sealed.length) throw new EnvelopeTampered('subject-sealed blob is truncated');
  const sl = sealed.readUInt16BE(at);
  if (at + 2 + sl > sealed.length) throw new EnvelopeTampered('subject-sealed blob is truncated');
  return { tenant: sealed.subarray(MAGIC.length + 1, at).toString('utf8'), subject: sealed.subarray(at + 2, at + 2 + sl).toString('utf8') };
}

export class SubjectKeys {
  constructor(
    private readonly keyring: Keyring,
    private readonly store: SubjectKeyStore,
    private readonly now: () => number,
  ) {}

  /** Every store call: a store that throws is a 503, so no read ever falls back to anything. */
  private async ask<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WardenError) throw e;
      throw new SubjectKeysUnavailable(`the subject-key store cannot ${what}: ${(e as Error).message}`);
    }
  }

  /** The subject's key (created on first use); SubjectErased once erased. The caller zeroes it. */
  private async keyFor(tenant: string, subject: string, create: boolean): Promise<Buffer> {
    let row = await this.ask('be read', () => this.store.get(tenant, subject));
    if (!row && create) {
      const fresh = await this.keyring.newDataKey(tenant, subjectKeyContext(subject));
      fresh.key.fill(0);
      row = await this.ask('be written', () => this.store.putIfAbsent(tenant, subject, fresh.wrapped, this.now()));
    }
    if (!row) throw new SubjectKeysUnavailable(`no key for data subject ${subject} of tenant ${tenant} in the subject-key store (is encryption.subjectKeys the store this data was sealed with?)`);
    if (row.erasedAt !== null || !row.wrapped) throw new SubjectErased(subject);
    const opened = await this.keyring.unwrapDataKey(row.wrapped, subjectKeyContext(subject));
    if (opened.tenant !== tenant) {
      opened.key.fill(0);
      throw new EnvelopeTampered(`the key stored for data subject ${subject} of tenant ${tenant} is wrapped for tenant ${opened.tenant}`);
    }
    return opened.key;
  }

  async seal(tenant: string, subject: string, context: string, plaintext: Uint8Array): Promise<Buffer> {
    const t = Buffer.from(tenant, 'utf8');
    const s = Buffer.from(subject, 'utf8');
    if (t.length > 255 || s.length > 65535) throw new Error('tenant is at most 255 bytes and subject 65535');
    const key = await this.keyFor(tenant, subject, true);
    try {
      const sealed = sealWithDataKey(key, plaintext, context);
      const sl = Buffer.alloc(2);
      sl.writeUInt16BE(s.length);
      return Buffer.concat([MAGIC, Buffer.from([t.length]), t, sl, s, sealed.nonce, sealed.ciphertext]);
    } finally {
      key.fill(0);
    }
  }

  /** Opens content sealed under a subject key or (older) under the tenant's key alone. */
  async open(context: string, sealed: Buffer): Promise<Buffer> {
    const who = sealedSubject(sealed);
    if (!who) return openBlob(this.keyring, context, sealed);
    const at = MAGIC.length + 1 + Buffer.byteLength(who.tenant) + 2 + Buffer.byteLength(who.subject);
    const key = await this.keyFor(who.tenant, who.subject, false);
    try {
      return openWithDataKey(key, sealed.subarray(at, at + NONCE), sealed.subarray(at + NONCE), context);
    } finally {
      key.fill(0);
    }
  }

  /** Of `subjects` in `tenant`, those erased (their content is skipped, never opened). */
  erasedAmong(tenant: string, subjects: readonly string[]): Promise<Set<string>> {
    return subjects.length ? this.ask('be read', () => this.store.erasedAmong(tenant, subjects)) : Promise.resolve(new Set());
  }

  /** How many live keys erasure of `subject` will destroy. */
  countLive(subject: string): Promise<number> {
    return this.ask('be read', () => this.store.countLive(subject));
  }

  /** Erasure: destroys every key of `subject` and leaves its tombstone in `tenant`; how many keys went. */
  erase(subject: string, tenant: string): Promise<number> {
    return this.ask('erase a key', () => this.store.erase(subject, tenant, this.now()));
  }

  /** Live keys wrapped by a tenant's KEK (before its KEK record may be forgotten). */
  countTenant(tenant: string): Promise<number> {
    return this.ask('be read', () => this.store.countTenant(tenant));
  }
}
