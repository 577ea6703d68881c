// The speed rows of the inspection benchmark (`node dist/bench/inspect-speed.js`; bench/inspect.ts runs it as a
// child process before its evaluations and prints its lines). A fresh process, because the same calls timed at the
// end of the evaluation process read 2-4x slower than in a fresh one: after the training featurizer had run over
// the labelled sets in the same process, detectInjection's p50 on this prompt went from 139 to 290-480 µs (build
// 836dead), with the detection itself unchanged; the process's earlier work (the call sites it had seen, its heap)
// is measured along with the detector. A gateway inspects from a steady state of its own, not the benchmark's, so
// the rows measure the calls alone, as the before/after A/B runs did.
// Prints one JSON object: the markdown lines, and the p50s that the before/after table of bench/inspect.ts reads.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import {
  createChatStreamRedactors,
  createStreamCanaryDetector,
  createStreamRedactor,
  detectInjection,
  detectSensitive,
  inspectChatRequest,
  inspectText,
  makeCanary,
  redactChatChunk,
} from '../src/inspect/index.js';
import { loadPeer } from './inspect-peer.js';

export interface SpeedReport {
  lines: string[];
  p50: { base: { p50: number }; ours: { p50: number }; sens: { p50: number }; inj: { p50: number } };
}

function benignPool(): { text: string }[] {
  const file = resolve(process.cwd(), 'test/fixtures/prompt_injection/normalized/benign_pool.jsonl');
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { text: string });
}

function percentiles(fn: () => void, iterations: number): { p50: number; p99: number } {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const t: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) * 1000);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(t.length * 0.5)]!, p99: t[Math.floor(t.length * 0.99)]! };
}

async function speedReport(): Promise<SpeedReport> {
  const lines: string[] = [];
  const out = (s = ''): void => void lines.push(s);
  const peer = await loadPeer();
  out('### Speed');
  out();
  let prompt = '';
  for (const r of benignPool()) {
    if (prompt.length >= 4096) break;
    prompt += r.text + '\n';
  }
  prompt = (prompt.slice(0, 3900) + ' Contact jane.doe@example.com or +1 415-555-0100 about card 4111 1111 1111 1111.').slice(0, 4096);
  const body = { model: 'm', messages: [{ role: 'user', content: prompt }] };
  const base = percentiles(() => JSON.parse(JSON.stringify(body)), 3000);
  const ours = percentiles(() => inspectText(prompt), 3000);
  const chat = percentiles(() => inspectChatRequest(body), 3000);
  const sens = percentiles(() => detectSensitive(prompt), 3000);
  const inj = percentiles(() => detectInjection(prompt), 3000);
  out(`4 KB prompt (real benign prompts + a few PII values), ${prompt.length} chars, 3000 iterations after warm-up:`);
  out();
  out('| what | p50 µs | p99 µs | p50 ÷ baseline |');
  out('|---|---|---|---|');
  out(`| baseline: JSON.parse(JSON.stringify(body)) | ${base.p50.toFixed(1)} | ${base.p99.toFixed(1)} | 1.00 |`);
  out(`| inspectText (PII + secrets + injection + classification) | ${ours.p50.toFixed(1)} | ${ours.p99.toFixed(1)} | ${(ours.p50 / base.p50).toFixed(2)} |`);
  out(`| inspectChatRequest (what the gateway calls, same prompt as one user message) | ${chat.p50.toFixed(1)} | ${chat.p99.toFixed(1)} | ${(chat.p50 / base.p50).toFixed(2)} |`);
  out(`| — PII + secrets only | ${sens.p50.toFixed(1)} | ${sens.p99.toFixed(1)} | ${(sens.p50 / base.p50).toFixed(2)} |`);
  out(`| — injection only | ${inj.p50.toFixed(1)} | ${inj.p99.toFixed(1)} | ${(inj.p50 / base.p50).toFixed(2)} |`);
  if (peer !== null) {
    const pv = percentiles(() => peer.score(prompt), 3000);
    out(`| peer ${peer.name} (injection only) | ${pv.p50.toFixed(1)} | ${pv.p99.toFixed(1)} | ${(pv.p50 / base.p50).toFixed(2)} |`);
  }
  out();
  out('Linearity (inspectText p50 per KiB; flat means linear):');
  out();
  out('| size | p50 µs | µs per KiB |');
  out('|---|---|---|');
  for (const kib of [1, 4, 16, 64, 256]) {
    const text = prompt.repeat(Math.ceil((kib * 1024) / prompt.length)).slice(0, kib * 1024);
    const r = percentiles(() => inspectText(text), kib >= 64 ? 60 : 600);
    out(`| ${kib} KiB | ${r.p50.toFixed(1)} | ${(r.p50 / kib).toFixed(1)} |`);
  }
  out();
  // Stream redactor: a 4 KB answer in 16-char SSE deltas.
  const chunks: string[] = [];
  for (let i = 0; i < prompt.length; i += 16) chunks.push(prompt.slice(i, i + 16));
  const perChunk: number[] = [];
  let held = 0;
  for (let rep = 0; rep < 50; rep++) {
    const r = createStreamRedactor({ categories: ['pii', 'secret'] });
    let inAll = 0;
    let outAll = 0;
    for (const c of chunks) {
      const t0 = performance.now();
      const e = r.push(c);
      perChunk.push((performance.now() - t0) * 1000);
      inAll += c.length;
      outAll += e.length;
      if (rep === 0) held += inAll - outAll;
    }
    r.flush();
  }
  perChunk.sort((a, b) => a - b);
  out(`Stream redactor, 4 KB answer as ${chunks.length} deltas of 16 chars (×50): per-delta added time p50 ${perChunk[Math.floor(perChunk.length / 2)]!.toFixed(1)} µs,`);
  out(`p99 ${perChunk[Math.floor(perChunk.length * 0.99)]!.toFixed(1)} µs; characters held back after a delta, averaged over deltas: ${(held / chunks.length).toFixed(1)}`);
  out('(approximate: replacements change lengths, so this counts input chars minus emitted chars).');
  out();
  // What the gateway does per SSE event: redactChatChunk (one redactor per choice) and the canary window.
  const perEvent: number[] = [];
  const perCanary: number[] = [];
  const canary = makeCanary('bench');
  for (let rep = 0; rep < 50; rep++) {
    const rs = createChatStreamRedactors(['pii', 'secret']);
    const cd = createStreamCanaryDetector(canary);
    for (const c of chunks) {
      const chunk = { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: c }, finish_reason: null }] };
      let t0 = performance.now();
      redactChatChunk(chunk, rs);
      perEvent.push((performance.now() - t0) * 1000);
      t0 = performance.now();
      cd.push(c);
      perCanary.push((performance.now() - t0) * 1000);
    }
  }
  perEvent.sort((a, b) => a - b);
  perCanary.sort((a, b) => a - b);
  const pct = (a: number[], q: number): string => a[Math.floor(a.length * q)]!.toFixed(1);
  out(`Per SSE event, same deltas: redactChatChunk p50 ${pct(perEvent, 0.5)} µs, p99 ${pct(perEvent, 0.99)} µs; streaming canary detector`);
  out(`p50 ${pct(perCanary, 0.5)} µs, p99 ${pct(perCanary, 0.99)} µs.`);
  out();
  return { lines, p50: { base, ours, sens, inj } };
}

if (process.argv[1]?.endsWith('inspect-speed.js')) process.stdout.write(JSON.stringify(await speedReport()));
