// OpenTelemetry traces of inference requests, exported over OTLP/HTTP (telemetry.traces in warden.yaml): one
// trace per request, a span per pipeline stage and one for the upstream call, GenAI semantic-convention
// attributes (gen_ai.*) plus Warden's own (warden.*). A W3C traceparent from the client is the parent; the
// upstream call carries the upstream span's traceparent. No prompt or answer text is ever put in a span.
// Loaded only when configured: without telemetry.traces nothing here is imported and the gateway checks one
// absent property per request.
import type { IncomingMessage } from 'node:http';
import { context, trace, SpanKind, SpanStatusCode, TraceFlags, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Logger } from 'pino';
import type { AuditEvent } from '../core/types.js';
import type { RequestContext, RequestTrace, RequestTracing } from '../gateway/context.js';
import { GEN_AI_OPERATION } from './genai.js';

export interface TracesConfig {
  /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces */
  endpoint: string;
  serviceName: string;
  /** Share of traces started here that are kept (a sampled parent from the client is always followed). */
  sampleRatio: number;
  /** How long spans wait to be sent in one batch. */
  batchDelayMs: number;
}

/** W3C Trace Context §3.2: version 00, 16-byte trace id, 8-byte parent id, flags; all-zero ids are invalid. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function parentFrom(req: IncomingMessage): Context {
  const h = req.headers.traceparent;
  const m = typeof h === 'string' ? TRACEPARENT.exec(h.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return context.active();
  return trace.setSpanContext(context.active(), { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}


class Trace implements RequestTrace {
  traceparent: string | undefined;
  ledgerIndex: number | undefined;
  private readonly root: Span;
  private readonly rootCtx: Context;
  private current: Span | null = null;

  constructor(
    private readonly tracer: Tracer,
    req: IncomingMessage,
  ) {
    this.root = tracer.startSpan('warden.request', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET' } }, parentFrom(req));
    this.rootCtx = trace.setSpan(context.active(), this.root);
  }

  mark(stage: string): void {
    this.current?.end();
    const upstream = stage === 'upstream';
    this.current = this.tracer.startSpan(upstream ? 'warden.upstream' : `warden.stage.${stage}`, { kind: upstream ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: { 'warden.stage': stage } }, this.rootCtx);
    if (upstream) {
      const sc = this.current.spanContext();
      this.traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & TraceFlags.SAMPLED}`;
    }
  }

  end(ctx: RequestContext, status: number, event: AuditEvent): void {
    this.current?.end();
    this.current = null;
    const r = this.root;
    const op = GEN_AI_OPERATION[ctx.endpoint];
    r.updateName(op && ctx.model ? `${op} ${ctx.model}` : `warden ${ctx.endpoint}`);
    if (op) r.setAttribute('gen_ai.operation.name', op);
    if (ctx.model) r.setAttribute('gen_ai.request.model', ctx.model);
    const maxTokens = ctx.body.max_tokens ?? ctx.body.max_completion_tokens;
    if (typeof maxTokens === 'number') r.setAttribute('gen_ai.request.max_tokens', maxTokens);
    if (ctx.usage) {
      r.setAttribute('gen_ai.usage.input_tokens', ctx.usage.prompt);
      r.setAttribute('gen_ai.usage.output_tokens', ctx.usage.completion);
    }
    if (ctx.target) r.setAttribute('warden.upstream', ctx.target.name);
    r.setAttribute('http.response.status_code', status);
    r.setAttribute('warden.request_id', ctx.requestId);
    r.setAttribute('warden.route', ctx.endpoint);
    r.setAttribute('warden.decision', event.decision);
    r.setAttribute('warden.policy_ids', event.policyIds);
    r.setAttribute('warden.findings.count', Object.values(event.findings).reduce((n, v) => n + (typeof v === 'number' ? v : 0), 0));
    if (this.ledgerIndex !== undefined) r.setAttribute('warden.ledger.index', this.ledgerIndex);
    if (event.errorCode) {
      r.setAttribute('error.type', event.errorCode);
      if (event.stage) r.setAttribute('warden.stage', event.stage);
    }
    // OpenTelemetry HTTP server conventions: a 4xx is the client's error, not the span's.
    if (status >= 500) r.setStatus({ code: SpanStatusCode.ERROR, message: event.errorCode ?? String(status) });
    r.end();
  }
}

export interface Tracing extends RequestTracing {
  shutdown(): Promise<void>;
}

export function startTracing(cfg: TracesConfig, log: Logger): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.endpoint }), { scheduledDelayMillis: cfg.batchDelayMs })],
  });
  const tracer = provider.getTracer('warden');
  log.info({ endpoint: cfg.endpoint, sampleRatio: cfg.sampleRatio }, 'exporting traces over OTLP/HTTP');
  return {
    start: (req) => new Trace(tracer, req),
    shutdown: () => provider.shutdown().catch((e: unknown) => log.warn({ err: e }, 'could not flush the last traces')),
  };
}
