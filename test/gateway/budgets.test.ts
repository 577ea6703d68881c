// Budgets through a real Warden (real TLS, real SQLite, the demo upstream or a fake external one): the 429
// `budget_exhausted` body and Retry-After, a refusal before the upstream is called, a refund when the answer
// uses less than reserved, `warden budgets show|set` over the admin API, the Prometheus gauge, and 200
// concurrent requests that never overspend, with the in-process store and with Redis.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { WardenConfig } from '../../src/config/config.js';
import { requireService } from '../helpers/services.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const run = promisify(execFile);
const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'demo-chat', messages: [{ role: 'user', content }], ...extra });
const OPEN_LIMITS = (c: WardenConfig) => {
  c.limits.requestsPerSecond = 100_000;
  c.limits.burst = 100_000;
  c.limits.concurrency = 10_000;
};

// The CLI as a child process (the Warden under test runs in this process, so never spawnSync).
const MAIN = new URL('../../src/cli/main.js', import.meta.url).href;
const RUNNER = `const { run } = await import(${JSON.stringify(MAIN)}); process.exitCode = await run(process.argv.slice(1));`;
async function cli(t: TestWarden, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, ['--input-type=module', '-e', RUNNER, 'budgets', ...args, '--admin-url', t.w.adminUrl], { env: { ...process.env, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_CA: t.w.caPemPath } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('budgets on the request path', () => {
  test('a reservation that does not fit is refused before the upstream is called: 429 budget_exhausted, window, reset, Retry-After', async () => {
    const up = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } }));
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ ...c.upstreams[0]!, name: 'fake', baseUrl: up.url, models: ['m'] } as WardenConfig['upstreams'][number]];
      c.demoUpstream.enabled = false;
      c.budgets.limits = [{ scope: 'principal', id: '*', window: 'day', tokens: 100, cost: null }];
    }).catch(async (e) => {
      await up.close();
      throw e;
    });
    try {
      const { key } = await t.keyFor('ann', ['m'], ['chat']);
      const big = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 } });
      assert.equal(big.status, 429);
      assert.equal(big.json.error.code, 'budget_exhausted');
      assert.equal(big.json.error.type, 'rate_limit_error');
      const midnight = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1));
      assert.deepEqual(big.json.error.budget, { scope: 'principal', id: 'ann', window: 'day', unit: 'tokens', resets_at: midnight.toISOString() });
      assert.match(big.json.error.message, /day token budget of principal ann is exhausted/);
      const retry = Number(big.headers['retry-after']);
      assert.ok(retry >= 1 && Math.abs(retry - (midnight.getTime() - Date.now()) / 1000) < 30, `Retry-After ${retry}`);
      assert.equal(up.requests.length, 0, 'the upstream was never called');
      const entry = t.audits().find((a) => a.errorCode === 'budget_exhausted');
      assert.equal(entry?.stage, 'budget');
      // A small request fits, is charged its usage (10), and the remainder shows.
      const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(up.requests.length, 1);
      const shown = await t.admin('GET', '/admin/v1/budgets/principal/ann');
      assert.equal(shown.data.length, 1);
      assert.equal(shown.data[0].used.tokens, 10);
      assert.equal(shown.data[0].remaining.tokens, 90);
    } finally {
      await t.stop();
      await up.close();
    }
  });

  test('an upstream that fails without usage keeps the reservation charged', async () => {
    const up = await startFakeUpstream((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"boom"}}');
    });
    const t = await startTestWarden((c) => {
      c.upstreams = [{ ...c.upstreams[0]!, name: 'fake', baseUrl: up.url, models: ['m'] } as WardenConfig['upstreams'][number]];
      c.demoUpstream.enabled = false;
      c.budgets.limits = [{ scope: 'principal', id: 'gil', window: 'week', tokens: 10_000, cost: null }];
    }).catch(async (e) => {
      await up.close();
      throw e;
    });
    try {
      const { key } = await t.keyFor('gil', ['m'], ['chat']);
      const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 };
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body });
      assert.equal(r.status, 502);
      assert.equal(up.requests.length, 1);
      // 32 characters of messages → 8 prompt tokens, plus 100: the estimate stays (the upstream may have billed).
      assert.equal((await t.admin('GET', '/admin/v1/budgets/principal/gil')).data[0].used.tokens, 108);
    } finally {
      await t.stop();
      await up.close();
    }
  });

  test('refused after the reservation but before the upstream (its share of the pool in use): all of it is refunded', async () => {
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    const up = await startFakeUpstream((_req, res) => {
      void held.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } }));
      });
    });
    const t = await startTestWarden((c) => {
      // Two connections: one principal holds at most one of them.
      c.upstreams = [{ ...c.upstreams[0]!, name: 'fake', baseUrl: up.url, models: ['m'], connections: 2 } as WardenConfig['upstreams'][number]];
      c.demoUpstream.enabled = false;
      c.budgets.limits = [{ scope: 'principal', id: 'hy', window: 'day', tokens: 10_000, cost: null }];
    }).catch(async (e) => {
      await up.close();
      throw e;
    });
    try {
      const { key } = await t.keyFor('hy', ['m'], ['chat']);
      const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 };
      const first = t.call('inference', 'POST', '/v1/chat/completions', { key, body });
      while (up.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      const second = await t.call('inference', 'POST', '/v1/chat/completions', { key, body });
      assert.equal(second.status, 429);
      assert.equal(second.json.error.code, 'upstream_share_exceeded');
      // Only the first request's reservation (108) is held.
      assert.equal((await t.admin('GET', '/admin/v1/budgets/principal/hy')).data[0].used.tokens, 108);
      answer();
      assert.equal((await first).status, 200);
      assert.equal((await t.admin('GET', '/admin/v1/budgets/principal/hy')).data[0].used.tokens, 10);
    } finally {
      answer();
      await t.stop();
      await up.close();
    }
  });

  test('the reservation is refunded down to the usage; a refused one leaves nothing charged', async () => {
    const t = await startTestWarden((c) => {
      c.budgets.limits = [{ scope: 'tenant', id: 'acme', window: 'month', tokens: 1200, cost: null }];
    });
    try {
      const { key } = await t.keyFor('bob', ['demo-chat'], ['chat']);
      // Each reserves ~1011 (prompt estimate + max_tokens); each uses 6 (demo): without refunds the second is refused.
      for (let i = 0; i < 3; i++) {
        const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 1000 }) });
        assert.equal(r.status, 200, r.text);
      }
      const row = (await t.admin('GET', '/admin/v1/budgets/tenant/acme')).data[0];
      assert.equal(row.used.tokens, 18);
      // Refused before the upstream: nothing of its reservation stays charged.
      const bad = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('x', { max_tokens: 1190 }) });
      assert.equal(bad.status, 429);
      assert.equal((await t.admin('GET', '/admin/v1/budgets/tenant/acme')).data[0].used.tokens, 18);
    } finally {
      await t.stop();
    }
  });

  test('a stream settles too: with its usage, or without one with the prompt estimate and the streamed text', async () => {
    const t = await startTestWarden((c) => {
      c.budgets.limits = [{ scope: 'key', id: '*', window: 'lifetime', tokens: 100_000, cost: null }];
    });
    try {
      const { key, id } = await t.keyFor('dan', ['demo-chat'], ['chat']);
      const used = async () => (await t.admin('GET', `/admin/v1/budgets/key/${id}`)).data[0].used.tokens as number;
      const withUsage = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 5000, stream: true, stream_options: { include_usage: true } }) });
      assert.equal(withUsage.status, 200);
      assert.match(withUsage.text, /"total_tokens":6/);
      assert.equal(await used(), 6);
      const without = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 5000, stream: true }) });
      assert.equal(without.status, 200);
      const second = (await used()) - 6;
      // The prompt estimate (41 characters of messages / 4 → 11) plus the streamed events' data (JSON and all) / 4,
      // the gateway's estimate for token limits too: more than the text, far below the 5011 reserved.
      assert.ok(second > 11 && second < 1000, `charged ${second}`);
    } finally {
      await t.stop();
    }
  });

  test('the remaining budget is a PDP context attribute: a policy can refuse a caller running low', async () => {
    const t = await startTestWarden((c) => {
      c.budgets.limits = [{ scope: 'principal', id: '*', window: 'day', tokens: 1000, cost: null }];
    });
    try {
      const { key } = await t.keyFor('eli', ['demo-chat'], ['chat']);
      const set =
        '@id("admins-administer")\npermit (principal in Group::"admins", action in [Action::"manageKeys", Action::"managePolicies", Action::"readAudit"], resource);\n' +
        '@id("consumers-chat")\npermit (principal in Group::"consumers", action == Action::"chat", resource);\n' +
        '@id("low-budget")\nforbid (principal, action == Action::"chat", resource) when { context has budgetTokensLeft && context.budgetTokensLeft < 995 };\n';
      await t.admin('POST', '/admin/v1/policies', { text: set });
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 10 }) })).status, 200);
      // 6 tokens used: 994 left, below the policy's floor.
      const low = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 10 }) });
      assert.equal(low.status, 403);
      assert.deepEqual(t.audits().find((a) => a.requestId === low.headers['x-request-id'])!.policyIds, ['low-budget']);
      // A caller without any budget has no such attribute: the forbid does not apply.
      await t.admin('PUT', '/admin/v1/budgets/principal/fin/day', { tokens: null });
      const free = await t.keyFor('fin', ['demo-chat'], ['chat']);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: free.key, body: chat('hello there', { max_tokens: 10 }) })).status, 200);
    } finally {
      await t.stop();
    }
  });

  test('a cost budget counts with the price table; warden budgets set|show and the gauge', async () => {
    const t = await startTestWarden((c) => {
      c.budgets.prices = { 'demo-chat': { inputPer1k: 1, outputPer1k: 2 } };
    });
    try {
      const { key } = await t.keyFor('cy', ['demo-chat'], ['chat']);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 10 }) })).status, 200);
      const set = await cli(t, 'set', 'principal', 'cy', 'week', '--cost', '0.03', '--tokens', '1000');
      assert.equal(set.code, 0, set.err);
      assert.match(set.out, /set principal cy week/);
      // 2 prompt tokens at 1/1k + 4 completion at 2/1k = 0.01 per request; the reservation (11 + 10 tokens → 0.031) does not fit 0.03.
      const r = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 10 }) });
      assert.equal(r.status, 429);
      assert.equal(r.json.error.budget.unit, 'cost');
      assert.equal(r.json.error.budget.window, 'week');
      const show = await cli(t, 'show', 'principal', 'cy', '--json');
      assert.equal(show.code, 0, show.err);
      const rows = JSON.parse(show.out);
      assert.equal(rows[0].source, 'override');
      assert.equal(rows[0].limit.cost, 0.03);
      const all = await cli(t, 'show');
      assert.match(all.out, /principal cy {2}week {2}tokens 0\/1000 \(left 1000\) {2}cost 0\/0\.03 \(left 0\.03\) {2}resets \d{4}-/);
      // Lifting the cost limit lets it through.
      assert.equal((await cli(t, 'set', 'principal', 'cy', 'week', '--cost', 'none')).code, 0);
      const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello there', { max_tokens: 10 }) });
      assert.equal(ok.status, 200);
      const metrics = await t.call('admin', 'GET', '/metrics', { key: t.adminKey });
      assert.match(metrics.text, /warden_budget_remaining\{scope="principal",id="cy",window="week",unit="tokens"\} 994/);
      // Bad input is refused with a reason, and the set is recorded in the ledger.
      assert.equal((await cli(t, 'set', 'principal', 'cy', 'fortnight', '--tokens', '1')).code, 1);
      const bad = await t.call('admin', 'PUT', '/admin/v1/budgets/principal/cy/day', { key: t.adminKey, body: { tokens: -1 } });
      assert.equal(bad.status, 400);
      assert.ok(t.audits().some((a) => a.action === 'budget.set'));
      // Reading budgets is for admins only.
      assert.equal((await t.call('admin', 'GET', '/admin/v1/budgets', { key })).status, 403);
    } finally {
      await t.stop();
    }
  });
});

