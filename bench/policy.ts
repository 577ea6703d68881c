// Policy decision point benchmark: decision latency p50/p99 at 10, 1,000 and 10,000 policies for
// the naive path (whole set, full context: plain Cedar), the sliced path (scope slice + narrowed
// context, cache off) and the cached path, plus the cost of key-scope upserts and of a full load.
// The naive path is the baseline measured in the same run. Run: node dist/bench/policy.js
// (bounded: about two minutes on 2 shared cores).
import type { Principal } from '../src/core/types.js';
import { buildContext } from '../src/policy/context.js';
import { PolicyDecisionPoint, type PdpRequest } from '../src/policy/pdp.js';
import { machine, writeResult } from './common.js';

const NOW = Date.parse('2025-01-15T10:00:00Z');
const GROUPS = 50;

/** A realistic set: the starter-style unscoped forbids plus one model grant per policy. */
function policyText(n: number): string {
  const fixed = `
@id("deny-injection") forbid(principal, action in [Action::"chat", Action::"complete", Action::"callTool"], resource)
  when { context.findings.injectionScorePermille > 900 } unless { principal in Group::"red-team" };
@id("restricted-onprem") forbid(principal, action in Action::"inference", resource)
  when { context.classification == "restricted" } unless { resource has tier && resource.tier == "onprem" };
@id("admin-mfa") forbid(principal, action in Action::"admin", resource)
  unless { context.authn has mfaAgeSeconds && context.authn.mfaAgeSeconds < 900 };
`;
  const lines: string[] = [fixed];
  for (let i = 0; i < n - 3; i++) {
    const ob = i % 7 === 0 ? '@obligation("redact:pii") ' : '';
    lines.push(
      `@id("grant-${i}") ${ob}permit(principal in Group::"g${i % GROUPS}", action in Action::"inference", resource == Model::"m${i}") when { context.time.hour >= 6 && context.riskScorePermille < 800 };`,
    );
  }
  return lines.join('\n');
}

