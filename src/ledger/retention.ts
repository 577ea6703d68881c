// Payload retention with crypto-shredding. Raw prompts/responses never enter the Merkle tree (entries
// hold only digests). When retention is on, payloads are sealed with AES-256-GCM under a per-principal
// data key, wrapped by the tenant's KEK through the one envelope module (src/data/crypto). Erasing a principal
// destroys its data key: the ciphertexts become unreadable, while the tree (and every proof) is untouched.
import type { Clock } from '../core/clock.js';
import { NotFound, WardenError } from '../core/errors.js';
import type { PayloadStore } from '../store/sealed-store.js';
import { EnvelopeTampered, LegacyEnvelope, openWithDataKey, parseWrappedKey, sealWithDataKey, type Keyring } from '../data/crypto/index.js';

export type PayloadKind = 'request' | 'response';

/** The principal was erased: its payloads are cryptographically gone (410). */
export class PayloadErased extends WardenError {
  constructor(principal: string) {
    super(410, 'not_found_error', 'payload_erased', `payloads of principal ${principal} were erased (data key destroyed)`);
  }
}
/** Its class's retention ended (placement.classes.<class>.retention): refused from that moment, deleted by the sweep. */
export class PayloadExpired extends WardenError {
  constructor(requestId: string, kind: PayloadKind) {
    super(410, 'not_found_error', 'payload_expired', `the ${kind} payload of ${requestId} has expired under its classification's retention`);
  }
}
/** Ciphertext, key or binding does not authenticate: refuse rather than return altered data. */
export class PayloadTampered extends WardenError {
  constructor(message: string) {
    super(500, 'server_error', 'payload_tampered', message);
  }
}

/** The context a principal's data key is wrapped for (also what `warden data migrate` rewraps legacy keys with). */
export const payloadKeyContext = (principal: string) => `data-key:${principal}`;

export class PayloadVault {
  constructor(
    private readonly store: PayloadStore,
    private readonly keyring: Keyring,
    private readonly clock: Clock,
  ) {}

  private async dataKey(principal: string, create: { tenant: string } | null): Promise<Buffer> {
    if ((await this.store.erasedAt(principal)) !== undefined) throw new PayloadErased(principal);
    const wrapped = await this.store.wrappedKey(principal);
    if (wrapped) return this.unwrap(principal, wrapped);
    if (!create) throw new NotFound('payload_not_found', `no payloads retained for principal ${principal}`);
    const k = await this.keyring.newDataKey(create.tenant, payloadKeyContext(principal));
    const stored = await this.store.putKey(principal, k.wrapped, this.clock.now());
    if (stored?.equals(k.wrapped)) return k.key;
    k.key.fill(0);
    // Erased meanwhile (nothing was stored), or another request or replica stored the principal's key first: use it.
    if (!stored) throw new PayloadErased(principal);
    return this.unwrap(principal, stored);
  }

  private async unwrap(principal: string, wrapped: Buffer): Promise<Buffer> {
    if (!parseWrappedKey(wrapped)) throw new LegacyEnvelope(`the payload data key of principal ${principal}`);
    try {
      return (await this.keyring.unwrapDataKey(wrapped, payloadKeyContext(principal))).key;
    } catch (e) {
      throw e instanceof EnvelopeTampered ? new PayloadTampered(e.message) : e;
    }
  }

  /** Seals and stores a payload under the principal's data key (wrapped by its tenant's KEK); refused once erased. */
  async put(principal: { id: string; tenant: string }, requestId: string, kind: PayloadKind, data: Uint8Array, expiresAt: number | null = null): Promise<void> {
    const key = await this.dataKey(principal.id, { tenant: principal.tenant });
    let stored: boolean;
    try {
      stored = await this.store.putPayload(requestId, kind, { principal: principal.id, ...sealWithDataKey(key, data, `${principal.id}|${requestId}|${kind}`), expiresAt });
    } finally {
      key.fill(0);
    }
    if (!stored) throw new PayloadErased(principal.id);
  }

  async get(principal: string, requestId: string, kind: PayloadKind): Promise<Buffer> {
    // An erased principal's payloads are deleted as well as shredded: say so (410), not "never existed".
    if ((await this.store.erasedAt(principal)) !== undefined) throw new PayloadErased(principal);
    const p = await this.store.getPayload(requestId, kind);
    if (!p || p.principal !== principal) throw new NotFound('payload_not_found', `no ${kind} payload for ${requestId}`);
    if (p.expiresAt !== undefined && p.expiresAt !== null && p.expiresAt <= this.clock.now()) throw new PayloadExpired(requestId, kind);
    const key = await this.dataKey(principal, null);
    try {
      return openWithDataKey(key, p.nonce, p.ciphertext, `${principal}|${requestId}|${kind}`);
    } catch (e) {
      throw e instanceof EnvelopeTampered ? new PayloadTampered(e.message) : e;
    } finally {
      key.fill(0);
    }
  }

  /** The payloads whose class's retention has ended by `nowMs` (counted for the ledger, then deleted). */
  get expired() {
    return { count: (nowMs: number) => this.store.countExpired(nowMs), delete: (nowMs: number) => this.store.deleteExpired(nowMs) };
  }

  /** What `erase` would remove now. */
  holdings(principal: string): Promise<{ key: boolean; payloads: number }> {
    return this.store.holdings(principal);
  }

  /**
   * Erasure: deletes the principal's payloads and destroys its data key (crypto-shredding whatever copy the delete
   * cannot reach, such as a backup); later puts are refused. Returns how many payloads were removed.
   */
  async erase(principal: string): Promise<{ keyDestroyed: boolean; payloadsUnreadable: number }> {
    const r = await this.store.destroyKey(principal, this.clock.now());
    return { keyDestroyed: r.keyExisted, payloadsUnreadable: r.payloads };
  }
}
