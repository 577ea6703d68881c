// OpenTelemetry traces through the real gateway, received by a small OTLP/HTTP (JSON) receiver started here:
// a trace per request whose parent is the client's W3C traceparent, a span per stage and one for the upstream
// call (whose traceparent the upstream receives), GenAI and Warden attributes, and never the prompt text.
// The model server is a FAKE of an external OpenAI-compatible server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/config.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startTestWarden } from '../helpers/warden.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/** OTLP/HTTP JSON (opentelemetry-proto, ExportTraceServiceRequest): collects every span it is sent. */
async function startOtlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; server: Server; contentTypes: string[] }> {
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      contentTypes.push(String(req.headers['content-type']));
      if (req.url !== '/v1/traces' || req.method !== 'POST') return void res.writeHead(404).end();
      const msg = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of msg.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans, server, contentTypes };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: { stringValue?: string }[] }).values ?? []).map((x) => x.stringValue);
  return v;
};

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a chat request is one trace under the client\'s traceparent: a span per stage, the upstream gets its span\'s traceparent, GenAI attributes, no prompt text', async () => {
  const receiver = await startOtlpReceiver();
  const model = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } }));
  });
  const t = await startTestWarden((c) => {
    c.demoUpstream.enabled = false;
    c.upstreams = [parseConfig(`upstreams:\n  - { name: fake, baseUrl: "${model.url}", models: [traced] }\n`, '/tmp/w.yaml').upstreams[0]!];
    c.telemetry = { traces: { endpoint: receiver.url, serviceName: 'warden-test', sampleRatio: 1, batchDelayMs: 20 } };
  });
  try {
    const { key } = await t.keyFor('alice', ['traced'], ['chat']);
    const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const secret = 'my account number is zebra-4242';
    const r = await t.call('inference', 'POST', '/v1/chat/completions', {
      key,
      headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` },
      body: { model: 'traced', max_tokens: 64, messages: [{ role: 'user', content: secret }] },
    });
    assert.equal(r.status, 200, r.text);
    const root = await until(() => receiver.spans.find((s) => s.traceId === clientTrace && s.parentSpanId === clientSpan), 'the request span');
    assert.ok(receiver.contentTypes.every((c) => c.startsWith('application/json')));
    assert.equal(root.name, 'chat traced');
    assert.equal(root.kind, 2, 'SERVER');
    assert.equal(attr(root, 'gen_ai.operation.name'), 'chat');
    assert.equal(attr(root, 'gen_ai.request.model'), 'traced');
    assert.equal(attr(root, 'gen_ai.request.max_tokens'), 64);
    assert.equal(attr(root, 'gen_ai.usage.input_tokens'), 7);
    assert.equal(attr(root, 'gen_ai.usage.output_tokens'), 2);
    assert.equal(attr(root, 'http.response.status_code'), 200);
    assert.equal(attr(root, 'warden.decision'), 'allow');
    assert.equal(attr(root, 'warden.upstream'), 'fake');
    assert.equal(attr(root, 'warden.request_id'), r.headers['x-request-id']);
    assert.ok((attr(root, 'warden.policy_ids') as string[]).length > 0);
    assert.equal(typeof attr(root, 'warden.ledger.index'), 'number');
    const children = await until(() => {
      const c = receiver.spans.filter((s) => s.traceId === clientTrace && s.parentSpanId === root.spanId);
      return c.some((s) => s.name === 'warden.upstream') ? c : undefined;
    }, 'the stage spans');
    const names = children.map((s) => s.name);
    for (const n of ['warden.stage.identity', 'warden.stage.network', 'warden.stage.inspect', 'warden.stage.policy', 'warden.stage.route', 'warden.upstream']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    const upstreamSpan = children.find((s) => s.name === 'warden.upstream')!;
    assert.equal(upstreamSpan.kind, 3, 'CLIENT');
    assert.equal(model.requests[0]!.headers.traceparent, `00-${clientTrace}-${upstreamSpan.spanId}-01`, 'the upstream is called under the upstream span');
    // Never the prompt (or any part of it) in a span.
    const everything = JSON.stringify(receiver.spans);
    assert.doesNotMatch(everything, /zebra|account number/);

    // A denial is traced too (a 4xx is not a span error); a malformed traceparent starts a new trace.
    const denied = await t.call('inference', 'POST', '/v1/chat/completions', { key, headers: { traceparent: `00-${'0'.repeat(32)}-${clientSpan}-01` }, body: { model: 'not-granted', messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(denied.status, 403);
    const d = await until(() => receiver.spans.find((s) => attr(s, 'warden.request_id') === denied.headers['x-request-id']), 'the denied request span');
    assert.notEqual(d.traceId, '0'.repeat(32));
    assert.equal(d.parentSpanId || undefined, undefined);
    assert.equal(attr(d, 'warden.decision'), 'deny');
    assert.equal(attr(d, 'http.response.status_code'), 403);
    assert.notEqual(d.status?.code, 2);
  } finally {
    await t.stop();
    await model.close();
    receiver.server.close();
  }
});

test('telemetry.traces: defaults, and bad values are refused', () => {
  const c = parseConfig('telemetry:\n  traces: { endpoint: "http://collector:4318/v1/traces" }\n', 'w.yaml');
  assert.deepEqual(c.telemetry.traces, { endpoint: 'http://collector:4318/v1/traces', serviceName: 'warden', sampleRatio: 1, batchDelayMs: 2000 });
  assert.deepEqual(parseConfig('{}\n', 'w.yaml').telemetry, {});
  assert.throws(() => parseConfig('telemetry:\n  traces: { endpoint: "grpc://collector:4317" }\n', 'w.yaml'), /\/telemetry\/traces\/endpoint/);
  assert.throws(() => parseConfig('telemetry:\n  traces: { endpoint: "http://c/v1/traces", sampleRatio: 2 }\n', 'w.yaml'), /\/telemetry\/traces\/sampleRatio/);
  assert.throws(() => parseConfig('telemetry:\n  traces: { endpoint: "http://c/v1/traces", servicename: x }\n', 'w.yaml'), /unknown key "servicename".*serviceName/);
  assert.throws(() => parseConfig('telemetry:\n  traces: {}\n', 'w.yaml'), /missing required key "endpoint"/);
});
