// Shared set-up for ledger tests: a real SQLite-backed ledger in a temporary data dir, writing on a worker
// thread as the gateway does (ledger.test.ts covers the synchronous store).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { inferenceEvent } from './events.js';

export const ORIGIN = 'warden.test/audit';

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'warden-ledger-'));
}

export async function openLedger(dataDir: string, maxBatch?: number, verifyTail?: number): Promise<Ledger> {
  const key = loadOrCreateLedgerKey(dataDir, ORIGIN);
  return Ledger.open({
    store: await ThreadedSqliteLedgerStore.open(join(dataDir, 'warden.db')),
    key,
    ...(maxBatch ? { maxBatch } : {}),
    ...(verifyTail !== undefined ? { verifyTail } : {}),
  });
}

/** Appends events from..to-1 concurrently (group commit) and returns the results in order. */
export function appendRange(ledger: Ledger, from: number, to: number) {
  return Promise.all(Array.from({ length: to - from }, (_, i) => ledger.append(inferenceEvent(from + i))));
}
