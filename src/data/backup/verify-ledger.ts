// The ledger of a backup or a restored data dir, verified as `warden up` would open it and more: the signed
// checkpoint opens with the ledger key, and EVERY stored leaf is rehashed up to the checkpoint's root (not only
// the tail), so a restore that lost or altered one entry is refused.
import { Ledger } from '../../ledger/ledger.js';
import type { LedgerKey } from '../../ledger/key.js';
import type { NoteVerifier } from '../../ledger/note.js';
import { SqliteLedgerStore } from '../../store/ledger-sqlite.js';
import { openSqlite } from '../../store/sqlite.js';

/** `previousKeys`: the keys `key` replaced (a rotated ledger key), whose signatures on the stored checkpoint count. */
export async function verifyLedgerFile(file: string, key: LedgerKey, previousKeys: readonly NoteVerifier[] = []): Promise<{ size: number; rootHash: string }> {
  const store = new SqliteLedgerStore(openSqlite(file));
  let ledger: Ledger;
  try {
    ledger = await Ledger.open({ store, key, previousKeys, verifyTail: Number.MAX_SAFE_INTEGER });
  } catch (e) {
    await store.close();
    throw e;
  }
  const cp = ledger.latestCheckpoint();
  await ledger.close();
  return { size: cp.size, rootHash: Buffer.from(cp.rootHash).toString('hex') };
}
