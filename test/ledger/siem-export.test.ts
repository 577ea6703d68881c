// SIEM export through a real Warden: RFC 5424 syslog over TLS (RFC 5425 octet counting) and OTLP/HTTP logs.
// The receivers below are FAKES of external SIEM collectors, written here: a TLS syslog server that parses the
// framing and the RFC 5424 header, and an HTTP server that takes OTLP JSON ExportLogsServiceRequests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { issueServerCert, makeTestCa } from '../helpers/pki.js';
import type { WardenConfig } from '../../src/config/config.js';

const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] };
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) - \uFEFF([\s\S]*)$/;

interface Received {
  pri: number;
  msgId: string;
  index: number;
  leafHash: string;
  entry: Record<string, unknown>;
}

/** FAKE syslog collector (TLS, octet counting). `dropFirstAfter`: cut the first connection after that many messages. */
async function startSyslogReceiver(tls: { cert: string; key: string }, o: { dropFirstAfter?: number } = {}) {
  const got: Received[] = [];
  let connections = 0;
  const sockets = new Set<TLSSocket>();
  const server: TlsServer = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (s) => {
    const n = ++connections;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let buf = Buffer.alloc(0);
    let mine = 0;
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) return;
        const len = Number(buf.subarray(0, sp).toString('ascii'));
        assert.ok(Number.isSafeInteger(len) && len > 0, 'MSG-LEN is a positive number (RFC 5425 §4.3)');
        if (buf.length < sp + 1 + len) return;
        const msg = buf.subarray(sp + 1, sp + 1 + len).toString('utf8');
        buf = buf.subarray(sp + 1 + len);
        const m = RFC5424.exec(msg);
        assert.ok(m, `an RFC 5424 message: ${msg.slice(0, 120)}`);
        const rec = JSON.parse(m[7]!) as { index: number; leafHash: string; entry: Record<string, unknown> };
        got.push({ pri: Number(m[1]), msgId: m[6]!, index: rec.index, leafHash: rec.leafHash, entry: rec.entry });
        mine++;
        if (n === 1 && o.dropFirstAfter !== undefined && mine === o.dropFirstAfter) {
          s.destroy(); // the collector dies mid-stream: whatever followed on this connection is lost
          return;
        }
      }
    });
    // A clean close from Warden: everything it wrote has been read above.
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    got,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const post = (w: TestWarden, key: string) => w.call('inference', 'POST', '/v1/chat/completions', { key, body: CHAT });

