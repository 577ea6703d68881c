// The lineage outbox does not grow forever: the pusher drops events it pushed more than a week ago (they live on
// in the ledger and the dataset's lineage) and never one still waiting to be pushed. Real SQLite store, fixed clock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FixedClock } from '../../../src/core/clock.js';
import { LineagePusher, PUSHED_KEEP_MS } from '../../../src/data/lineage/push.js';
import { SqliteDatasetsStore } from '../../../src/store/datasets-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-outbox-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('pushed events older than the keep window are pruned; pending ones stay', async () => {
  const store = new SqliteDatasetsStore(openSqlite(join(tmp, 'warden.db')));
  const clock = new FixedClock(Date.UTC(2026, 0, 1));
  const pusher = new LineagePusher({
    config: { endpoint: 'https://127.0.0.1:1/api/v1/lineage', attempts: 1, retryDelayMs: 1, timeoutMs: 100, sweepIntervalMs: 60_000 },
    outbox: store, audit: async () => {}, clock,
  });
  await store.enqueueLineagePush({ digest: 'sha256:old', event: { eventType: 'START' }, at: clock.now() });
  await store.markLineagePushed('sha256:old', clock.now());
  await store.enqueueLineagePush({ digest: 'sha256:waiting', event: { eventType: 'COMPLETE' }, at: clock.now() });
  clock.advance(PUSHED_KEEP_MS - 1);
  assert.equal(await pusher.prune(), 0, 'inside the window nothing goes');
  clock.advance(2);
  assert.equal(await pusher.prune(), 1);
  assert.deepEqual((await store.pendingLineagePushes(10)).map((p) => p.digest), ['sha256:waiting']);
});
