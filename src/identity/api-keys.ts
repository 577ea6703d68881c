// API keys: `wdn_` + 256 random bits (base64url). Shown once, stored only as a SHA-256 hash (a fast hash is
// right for a 256-bit random secret: there is nothing to brute-force). Lookups hit an in-memory map keyed by
// hash; revocation and rotation change the record through this service, which drops the cached entry, so a
// revoked key fails on the very next request.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../core/digest.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, Conflict, FailClosed, NotFound, Unauthenticated } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Principal, Scope } from '../core/types.js';
import type { ApiKeyRecord, IdentityStore, PrincipalRecord } from '../store/identity-store.js';
import type { ChangeFeed, StoreChange } from '../store/pg-changes.js';

export const API_KEY_PREFIX = 'wdn_';
const KEY_RE = /^wdn_[A-Za-z0-9_-]{43}$/;
export const KNOWN_ACTIONS = ['chat', 'complete', 'embed', 'listModels', 'callTool', 'callAgent', 'createVectorStore', 'readVectorStore', 'writeVectorStore', 'retrieve', 'uploadFile', 'readFile', 'deleteFile', '*'] as const;
const CHALLENGE = 'Bearer realm="warden", error="invalid_token"';

/** Every key failure is the same 401 to the client; `reason` tells the operator which it was. */
function invalidKey(reason: 'key_malformed' | 'key_unknown' | 'principal_erased' | 'principal_disabled' | 'key_revoked' | 'key_expired'): Unauthenticated {
  return new Unauthenticated('invalid_api_key', 'the API key is invalid, expired or revoked', CHALLENGE, reason);
}

export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

export interface CreatedKey {
  key: string;
  record: ApiKeyRecord;
}

interface CacheEntry {
  record: ApiKeyRecord;
  principalRecord: PrincipalRecord;
  principal: Principal;
}

export interface KeyCreateInput {
  principalId: string;
  models: string[];
  actions: string[];
  ttlMs?: number;
  description?: string;
}

export function validateScope(models: string[], actions: string[]): void {
  if (!Array.isArray(models) || models.length === 0 || models.some((m) => typeof m !== 'string' || m.length === 0 || m.length > 200)) {
    throw new BadRequest('invalid_scope', 'models must be a non-empty list of model ids (or "*")', 'models');
  }
  if (!Array.isArray(actions) || actions.length === 0) {
    throw new BadRequest('invalid_scope', 'actions must be a non-empty list', 'actions');
  }
  for (const a of actions) {
    if (!(KNOWN_ACTIONS as readonly string[]).includes(a)) {
      throw new BadRequest('invalid_scope', `unknown action ${JSON.stringify(a)}; expected one of ${KNOWN_ACTIONS.join(', ')}`, 'actions');
    }
  }
}

/** Key lifecycle events, so the policy plane can keep each key's generated scope policies in step. */
export type KeyChange = { op: 'set'; record: ApiKeyRecord; principal: PrincipalRecord } | { op: 'remove'; id: string };

/**
 * Revokes what was derived from a key or a principal (the JIT tokens exchanged from them), from `fromMs`
 * (default now). Wired to JitTokenService.revokeDerived; awaited, so a cascade that cannot be recorded fails
 * the revocation instead of leaving derived tokens working.
 */
export type RevokeDerived = (from: { key: string } | { principal: string }, fromMs?: number) => Promise<void>;

