// The SIEM export (ledger.export): one LedgerExporter per configured destination, each with its own cursor,
// so a collector that is down holds back only itself. Nothing here is on the request path.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { WardenConfig } from '../../config/config.js';
import { ConfigError } from '../../config/config.js';
import { ExportCursor, type MetaStore } from './cursor.js';
import { LedgerExporter, type ExportDestination, type LogSource } from './exporter.js';
import { JsonlFileDestination, WebhookDestination } from './jsonl.js';
import { OtlpLogsDestination } from './otlp-logs.js';
import { SyslogTlsDestination } from './syslog.js';

export interface SiemExport {
  exporters: LedgerExporter[];
  /** Sends what is committed to every destination and persists the cursors (a graceful shutdown). */
  close(): Promise<void>;
}

const readPem = (what: string, file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
};

function destinations(x: WardenConfig['ledger']['export']): ExportDestination[] {
  const out: ExportDestination[] = [];
  if (x.file) out.push(new JsonlFileDestination(x.file));
  if (x.webhook) out.push(new WebhookDestination(x.webhook, 10_000));
  if (x.syslog) {
    const s = x.syslog;
    out.push(
      new SyslogTlsDestination({
        host: s.host,
        port: s.port,
        caPem: readPem('ledger.export.syslog.caFile', s.caFile),
        ...(s.serverName ? { serverName: s.serverName } : {}),
        ...(s.clientTls ? { clientCert: { certPem: readPem('ledger.export.syslog.clientTls.certFile', s.clientTls.certFile), keyPem: readPem('ledger.export.syslog.clientTls.keyFile', s.clientTls.keyFile) } } : {}),
        facility: s.facility,
        appName: s.appName,
        ...(s.hostname ? { hostname: s.hostname } : {}),
        settleMs: s.settleMs,
        connectTimeoutMs: 5_000,
        writeTimeoutMs: 30_000,
      }),
    );
  }
  if (x.otlpLogs) out.push(new OtlpLogsDestination({ endpoint: x.otlpLogs.endpoint, serviceName: x.otlpLogs.serviceName, timeoutMs: 10_000 }));
  return out;
}

export async function startSiemExport(
  config: WardenConfig,
  o: { log: LogSource; store: MetaStore; logger: Logger; now(): number; onLag(destination: string, lag: number): void; onFailure(destination: string): void },
): Promise<SiemExport> {
  const x = config.ledger.export;
  const exporters = destinations(x).map(
    (d) =>
      new LedgerExporter({
        log: o.log,
        destination: d,
        // The file and webhook cursor keeps its first name, so an existing export resumes where it was.
        cursor: new ExportCursor(o.store, d.name === 'file' || d.name === 'webhook' ? 'ledger.export.next' : `ledger.export.${d.name}.next`),
        intervalMs: x.intervalMs,
        batchSize: x.batchSize,
        logger: o.logger,
        now: o.now,
        onLag: o.onLag,
        onFailure: o.onFailure,
      }),
  );
  for (const e of exporters) await e.start();
  return {
    exporters,
    close: async () => void (await Promise.all(exporters.map((e) => e.close()))),
  };
}
