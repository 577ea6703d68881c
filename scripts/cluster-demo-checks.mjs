// The cluster demo's checks across replicas, run by scripts/cluster-demo.sh once its three replicas, nginx and
// the demo IdP's JWKS are up. Mixed traffic (chat, streamed chat, completions, embeddings) goes through the load
// balancer with the official openai client; what must reach one replica goes to it directly. It shows:
//
//   1. one per-principal rate limit holds across replicas: requests offered at 2.5 times the limit for a
//      measured time through nginx; the accepted count is compared to what the token bucket allows
//      (burst + rate × time), within ±5 %;
//   2. a tenant budget (set with `warden budgets set` by the script) is never overspent by 200 concurrent
//      requests through nginx (10 principals of the tenant);
//   3. a key revoked through replica 1 is refused by replicas 2 and 3 within one second: 20 keys, each warmed
//      on 2 and 3 (so their caches hold it), revoked, polled until refused; p50 and p99 printed;
//   4. an approval granted through replica 3 releases a call held on replica 1 (`Prefer: wait`).
//
// Exits 1 with the failed check's message when any of them does not hold. Environment (set by the script):
// LB_URL, INFERENCE_URLS and ADMIN_URLS (comma-separated, replica 1 first), CAS (the replicas' dev CAs),
// WARDEN_ADMIN_KEY, IDP_ISSUER and IDP_KEY (the demo IdP's signing key, PKCS#8 PEM), RATE_RPS, RATE_BURST,
// RATE_SECONDS, BUDGET_TENANT, BUDGET_TOKENS.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { importPKCS8, SignJWT } from 'jose';

class CheckFailed extends Error {}
const check = (ok, message) => {
  if (!ok) throw new CheckFailed(message);
};
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new CheckFailed(`${name} is not set (run scripts/cluster-demo.sh)`);
  return v;
};

const LB = env('LB_URL');
const INFERENCE = env('INFERENCE_URLS').split(',');
const ADMIN = env('ADMIN_URLS').split(',');
const ADMIN_KEY = env('WARDEN_ADMIN_KEY');
const agent = new Agent({ connect: { ca: readFileSync(env('CAS'), 'utf8') }, connections: 64 });
const say = (line) => process.stdout.write(line + '\n');
const step = (line) => say(`\n== ${line}`);