export class ApiKeyService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly onChange: (e: KeyChange) => void;
  /** The one-time bootstrap credential authenticates as method `bootstrap`, so policies can tell it apart. */
  private bootstrapKeyId: string | null = null;
  private readonly maxCache: number;
  private pendingTouches = new Map<string, number>();
  private touchTimer: NodeJS.Timeout | null = null;
  private reportError: (e: unknown) => void = () => {};
  private revokeDerived: RevokeDerived = async () => {};
  private readonly changes: ChangeFeed | null;
  private readonly unsubscribe: () => void = () => {};

  constructor(
    private readonly store: IdentityStore,
    private readonly clock: Clock,
    opts: {
      maxCache?: number;
      touchFlushMs?: number;
      onChange?: (e: KeyChange) => void;
      onError?: (e: unknown) => void;
      /**
       * Shared store (cluster): changes made by any replica arrive here and drop what this one cached; while
       * the feed is not healthy nothing is served from the cache.
       */
      changes?: ChangeFeed;
    } = {},
  ) {
    this.changes = opts.changes ?? null;
    if (this.changes) this.unsubscribe = this.changes.subscribe((c) => this.applyChange(c));
    this.maxCache = opts.maxCache ?? 100_000;
    this.onChange = opts.onChange ?? (() => {});
    const flushMs = opts.touchFlushMs ?? 1000;
    // A background write must never crash the process (a full disk rejects it): report it and retry later.
    const onError = opts.onError ?? (() => {});
    this.reportError = onError;
    this.touchTimer = setInterval(() => void this.flushTouches().catch(onError), flushMs);
    this.touchTimer.unref();
  }

  async create(input: KeyCreateInput): Promise<CreatedKey> {
    validateScope(input.models, input.actions);
    if (input.ttlMs !== undefined && (!Number.isFinite(input.ttlMs) || input.ttlMs <= 0)) {
      throw new BadRequest('invalid_ttl', 'ttl must be a positive duration', 'ttl');
    }
    const principal = await this.store.getPrincipal(input.principalId);
    if (!principal || principal.erasedAt) throw new NotFound('principal_not_found', `no principal ${JSON.stringify(input.principalId)}`);
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const record: ApiKeyRecord = {
      id: newId('key'),
      principalId: principal.id,
      hash: hashApiKey(key),
      hint: key.slice(0, 10),
      models: [...input.models],
      actions: [...input.actions],
      description: input.description ?? null,
      createdAt: now,
      expiresAt: input.ttlMs !== undefined ? now + input.ttlMs : null,
      revokedAt: null,
      rotatedTo: null,
      lastUsedAt: null,
    };
    await this.store.insertKey(record);
    this.onChange({ op: 'set', record, principal });
    return { key, record };
  }

  /** Set once the token service exists (it is built after the keys); until then nothing is derived. */
  setRevokeDerived(fn: RevokeDerived): void {
    this.revokeDerived = fn;
  }

  /** Issues a successor with the same scope; the old key keeps working for `graceMs`, then stops. */
  /**
   * Rotates a key: a successor with the same scope, and the old key expiring `graceMs` from now. With `deliver`,
   * the successor's secret is handed over first; if that fails the successor is revoked (nobody holds its secret)
   * and the old key is left exactly as it was (KeyNotDelivered), so a failed hand-over never starts its overlap.
   */
  async rotate(id: string, graceMs: number, deliver?: (created: CreatedKey) => Promise<void>): Promise<CreatedKey & { previous: ApiKeyRecord }> {
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new BadRequest('invalid_grace', 'grace must be a non-negative duration', 'grace');
    const old = await this.store.getKey(id);
    if (!old) throw new NotFound('key_not_found', `no key ${JSON.stringify(id)}`);
    const now = this.clock.now();
    if (old.revokedAt !== null) throw new Conflict('key_revoked', `key ${id} is revoked and cannot be rotated`);
    if (old.rotatedTo !== null) throw new Conflict('key_already_rotated', `key ${id} was already rotated to ${old.rotatedTo}`);
    if (old.expiresAt !== null && old.expiresAt <= now) throw new Conflict('key_expired', `key ${id} has expired`);
    // The successor gets the same lifetime the old key was created with.
    const remainingTtl = old.expiresAt !== null ? old.expiresAt - old.createdAt : undefined;
    const created = await this.create({
      principalId: old.principalId,
      models: old.models,
      actions: old.actions,
      ...(remainingTtl !== undefined ? { ttlMs: remainingTtl } : {}),
      ...(old.description !== null ? { description: old.description } : {}),
    });
    if (deliver) {
      try {
        await deliver(created);
      } catch (e) {
        await this.revoke(created.record.id);
        throw new KeyNotDelivered(id, created.record.id, (e as Error).message);
      }
    }
    const graceEnd = now + graceMs;
    const expiresAt = old.expiresAt !== null ? Math.min(old.expiresAt, graceEnd) : graceEnd;
    await this.store.updateKeyState(id, { expiresAt, revokedAt: null, rotatedTo: created.record.id });
    // Tokens exchanged from the old key stop with it, even those whose own expiry is later.
    await allOrFirstError(this.announce({ type: 'key', hash: old.hash }), this.revokeDerived({ key: id }, expiresAt));
    return { ...created, previous: { ...old, expiresAt, rotatedTo: created.record.id } };
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    const k = await this.store.getKey(id);
    if (!k) throw new NotFound('key_not_found', `no key ${JSON.stringify(id)}`);
    if (k.revokedAt === null) {
      k.revokedAt = this.clock.now();
      await this.store.updateKeyState(id, { expiresAt: k.expiresAt, revokedAt: k.revokedAt, rotatedTo: k.rotatedTo });
    }
    const announced = this.announce({ type: 'key', hash: k.hash });
    this.onChange({ op: 'remove', id });
    // Derived tokens are revoked even when the announcement to other replicas fails (and vice versa).
    await allOrFirstError(announced, this.revokeDerived({ key: id }));
    return k;
  }

  /** The principal was erased (or disabled): its cached keys go, and so does every token naming it. */
  async principalRemoved(principalId: string): Promise<void> {
    await allOrFirstError(this.invalidatePrincipal(principalId), this.revokeDerived({ principal: principalId }));
  }

  setBootstrapKey(id: string | null): void {
    this.bootstrapKeyId = id;
    this.cache.clear();
  }

  /** Drops every cached key of a principal (after the principal record changed), on every replica. */
  async invalidatePrincipal(principalId: string): Promise<void> {
    await this.announce({ type: 'principal', id: principalId });
  }

  /**
   * Drops the cached copy here and, with a shared store, tells every replica to. The change is already
   * committed; if it cannot be announced the caller gets the error (the operator retries; revocation is
   * idempotent) rather than a success while peers may still serve the old record.
   */
  private async announce(change: StoreChange): Promise<void> {
    this.applyChange(change);
    if (!this.changes) return;
    try {
      await this.changes.publish(change);
    } catch {
      throw new FailClosed('change_not_announced', 'the change is saved, but the other replicas could not be told yet; retry (it is safe to repeat)');
    }
  }

  private applyChange(c: StoreChange): void {
    if (c.type === 'key') this.cache.delete(c.hash);
    else if (c.type === 'principal') {
      for (const [h, e] of this.cache) if (e.record.principalId === c.id) this.cache.delete(h);
    } else if (c.type === 'resync') this.cache.clear();
  }

  async list(principalId?: string): Promise<ApiKeyRecord[]> {
    return this.store.listKeys(principalId);
  }

  /** Authenticates a presented key. Every failure is the same 401 to the client (RFC 6750 invalid_token). */
  async authenticate(presented: string): Promise<Principal> {
    if (!KEY_RE.test(presented)) throw invalidKey('key_malformed');
    const hash = hashApiKey(presented);
    // With a shared store whose change feed is down, a peer's revocation could be missed: read the store.
    const useCache = this.changes === null || this.changes.healthy;
    let entry = useCache ? this.cache.get(hash) : undefined;
    if (!entry) {
      const record = await this.store.findKeyByHash(hash);
      if (!record) throw invalidKey('key_unknown');
      const pr = await this.store.getPrincipal(record.principalId);
      if (!pr || pr.erasedAt) throw invalidKey('principal_erased');
      if (pr.disabledAt) throw invalidKey('principal_disabled');
      entry = { record, principalRecord: pr, principal: toPrincipal(pr, record, record.id === this.bootstrapKeyId) };
      // Shared store: the key may have been created by another replica, whose announcement of it reached only
      // that replica's policy plane. Its scope cap is set here before the key is first used (a key without
      // its cap would be bounded by policy alone, not by its scope).
      if (this.changes && record.revokedAt === null) this.onChange({ op: 'set', record, principal: pr });
      if (this.cache.size >= this.maxCache) {
        const first = this.cache.keys().next();
        if (!first.done) this.cache.delete(first.value);
      }
      if (useCache) this.cache.set(hash, entry);
    }
    const now = this.clock.now();
    const r = entry.record;
    if (r.revokedAt !== null) throw invalidKey('key_revoked');
    if (r.expiresAt !== null && r.expiresAt <= now) throw invalidKey('key_expired');
    this.pendingTouches.set(r.id, now);
    return entry.principal;
  }

  async flushTouches(): Promise<void> {
    if (this.pendingTouches.size === 0) return;
    const batch = this.pendingTouches;
    this.pendingTouches = new Map();
    try {
      await this.store.touchKeys(batch);
    } catch (e) {
      // Kept for the next flush (a newer use since then wins); last-used times are not lost to a full disk.
      for (const [id, at] of batch) if (!this.pendingTouches.has(id)) this.pendingTouches.set(id, at);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.touchTimer) clearInterval(this.touchTimer);
    this.touchTimer = null;
    await this.flushTouches().catch(this.reportError);
  }
}

/** Waits for every step (none is skipped because another failed), then throws the first failure. */
async function allOrFirstError(...steps: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export function toPrincipal(pr: PrincipalRecord, key: ApiKeyRecord, bootstrap = false): Principal {
  const scope: Scope = { models: key.models, actions: key.actions };
  return {
    kind: pr.kind,
    id: pr.id,
    tenant: pr.tenant,
    groups: pr.groups,
    authn: { method: bootstrap ? 'bootstrap' : 'api_key', credentialId: key.id, ...(key.expiresAt !== null ? { expiresAt: key.expiresAt } : {}) },
    scope,
    ...(pr.sourceCidrs ? { sourceCidrs: pr.sourceCidrs } : {}),
    ...(pr.limits ? { limits: pr.limits } : {}),
    admin: pr.admin,
  };
}

/** The successor's secret could not be handed over: the successor is revoked and the old key stays as it was. */
export class KeyNotDelivered extends FailClosed {
  constructor(
    readonly keyId: string,
    readonly successor: string,
    readonly why: string,
  ) {
    super('key_not_delivered', `the new secret for key ${keyId} could not be delivered (${why}); its successor ${successor} is revoked and ${keyId} stays valid`);
  }
}
