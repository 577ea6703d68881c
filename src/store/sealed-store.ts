// What Warden keeps sealed at rest (src/data/crypto envelopes), behind one interface per kind so a replica on
// store.postgres reads and writes the same records as every other: retained payloads with their per-principal
// data keys and erasure marks, and confidential deployments' wrapped model keys. SQLite (embedded default):
// ledger-payloads-sqlite.ts, model-keys-sqlite.ts; PostgreSQL: sealed-postgres.ts. One contract suite runs on
// both (test/store/sealed-contract.test.ts). The stores hold only ciphertext and wrapped keys: opening them
// needs the KEK, which with store.postgres every replica must share (docs/cluster.md).
import type { StoredModelKey } from '../workload/key-release-envelope.js';

export interface StoredPayload {
  principal: string;
  nonce: Buffer;
  ciphertext: Buffer;
  /** When its class's retention ends (epoch ms; placement.classes.<class>.retention), absent or null: kept indefinitely. */
  expiresAt?: number | null;
}

export interface PayloadStore {
  wrappedKey(principal: string): Promise<Buffer | undefined>;
  erasedAt(principal: string): Promise<number | undefined>;
  /**
   * Stores the principal's wrapped data key unless it already has one; returns the key stored now (another
   * writer's, when one raced this one), or undefined when the principal was erased (nothing stored).
   */
  putKey(principal: string, wrapped: Buffer, nowMs: number): Promise<Buffer | undefined>;
  /** Stores a sealed payload; false when the principal was erased (nothing stored). */
  putPayload(requestId: string, kind: string, p: StoredPayload): Promise<boolean>;
  getPayload(requestId: string, kind: string): Promise<StoredPayload | undefined>;
  /** Every principal's wrapped data key (for `warden data migrate|rewrap`). */
  listKeys(): Promise<{ principal: string; wrapped: Buffer }[]>;
  /** Swaps a wrapped key for its rewrapped form; false if it changed (or was erased) meanwhile. */
  replaceKey(principal: string, from: Buffer, to: Buffer): Promise<boolean>;
  /** How many payloads have expired at `nowMs` (recorded in the ledger before they are deleted). */
  countExpired(nowMs: number): Promise<number>;
  /** Deletes the payloads expired at `nowMs`; returns how many. */
  deleteExpired(nowMs: number): Promise<number>;
  /** What an erasure of `principal` would remove now (recorded in the ledger before it happens). */
  holdings(principal: string): Promise<{ key: boolean; payloads: number }>;
  /** Deletes the key and the payloads and records the erasure, in one transaction. */
  destroyKey(principal: string, nowMs: number): Promise<{ keyExisted: boolean; payloads: number }>;
  close(): Promise<void>;
}

/** Wrapped model data keys, one per deployment. */
export interface ModelKeyStore {
  put(deploymentId: string, w: StoredModelKey, now: number): Promise<void>;
  get(deploymentId: string): Promise<StoredModelKey | null>;
  /** Every stored key (for `warden data migrate|rewrap`). */
  list(): Promise<{ deploymentId: string; wrapped: StoredModelKey }[]>;
}
