// The gateway keeps its per-principal baselines across a restart of the same data dir (saved at close, loaded at
// start), and a file it cannot read is moved aside, not trusted and not fatal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestWarden } from '../helpers/warden.js';

test('baselines survive a restart; an unreadable baselines file is moved aside and learning starts again', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-baselines-'));
  const file = join(dataDir, 'monitor-baselines.json');
  const setup = (c: { monitor: { baselines: { minObservations: number } } }) => void (c.monitor.baselines.minObservations = 10);
  try {
    const first = await startTestWarden(setup, { dataDir });
    const { key } = await first.keyFor('kim', ['*'], ['chat']);
    for (let i = 0; i < 12; i++) assert.equal((await first.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `note ${i}` }] } })).status, 200);
    // The bootstrap credential is printed on the first start of a data dir only: the restarts use it too.
    const adminKey = first.adminKey;
    const observed = async (t: typeof first) => ((await t.call('admin', 'GET', '/admin/v1/monitor', { key: adminKey })).json.data as { principal: string; baseline: { observations: number } | null }[]).find((r) => r.principal === 'acme/user:kim')?.baseline?.observations;
    assert.equal(await observed(first), 12);
    await first.stop();
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const second = await startTestWarden(setup, { dataDir });
    try {
      // The window's counts start empty after a restart; the baseline does not: one more request makes 13.
      assert.equal((await second.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'note 12' }] } })).status, 200);
      assert.equal(await observed(second), 13, 'the restarted gateway learnt on top of the 12 it had seen');
      assert.ok(second.logs.some((l) => l.msg === 'monitor baselines restored' && l.principals === 1));
    } finally {
      await second.stop();
    }

    writeFileSync(file, '{"v":1,"principals":[["acme/user:kim",{"n":"many"}]]}');
    const third = await startTestWarden(setup, { dataDir });
    try {
      assert.ok(third.logs.some((l) => l.level === 50 && /could not be restored/.test(String(l.msg))));
      assert.equal(readdirSync(dataDir).filter((f) => f.startsWith('monitor-baselines.json.unreadable-')).length, 1);
    } finally {
      await third.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
