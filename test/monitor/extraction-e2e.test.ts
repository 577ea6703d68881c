// Model extraction through the real gateway (demo upstream, floors lowered so a test-sized campaign counts):
// a principal harvesting logprobs over many distinct prompts is reported (`monitor.extraction` ledger
// entry), its risk rises for the PDP with the extraction score beside it in the operators' view, and a
// playbook on `extraction` throttles it; a benign principal sending the same volume without logprobs shows one
// signal (many distinct prompts) and stays below the threshold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

let t: TestWarden;
const audits = (pred: (e: Record<string, any>) => boolean) => t.audits().filter(pred) as Record<string, any>[];

before(async () => {
  t = await startTestWarden((c) => {
    c.monitor.extraction = { ...c.monitor.extraction, minRequests: 10, threshold: 0.65 };
    c.monitor.playbooks = [{ name: 'extraction', when: { extraction: 0.65 }, steps: [{ do: 'throttle', requestsPerSecond: 1 }] }];
  });
});

after(async () => {
  await t?.stop();
});

test('a logprob-harvesting campaign is reported, raises the risk and meets the extraction playbook; benign volume does not', async () => {
  const { key: bad } = await t.keyFor('xavier', ['*'], ['chat'], { groups: ['consumers'] });
  const { key: good } = await t.keyFor('gina', ['*'], ['chat'], { groups: ['consumers'] });
  const send = (key: string, i: number, extra: Record<string, unknown>) => t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `question ${['alpha', 'beta', 'gamma', 'delta'][i % 4]} ${i * 7919} about topic ${i}` }], ...extra } });
  for (let i = 0; i < 20; i++) assert.equal((await send(good, i, {})).status, 200);
  let throttled = 0;
  for (let i = 0; i < 25; i++) {
    const r = await send(bad, i, { logprobs: true, top_logprobs: 20 });
    if (r.status === 429) {
      assert.equal(r.json.error.code, 'playbook_throttled');
      throttled++;
    } else assert.equal(r.status, 200, r.text);
  }
  assert.ok(throttled > 0, 'the playbook throttled the campaign');
  const reported = audits((e) => e.action === 'monitor.extraction');
  assert.deepEqual(reported.map((e) => e.principal.id), ['xavier']);
  assert.ok(reported[0]!.details.score >= 0.65);
  assert.ok(reported[0]!.details.logprobs > 0);
  assert.ok(audits((e) => e.action === 'playbook.step' && e.details.playbook === 'extraction' && e.principal.id === 'xavier').length === 1);

  const rows = (await t.call('admin', 'GET', '/admin/v1/monitor', { key: t.adminKey })).json.data as { principal: string; risk: number; extraction: { score: number } }[];
  const x = rows.find((r) => r.principal === 'acme/user:xavier')!;
  const g = rows.find((r) => r.principal === 'acme/user:gina')!;
  assert.ok(x.extraction.score >= 0.65);
  assert.ok(x.risk >= 0.6 * 0.65, `risk ${x.risk} carries the extraction score`);
  // Many distinct prompts alone are one signal (diverse, 0.45): below the threshold, no report, no step.
  assert.ok(g.extraction.score > 0 && g.extraction.score < 0.65, `gina ${g.extraction.score}`);
  assert.ok(g.risk < 0.6);
  // The operator's reset forgets the extraction window too.
  assert.equal((await t.call('admin', 'POST', `/admin/v1/monitor/${encodeURIComponent('acme/user:xavier')}/reset`, { key: t.adminKey })).status, 200);
  const after = (await t.call('admin', 'GET', '/admin/v1/monitor', { key: t.adminKey })).json.data as { principal: string }[];
  assert.ok(!after.some((r) => r.principal === 'acme/user:xavier'));
  assert.equal((await send(bad, 99, {})).status, 200);
});
