// Server-side ledger search through a real Warden: GET /admin/v1/audit/entries by principal, model, decision
// and time range (newest first, paged with the `before` cursor), refused without readAudit and on bad input,
// recorded as `audit.search`; `warden ledger search` over the same route; and the scan bound (searchLedger).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { searchLedger } from '../../src/ledger/search.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const run = promisify(execFile);
const MAIN = new URL('../../src/cli/main.js', import.meta.url).href;
const RUNNER = `const { run } = await import(${JSON.stringify(MAIN)}); process.exitCode = await run(process.argv.slice(1));`;
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hello' }] });

describe('ledger search', () => {
  let t: TestWarden;
  let vera = '';
  let startedAt = '';
  before(async () => {
    t = await startTestWarden();
    startedAt = new Date(Date.now() - 1000).toISOString();
    vera = (await t.keyFor('vera', ['demo-chat'], ['chat'])).key;
    const { key: wes } = await t.keyFor('wes', ['demo-chat'], ['chat']);
    for (let i = 0; i < 3; i++) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: vera, body: chat('demo-chat') })).status, 200);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: wes, body: chat('demo-chat') })).status, 200);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: vera, body: chat('no-such-model') })).status >= 400, true);
  });
  after(async () => {
    await t.stop();
  });

  const search = (q: string, key = t.adminKey) => t.call('admin', 'GET', `/admin/v1/audit/entries${q}`, { key });

  test('by principal, model and decision, newest first; paged with the before cursor', async () => {
    const all = await search('?principal=vera');
    assert.equal(all.status, 200, all.text);
    const rows = all.json.data as { index: number; entry: { principal: { id: string }; decision: string; resource: { type: string; id: string } } }[];
    assert.ok(rows.length >= 4);
    assert.ok(rows.every((r) => r.entry.principal.id === 'vera'));
    assert.deepEqual(rows.map((r) => r.index), [...rows.map((r) => r.index)].sort((a, b) => b - a), 'newest first');
    const model = await search('?principal=vera&model=demo-chat&decision=allow');
    assert.equal(model.json.data.length, 3);
    assert.ok(model.json.data.every((r: any) => r.entry.resource.type === 'Model' && r.entry.resource.id === 'demo-chat' && r.entry.decision === 'allow'));
    const denied = await search('?principal=vera&decision=deny');
    assert.ok(denied.json.data.length >= 1);
    const page1 = await search('?principal=vera&model=demo-chat&limit=2');
    assert.equal(page1.json.data.length, 2);
    const page2 = await search(`?principal=vera&model=demo-chat&limit=2&before=${page1.json.next_before}`);
    assert.equal(page2.json.data.length, 1);
    assert.ok(page2.json.data[0].index < page1.json.data[1].index);
    assert.ok(t.audits().some((a) => a.action === 'audit.search' && a.decision === 'allow'));
  });

  test('by time range: since and until', async () => {
    const inRange = await search(`?principal=wes&since=${encodeURIComponent(startedAt)}`);
    assert.equal(inRange.json.data.length, 1);
    const before = await search(`?principal=wes&until=${encodeURIComponent(startedAt)}`);
    assert.equal(before.json.data.length, 0);
    const future = await search(`?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    assert.deepEqual(future.json.data, []);
  });

  test('refusals: bad parameters (400 naming the field), no credential (401), a consumer (403)', async () => {
    for (const [q, field] of [['?decision=maybe', 'decision'], ['?since=yesterday', 'since'], ['?limit=0', 'limit'], ['?limit=501', 'limit'], ['?before=-1', 'before'], ['?colour=red', 'colour'], ['?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z', 'since']] as const) {
      const r = await search(q);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'invalid_field', q);
      assert.match(r.json.error.message, new RegExp(field), q);
    }
    assert.equal((await t.call('admin', 'GET', '/admin/v1/audit/entries')).status, 401);
    assert.equal((await search('', vera)).status, 403);
  });

  test('warden ledger search: the same route from the CLI', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', RUNNER, 'ledger', 'search', '--principal', 'wes', '--model', 'demo-chat', '--admin-url', t.w.adminUrl], { env: { ...process.env, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_CA: t.w.caPemPath } });
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /wes .*Model::demo-chat\s+allow 200/);
    const bad = await run(process.execPath, ['--input-type=module', '-e', RUNNER, 'ledger', 'search', '--decision', 'maybe', '--admin-url', t.w.adminUrl], { env: { ...process.env, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_CA: t.w.caPemPath } }).catch((e: { code: number; stderr: string }) => e);
    assert.notEqual((bad as { code?: number }).code ?? 0, 0);
  });

  test('by flag: the requests a flag:<label> obligation marked for review, from the API and the CLI', async () => {
    // A set in which wes's chats carry flag:review (and the admins keep readAudit to search).
    const admins = '@id("admins-administer")\npermit (principal in Group::"admins", action in [Action::"manageKeys", Action::"managePolicies", Action::"readAudit"], resource);\n';
    await t.admin('POST', '/admin/v1/policies', { text: admins + '@id("review-wes")\n@obligation("flag:review")\npermit (principal == User::"wes", action == Action::"chat", resource);\n' });
    const { key: wes } = await t.keyFor('wes2', ['demo-chat'], ['chat']);
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: wes, body: chat('demo-chat') })).status, 403, 'wes2 is not wes: no permit');
    const wesKey = (await t.call('admin', 'POST', '/admin/v1/keys', { key: t.adminKey, body: { principal: 'wes', models: ['demo-chat'], actions: ['chat'] } })).json.key as string;
    const flagged = await t.call('inference', 'POST', '/v1/chat/completions', { key: wesKey, body: chat('demo-chat') });
    assert.equal(flagged.status, 200, flagged.text);
    const r = await search('?flag=review');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.length, 1, JSON.stringify(r.json.data));
    assert.equal(r.json.data[0].entry.requestId, flagged.headers['x-request-id']);
    assert.equal(r.json.data[0].entry.details.flags, 'review');
    assert.deepEqual((await search('?flag=injection')).json.data, [], 'no entry carries another label');
    for (const bad of ['Review', 'a b', '-x', '']) {
      const b = await search(`?flag=${encodeURIComponent(bad)}`);
      assert.equal(b.status, 400, bad);
      assert.match(b.json.error.message, /flag/);
    }
    const cli = await run(process.execPath, ['--input-type=module', '-e', RUNNER, 'ledger', 'search', '--flag', 'review', '--admin-url', t.w.adminUrl], { env: { ...process.env, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_CA: t.w.caPemPath } });
    const lines = cli.stdout.trim().split('\n');
    assert.equal(lines.length, 1, cli.stdout);
    assert.match(lines[0]!, /wes .*Model::demo-chat\s+allow 200\s+flags=review/);
  });
});

test('searchLedger reads at most maxScan entries and says where to go on', async () => {
  const entry = (i: number) => Buffer.from(JSON.stringify({ time: new Date(1_700_000_000_000 + i).toISOString(), principal: { id: i === 3 ? 'needle' : 'hay' }, decision: 'allow', resource: null }));
  const reads: [number, number][] = [];
  const read = async (from: number, count: number) => (reads.push([from, count]), Array.from({ length: count }, (_, k) => entry(from + k)));
  const r = await searchLedger(read, 10_000, { principal: 'needle', limit: 10 }, 1000);
  assert.deepEqual([r.entries.length, r.scanned, r.nextBefore], [0, 1000, 9000]);
  assert.equal(reads.reduce((n, [, c]) => n + c, 0), 1000);
  const found = await searchLedger(read, 10, { principal: 'needle', limit: 10 });
  assert.deepEqual([found.entries.map((e) => e.index), found.nextBefore], [[3], null]);
});
