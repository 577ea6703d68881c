// A response playbook's quarantineTool through the real gateway, monitor, tools plane and ledger: a user whose tool
// calls keep being refused by policy trips a playbook that quarantines the tool they were calling, for everyone;
// an operator's revert of the step releases exactly that quarantine. Backends are the fixtures' labelled fakes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startToolsWorld, type ToolsWorld } from './fixtures.js';

let w: ToolsWorld;
before(async () => {
  w = await startToolsWorld({
    mutate: (c) => {
      c.monitor.throttleAt = 1; // the monitor's own throttle stays out of the way
      c.monitor.playbooks = [{ name: 'tool-probing', when: { signals: { denials: 3 } }, steps: [{ do: 'quarantineTool' }] }];
    },
  });
});
after(async () => {
  await w.stop();
});

async function until<T>(what: () => T | undefined, label: string): Promise<T> {
  for (let i = 0; i < 60 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
  const v = what();
  assert.ok(v, label);
  return v;
}

test('denied tool calls trip quarantineTool: the tool is refused for everyone; reverting the step releases it', async () => {
  const alice = await w.delegate(w.keys.alice, w.keys.agent);
  const carol = await w.delegate(w.keys.carol, w.keys.agent);
  assert.equal((await w.invoke(carol, 'orders_lookup', { customer_id: 'carol' })).status, 200);
  // alice probes other customers' orders: refused by policy (orders-alice-own-only), a denial each.
  for (const who of ['bob', 'dave', 'erin']) assert.equal((await w.invoke(alice, 'orders_lookup', { customer_id: who })).status, 403);
  const step = await until(() => w.t.audits().find((a) => a.action === 'playbook.step') as Record<string, any> | undefined, 'the playbook fired');
  assert.deepEqual([step.details.step, step.details.done, step.details.reversible, step.details.tool], ['quarantineTool', true, true, 'orders_lookup']);
  const q = w.t.audits().find((a) => a.action === 'tool.quarantine') as Record<string, any>;
  assert.equal(q.details.by, 'playbook:tool-probing');

  const refused = await w.invoke(carol, 'orders_lookup', { customer_id: 'carol' });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error.code, 'tool_quarantined');
  assert.equal((await w.invoke(carol, 'fetch_doc', { doc_id: 'd1' })).json.error?.code === 'tool_quarantined', false, 'other tools are untouched');

  const revert = await w.t.call('admin', 'POST', `/admin/v1/playbooks/steps/${step.details.stepId}/revert`, { key: w.t.adminKey });
  assert.equal(revert.status, 200, revert.text);
  const rel = w.t.audits().find((a) => a.action === 'tool.release') as Record<string, any>;
  assert.equal(rel.details.by, `revert ${step.details.stepId}`);
  assert.equal((await w.invoke(carol, 'orders_lookup', { customer_id: 'carol' })).status, 200);
  const again = await w.t.call('admin', 'POST', `/admin/v1/playbooks/steps/${step.details.stepId}/revert`, { key: w.t.adminKey });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'step_already_reverted');
});
