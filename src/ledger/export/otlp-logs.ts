// OTLP logs over HTTP (OTLP/HTTP JSON encoding of opentelemetry-proto ExportLogsServiceRequest), one log record
// per ledger entry: the body is the exported record, the attributes what a SIEM filters on. A 2xx answer is the
// acknowledgement (OTLP/HTTP §"Success"); anything else fails the batch, which is sent again.
import { AcknowledgedDestination, postBatch } from './exporter.js';
import type { ExportRecord } from './record.js';

export interface OtlpLogsOptions {
  /** e.g. http://otel-collector:4318/v1/logs */
  endpoint: string;
  serviceName: string;
  timeoutMs: number;
}

/** OpenTelemetry log data model severity numbers: INFO 9, WARN 13, ERROR 17. */
function severity(entry: Record<string, unknown>): { severityNumber: number; severityText: string } {
  if (entry.decision === 'error') return { severityNumber: 17, severityText: 'ERROR' };
  if (entry.decision === 'deny') return { severityNumber: 13, severityText: 'WARN' };
  return { severityNumber: 9, severityText: 'INFO' };
}

const str = (key: string, v: unknown) => ({ key, value: { stringValue: String(v) } });

export function otlpLogsRequest(records: ExportRecord[], serviceName: string, nowMs: number): unknown {
  return {
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', serviceName)] },
        scopeLogs: [
          {
            scope: { name: 'warden.ledger' },
            logRecords: records.map((r) => {
              const t = Date.parse(String(r.entry.time ?? ''));
              const attributes = [{ key: 'warden.ledger.index', value: { intValue: String(r.index) } }, str('warden.ledger.leaf_hash', r.leafHash)];
              for (const k of ['kind', 'action', 'decision', 'requestId'] as const) if (r.entry[k] !== undefined && r.entry[k] !== null) attributes.push(str(`warden.${k === 'requestId' ? 'request_id' : k}`, r.entry[k]));
              return {
                timeUnixNano: String(BigInt(Number.isFinite(t) ? t : nowMs) * 1_000_000n),
                observedTimeUnixNano: String(BigInt(nowMs) * 1_000_000n),
                ...severity(r.entry),
                body: { stringValue: JSON.stringify(r) },
                attributes,
              };
            }),
          },
        ],
      },
    ],
  };
}

export class OtlpLogsDestination extends AcknowledgedDestination {
  readonly name = 'otlpLogs';

  constructor(private readonly o: OtlpLogsOptions) {
    super();
  }

  send(records: ExportRecord[]): Promise<void> {
    return postBatch(this.o.endpoint, 'application/json', JSON.stringify(otlpLogsRequest(records, this.o.serviceName, Date.now())), this.o.timeoutMs);
  }
}