/**
 * 200 concurrent requests from 10 principals of tenant acme, spread over the given replicas (each replica has
 * its own identity store here, so each gets its own keys; the tenant's budget is the one shared counter).
 */
async function overspendRun(ws: TestWarden[], limit: number): Promise<void> {
  const keys = await Promise.all(ws.map((w) => Promise.all(Array.from({ length: 10 }, (_, i) => w.keyFor(`par${i}`, ['demo-chat'], ['chat'])))));
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ws[i % ws.length]!.call('inference', 'POST', '/v1/chat/completions', { key: keys[i % ws.length]![i % 10]!.key, body: chat(`hello number ${i}`, { max_tokens: 20 }) })));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 429);
  assert.equal(ok.length + refused.length, 200, results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.text).join('\n'));
  assert.ok(refused.every((r) => r.json.error.code === 'budget_exhausted'));
  assert.ok(refused.length > 0, 'the budget bit');
  const spent = ok.reduce((n, r) => n + (r.json.usage.total_tokens as number), 0);
  assert.ok(spent <= limit, `spent ${spent} of ${limit}`);
  // The counter is exactly what the upstream reported for the answers that were served (every replica agrees).
  for (const w of ws) {
    const row = (await w.admin('GET', '/admin/v1/budgets/tenant/acme')).data.find((x: { window: string }) => x.window === 'day');
    assert.equal(row.used.tokens, spent);
  }
}

