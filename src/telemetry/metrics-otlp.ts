// The Prometheus metrics (/metrics, prom-client) pushed as OTLP/HTTP JSON metrics (telemetry.metrics): for a
// collector that receives OTLP rather than scraping. The same registry feeds both, so the numbers are the same:
// counters become cumulative monotonic sums, gauges gauges, histograms explicit-bucket histograms.
// Loaded only when configured.
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { OTEL_NAMES } from './genai.js';

const UNITS: Record<string, string> = { gen_ai_client_token_usage: '{token}', gen_ai_server_request_duration_seconds: 's' };

export interface MetricsExportConfig {
  /** OTLP/HTTP metrics endpoint, e.g. http://otel-collector:4318/v1/metrics */
  endpoint: string;
  serviceName: string;
  intervalMs: number;
}

type PromValue = { value: number; labels: Record<string, string | number>; metricName?: string };
type PromMetric = { name: string; help: string; type: string; values: PromValue[] };

const CUMULATIVE = 2; // opentelemetry-proto AggregationTemporality

// Semantic-convention metrics carry their dotted names and attribute keys; an empty label (error.type on a
// success) is an absent attribute, as in Prometheus.
const attributes = (labels: Record<string, string | number>) =>
  Object.entries(labels)
    .filter(([, v]) => v !== '')
    .map(([key, v]) => ({ key: OTEL_NAMES[key] ?? key, value: { stringValue: String(v) } }));
const nanos = (ms: number) => String(BigInt(Math.round(ms)) * 1_000_000n);

function histogramPoints(m: PromMetric, start: string, now: string): unknown[] {
  const series = new Map<string, { labels: Record<string, string | number>; buckets: [number, number][]; sum: number; count: number }>();
  for (const v of m.values) {
    const { le, ...labels } = v.labels;
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, buckets: [], sum: 0, count: 0 }));
    if (v.metricName?.endsWith('_bucket')) s.buckets.push([le === '+Inf' ? Infinity : Number(le), v.value]);
    else if (v.metricName?.endsWith('_sum')) s.sum = v.value;
    else if (v.metricName?.endsWith('_count')) s.count = v.value;
  }
  return [...series.values()].map((s) => {
    const sorted = s.buckets.sort((a, b) => a[0] - b[0]);
    // Prometheus buckets are cumulative (le); OTLP counts each bucket on its own.
    const counts = sorted.map(([, c], i) => c - (i > 0 ? sorted[i - 1]![1] : 0));
    return {
      attributes: attributes(s.labels),
      startTimeUnixNano: start,
      timeUnixNano: now,
      count: String(s.count),
      sum: s.sum,
      bucketCounts: counts.map(String),
      explicitBounds: sorted.filter(([le]) => Number.isFinite(le)).map(([le]) => le),
    };
  });
}

/** opentelemetry-proto ExportMetricsServiceRequest (JSON) for what the registry holds now. */
export function otlpMetricsRequest(metrics: PromMetric[], serviceName: string, startMs: number, nowMs: number): unknown {
  const start = nanos(startMs);
  const now = nanos(nowMs);
  const out: unknown[] = [];
  for (const m of metrics) {
    const base = { name: OTEL_NAMES[m.name] ?? m.name, description: m.help, ...(UNITS[m.name] ? { unit: UNITS[m.name] } : {}) };
    if (m.type === 'counter') out.push({ ...base, sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: m.values.map((v) => ({ attributes: attributes(v.labels), startTimeUnixNano: start, timeUnixNano: now, asDouble: v.value })) } });
    else if (m.type === 'gauge') out.push({ ...base, gauge: { dataPoints: m.values.map((v) => ({ attributes: attributes(v.labels), timeUnixNano: now, asDouble: v.value })) } });
    else if (m.type === 'histogram') out.push({ ...base, histogram: { aggregationTemporality: CUMULATIVE, dataPoints: histogramPoints(m, start, now) } });
    // prom-client summaries (none in Warden's registry) have no faithful OTLP form and are left out.
  }
  return { resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] }, scopeMetrics: [{ scope: { name: 'warden' }, metrics: out }] }] };
}

export interface MetricsExport {
  shutdown(): Promise<void>;
}

export function startMetricsExport(registry: Registry, cfg: MetricsExportConfig, log: Logger, now: () => number = Date.now): MetricsExport {
  const startMs = now();
  let failing = false;
  const push = async () => {
    const metrics = (await registry.getMetricsAsJSON()) as unknown as PromMetric[];
    const res = await fetch(cfg.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(otlpMetricsRequest(metrics, cfg.serviceName, startMs, now())), signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${cfg.endpoint} answered ${res.status}`);
  };
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = push()
      .then(() => {
        if (failing) log.info({ endpoint: cfg.endpoint }, 'OTLP metrics export recovered');
        failing = false;
      })
      // Cumulative values: a missed push loses nothing, the next one carries the totals. Logged once per outage.
      .catch((e: unknown) => {
        if (!failing) log.warn({ err: e, endpoint: cfg.endpoint }, 'OTLP metrics export failed; the next push carries the totals');
        failing = true;
      })
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, cfg.intervalMs);
  timer.unref();
  log.info({ endpoint: cfg.endpoint, intervalMs: cfg.intervalMs }, 'exporting metrics over OTLP/HTTP');
  return {
    async shutdown() {
      clearInterval(timer);
      await running;
      tick();
      await running;
    },
  };
}