async function until(f: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('syslog over TLS: RFC 5424/5425 messages; a cut connection is re-sent; a stop, entries written while the collector is down, and a restart deliver every entry', async () => {
  const ca = await makeTestCa({ name: 'siem-ca' });
  const cert = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  const dir = mkdtempSync(join(tmpdir(), 'warden-siem-'));
  const dataDir = join(dir, 'data');
  writeFileSync(join(dir, 'siem-ca.pem'), ca.certPem);
  const withSyslog = (port: number) => (c: WardenConfig) => {
    c.ledger = { ...c.ledger, export: { intervalMs: 100, batchSize: 2, syslog: { host: '127.0.0.1', port, caFile: join(dir, 'siem-ca.pem'), facility: 13, appName: 'warden', settleMs: 60_000 } } };
  };
  const r1 = await startSyslogReceiver({ cert: cert.certPem, key: cert.keyPem }, { dropFirstAfter: 1 });
  let t: TestWarden | null = null;
  try {
    // 1. Exporting; the collector cuts the first connection after one message.
    t = await startTestWarden(withSyslog(r1.port), { dataDir });
    const { key } = await t.keyFor('sam', ['demo-chat'], ['chat']);
    const first: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(t, key);
      assert.equal(r.status, 200);
      first.push(String(r.headers['x-request-id']));
    }
    await until(() => first.every((id) => r1.got.some((g) => g.entry.requestId === id)), 'the first requests at the collector');
    assert.ok(r1.connections() >= 2, 'Warden reconnected after the collector cut it');
    const firstIndex = r1.got[0]!.index;
    assert.equal(firstIndex, 0, 'a fresh cursor starts at the beginning of the log');
    // What went out on the cut connection without settling is sent again: at least once, not exactly once.
    const counts = new Map<number, number>();
    for (const g of r1.got) counts.set(g.index, (counts.get(g.index) ?? 0) + 1);
    assert.ok([...counts.values()].some((c) => c > 1), 'entries from the cut connection were re-sent');
    const chat = r1.got.find((g) => g.entry.requestId === first[0])!;
    assert.equal(chat.pri, 13 * 8 + 6, 'facility log audit, severity informational');
    assert.equal(chat.msgId, 'chat');
    await t.stop(); // graceful: the last entries are flushed and the connection closed cleanly
    t = null;
    const deliveredBefore = Math.max(...r1.got.map((g) => g.index));
    await r1.close();

    // 2. The collector is down: requests are served all the same (the export never blocks them).
    t = await startTestWarden(withSyslog(r1.port), { dataDir });
    const whileDown: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(t, key);
      assert.equal(r.status, 200, 'a request does not wait for the SIEM');
      whileDown.push(String(r.headers['x-request-id']));
    }
    await t.stop();
    t = null;

    // 3. A new collector (another port): the export resumes where it stopped, with nothing missing.
    const r2 = await startSyslogReceiver({ cert: cert.certPem, key: cert.keyPem });
    try {
      t = await startTestWarden(withSyslog(r2.port), { dataDir });
      await until(() => whileDown.every((id) => r2.got.some((g) => g.entry.requestId === id)), 'the entries written while the collector was down');
      await t.stop();
      t = null;
      assert.equal(Math.min(...r2.got.map((g) => g.index)), deliveredBefore + 1, 'resumed after the last delivered entry, not from the start');
      const all = new Map<number, string>();
      for (const g of [...r1.got, ...r2.got]) {
        const prev = all.get(g.index);
        if (prev !== undefined) assert.equal(prev, g.leafHash, 'a re-sent entry is the same entry');
        all.set(g.index, g.leafHash);
      }
      const max = Math.max(...all.keys());
      for (let i = 0; i <= max; i++) assert.ok(all.has(i), `entry ${i} reached a collector`);
    } finally {
      await r2.close();
    }
  } finally {
    await t?.stop();
    await r1.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OTLP logs over HTTP: one log record per entry with its index and decision; a refused batch is sent again', async () => {
  // FAKE OpenTelemetry Collector (OTLP/HTTP JSON): the first request is answered 503.
  const records: { attributes: { key: string; value: Record<string, string> }[]; severityText: string; body: { stringValue: string } }[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls++;
      if (req.url !== '/v1/logs' || calls === 1) return void res.writeHead(calls === 1 ? 503 : 404).end();
      const msg = JSON.parse(body) as { resourceLogs: { scopeLogs: { logRecords: typeof records }[] }[] };
      for (const rl of msg.resourceLogs) for (const sl of rl.scopeLogs) records.push(...sl.logRecords);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const t = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, export: { intervalMs: 100, batchSize: 500, otlpLogs: { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`, serviceName: 'warden-test' } } };
  });
  try {
    const { key } = await t.keyFor('olga', ['demo-chat'], ['chat']);
    const ok = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: CHAT });
    const denied = await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { ...CHAT, model: 'no-such-model' } });
    assert.notEqual(denied.status, 200);
    const attr = (r: (typeof records)[number], k: string) => r.attributes.find((a) => a.key === k)?.value;
    const find = (id: unknown) => records.find((r) => attr(r, 'warden.request_id')?.stringValue === id);
    await until(() => find(ok.headers['x-request-id']) !== undefined && find(denied.headers['x-request-id']) !== undefined, 'both entries at the collector');
    assert.ok(calls >= 2, 'the refused first batch was sent again');
    const a = find(ok.headers['x-request-id'])!;
    assert.equal(attr(a, 'warden.decision')?.stringValue, 'allow');
    assert.equal(a.severityText, 'INFO');
    assert.equal(find(denied.headers['x-request-id'])!.severityText, 'WARN');
    const indices = records.map((r) => Number(attr(r, 'warden.ledger.index')!.intValue));
    assert.deepEqual([...new Set(indices)].sort((x, y) => x - y), Array.from({ length: Math.max(...indices) + 1 }, (_, i) => i), 'contiguous from 0');
    assert.equal(JSON.parse(a.body.stringValue).entry.requestId, ok.headers['x-request-id']);
  } finally {
    await t.stop();
    server.close();
  }
});

test('syslog: a collector whose certificate does not chain to caFile gets nothing; the failure is logged and counted', async () => {
  const ca = await makeTestCa({ name: 'siem-ca' });
  const rogue = await issueServerCert(await makeTestCa({ name: 'rogue-ca' }), ['127.0.0.1']);
  const dir = mkdtempSync(join(tmpdir(), 'warden-siem-'));
  writeFileSync(join(dir, 'siem-ca.pem'), ca.certPem);
  const r = await startSyslogReceiver({ cert: rogue.certPem, key: rogue.keyPem });
  const t = await startTestWarden((c) => {
    c.ledger = { ...c.ledger, export: { intervalMs: 100, batchSize: 10, syslog: { host: '127.0.0.1', port: r.port, caFile: join(dir, 'siem-ca.pem'), facility: 13, appName: 'warden', settleMs: 100 } } };
  });
  try {
    await until(() => t.logs.some((l) => l.msg === 'SIEM export failed; will resend from the last delivered entry'), 'the export failure in the log');
    const m = await t.call('admin', 'GET', '/metrics', { key: t.adminKey });
    assert.match(m.text, /warden_siem_export_failures_total\{destination="syslog"\} [1-9]/);
    assert.equal(r.got.length, 0);
  } finally {
    await t.stop();
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ledger.export config: syslog needs a CA file, keys are closed, defaults follow RFC 5425 and RFC 5424', async () => {
  const { parseConfig } = await import('../../src/config/config.js');
  assert.throws(() => parseConfig('ledger:\n  export:\n    syslog: { host: siem.example }\n', '/tmp/w.yaml'), /caFile/);
  assert.throws(() => parseConfig('ledger:\n  export:\n    syslog: { host: siem.example, caFile: ca.pem, tls: false }\n', '/tmp/w.yaml'), /tls/);
  assert.throws(() => parseConfig('ledger:\n  export:\n    otlpLogs: { endpoint: "ftp://x" }\n', '/tmp/w.yaml'), /endpoint/);
  const c = parseConfig('ledger:\n  export:\n    syslog: { host: siem.example, caFile: ca.pem }\n', '/tmp/w.yaml');
  assert.deepEqual(c.ledger.export.syslog, { host: 'siem.example', port: 6514, caFile: '/tmp/ca.pem', facility: 13, appName: 'warden', settleMs: 2000 });
});
