// The seed's example end to end, through the real gateway and workload plane: a registered, verified and
// promoted "summarizer" deployment (a FAKE external model server) answers summaries, then starts answering
// raw SQL; the monitor sees its answers drift from the approved baseline and quarantines the deployment, so
// the next request finds no promoted deployment (503). The drift and the quarantine are ledger entries; the
// operator sees the profile and relearns it over the admin API. A configured (unregistered) upstream that
// drifts cannot be quarantined: its entry says so and its traffic continues.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WardenConfig } from '../../src/config/config.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { testdata } from '../helpers/testdata.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');
const tmp = mkdtempSync(join(tmpdir(), 'warden-drift-'));

const SUMMARY = 'The report finds that revenue grew in the third quarter while costs fell, and the board approved hiring.';
const SQL = "SELECT id, email, salary FROM employees WHERE region = 'eu' ORDER BY salary DESC;";
const mode = { answer: SUMMARY, digest: '' };

let summarizer: FakeUpstream;
let configured: FakeUpstream;
let t: TestWarden;
let alice: string;

/** A FAKE OpenAI-compatible model server answering `mode.answer`, reporting the pinned artifact digest. */
const answer = (res: import('node:http').ServerResponse, content: string) => {
  res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': mode.digest });
  res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }], usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } }));
};
const chat = (model: string) => t.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model, messages: [{ role: 'user', content: 'Summarize the quarterly report.' }] } });
const audits = (pred: (e: Record<string, any>) => boolean) => t.audits().filter(pred) as Record<string, any>[];
/** The monitor records its response right after the answer that triggered it: wait for the entry a moment. */
async function entries(pred: (e: Record<string, any>) => boolean): Promise<Record<string, any>[]> {
  for (let i = 0; i < 100 && audits(pred).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  return audits(pred);
}

before(async () => {
  summarizer = await startFakeUpstream((_req, res) => answer(res, mode.answer));
  configured = await startFakeUpstream((_req, res) => answer(res, mode.answer));
  t = await startTestWarden((c) => {
    c.workload.trustedSigners = [SIGNER_PUB];
    c.workload.refreshIntervalMs = 100;
    c.monitor.drift = { enabled: true, baselineAnswers: 20, windowAnswers: 10, threshold: 0.5, action: 'quarantine', inputs: true };
    c.upstreams = [...c.upstreams, { ...c.upstreams[0]!, name: 'cfg', baseUrl: configured.url, models: ['cfg-summarizer'] } as WardenConfig['upstreams'][number]];
  });
  // This test is about the monitor, not about who may promote: everyone may do everything here.
  await t.admin('POST', '/admin/v1/policies', { text: '@id("all")\npermit (principal, action, resource);' });
  alice = (await t.keyFor('alice', ['*'], ['chat'])).key;
});

after(async () => {
  await t?.stop();
  await summarizer?.close();
  await configured?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('a summarizer that starts answering raw SQL is quarantined through the workload plane', async () => {
  const dir = join(tmp, 'summarizer');
  cpSync(VECTOR, dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const reg = await t.call('admin', 'POST', '/admin/v1/models', { key: t.adminKey, body: { model: 'summarizer', version: '1', upstream: summarizer.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')) } });
  assert.equal(reg.status, 201, reg.text);
  const id = reg.json.id as string;
  const v = await t.call('admin', 'POST', `/admin/v1/models/${id}/verify`, { key: t.adminKey, body: { path: dir } });
  assert.equal(v.status, 200, v.text);
  mode.digest = v.json.artifactDigest;
  const p = await t.call('admin', 'POST', `/admin/v1/models/${id}/promote`, { key: t.adminKey });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.state, 'promoted');

  // The baseline (20 answers) and a window of normal answers: no drift.
  for (let i = 0; i < 30; i++) assert.equal((await chat('summarizer')).status, 200);
  let profile = (await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: t.adminKey })).json.data.find((x: { deployment: string }) => x.deployment === id);
  assert.equal(profile.phase, 'watching');
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
  assert.equal((await t.call('admin', 'GET', `/admin/v1/models/${id}`, { key: t.adminKey })).json.state, 'quarantined');
  profile = (await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: t.adminKey })).json.data.find((x: { deployment: string }) => x.deployment === id);
  assert.equal(profile.phase, 'drifted');

  // Relearning is an operator's decision (a ledger entry); reading profiles is not for consumers.
  assert.equal((await t.call('admin', 'GET', '/admin/v1/monitor/drift', { key: alice })).status, 403);
  assert.equal((await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/relearn`, { key: alice })).status, 403);
  const rl = await t.call('admin', 'POST', `/admin/v1/monitor/drift/${encodeURIComponent(id)}/relearn`, { key: t.adminKey });
  assert.equal(rl.status, 200, rl.text);
  assert.ok(audits((e) => e.action === 'monitor.drift.relearn').length === 1);
  const nf = await t.call('admin', 'POST', '/admin/v1/monitor/drift/dep_none/relearn', { key: t.adminKey });
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error.code, 'deployment_not_profiled');
  mode.answer = SUMMARY;
});

test('a configured upstream that drifts is recorded but cannot be quarantined: its traffic continues', async () => {
  mode.answer = SUMMARY;
  for (let i = 0; i < 30; i++) assert.equal((await chat('cfg-summarizer')).status, 200);
  mode.answer = SQL;
  for (let i = 0; i < 15; i++) assert.equal((await chat('cfg-summarizer')).status, 200);
  const drift = await entries((e) => e.action === 'monitor.drift' && String(e.details.deployment).startsWith('upstream:cfg/'));
  assert.equal(drift.length, 1);
  assert.equal(drift[0]!.details.quarantined, false);
  assert.equal(drift[0]!.decision, 'deny', 'the configured response could not be carried out');
  mode.answer = SUMMARY;
});