function requests(n: number, count: number, seed: number): PdpRequest[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const out: PdpRequest[] = [];
  for (let i = 0; i < count; i++) {
    const m = Math.floor(rnd() * Math.max(1, n - 3));
    const p: Principal = {
      kind: 'user',
      id: `u${Math.floor(rnd() * 200)}`,
      tenant: 'acme',
      groups: [`g${m % GROUPS}`, `g${Math.floor(rnd() * GROUPS)}`],
      authn: { method: 'api_key', credentialId: `key_${i % 300}` },
      scope: { models: ['*'], actions: ['*'] },
    };
    out.push({
      principal: p,
      action: 'chat',
      resource: { type: 'Model', id: `m${m}` },
      context: buildContext({
        principal: p,
        now: NOW + (i % 5) * 60_000,
        sourceIp: `10.0.${i % 4}.${i % 200}`,
        listener: 'inference',
        findings: { items: [], classification: i % 10 === 0 ? 'restricted' : 'internal', injectionScore: (i % 13) / 13, injectionSignals: [] },
        riskScore: (i % 4) / 10,
        maxTokens: 256,
        tenant: 'acme',
      }),
    });
  }
  return out;
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

function measure(reqs: PdpRequest[], iterations: number, fn: (r: PdpRequest) => unknown): Stats {
  for (let i = 0; i < Math.min(iterations, 200); i++) fn(reqs[i % reqs.length]!);
  const t = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const r = reqs[i % reqs.length]!;
    const t0 = process.hrtime.bigint();
    fn(r);
    t[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const sorted = Array.from(t).sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { p50: q(0.5), p99: q(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, n: iterations };
}

function ms(f: () => unknown): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

function main(): void {
  const rows: string[] = [];
  const extra: string[] = [];
  let sliceSizes = '';
  for (const n of [10, 1_000, 10_000]) {
    const pdp = new PolicyDecisionPoint({ cacheSize: 100_000 });
    const text = policyText(n);
    const loadMs = ms(() => pdp.loadText(text, 'bench'));
    pdp.setEntities(Array.from({ length: Math.min(n, 2000) }, (_, i) => ({ type: 'Model', id: `m${i}`, attrs: { tier: i % 2 ? 'onprem' : 'public_cloud' } })));
    // Distinct requests (distinct contexts): every sliced/naive call is a real Cedar evaluation.
    const reqs = requests(n, 2_000, 7 + n);
    const naiveIters = n >= 10_000 ? 40 : n >= 1_000 ? 300 : 3_000;
    const naive = measure(reqs, naiveIters, (r) => pdp.decideNaive(r));
    const sliced = measure(reqs, 4_000, (r) => pdp.decideUncached(r));
    // Cached: a working set of 300 requests seen before (the steady state of repeated callers).
    const warm = reqs.slice(0, 300);
    for (const r of warm) pdp.decide(r);
    const cached = measure(warm, 20_000, (r) => pdp.decide(r));
    // Mixed: the gateway's real stream, here 2,000 distinct requests cycled (first pass misses, then hits).
    const fresh = new PolicyDecisionPoint({ cacheSize: 100_000 });
    fresh.loadText(text, 'bench');
    const mixed = measure(reqs, 6_000, (r) => fresh.decide(r));
    for (const [name, s] of [['naive (full set, plain Cedar)', naive], ['sliced (cache off)', sliced], ['cached (warm)', cached], ['decide() on 2,000 distinct requests cycled', mixed]] as const) {
      rows.push(`| ${n.toLocaleString('en')} | ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.mean)} | ${(naive.p50 / s.p50).toFixed(0)}× | ${s.n.toLocaleString('en')} |`);
    }
    const slice = pdp.inspectRequest(reqs[0]!).slice.length;
    sliceSizes += `${n.toLocaleString('en')}: ${slice} policies in a typical slice; `;
    extra.push(`| ${n.toLocaleString('en')} | load + strict validation of the whole set | ${loadMs.toFixed(0)} ms |`);
    // Key scopes: upserting one key's two policies into a set of n (validates only the new policies).
    const keyTimes: number[] = [];
    for (let k = 0; k < 20; k++) keyTimes.push(ms(() => pdp.setKeyScope(`key_bench_${k}`, { kind: 'service', id: `svc${k}` }, { models: [`m${k}`], actions: ['chat'] })));
    keyTimes.sort((a, b) => a - b);
    extra.push(`| ${n.toLocaleString('en')} | setKeyScope (one key: 2 generated policies), median of 20 | ${keyTimes[10]!.toFixed(2)} ms |`);
    const revoke = ms(() => pdp.removeKeyScope('key_bench_0'));
    extra.push(`| ${n.toLocaleString('en')} | removeKeyScope | ${revoke.toFixed(2)} ms |`);
  }
  // What buildContext (done once per request by the gateway) costs.
  const p: Principal = { kind: 'user', id: 'u', tenant: 'acme', groups: ['g1'], authn: { method: 'oidc', credentialId: 'j', mfaAt: NOW - 1000 }, scope: { models: ['*'], actions: ['*'] } };
  const ctxStats = measure([null as unknown as PdpRequest], 20_000, () =>
    buildContext({ principal: p, now: NOW, sourceIp: '10.0.0.1', listener: 'inference', findings: { items: [], classification: 'internal', injectionScore: 0.1, injectionSignals: [] }, riskScore: 0, maxTokens: 100, tenant: 'acme' }),
  );
  const md = [
    '## Policy decision point (Cedar)',
    '',
    `Machine: ${machine()}. Command: \`node dist/bench/policy.js\`. Cedar ${'4.13'} via @cedar-policy/cedar-wasm (nodejs build).`,
    'Policy sets: 3 unscoped forbids (injection, restricted data, admin MFA) + one `permit(principal in Group, action in inference, resource == Model)` grant per policy',
    'with a time and risk condition. Requests: `chat` by users in 2 groups on a random model, contexts all distinct (time, IP, scores vary).',
    'naive = the whole set in one preparsed Cedar policy set, full context and entities (what Cedar alone does); sliced = only the policies whose scope can match,',
    'context and attributes narrowed to what they read, cache off; cached = warm decision cache. Speedup = naive p50 / row p50 (same run).',
    '',
    '| policies | path | p50 | p99 | mean | speedup vs naive (p50) | decisions |',
    '|---:|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Slice sizes: ${sliceSizes.trim()}`,
    `buildContext per request: p50 ${fmt(ctxStats.p50)}, p99 ${fmt(ctxStats.p99)}.`,
    '',
    '| policies | policy lifecycle operation | time |',
    '|---:|---|---:|',
    ...extra,
  ].join('\n');
  writeResult('policy', md);
}

main();