async function call(base, method, path, o = {}) {
  const headers = { ...(o.headers ?? {}) };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(base + path, { method, headers, dispatcher: agent, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
  const text = await r.body.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.statusCode, json, text };
}

/** An admin call through replica `i` (0-based) that must succeed. */
async function admin(i, method, path, body, key = ADMIN_KEY) {
  const r = await call(ADMIN[i], method, path, { key, ...(body !== undefined ? { body } : {}) });
  check(r.status < 300, `${method} ${path} through replica ${i + 1}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

async function principalWithKey(id, tenant, o = {}) {
  await admin(0, 'POST', '/admin/v1/principals', { id, tenant, groups: ['consumers'], ...o });
  return admin(0, 'POST', '/admin/v1/keys', { principal: id, models: ['demo-chat', 'demo-embed'], actions: ['chat', 'complete', 'embed'] });
}

/** The official client through the load balancer; no retries, so every refusal is counted as it was given. */
const openai = (apiKey) => new OpenAI({ apiKey, baseURL: `${LB}/v1`, maxRetries: 0, timeout: 20_000 });

/** One request of the mix (by `n`): chat, streamed chat with usage, completion, embedding. Returns its usage. */
async function mixed(client, n, maxTokens) {
  const text = `request ${n} through the cluster`;
  switch (n % 4) {
    case 0: {
      const r = await client.chat.completions.create({ model: 'demo-chat', max_tokens: maxTokens, messages: [{ role: 'user', content: text }] });
      return r.usage?.total_tokens ?? 0;
    }
    case 1: {
      const s = await client.chat.completions.create({ model: 'demo-chat', max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: text }] });
      let total = 0;
      for await (const chunk of s) total = chunk.usage?.total_tokens ?? total;
      return total;
    }
    case 2: {
      const r = await client.completions.create({ model: 'demo-chat', max_tokens: maxTokens, prompt: text });
      return r.usage?.total_tokens ?? 0;
    }
    default: {
      const r = await client.embeddings.create({ model: 'demo-embed', input: text });
      return r.usage?.total_tokens ?? 0;
    }
  }
}

/** Runs `fn`; a refusal by Warden comes back as { status, code }, anything else is { status: 200, usage }. */
async function outcome(fn) {
  try {
    return { status: 200, usage: await fn() };
  } catch (e) {
    if (e instanceof OpenAI.APIError && typeof e.status === 'number') return { status: e.status, code: e.code ?? e.error?.code ?? null, message: e.message };
    return { status: 0, code: null, message: String(e?.message ?? e) };
  }
}

const tally = (results) => {
  const m = new Map();
  for (const r of results) {
    const k = r.status === 200 ? '200' : `${r.status} ${r.code}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].map(([k, n]) => `${n}× ${k}`).join(', ');
};

async function rateLimitHolds() {
  const rps = Number(env('RATE_RPS'));
  const burst = Number(env('RATE_BURST'));
  const seconds = Number(env('RATE_SECONDS'));
  const offered = rps * 2.5;
  step(`one rate limit across the replicas: principal "metered" may send ${rps}/s (burst ${burst}); ${offered}/s offered for ${seconds} s through nginx`);
  const { key } = await principalWithKey('metered', 'acme', { limits: { requestsPerSecond: rps, burst, concurrency: 1000 } });
  const client = openai(key);
  const pending = [];
  const t0 = performance.now();
  for (let n = 0; ; n++) {
    const due = t0 + (n * 1000) / offered;
    if (due - t0 >= seconds * 1000) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(outcome(() => mixed(client, n, 16)).then((r) => ({ ...r, answeredAt: performance.now() })));
  }
  const results = await Promise.all(pending);
  const accepted = results.filter((r) => r.status === 200).length;
  const refused = results.filter((r) => r.status === 429 && r.code === 'rate_limited');
  const unexpected = results.filter((r) => r.status !== 200 && !(r.status === 429 && r.code === 'rate_limited'));
  check(unexpected.length === 0, `only 200 and 429 rate_limited expected: ${unexpected.map((r) => `${r.status} ${r.code} ${r.message}`).join('; ')}`);
  check(refused.length > 0, 'nothing was refused: the offered load never reached the limit');
  // The window the bucket was filling in: from the first request (the bucket starts full) to the last limit
  // check. A refusal is answered right after its check, so the last refusal's answer bounds that check from
  // above; on a loaded machine requests reach the replicas late, and the time they were sent would not.
  const elapsed = (Math.max(...refused.map((r) => r.answeredAt)) - t0) / 1000;
  say(`sent ${results.length} in ${((performance.now() - t0) / 1000).toFixed(2)} s: ${tally(results)}`);
  const allowed = burst + rps * elapsed;
  const off = (accepted - allowed) / allowed;
  say(`rate limit: accepted ${accepted}, the limit allows ${allowed.toFixed(1)} (burst ${burst} + ${rps}/s × ${elapsed.toFixed(2)} s, the first request to the last refusal): off by ${(off * 100).toFixed(1)}% (bound ±5%)`);
  check(Math.abs(off) <= 0.05, `accepted ${accepted} is more than 5% away from the ${allowed.toFixed(1)} the limit allows`);
}

async function budgetHolds() {
  const tenant = env('BUDGET_TENANT');
  const limit = Number(env('BUDGET_TOKENS'));
  step(`a budget under 200 concurrent requests: tenant ${tenant} may spend ${limit} tokens this month; 10 of its principals send 200 at once through nginx`);
  const clients = [];
  for (let i = 0; i < 10; i++) clients.push(openai((await principalWithKey(`spender-${i}`, tenant)).key));
  const results = await Promise.all(Array.from({ length: 200 }, (_, n) => outcome(() => mixed(clients[n % 10], n, 20))));
  say(`200 requests: ${tally(results)}`);
  const unexpected = results.filter((r) => r.status !== 200 && !(r.status === 429 && r.code === 'budget_exhausted'));
  check(unexpected.length === 0, `only 200 and 429 budget_exhausted expected: ${unexpected.map((r) => `${r.status} ${r.code} ${r.message}`).join('; ')}`);
  const ok = results.filter((r) => r.status === 200);
  const spent = ok.reduce((a, r) => a + r.usage, 0);
  check(ok.length > 0 && ok.length < 200, `the budget should admit some and refuse some of the 200 (admitted ${ok.length})`);
  // What the counters say, read through another replica than most requests were charged on: every one.
  const rows = (await admin(2, 'GET', `/admin/v1/budgets/tenant/${encodeURIComponent(tenant)}`)).data;
  const month = rows.find((r) => r.scope === 'tenant' && r.id === tenant && r.window === 'month');
  check(month, `no month budget of tenant ${tenant} in ${JSON.stringify(rows)}`);
  say(`budget: ${ok.length} answered, using ${spent} tokens by their usage; the counter says ${month.used.tokens} of ${month.limit.tokens} used (never more than the limit)`);
  check(month.limit.tokens === limit, `the budget's limit is ${month.limit.tokens}, not the ${limit} set`);
  check(spent <= limit && month.used.tokens <= limit, `overspent: ${spent} by usage, ${month.used.tokens} counted, limit ${limit}`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function revocationPropagates() {
  const keys = 20;
  step(`revocation through replica 1, refused by replicas 2 and 3: ${keys} keys, each used on 2 and 3 (cached there), revoked, then polled until refused`);
  await admin(0, 'POST', '/admin/v1/principals', { id: 'revoked-soon', tenant: 'acme', groups: ['consumers'] });
  const samples = [];
  for (let i = 0; i < keys; i++) {
    const k = await admin(0, 'POST', '/admin/v1/keys', { principal: 'revoked-soon', models: ['demo-chat'], actions: ['chat'] });
    for (const r of [1, 2]) {
      const warm = await call(INFERENCE[r], 'GET', '/v1/models', { key: k.key });
      check(warm.status === 200, `key ${k.id} before revocation on replica ${r + 1}: HTTP ${warm.status} ${warm.text}`);
    }
    await admin(0, 'DELETE', `/admin/v1/keys/${k.id}`);
    const revoked = performance.now();
    await Promise.all(
      [1, 2].map(async (r) => {
        for (;;) {
          const res = await call(INFERENCE[r], 'GET', '/v1/models', { key: k.key });
          const ms = performance.now() - revoked;
          if (res.status === 401) return void samples.push(ms);
          check(res.status === 200, `key ${k.id} on replica ${r + 1}: HTTP ${res.status} ${res.text}`);
          check(ms < 1000, `key ${k.id} revoked through replica 1 still accepted by replica ${r + 1} after ${ms.toFixed(0)} ms`);
          await sleep(2);
        }
      }),
    );
  }
  samples.sort((a, b) => a - b);
  const p99 = percentile(samples, 99);
  say(`revocation propagation over ${samples.length} samples (from the revocation's answer on replica 1 to a 401 on replica 2 or 3): p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${samples.at(-1).toFixed(1)} ms (bound: 1000 ms)`);
  check(p99 < 1000, `p99 ${p99.toFixed(0)} ms is not within one second`);
}

async function approvalReleasesHeldCall() {
  step('an approval through replica 3 releases a call held on replica 1 (Prefer: wait)');
  // A fake tool backend (an external service, labelled as such): records the deletions that reach it.
  const deleted = [];
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const id = JSON.parse(body || '{}').record_id ?? '';
      deleted.push(id);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deleted: id, note: 'fake tool backend of the cluster demo' }));
    });
  });
  await new Promise((r) => backend.listen(0, '127.0.0.1', r));
  const backendUrl = `http://127.0.0.1:${backend.address().port}`;
  try {
    await admin(0, 'POST', '/admin/v1/principals', { id: 'agent-alice', tenant: 'acme', groups: ['consumers'] });
    const requester = (await admin(0, 'POST', '/admin/v1/keys', { principal: 'agent-alice', models: ['*'], actions: ['callTool'] })).key;
    // The approver: a person in `operators` whose MFA step-up token comes from the demo IdP.
    await admin(0, 'POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['operators'], admin: true });
    const approver = (await admin(0, 'POST', '/admin/v1/keys', { principal: 'bob', models: ['*'], actions: ['*'] })).key;
    const idpKey = await importPKCS8(readFileSync(env('IDP_KEY'), 'utf8'), 'ES256');
    const mfaToken = () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ aud: 'warden', amr: ['pwd', 'mfa'], auth_time: now, groups: ['operators'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'demo-idp', typ: 'at+jwt' })
        .setIssuer(env('IDP_ISSUER'))
        .setSubject('bob')
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(idpKey);
    };
    await admin(0, 'POST', '/admin/v1/tools', {
      name: 'delete_record', description: 'Delete a record (demo)', risk: 'destructive', grantees: ['consumers'],
      input_schema: { type: 'object', properties: { record_id: { type: 'string' } }, required: ['record_id'], additionalProperties: false },
      backend: { type: 'http', url: `${backendUrl}/records/delete` }, egress: [backendUrl],
    });
    const held = call(INFERENCE[0], 'POST', '/v1/tools/delete_record/invoke', { key: requester, headers: { prefer: 'wait=20' }, body: { arguments: { record_id: 'rec-42' } } });
    let id = null;
    for (let i = 0; i < 200 && !id; i++) {
      const list = await call(ADMIN[2], 'GET', '/admin/v1/approvals?status=pending', { key: approver, headers: { 'warden-mfa-token': await mfaToken() } });
      check(list.status === 200, `listing approvals through replica 3: HTTP ${list.status} ${list.text}`);
      id = list.json.data.find((a) => a.arguments.record_id === 'rec-42')?.id ?? null;
      if (!id) await sleep(25);
    }
    check(id, 'the call held on replica 1 never showed up as pending through replica 3');
    say(`held on replica 1 as approval ${id}; approving through replica 3`);
    const approvedAt = performance.now();
    const decided = await call(ADMIN[2], 'POST', `/admin/v1/approvals/${id}/approve`, { key: approver, body: { mfa_token: await mfaToken() } });
    check(decided.status === 200, `approval through replica 3: HTTP ${decided.status} ${decided.text}`);
    const released = await held;
    const ms = performance.now() - approvedAt;
    check(released.status === 200 && released.json?.result?.deleted === 'rec-42', `the held call ended with HTTP ${released.status} ${released.text}`);
    check(deleted.length === 1, `the tool ran ${deleted.length} times`);
    say(`approval through replica 3 released the call held on replica 1 after ${ms.toFixed(0)} ms (the tool ran once)`);
  } finally {
    backend.close();
  }
}

try {
  await rateLimitHolds();
  await budgetHolds();
  await revocationPropagates();
  await approvalReleasesHeldCall();
} catch (e) {
  process.stderr.write(`check failed: ${e instanceof CheckFailed ? e.message : (e?.stack ?? e)}\n`);
  process.exitCode = 1;
} finally {
  await agent.close();
}