test('200 concurrent requests never overspend a budget (in process)', { timeout: 120_000 }, async () => {
  const t = await startTestWarden((c) => {
    OPEN_LIMITS(c);
    c.budgets.limits = [{ scope: 'tenant', id: 'acme', window: 'day', tokens: 300, cost: null }];
  });
  try {
    await overspendRun([t], 300);
  } finally {
    await t.stop();
  }
});

const redisPrefix = `warden-test:${randomUUID()}:`;
after(async () => {
  if (await requireService('redis').catch(() => 'no')) return;
  const r = new Redis({ host: '127.0.0.1', port: 6379 });
  const keys = await r.keys(redisPrefix + '*');
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

test('200 concurrent requests spread over two replicas never overspend a budget (Redis)', { timeout: 120_000 }, async (tt) => {
  const skip = await requireService('redis');
  if (skip) return tt.skip(skip);
  const cfg = (c: WardenConfig) => {
    OPEN_LIMITS(c);
    c.store = { redis: { url: 'redis://127.0.0.1:6379', prefix: redisPrefix } };
    c.budgets.limits = [{ scope: 'tenant', id: 'acme', window: 'day', tokens: 300, cost: null }];
  };
  const ws: TestWarden[] = [];
  try {
    ws.push(await startTestWarden(cfg));
    ws.push(await startTestWarden(cfg));
    await overspendRun(ws, 300);
    // A late request on either replica is refused: the spent budget is shared.
    const { key } = await ws[1]!.keyFor('late', ['demo-chat'], ['chat']);
    const r = await ws[1]!.call('inference', 'POST', '/v1/chat/completions', { key, body: chat('hello', { max_tokens: 200 }) });
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, 'budget_exhausted');
  } finally {
    for (const w of ws) await w.stop();
  }
});
