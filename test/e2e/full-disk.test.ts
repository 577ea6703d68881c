// A full disk (a real tmpfs filled until ENOSPC): the process stays up, /readyz says which store is failing,
// nothing is released unrecorded, and once space returns the replica recovers by itself, records the outage
// in the ledger, and the ledger still verifies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { mountSmallDisk, type SmallDisk } from './differential/full-disk.js';

const chat = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] };

describe('a full disk', () => {
  let disk: SmallDisk | null = null;
  let skipReason: string | null = null;
  let t: TestWarden | undefined;
  let key = '';

  before(async () => {
    const m = mountSmallDisk();
    if ('reason' in m) {
      skipReason = m.reason;
      return;
    }
    disk = m;
    t = await startTestWarden(() => {}, { dataDir: disk.dir });
    key = (await t.keyFor('patient', ['demo-chat'], ['chat'], { groups: ['consumers'] })).key;
  });
  after(async () => {
    try {
      disk?.free();
      await t?.stop();
    } finally {
      disk?.unmount();
    }
  });

  const readyz = async () => {
    const r = await t!.call('admin', 'GET', '/readyz');
    return { status: r.status, body: r.json as { status: string; checks: Record<string, string> } };
  };

  test('makes the replica not ready without crashing it, and it recovers by itself when space returns', async (ctx) => {
    if (skipReason !== null) {
      if (process.env.CI === 'true') assert.fail(`cannot provoke a full disk in CI: ${skipReason}`);
      ctx.skip(skipReason);
      return;
    }
    const before = await readyz();
    assert.equal(before.status, 200);
    assert.deepEqual(before.body.checks, { lifecycle: 'ok', ledger: 'ok', identity_store: 'ok' });
    assert.equal((await t!.call('inference', 'POST', '/v1/chat/completions', { key, body: chat })).status, 200);

    disk!.fill();
    // Nothing is released that the ledger did not record.
    let refused = await t!.call('inference', 'POST', '/v1/chat/completions', { key, body: chat });
    for (let i = 0; i < 5 && refused.status === 200; i++) refused = await t!.call('inference', 'POST', '/v1/chat/completions', { key, body: chat });
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error.code, 'audit_unavailable');
    const down = await readyz();
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'not_ready');
    assert.equal(down.body.checks.ledger, 'failing');
    assert.doesNotMatch(JSON.stringify(down.body), /SQLITE|ENOSPC|disk/i, 'the cause goes to the log, not the unauthenticated probe');
    // The process is up: liveness answers, and a second probe is still an answer, not a crash.
    assert.equal((await t!.call('admin', 'GET', '/healthz')).status, 200);
    assert.equal((await readyz()).status, 503);

    disk!.free();
    // No request is needed to recover: the readiness probe itself records the recovery.
    let up = await readyz();
    for (let i = 0; i < 20 && up.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      up = await readyz();
    }
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const recovered = t!.audits().find((a) => a.action === 'ledger.recovered');
    assert.ok(recovered, 'the outage is recorded once space returns');
    assert.ok(Number((recovered.details as Record<string, unknown>).failedAppends) >= 1);
    assert.equal((await t!.call('inference', 'POST', '/v1/chat/completions', { key, body: chat })).status, 200);
    // The stored tree still hashes to its signed checkpoint: a restart on the same data dir opens it (Ledger.open
    // refuses a tree that does not) and serves.
    await t!.stop();
    t = await startTestWarden(() => {}, { dataDir: disk!.dir });
    assert.equal((await readyz()).status, 200);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat })).status, 200);
  });
});
