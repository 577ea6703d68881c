// Syslog over TLS: RFC 5424 messages with RFC 5425 octet-counting framing ("MSG-LEN SP SYSLOG-MSG"), one per
// ledger entry, to a collector whose certificate chains to `caFile` (and, optionally, presenting a client
// certificate). RFC 5425 has no acknowledgements: a batch counts as delivered once its connection has stayed up
// `settleMs` after it was written, or the connection was closed cleanly (exporter.ts).
import { connect, type TLSSocket } from 'node:tls';
import { hostname as osHostname } from 'node:os';
import type { ExportDestination } from './exporter.js';
import type { ExportRecord } from './record.js';

export interface SyslogOptions {
  host: string;
  port: number;
  /** PEM bundle the collector's certificate must chain to. */
  caPem: string;
  /** Name the collector's certificate must carry (default: host). */
  serverName?: string;
  clientCert?: { certPem: string; keyPem: string };
  /** RFC 5424 §6.2.1 facility; default 13 (log audit). */
  facility: number;
  appName: string;
  hostname?: string;
  settleMs: number;
  connectTimeoutMs: number;
  writeTimeoutMs: number;
}

/** RFC 5424 §6.2.1 severities: an allowed request is informational, a refusal a warning, an error an error. */
function severity(entry: Record<string, unknown>): number {
  if (entry.decision === 'error') return 3;
  if (entry.decision === 'deny') return 4;
  return 6;
}

/** PRINTUSASCII (%d33-126), at most `max` characters, "-" when empty (RFC 5424 §6.2 NILVALUE). */
function field(v: unknown, max: number): string {
  const s = String(v ?? '').replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return s === '' ? '-' : s;
}

/** One RFC 5424 message: the header, no structured data, and the record as a UTF-8 JSON MSG (with its BOM, §6.4). */
export function syslogMessage(r: ExportRecord, o: Pick<SyslogOptions, 'facility' | 'appName' | 'hostname'>, procId: number): Buffer {
  const time = typeof r.entry.time === 'string' ? r.entry.time : new Date().toISOString();
  const header = `<${o.facility * 8 + severity(r.entry)}>1 ${field(time, 64)} ${field(o.hostname ?? osHostname(), 255)} ${field(o.appName, 48)} ${procId} ${field(r.entry.action ?? r.entry.kind, 32)} - `;
  return Buffer.concat([Buffer.from(header, 'ascii'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(r), 'utf8')]);
}

/** RFC 5425 §4.3: octet-counting framing. */
export function frame(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

export class SyslogTlsDestination implements ExportDestination {
  readonly name = 'syslog';
  readonly settleMs: number;
  private socket: TLSSocket | null = null;
  private generation = 0;
  private live: number | null = null;

  constructor(private readonly o: SyslogOptions) {
    this.settleMs = o.settleMs;
  }

  get connection(): number | null {
    return this.live;
  }

  async send(records: ExportRecord[]): Promise<void> {
    const s = this.socket ?? (await this.connect());
    const data = Buffer.concat(records.map((r) => frame(syslogMessage(r, this.o, process.pid))));
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const fail = (e?: Error) => {
        if (done) return;
        done = true;
        cleanup();
        reject(e ?? new Error('the syslog connection closed'));
      };
      const onClose = () => fail();
      const cleanup = () => {
        s.off('error', fail);
        s.off('close', onClose);
      };
      s.on('error', fail);
      s.on('close', onClose);
      // A collector that stops reading holds the batch; past writeTimeoutMs the connection is given up (and the
      // batch sent again on a new one) rather than waited on for ever.
      const stalled = setTimeout(() => s.destroy(new Error(`the syslog collector took no data for ${this.o.writeTimeoutMs} ms`)), this.o.writeTimeoutMs);
      // The write callback runs once the data is handed to the kernel: back-pressure from a slow collector.
      s.write(data, (e) => {
        clearTimeout(stalled);
        if (done) return;
        done = true;
        cleanup();
        if (e) reject(e);
        else resolve();
      });
    });
  }

  async close(): Promise<boolean> {
    const s = this.socket;
    if (!s) return false;
    this.socket = null;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 5_000);
      s.once('close', (hadError) => {
        clearTimeout(timer);
        this.live = null;
        resolve(!hadError);
      });
      // TLS close_notify, then FIN; the collector closes its side once it has read everything.
      s.end();
    });
  }

  private lost(s: TLSSocket): void {
    if (this.socket === s) this.socket = null;
    this.live = null;
  }

  private connect(): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = connect({
        host: this.o.host,
        port: this.o.port,
        ca: this.o.caPem,
        servername: this.o.serverName ?? this.o.host,
        minVersion: 'TLSv1.2',
        ...(this.o.clientCert ? { cert: this.o.clientCert.certPem, key: this.o.clientCert.keyPem } : {}),
      });
      const timer = setTimeout(() => s.destroy(new Error(`syslog ${this.o.host}:${this.o.port}: no TLS connection within ${this.o.connectTimeoutMs} ms`)), this.o.connectTimeoutMs);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.on('error', () => this.lost(s));
        s.on('close', () => this.lost(s));
        // The collector sends nothing; whatever it does send is read and dropped so the socket can close.
        s.on('data', () => {});
        this.socket = s;
        this.live = ++this.generation;
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }
}
