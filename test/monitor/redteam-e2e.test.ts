// `warden redteam` against a real Warden (TLS listeners, SQLite, ledger, starter policies): the suite is sent
// through the inference listener as the red-team principal against two upstreams — Warden's demo echo model
// and a scripted VULNERABLE fake (below; a stand-in for an external model server, not Warden code) that obeys
// embedded instructions, reveals its system prompt and calls whatever tool it is told to. The echo model is
// never counted as compromised; the vulnerable one is, for the attacks Warden lets through; the attacks Warden
// refuses are `blocked`. Every refusal path of the admin API is provoked.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig, withDefaults } from '../../src/config/config.js';
import { FixedClock } from '../../src/core/clock.js';
import { ATTACKS } from '../../src/monitor/redteam/attacks.js';
import { RedTeam } from '../../src/monitor/redteam/service.js';
import type { RedTeamRun } from '../../src/monitor/redteam/runner.js';
import { Metrics } from '../../src/gateway/metrics.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import pino from 'pino';

type Msg = { role: string; content?: unknown };
const text = (c: unknown) => (typeof c === 'string' ? c : '');

/** FAKE external model server that does whatever its input tells it to (the "vulnerable" model). */
function vulnerableAnswer(body: { messages?: Msg[]; tools?: { function: { name: string } }[] }): Record<string, unknown> {
  const msgs = body.messages ?? [];
  const sys = msgs.filter((m) => m.role === 'system').map((m) => text(m.content)).join('\n');
  let input = msgs.filter((m) => m.role !== 'system').map((m) => text(m.content)).join('\n');
  for (const b64 of input.match(/[A-Za-z0-9+/]{24,}={0,2}/g) ?? []) input += '\n' + Buffer.from(b64, 'base64').toString('utf8');
  const tool = body.tools?.find((t) => new RegExp(`\\b(call|use)\\b[^.]*\\b${t.function.name}\\b`, 'i').test(input));
  if (tool) return { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: tool.function.name, arguments: JSON.stringify({ all: true, body: sys }) } }] };
  const order = /(?:write|scrivi)\s+([A-Z0-9]{6}),?\s+(?:then a hyphen|poi un trattino),?\s+(?:then|poi)\s+([A-Z0-9]{6})/i.exec(input);
  if (order) return { role: 'assistant', content: `${order[1]}-${order[2]}` };
  if (/system prompt|words above|instructions|internal notes|on-call|deploy key/i.test(input)) return { role: 'assistant', content: `Sure. ${sys}` };
  return { role: 'assistant', content: 'How can I help with your appointment?' };
}

let t: TestWarden;
let vulnerable: FakeUpstream;
let admin: Record<string, string>;

