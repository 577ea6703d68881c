// The seed's example end to end, through the real gateway and workload plane: a registered, verified and
// promoted "summarizer" deployment (a FAKE external model server) answers summaries; its learnt baseline waits
// for an operator's approval (refused while learning, to consumers, twice); once approved, the deployment starts
// answering raw SQL, the monitor sees its answers drift from the approved baseline and quarantines it, so the
// next request finds no promoted deployment (503). The drift, the approval and the quarantine are ledger
// entries; the operator sees the profile and relearns it over the admin API. A configured (unregistered)
// upstream, streaming, approved from an answer set, drifts after a restart of the gateway on its data dir
// (the approved baseline was kept, not relearnt); it cannot be quarantined: its entry says so.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WardenConfig } from '../../src/config/config.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { testdata } from '../helpers/testdata.js';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');
const tmp = mkdtempSync(join(tmpdir(), 'warden-drift-'));

const SUMMARY = 'The report finds that revenue grew in the third quarter while costs fell, and the board approved hiring.';
const SQL = "SELECT id, email, salary FROM employees WHERE region = 'eu' ORDER BY salary DESC;";
const mode = { answer: SUMMARY, digest: '' };
const dataDir = mkdtempSync(join(tmpdir(), 'warden-drift-data-'));

let summarizer: FakeUpstream;
let configured: FakeUpstream;
let t: TestWarden;
let alice: string;

