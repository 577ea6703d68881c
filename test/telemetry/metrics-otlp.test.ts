// OTLP/HTTP metrics through a real Warden, received by a small OTLP JSON receiver started here (a FAKE of an
// OpenTelemetry Collector): the /metrics registry arrives as cumulative sums, gauges and histograms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestWarden } from '../helpers/warden.js';

interface Metric {
  name: string;
  sum?: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: { attributes: { key: string; value: { stringValue: string } }[]; asDouble: number }[] };
  gauge?: { dataPoints: unknown[] };
  histogram?: { aggregationTemporality: number; dataPoints: { attributes: { key: string; value: { stringValue: string } }[]; count: string; sum: number; bucketCounts: string[]; explicitBounds: number[] }[] };
}

test('the Prometheus registry is pushed as OTLP metrics: request counters as cumulative sums, latency as a histogram', async () => {
  const pushes: { service: string; metrics: Metric[] }[] = [];
  let refuseFirst = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      // A collector that is briefly down loses nothing: the values are cumulative.
      if (refuseFirst) {
        refuseFirst = false;
        return void res.writeHead(503).end();
      }
      if (req.url !== '/v1/metrics' || req.headers['content-type'] !== 'application/json') return void res.writeHead(404).end();
      const msg = JSON.parse(body) as { resourceMetrics: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeMetrics: { metrics: Metric[] }[] }[] };
      for (const rm of msg.resourceMetrics) pushes.push({ service: rm.resource.attributes.find((a) => a.key === 'service.name')!.value.stringValue, metrics: rm.scopeMetrics.flatMap((s) => s.metrics) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const t = await startTestWarden((c) => {
    c.telemetry = { metrics: { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`, serviceName: 'warden-test', intervalMs: 100 } };
  });
  try {
    const { key } = await t.keyFor('mia', ['demo-chat'], ['chat']);
    for (let i = 0; i < 2; i++) assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } })).status, 200);
    const chatPoint = (m: Metric | undefined) => m?.sum?.dataPoints.find((p) => p.attributes.some((a) => a.key === 'endpoint' && a.value.stringValue === 'chat') && p.attributes.some((a) => a.key === 'status' && a.value.stringValue === '200'));
    const deadline = Date.now() + 10_000;
    let last: Metric[] = [];
    while (Date.now() < deadline) {
      last = pushes.at(-1)?.metrics ?? [];
      if ((chatPoint(last.find((m) => m.name === 'warden_requests_total'))?.asDouble ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(pushes.at(-1)!.service, 'warden-test');
    const requests = last.find((m) => m.name === 'warden_requests_total')!;
    assert.equal(requests.sum!.isMonotonic, true);
    assert.equal(requests.sum!.aggregationTemporality, 2);
    assert.equal(chatPoint(requests)!.asDouble, 2);
    const latency = last.find((m) => m.name === 'warden_request_duration_seconds')!.histogram!;
    const chat = latency.dataPoints.find((p) => p.attributes.some((a) => a.key === 'endpoint' && a.value.stringValue === 'chat'))!;
    assert.equal(chat.count, '2');
    assert.equal(chat.bucketCounts.reduce((n, c) => n + Number(c), 0), 2, 'per-bucket counts add up to the count');
    assert.equal(chat.bucketCounts.length, chat.explicitBounds.length + 1);
    assert.ok(!chat.attributes.some((a) => a.key === 'le'));
    assert.ok(last.some((m) => m.name === 'warden_process_resident_memory_bytes' && m.gauge));
    // OpenTelemetry GenAI semantic conventions: dotted names, units and attribute keys, one series per token type.
    const attr = (p: { attributes: { key: string; value: { stringValue: string } }[] }) => Object.fromEntries(p.attributes.map((a) => [a.key, a.value.stringValue]));
    const tokens = last.find((m) => m.name === 'gen_ai.client.token.usage') as (Metric & { unit?: string }) | undefined;
    assert.ok(tokens?.histogram, `gen_ai.client.token.usage among ${last.map((m) => m.name).join(', ')}`);
    assert.equal(tokens.unit, '{token}');
    const byType = new Map(tokens.histogram.dataPoints.map((p) => [attr(p)['gen_ai.token.type'], p]));
    for (const type of ['input', 'output']) {
      const p = byType.get(type)!;
      assert.deepEqual(attr(p), { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'demo-chat', 'gen_ai.token.type': type });
      assert.equal(p.count, '2');
      assert.ok(p.sum > 0, `${type} tokens counted`);
    }
    const duration = last.find((m) => m.name === 'gen_ai.server.request.duration') as (Metric & { unit?: string }) | undefined;
    assert.equal(duration?.unit, 's');
    const ok = duration!.histogram!.dataPoints.find((p) => attr(p)['gen_ai.request.model'] === 'demo-chat')!;
    assert.equal(ok.count, '2');
    assert.equal(attr(ok)['error.type'], undefined, 'a success has no error.type');
  } finally {
    await t.stop();
    server.close();
  }
});