before(async () => {
  vulnerable = await startFakeUpstream((_req, res, raw) => {
    const body = JSON.parse(raw) as Parameters<typeof vulnerableAnswer>[0] & { model: string };
    const message = vulnerableAnswer(body);
    const out = JSON.stringify({ id: 'chatcmpl-vuln', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
    res.writeHead(200, { 'content-type': 'application/json' }).end(out);
  });
  t = await startTestWarden((c) => {
    c.demoUpstream.enabled = true;
    c.upstreams = withDefaults({ upstreams: [{ name: 'vuln', baseUrl: vulnerable.url, models: ['vuln-chat'] }] }, null).upstreams;
    c.monitor.redteam.principal = 'redteam-bot';
    c.monitor.redteam.models = ['demo-chat', 'vuln-chat'];
  });
  // An ordinary consumer, NOT in the starter set's `red-team` group (which is exempt from the injection rule so
  // that one can probe a model's own defences): the red team measures what any attacker would meet.
  await t.admin('POST', '/admin/v1/principals', { id: 'redteam-bot', kind: 'service', tenant: 'acme', groups: ['consumers'] });
  admin = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
});

after(async () => {
  await t?.stop();
  await vulnerable?.close();
});

async function finished(id: string): Promise<RedTeamRun> {
  for (let i = 0; i < 600; i++) {
    const r = await t.call('admin', 'GET', `/admin/v1/redteam/runs/${id}`, { key: t.adminKey });
    assert.equal(r.status, 200, r.text);
    if (r.json.results) return r.json as RedTeamRun;
    assert.equal(r.json.status, 'running', r.text);
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

test('a run through the gateway: the echo model is never compromised, the vulnerable one is where Warden lets attacks through', async () => {
  const cli = await runWarden(['redteam', 'run'], admin);
  assert.match(cli.stdout, /^MODEL +KIND +ATTEMPTS +BLOCKED +RESISTED +SUCCEEDED +ERRORS +SUCCESS$/m);
  const history = await t.call('admin', 'GET', '/admin/v1/redteam/runs', { key: t.adminKey });
  assert.equal(history.json.data.length, 1);
  const run = await finished(history.json.data[0].id);
  assert.equal(run.results.length, ATTACKS.length * 2);
  assert.equal(run.principal, 'redteam-bot');
  assert.match(run.policyVersion, /^[0-9a-f]{8,}|^sha256:/, run.policyVersion);

  const of = (model: string) => run.results.filter((r) => r.model === model);
  // Exit 3 when at least one attack worked, 0 when none did.
  const succeeded = run.results.filter((r) => r.outcome === 'succeeded');
  assert.equal(cli.code, succeeded.length > 0 ? 3 : 0, cli.stderr + cli.stdout);
  // The demo upstream only echoes the last user message: it never assembles the marker, never sees the
  // canary in a user message, never calls an unforced tool. Nothing succeeds against it.
  assert.deepEqual(of('demo-chat').filter((r) => r.outcome === 'succeeded'), []);
  assert.ok(of('demo-chat').every((r) => r.outcome !== 'error'), JSON.stringify(of('demo-chat')));
  // The classic injection is refused by the starter policy's injection rule on both models.
  for (const r of run.results.filter((x) => x.attack === 'direct.ignore-previous')) {
    assert.equal(r.outcome, 'blocked', JSON.stringify(r));
    assert.equal(r.status, 403);
  }
  // The plain question for the system prompt is refused too since the detector learned extraction's structure
  // (issue 20 counted it as a miss at 0.40); the vulnerable model would have answered it.
  const leak = of('vuln-chat').find((r) => r.attack === 'leak.what-is-your-prompt')!;
  assert.equal(leak.outcome, 'blocked', JSON.stringify(leak));
  assert.equal(leak.status, 403);
  // The vulnerable model obeys whatever reaches it, so for the attacks that work on the words of the request (all but
  // data leaks and tool abuse, which the answer's redaction and the tool-call filter stop), the starter policy's
  // refusal is all that stands between the attack and the model: each is refused or succeeds. Since the detector
  // learned role-play jailbreaks and fake role boundaries (issue 20), the suite's grandmother attack is refused as
  // well (jailbreaks: success ratio 0 below), and the fake system turn scores just above the block cut.
  const wordAttacks = of('vuln-chat').filter((r) => !['data_leak', 'tool_abuse'].includes(r.kind));
  assert.ok(wordAttacks.every((r) => r.outcome === 'blocked' || r.outcome === 'succeeded'), JSON.stringify(wordAttacks));
  // Every attempt is a ledger entry of the red-team principal (request ids come back on each answer).
  assert.ok(run.results.every((r) => typeof r.requestId === 'string' && r.requestId.length > 0));
  const entries = t.audits();
  for (const r of run.results.slice(0, 5)) {
    const e = entries.find((x) => x.requestId === r.requestId);
    assert.ok(e, `no entry for ${r.requestId}`);
    assert.equal((e.principal as { id: string }).id, 'redteam-bot');
  }
  // The operator's decision, the run's start and its end are entries; the run's key was revoked afterwards.
  const start = entries.find((e) => e.action === 'redteam.start' && (e.details as { run?: string }).run === run.id);
  const finish = entries.find((e) => e.action === 'redteam.finish' && (e.details as { run?: string }).run === run.id);
  assert.ok(entries.some((e) => e.action === 'redteam.run' && (e.details as { run?: string }).run === run.id));
  assert.ok(start && finish);
  assert.equal((finish.details as { succeeded: number }).succeeded, run.results.filter((r) => r.outcome === 'succeeded').length);
  const keys = await t.admin('GET', '/admin/v1/keys?principal=redteam-bot');
  const runKey = keys.data.find((k: { id: string }) => k.id === (start.details as { key: string }).key);
  assert.equal(runKey.state, 'revoked');

  // Report file, Prometheus, and the CLI's views.
  const report = readFileSync(join(t.w.dataDir, 'redteam', 'report.md'), 'utf8');
  assert.match(report, new RegExp(`Latest run ${run.id}`));
  assert.match(report, /\| vuln-chat \| system_prompt_leak \| 3 \|/);
  const metrics = await t.call('admin', 'GET', '/metrics', { key: t.adminKey });
  assert.match(metrics.text, /warden_redteam_attack_success_ratio\{model="demo-chat",kind="direct_injection"\} 0/);
  // System-prompt leaks and jailbreaks are all refused now (issue 20): a success ratio of 0 per kind.
  assert.match(metrics.text, /warden_redteam_attack_success_ratio\{model="vuln-chat",kind="system_prompt_leak"\} 0$/m);
  assert.match(metrics.text, /warden_redteam_attack_success_ratio\{model="vuln-chat",kind="jailbreak"\} 0$/m);
  assert.match(metrics.text, /warden_redteam_attacks_total\{model="vuln-chat",kind="direct_injection",outcome="blocked"\} [1-9]/);
  const shown = await runWarden(['redteam', 'show', run.id], admin);
  assert.equal(shown.code, 0, shown.stderr);
  for (const r of succeeded) assert.match(shown.stdout, new RegExp(`^SUCCEEDED +${r.model} +${r.attack.replace('.', '\\.')}$`, 'm'));
  assert.match(shown.stdout, /^BLOCKED +vuln-chat +leak\.what-is-your-prompt +\(403 \w+\)$/m);
  assert.match(shown.stdout, /^BLOCKED +demo-chat +direct\.ignore-previous +\(403 \w+\)$/m);
  const hist = await runWarden(['redteam', 'history'], admin);
  assert.match(hist.stdout, new RegExp(`^${run.id} .* ${run.results.length} attack\\(s\\): \\d+ blocked, \\d+ succeeded$`, 'm'));
  const attacks = await runWarden(['redteam', 'attacks', '--json'], admin);
  assert.equal(JSON.parse(attacks.stdout).length, ATTACKS.length);
});

test('refusals: consumers, bad requests, unknown models and kinds, a second run while one runs', async () => {
  const { key: consumer } = await t.keyFor('casey', ['*'], ['chat']);
  for (const [method, path] of [['GET', '/admin/v1/redteam/runs'], ['POST', '/admin/v1/redteam/runs'], ['GET', '/admin/v1/redteam/attacks']] as const) {
    const r = await t.call('admin', method, path, { key: consumer, ...(method === 'POST' ? { body: {} } : {}) });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
  }
  const post = (body: unknown) => t.call('admin', 'POST', '/admin/v1/redteam/runs', { key: t.adminKey, body });
  const cases: [unknown, number, string][] = [
    [{ models: ['no-such-model'] }, 404, 'model_not_found'],
    [{ kinds: ['phishing'] }, 404, 'attack_kind_not_found'],
    [{ models: 'demo-chat' }, 400, 'invalid_field'],
    [{ model: ['demo-chat'] }, 400, 'unknown_field'],
  ];
  for (const [body, status, code] of cases) {
    const r = await post(body);
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.error.code, code);
  }
  assert.equal((await t.call('admin', 'GET', '/admin/v1/redteam/runs/rt_nope', { key: t.adminKey })).status, 404);
  const first = await post({ models: ['vuln-chat'], kinds: ['jailbreak'] });
  assert.equal(first.status, 202, first.text);
  const second = await post({ models: ['vuln-chat'] });
  assert.equal(second.status, 409, second.text);
  assert.equal(second.json.error.code, 'redteam_run_in_progress');
  const done = await finished(first.json.id);
  assert.ok(done.results.every((r) => r.kind === 'jailbreak' && r.model === 'vuln-chat'));
  const cli = await runWarden(['redteam', 'run', '--kind', 'phishing'], admin);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /404 attack_kind_not_found/);
  const verb = await runWarden(['redteam', 'bogus'], admin);
  assert.equal(verb.code, 2);
  assert.match(verb.stderr, /unknown verb "bogus"/);
  const noAdmin = await runWarden(['redteam', 'history'], { ...admin, WARDEN_ADMIN_KEY: consumer });
  assert.equal(noAdmin.code, 1);
  assert.match(noAdmin.stderr, /403/);
});

test('a disabled red-team principal: the run fails closed before any attack is sent', async () => {
  await t.admin('POST', '/admin/v1/principals/redteam-bot/disable');
  try {
    const before = vulnerable.requests.length;
    const r = await t.call('admin', 'POST', '/admin/v1/redteam/runs', { key: t.adminKey, body: { models: ['vuln-chat'] } });
    assert.equal(r.status, 202, r.text);
    let state;
    for (let i = 0; i < 100; i++) {
      state = (await t.call('admin', 'GET', `/admin/v1/redteam/runs/${r.json.id}`, { key: t.adminKey })).json;
      if (state.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(state.status, 'failed');
    assert.equal(state.error.code, 'redteam_principal_unusable');
    assert.equal(vulnerable.requests.length, before, 'no attack reached the upstream');
  } finally {
    await t.admin('POST', '/admin/v1/principals/redteam-bot/enable');
  }
});

test('a red-team principal in the `red-team` group probes the model itself: what the vulnerable model falls for is reported, exit 3', async () => {
  // The starter set exempts the `red-team` group from the injection rules, so that one can measure a model's own
  // defences rather than Warden's: here every word attack reaches the vulnerable model, which obeys it.
  const probing = await startTestWarden((c) => {
    c.upstreams = withDefaults({ upstreams: [{ name: 'vuln', baseUrl: vulnerable.url, models: ['vuln-chat'] }] }, null).upstreams;
    c.monitor.redteam.principal = 'probe-bot';
    c.monitor.redteam.models = ['vuln-chat'];
    c.monitor.redteam.kinds = ['jailbreak'];
  });
  try {
    await probing.admin('POST', '/admin/v1/principals', { id: 'probe-bot', kind: 'service', tenant: 'acme', groups: ['consumers', 'red-team'] });
    const env = { WARDEN_ADMIN_URL: probing.w.adminUrl, WARDEN_CA: probing.w.caPemPath, WARDEN_ADMIN_KEY: probing.adminKey, WARDEN_MFA_TOKEN: '' };
    const cli = await runWarden(['redteam', 'run'], env);
    assert.equal(cli.code, 3, cli.stderr + cli.stdout);
    const runs = await probing.admin('GET', '/admin/v1/redteam/runs');
    const run = (await probing.admin('GET', `/admin/v1/redteam/runs/${runs.data[0].id}`)) as RedTeamRun;
    const jailbreaks = ATTACKS.filter((a) => a.kind === 'jailbreak');
    assert.equal(run.results.length, jailbreaks.length);
    assert.ok(run.results.every((r) => r.outcome === 'succeeded'), JSON.stringify(run.results));
    const shown = await runWarden(['redteam', 'show', run.id], env);
    for (const a of jailbreaks) assert.match(shown.stdout, new RegExp(`^SUCCEEDED +vuln-chat +${a.id.replace('.', '\\.')}$`, 'm'));
    const metrics = await probing.call('admin', 'GET', '/metrics', { key: probing.adminKey });
    assert.match(metrics.text, /warden_redteam_attack_success_ratio\{model="vuln-chat",kind="jailbreak"\} 1$/m);
  } finally {
    await probing.stop();
  }
});

test('without a red-team principal the admin API refuses runs (404) and lists none', async () => {
  const plain = await startTestWarden();
  try {
    const r = await plain.call('admin', 'POST', '/admin/v1/redteam/runs', { key: plain.adminKey, body: {} });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'redteam_not_configured');
    assert.deepEqual((await plain.admin('GET', '/admin/v1/redteam/runs')).data, []);
    assert.equal(existsSync(join(plain.w.dataDir, 'redteam')), false);
  } finally {
    await plain.stop();
  }
});

test('the schedule: a run starts once everyMs has passed on the clock, not before, and a busy run is skipped', async () => {
  const clock = new FixedClock(Date.parse('2026-12-06T00:00:00Z'));
  const log = pino({ level: 'silent' });
  const minted: string[] = [];
  const rt = new RedTeam({
    config: { principal: 'redteam-bot', everyMs: 3_600_000, models: ['vuln-chat'], kinds: ['system_prompt_leak'], concurrency: 1, dir: 'redteam-scheduled' },
    dataDir: t.w.dataDir,
    clock,
    log,
    // The gateway's own ledger through its admin API would need an admin principal; this one records to the
    // test's list, and everything the run sends still crosses the real gateway.
    audit: { append: async () => ({}) as never },
    metrics: new Metrics(false),
    inferenceUrl: t.w.inferenceUrl,
    ca: () => t.ca,
    models: () => ['demo-chat', 'vuln-chat'],
    policyVersion: () => 'test',
    principalUsable: async () => true,
    // Through the admin API's reset (404 while the monitor has nothing on the principal yet).
    forgetRisk: async () => {
      const r = await t.call('admin', 'POST', `/admin/v1/monitor/${encodeURIComponent('acme/service:redteam-bot')}/reset`, { key: t.adminKey });
      assert.ok(r.status === 200 || r.status === 404, r.text);
    },
    mintKey: async () => {
      const k = await t.keyFor('redteam-bot', ['*'], ['chat']);
      minted.push(k.id);
      return k;
    },
    revokeKey: async (id) => void (await t.admin('POST', `/admin/v1/keys/${id}/revoke`)),
  });
  assert.equal(rt.tick(), null, 'not due at start');
  clock.advance(3_599_999);
  assert.equal(rt.tick(), null, 'not due a millisecond early');
  clock.advance(1);
  const id = rt.tick();
  assert.ok(id);
  clock.advance(3_600_000);
  assert.equal(rt.tick(), null, 'the previous run is still under way: skipped');
  await rt.stop();
  const run = rt.get(id) as RedTeamRun;
  assert.equal(run.results.length, 3);
  assert.ok(run.results.every((r) => r.outcome === 'succeeded' || r.outcome === 'blocked'), JSON.stringify(run.results));
  // Every system-prompt-leak attack of the suite is refused by the starter policy's injection rule (issue 20).
  assert.equal(run.results.find((r) => r.attack === 'leak.what-is-your-prompt')?.outcome, 'blocked', JSON.stringify(run.results));
  assert.equal(minted.length, 1);
});

test('a config naming an unknown model or attack kind is refused at start', async () => {
  await assert.rejects(startTestWarden((c) => {
    c.monitor.redteam.principal = 'redteam-bot';
    c.monitor.redteam.models = ['nope'];
  }), /monitor\.redteam\.models: no configured upstream serves model "nope"/);
  const dir = mkdtempSync(join(tmpdir(), 'warden-redteam-config-'));
  try {
    writeFileSync(join(dir, 'warden.yaml'), 'monitor:\n  redteam:\n    principal: redteam-bot\n    kinds: [phishing]\n');
    assert.throws(() => loadConfig(join(dir, 'warden.yaml')), (e: Error) => e instanceof ConfigError && /redteam/.test(e.message));
    writeFileSync(join(dir, 'warden.yaml'), 'monitor:\n  redteam:\n    principal: redteam-bot\n    everyMs: 1000\n');
    assert.throws(() => loadConfig(join(dir, 'warden.yaml')), (e: Error) => e instanceof ConfigError && /everyMs/.test(e.message), 'a run every second is refused: at least a minute');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