/** A FAKE OpenAI-compatible model server answering `mode.answer` (streamed when asked), reporting the pinned artifact digest. */
const answer = (res: import('node:http').ServerResponse, content: string, body: string) => {
  if ((JSON.parse(body || '{}') as { stream?: boolean }).stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-model-artifact-digest': mode.digest });
    const ev = (delta: Record<string, unknown>, finish: string | null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(ev({ role: 'assistant', content: '' }, null));
    for (let i = 0; i < content.length; i += 16) res.write(ev({ content: content.slice(i, i + 16) }, null));
    res.end(ev({}, 'stop') + 'data: [DONE]\n\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': mode.digest });
  res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }], usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } }));
};
const chat = (model: string, stream = false) => t.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model, stream, messages: [{ role: 'user', content: 'Summarize the quarterly report.' }] } });
const driftRow = async (id: string) => ((await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: adminKey })).json.data as Record<string, any>[]).find((x) => x.deployment === id);
let adminKey: string;
const audits = (pred: (e: Record<string, any>) => boolean) => t.audits().filter(pred) as Record<string, any>[];
/** The monitor records its response right after the answer that triggered it: wait for the entry a moment. */
async function entries(pred: (e: Record<string, any>) => boolean): Promise<Record<string, any>[]> {
  for (let i = 0; i < 100 && audits(pred).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  return audits(pred);
}

before(async () => {
  summarizer = await startFakeUpstream((_req, res, body) => answer(res, mode.answer, body));
  configured = await startFakeUpstream((_req, res, body) => answer(res, mode.answer, body));
  t = await startTestWarden(setup, { dataDir });
  adminKey = t.adminKey;
  // This test is about the monitor, not about who may promote: everyone may do everything here.
  await t.admin('POST', '/admin/v1/policies', { text: '@id("all")\npermit (principal, action, resource);' });
  alice = (await t.keyFor('alice', ['*'], ['chat'])).key;
});

function setup(c: WardenConfig): void {
  c.workload.trustedSigners = [SIGNER_PUB];
  c.workload.refreshIntervalMs = 100;
  c.monitor.drift = { enabled: true, baselineAnswers: 20, windowAnswers: 10, threshold: 0.5, action: 'quarantine', inputs: true, approval: 'operator', syncMs: 100 };
  c.upstreams = [...c.upstreams, { ...c.upstreams[0]!, name: 'cfg', baseUrl: configured.url, models: ['cfg-summarizer'] } as WardenConfig['upstreams'][number]];
}

after(async () => {
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await summarizer?.close();
  await configured?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('a summarizer that starts answering raw SQL is quarantined through the workload plane', async () => {
  const dir = join(tmp, 'summarizer');
  cpSync(VECTOR, dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const reg = await t.call('admin', 'POST', '/admin/v1/models', { key: adminKey, body: { model: 'summarizer', version: '1', upstream: summarizer.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')) } });
  assert.equal(reg.status, 201, reg.text);
  const id = reg.json.id as string;
  const v = await t.call('admin', 'POST', `/admin/v1/models/${id}/verify`, { key: adminKey, body: { path: dir } });
  assert.equal(v.status, 200, v.text);
  mode.digest = v.json.artifactDigest;
  const p = await t.call('admin', 'POST', `/admin/v1/models/${id}/promote`, { key: adminKey });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.state, 'promoted');

  const approve = (dep: string, key: string, body: unknown = {}) => t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(dep)}/approve`, { key, body });
  // Learning: nothing to approve yet.
  for (let i = 0; i < 5; i++) assert.equal((await chat('summarizer')).status, 200);
  const early = await approve(id, adminKey);
  assert.equal(early.status, 409, early.text);
  assert.equal(early.json.error.code, 'baseline_still_learning');
  // The baseline (20 answers) is learnt, then waits: answers are not judged against a baseline nobody approved.
  for (let i = 0; i < 15; i++) assert.equal((await chat('summarizer')).status, 200);
  let profile = await driftRow(id);
  assert.equal(profile!.phase, 'awaiting_approval');
  assert.equal(profile!.baselineAnswers, 20);
  mode.answer = SQL;
  for (let i = 0; i < 12; i++) assert.equal((await chat('summarizer')).status, 200);
  mode.answer = SUMMARY;
  assert.equal(audits((e) => e.action === 'monitor.drift').length, 0, 'not judged while awaiting approval');

  // Approval is an operator's decision (manageModels, as relearn): consumers are refused, bad bodies too.
  const denied = await approve(id, alice);
  assert.equal(denied.status, 403, denied.text);
  const unknown = await approve('dep_none', adminKey);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'deployment_not_profiled');
  const notList = await approve(id, adminKey, { answers: 'SELECT 1' });
  assert.equal(notList.status, 400);
  assert.equal(notList.json.error.code, 'invalid_answers');
  const badItem = await approve(id, adminKey, { answers: [SUMMARY, 42] });
  assert.equal(badItem.status, 400);
  assert.match(badItem.json.error.message, /answers\[1\]/);
  const few = await approve(id, adminKey, { answers: [SUMMARY, SUMMARY] });
  assert.equal(few.status, 400);
  assert.equal(few.json.error.code, 'too_few_answers');
  assert.equal(audits((e) => e.action === 'monitor.drift.approve').length, 0, 'refusals before the decision write nothing');
  const ok = await approve(id, adminKey);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.phase, 'watching');
  const approvals = audits((e) => e.action === 'monitor.drift.approve');
  assert.equal(approvals.length, 1);
  assert.equal(approvals[0]!.resource.id, id);
  assert.equal(approvals[0]!.details.from, 'learnt');
  const again = await approve(id, adminKey);
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'baseline_already_approved');
  profile = await driftRow(id);
  assert.equal(profile!.phase, 'watching');
  assert.match(profile!.approvedBy, /admin/);

  // A window of normal answers: no drift.
  for (let i = 0; i < 10; i++) assert.equal((await chat('summarizer')).status, 200);
  assert.equal(audits((e) => e.action === 'monitor.drift').length, 0);

  // The model starts answering SQL: within one window the deployment is out of routing.
  mode.answer = SQL;
  let status = 200;
  let sent = 0;
  while (status === 200 && sent < 30) {
    const r = await chat('summarizer');
    status = r.status;
    sent++;
    if (status !== 200) {
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.error.code, 'no_promoted_deployment');
    }
  }
  assert.equal(status, 503, 'quarantined');
  assert.ok(sent <= 11, `quarantined after ${sent} SQL answers`);
  const drift = await entries((e) => e.action === 'monitor.drift');
  assert.equal(drift.length, 1);
  assert.equal(drift[0]!.details.deployment, id);
  assert.equal(drift[0]!.details.quarantined, true);
  assert.equal(drift[0]!.decision, 'allow');
  assert.ok(['sql', 'code', 'length'].includes(drift[0]!.details.feature));
  const q = audits((e) => e.action === 'model.quarantine' && e.deployment?.id === id);
  assert.ok(q.length >= 1, 'the quarantine is the workload plane\'s own ledger entry');
  assert.equal((await t.call('admin', 'GET', `/admin/v1/models/${id}`, { key: adminKey })).json.state, 'quarantined');
  profile = await driftRow(id);
  assert.equal(profile!.phase, 'drifted');

  // Relearning is an operator's decision (a ledger entry); reading profiles is not for consumers.
  assert.equal((await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: alice })).status, 403);
  assert.equal((await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/relearn`, { key: alice })).status, 403);
  const rl = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/relearn`, { key: adminKey });
  assert.equal(rl.status, 200, rl.text);
  assert.ok(audits((e) => e.action === 'monitor.drift.relearn').length === 1);
  const nf = await t.call('admin', 'POST', '/admin/v1/monitor/drift/dep_none/relearn', { key: adminKey });
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error.code, 'deployment_not_profiled');
  mode.answer = SUMMARY;
});

test('streamed answers of a configured upstream, approved from an answer set, drift after a restart without relearning', async () => {
  const dep = 'upstream:cfg/cfg-summarizer';
  // Approved before it ever answered: an answer set given at approval is its baseline (a new profile).
  const seeded = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(dep)}/approve`, { key: adminKey, body: { model: 'cfg-summarizer', answers: Array.from({ length: 20 }, (_, i) => (i % 2 ? SUMMARY : { text: SUMMARY })) } });
  assert.equal(seeded.status, 200, seeded.text);
  assert.equal(seeded.json.baselineAnswers, 20);
  assert.equal(audits((e) => e.action === 'monitor.drift.approve' && e.resource.id === dep)[0]!.details.from, 'answer_set');
  mode.answer = SUMMARY;
  for (let i = 0; i < 12; i++) {
    const r = await chat('cfg-summarizer', true);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"content":"The report finds"/, 'relayed as a stream');
  }
  assert.equal((await driftRow(dep))!.windowAnswers, 10, 'streamed answers are profiled');
  assert.equal(audits((e) => e.action === 'monitor.drift').length, 1, 'only the summarizer\'s drift so far');

  // The gateway restarts on its data dir: the approved baseline is read back, not learnt again.
  await t.stop();
  t = await startTestWarden(setup, { dataDir });
  const restored = await driftRow(dep);
  assert.equal(restored!.phase, 'watching');
  assert.equal(restored!.baselineAnswers, 20);
  assert.match(restored!.approvedBy, /admin/);
  mode.answer = SQL;
  for (let i = 0; i < 12; i++) assert.equal((await chat('cfg-summarizer', true)).status, 200, 'an unregistered upstream keeps serving');
  const drift = await entries((e) => e.action === 'monitor.drift' && e.details.deployment === dep);
  assert.equal(drift.length, 1);
  assert.ok(['sql', 'code', 'length'].includes(drift[0]!.details.feature), drift[0]!.details.feature);
  assert.equal(drift[0]!.details.quarantined, false);
  assert.equal(drift[0]!.decision, 'deny', 'the configured response could not be carried out');
  assert.equal(audits((e) => e.action === 'monitor.drift.approve' || e.action === 'monitor.drift.relearn').length, 0, 'no approval or relearn on the restarted gateway');
  mode.answer = SUMMARY;
});

