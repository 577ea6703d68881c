// The contract between the identity plane and its storage. SQLite implements it for the embedded default;
// a PostgreSQL implementation plugs in for cluster mode without the identity plane seeing SQL.
import type { JsonWebKey } from 'node:crypto';
import type { PrincipalKind } from '../core/types.js';

export interface PrincipalLimits {
  requestsPerSecond?: number;
  burst?: number;
  concurrency?: number;
  tokensPerMinute?: number;
}

export interface PrincipalRecord {
  id: string;
  kind: PrincipalKind;
  tenant: string;
  groups: string[];
  admin: boolean;
  sourceCidrs: string[] | null;
  limits: PrincipalLimits | null;
  createdAt: number;
  erasedAt: number | null;
  /** Set while an operator has disabled the principal: its keys and the tokens derived from them are refused. */
  disabledAt?: number | null;
  /**
   * The OIDC issuer that authenticates this person (with `sub` = id): the only issuer whose tokens count as
   * their step-up. Null: unbound (accepted only while exactly one issuer is configured).
   */
  oidcIssuer?: string | null;
}

export interface ApiKeyRecord {
  id: string;
  principalId: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  hash: string;
  /** First characters of the key, for humans to recognise it in listings. */
  hint: string;
  models: string[];
  actions: string[];
  description: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Set on a key that was rotated: the id of its successor. */
  rotatedTo: string | null;
  lastUsedAt: number | null;
}

export interface IdentityStore {
  getPrincipal(id: string): Promise<PrincipalRecord | null>;
  listPrincipals(): Promise<PrincipalRecord[]>;
  insertPrincipal(p: PrincipalRecord): Promise<void>;
  updatePrincipal(p: PrincipalRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  listKeys(principalId?: string): Promise<ApiKeyRecord[]>;
  insertKey(k: ApiKeyRecord): Promise<void>;
  /** Sets expiry/revocation/rotation fields of an existing key. */
  updateKeyState(id: string, s: Pick<ApiKeyRecord, 'expiresAt' | 'revokedAt' | 'rotatedTo'>): Promise<void>;
  touchKeys(lastUsed: Map<string, number>): Promise<void>;
  getMeta(name: string): Promise<string | null>;
  setMeta(name: string, value: string): Promise<void>;
  /**
   * Runs `fn` while no other replica runs `fn` under the same name (stores shared by replicas; a store one
   * process owns has no other replica to exclude and runs `fn` directly).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * The public JIT token keys of every replica, by `kid` (RFC 7638 thumbprint), so a token issued by one
 * replica verifies on all of them while each private key stays in its own data dir.
 */
export interface JitKeyDirectory {
  publishJitKey(kid: string, jwk: JsonWebKey): Promise<void>;
  findJitKey(kid: string): Promise<JsonWebKey | null>;
}
