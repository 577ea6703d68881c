// Playbook step records outlive the process (docs/monitor.md "Response playbooks"): a quarantineTool step run before
// a restart is listed and reverted after it (the tool's quarantine, kept in the tool store, is released exactly),
// a second revert after another restart is refused (409 step_already_reverted: the revert was saved too), and a
// step file that cannot be read is moved aside with an error, the gateway starting without the old records.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { WardenConfig } from '../../src/config/config.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const setup = (c: WardenConfig) => {
  c.monitor.throttleAt = 1;
  c.monitor.playbooks = [{ name: 'busy-kim', when: { signals: { requests: 3 } }, steps: [{ do: 'quarantineTool', tool: 'notes_search' }] }];
};

async function until<T>(what: () => T | undefined, label: string): Promise<T> {
  for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
  const v = what();
  assert.ok(v, label);
  return v;
}

test('a quarantineTool step is reverted after a restart; its revert is kept too; an unreadable step file is moved aside', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-playbook-steps-'));
  const file = join(dataDir, 'playbook-steps.json');
  let t: TestWarden | null = null;
  try {
    t = await startTestWarden(setup, { dataDir });
    const adminKey = t.adminKey; // printed on the first start only: the restarts use it too
    // A tool nobody calls here (its backend is never reached): the playbook names it.
    await t.admin('POST', '/admin/v1/tools', { name: 'notes_search', description: 'Search notes', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object' }, backend: { type: 'http', url: 'http://127.0.0.1:9/search' }, egress: ['http://127.0.0.1:9'] });
    const { key } = await t.keyFor('kim', ['*'], ['chat']);
    for (let i = 0; i < 3; i++) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `note ${i}` }] } })).status, 200);
    const first = t;
    const step = await until(() => first.audits().find((a) => a.action === 'playbook.step') as Record<string, any> | undefined, 'the playbook fired');
    assert.deepEqual([step.details.step, step.details.done, step.details.reversible, step.details.tool], ['quarantineTool', true, true, 'notes_search']);
    const id = String(step.details.stepId);
    await t.stop();
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);

    t = await startTestWarden(setup, { dataDir });
    const admin = (method: string, path: string) => t!.call('admin', method, path, { key: adminKey });
    assert.equal((await admin('GET', '/admin/v1/tools/notes_search')).json.quarantine.by, 'playbook:busy-kim', 'the quarantine outlived the restart');
    const listed = (await admin('GET', '/admin/v1/playbooks')).json.steps as { id: string; step: string; revertedAt: number | null }[];
    assert.deepEqual(listed.map((s) => [s.id, s.step, s.revertedAt]), [[id, 'quarantineTool', null]], 'the step is listed after the restart');
    const revert = await admin('POST', `/admin/v1/playbooks/steps/${id}/revert`);
    assert.equal(revert.status, 200, revert.text);
    assert.equal((await admin('GET', '/admin/v1/tools/notes_search')).json.quarantine, null, 'released');
    const rel = t.audits().find((a) => a.action === 'tool.release') as Record<string, any>;
    assert.equal(rel.details.by, `revert ${id}`);
    assert.ok(t.audits().some((a) => a.action === 'playbook.revert'));
    await t.stop();

    t = await startTestWarden(setup, { dataDir });
    const again = await t.call('admin', 'POST', `/admin/v1/playbooks/steps/${id}/revert`, { key: adminKey });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'step_already_reverted');
    await t.stop();

    writeFileSync(file, '{"v":1,"steps":[{"id":7}]}');
    t = await startTestWarden(setup, { dataDir });
    assert.ok(t.logs.some((l) => l.level === 50 && /playbook step records could not be read/.test(String(l.msg))));
    assert.equal(readdirSync(dataDir).filter((f) => f.startsWith('playbook-steps.json.unreadable-')).length, 1);
    const gone = await t.call('admin', 'POST', `/admin/v1/playbooks/steps/${id}/revert`, { key: adminKey });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error.code, 'step_not_found');
  } finally {
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