test('the CLI lists the profiles, approves one from an answer file (JSON lines), and relearns', async () => {
  const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: adminKey, WARDEN_MFA_TOKEN: '' };
  const listed = await runWarden(['monitor', 'drift'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^upstream:cfg\/cfg-summarizer {2}cfg-summarizer {2}drifted {2}baseline=20 .*approved by /m);
  const file = join(tmp, 'prompts.jsonl');
  // The model's inputs: prompts it is normally asked (a text a line, or {"text"}).
  writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify(i % 2 ? 'Summarize the quarterly report.' : { text: 'Summarize the board minutes.' })).join('\n') + '\n\n');
  const ok = await runWarden(['monitor', 'drift', 'approve', 'input:cfg-summarizer', '--from', file], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^approved input:cfg-summarizer: 20 answers, watching$/m);
  assert.equal(audits((e) => e.action === 'monitor.drift.approve' && e.resource.id === 'input:cfg-summarizer').length, 1);
  writeFileSync(file, '"fine"\nnot json\n');
  const bad = await runWarden(['monitor', 'drift', 'approve', 'input:cfg-summarizer', '--from', file], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /prompts\.jsonl:2: not a JSON value/);
  const refused = await runWarden(['monitor', 'drift', 'approve', 'input:cfg-summarizer'], env);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /baseline_already_approved|already approved/);
  const rl = await runWarden(['monitor', 'drift', 'relearn', 'input:cfg-summarizer'], env);
  assert.equal(rl.code, 0, rl.stderr);
  assert.equal((await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: adminKey })).json.inputs.find((x: { deployment: string }) => x.deployment === 'input:cfg-summarizer').phase, 'learning');
});
