// Input drift per model through the real gateway: a model asked for summaries of meeting notes builds its
// input baseline; when the requests turn into raw SQL (someone pointing a data-exfiltration script at it) the
// monitor writes a `monitor.input_drift` entry naming the feature, lists the profile as drifted, and an
// operator re-learns it. Benign traffic alone raises nothing; unknown profiles and consumers are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestWarden } from '../helpers/warden.js';
import { seededRandom } from '../helpers/seeded.js';

const TOPICS = ['the budget review', 'the office move', 'the hiring plan', 'the Q3 roadmap', 'the on-call rota', 'the vendor contract'];

test('requests to a model that turn into SQL are an input drift, recorded and re-learnable', async () => {
  const t = await startTestWarden((c) => {
    c.monitor.drift = { enabled: true, baselineAnswers: 20, windowAnswers: 10, threshold: 0.5, action: 'alert', inputs: true, approval: 'auto', syncMs: 5_000 };
  });
  try {
    const { key } = await t.keyFor('ana', ['*'], ['chat']);
    const rnd = seededRandom(17);
    const chat = async (content: string) => {
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } });
      assert.equal(r.status, 200, r.text);
    };
    const drifts = () => t.audits().filter((e) => e.action === 'monitor.input_drift');
    for (let i = 0; i < 40; i++) {
      const topic = TOPICS[Math.floor(rnd() * TOPICS.length)]!;
      await chat(`Summarize the notes on ${topic}: we agreed to revisit it ${i % 3 === 0 ? 'next week after the numbers are in' : 'on Friday'}, and ${1 + (i % 4)} people will follow up.`);
    }
    assert.deepEqual(drifts(), [], 'forty benign requests: no input drift');

    for (let i = 0; i < 10; i++) await chat(`SELECT name, email, ssn FROM customers WHERE id > ${i * 1000} ORDER BY id LIMIT 1000;`);
    const d = drifts();
    assert.equal(d.length, 1, 'one entry: the drift is latched until re-learnt');
    assert.deepEqual(d[0]!.resource, { type: 'Model', id: 'demo-chat' });
    assert.ok(['sql', 'code'].includes((d[0]!.details as { feature: string }).feature), JSON.stringify(d[0]!.details));
    assert.ok((d[0]!.details as { psi: number }).psi > 0.5);

    const report = await t.admin('GET', '/admin/v1/monitor/drift');
    const profile = report.inputs.find((x: { deployment: string }) => x.deployment === 'input:demo-chat');
    assert.equal(profile.phase, 'drifted');
    // The input profile is not a deployment's answers: output drift saw the echoed SQL too, separately.
    assert.ok(report.data.every((x: { deployment: string }) => !x.deployment.startsWith('input:')));

    const relearn = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent('input:demo-chat')}/relearn`, { key: t.adminKey, body: {} });
    assert.equal(relearn.status, 200, relearn.text);
    assert.ok(t.audits().some((e) => e.action === 'monitor.drift.relearn' && (e.resource as { id: string }).id === 'input:demo-chat'));
    const after = await t.admin('GET', '/admin/v1/monitor/drift');
    assert.equal(after.inputs.find((x: { deployment: string }) => x.deployment === 'input:demo-chat').phase, 'learning');

    const unknown = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent('input:no-such-model')}/relearn`, { key: t.adminKey, body: {} });
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error.message, /no input profile/);
    const consumer = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent('input:demo-chat')}/relearn`, { key, body: {} });
    assert.equal(consumer.status, 403);
  } finally {
    await t.stop();
  }
});

test('with monitor.drift.inputs off there are no input profiles', async () => {
  const t = await startTestWarden((c) => {
    c.monitor.drift = { enabled: true, baselineAnswers: 20, windowAnswers: 10, threshold: 0.5, action: 'alert', inputs: false, approval: 'auto', syncMs: 5_000 };
  });
  try {
    const { key } = await t.keyFor('ben', ['*'], ['chat']);
    for (let i = 0; i < 5; i++) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `hello ${i}` }] } })).status, 200);
    assert.deepEqual((await t.admin('GET', '/admin/v1/monitor/drift')).inputs, []);
  } finally {
    await t.stop();
  }
});
