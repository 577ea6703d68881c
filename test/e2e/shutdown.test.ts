// Graceful shutdown of the real `warden up` process: SIGTERM while a stream is under way. /readyz turns 503
// `draining` at once (a load balancer stops sending), /healthz stays 200, new connections are refused, the
// stream completes (or, past shutdown.drainTimeoutMs, is cut with an error event), every request has its
// ledger entry, the ledger verifies offline, and the process exits 0. The model server is a FAKE of an
// external OpenAI-compatible server that streams slowly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startWardenProcess, runWarden, type Started } from '../helpers/proc.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { exportStatic } from '../../src/ledger/export-static.js';

/** FAKE model server: streams `chunks: N` pieces (from the prompt), one every 100 ms. */
function slowModel(): Promise<FakeUpstream> {
  return startFakeUpstream((_req, res, body) => {
    const prompt = String((JSON.parse(body) as { messages: { content: string }[] }).messages.at(-1)?.content ?? '');
    const n = Number(/chunks: (\d+)/.exec(prompt)?.[1] ?? 1);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      if (i === n) {
        clearInterval(timer);
        res.end(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
        return;
      }
      res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `piece${i++} ` }, finish_reason: null }] })}\n\n`);
    }, 100);
  });
}

interface Running {
  p: Started;
  dir: string;
  dataDir: string;
  infUrl: string;
  admUrl: string;
  key: string;
  agent: Agent;
  upstream: FakeUpstream;
}

async function start(drainTimeoutMs: number): Promise<Running> {
  const upstream = await slowModel();
  const dir = mkdtempSync(join(tmpdir(), 'warden-shutdown-'));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(
    cfg,
    [
      `dataDir: ${dataDir}`,
      'listeners:',
      '  inference: { port: 0 }',
      '  admin: { port: 0 }',
      'log: { level: warn }',
      'demoUpstream: { enabled: false }',
      `upstreams:\n  - { name: fake-slow, baseUrl: "${upstream.url}", models: [slow-chat] }`,
      'models:\n  slow-chat: { grantees: [consumers] }',
      `shutdown: { drainTimeoutMs: ${drainTimeoutMs} }`,
      '',
    ].join('\n'),
  );
  const p = startWardenProcess(['up', '--config', cfg]);
  const [, infUrl] = await p.waitFor(/inference\s+(https:\/\/127\.0\.0\.1:\d+)\/v1/);
  const [, admUrl] = await p.waitFor(/admin\s+(https:\/\/127\.0\.0\.1:\d+)/);
  const [adminKey] = await p.waitFor(/wdn_[A-Za-z0-9_-]{43}/);
  const env = { WARDEN_ADMIN_KEY: adminKey!, WARDEN_ADMIN_URL: admUrl! };
  const pc = await runWarden(['principals', 'create', 'alice', '--tenant', 'acme', '--groups', 'consumers', '--data-dir', dataDir], env);
  assert.equal(pc.code, 0, pc.stderr);
  const kc = await runWarden(['keys', 'create', '--principal', 'alice', '--models', 'slow-chat', '--actions', 'chat', '--data-dir', dataDir], env);
  assert.equal(kc.code, 0, kc.stderr);
  const key = kc.stdout.match(/wdn_[A-Za-z0-9_-]{43}/)![0];
  const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8') } });
  return { p, dir, dataDir, infUrl: infUrl!, admUrl: admUrl!, key, agent, upstream };
}

async function cleanup(r: Running): Promise<void> {
  await r.p.stop('SIGKILL');
  await r.agent.close();
  await r.upstream.close();
  rmSync(r.dir, { recursive: true, force: true });
}

/** Starts a stream and waits for its first piece; returns the request id and a reader of the rest. */
async function openStream(r: Running, chunks: number) {
  const res = await request(`${r.infUrl}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: r.agent,
    headers: { authorization: `Bearer ${r.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow-chat', stream: true, messages: [{ role: 'user', content: `chunks: ${chunks}` }] }),
  });
  assert.equal(res.statusCode, 200);
  const requestId = String(res.headers['x-request-id']);
  let text = '';
  const it = res.body[Symbol.asyncIterator]();
  while (!text.includes('piece0')) {
    const n = await it.next();
    assert.ok(!n.done, `stream ended before its first piece: ${text}`);
    text += Buffer.from(n.value as Buffer).toString('utf8');
  }
  const rest = async () => {
    for (let n = await it.next(); !n.done; n = await it.next()) text += Buffer.from(n.value as Buffer).toString('utf8');
    return text;
  };
  return { requestId, rest };
}

function exited(p: Started): Promise<number | null> {
  return new Promise((ok) => (p.child.exitCode !== null ? ok(p.child.exitCode) : p.child.once('exit', (code) => ok(code))));
}

async function admin(r: Running, path: string) {
  const res = await request(`${r.admUrl}${path}`, { dispatcher: r.agent });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function untilDraining(r: Running): Promise<{ status: number; json: Record<string, unknown> }> {
  for (let i = 0; i < 200; i++) {
    const ready = await admin(r, '/readyz');
    if (ready.status === 503) return ready;
    await new Promise((ok) => setTimeout(ok, 10));
  }
  throw new Error('/readyz never reported draining');
}

/** The ledger's entries for a request (the process has exited), and `warden audit verify` on an export. */
async function ledgerAfterExit(r: Running, requestId: string) {
  const key = loadOrCreateLedgerKey(r.dataDir);
  const ledger = await Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(r.dataDir, 'ledger.db')), key });
  try {
    const all = (await ledger.readEntries(0, ledger.size)).map((b) => JSON.parse(b.toString('utf8')) as Record<string, any>);
    const exported = join(r.dir, 'export');
    await exportStatic(ledger, exported);
    const verify = await runWarden(['audit', 'verify', '--log', exported, '--key', key.vkey]);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    return all.filter((e) => e.requestId === requestId);
  } finally {
    await ledger.close();
  }
}

test('SIGTERM: readyz says draining, healthz stays up, new connections are refused, the stream completes, exit 0, entry verified', async () => {
  const r = await start(20_000);
  try {
    const s = await openStream(r, 25); // ~2.5 s of stream left when the signal arrives
    r.p.child.kill('SIGTERM');
    const ready = await untilDraining(r);
    assert.equal(ready.json.status, 'draining');
    assert.equal((await admin(r, '/healthz')).status, 200);
    // The listening socket is closed: a new connection (a fresh agent, no kept-alive socket) is refused.
    const fresh = new Agent({ connect: { ca: readFileSync(join(r.dataDir, 'ca.pem'), 'utf8') } });
    await assert.rejects(request(`${r.infUrl}/v1/models`, { dispatcher: fresh, headers: { authorization: `Bearer ${r.key}` } }), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    await fresh.close();
    const text = await s.rest();
    assert.match(text, /piece24 /);
    assert.match(text, /event: warden\.receipt/);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text.slice(-200));
    assert.equal(await exited(r.p), 0, r.p.output());
    const entries = await ledgerAfterExit(r, s.requestId);
    assert.deepEqual(entries.map((e) => [e.details?.phase ?? 'final', e.status]), [['open', 200], ['final', 200]]);
    assert.equal(entries[1]!.decision, 'allow');
    assert.match(entries[1]!.responseDigest, /^sha256:/);
  } finally {
    await cleanup(r);
  }
});

test('SIGTERM: a stream still running at shutdown.drainTimeoutMs is cut with an error event and still has its entry; exit 0', async () => {
  const r = await start(400);
  try {
    const s = await openStream(r, 600); // a minute of stream: it cannot finish within the drain deadline
    const signalled = Date.now();
    r.p.child.kill('SIGTERM');
    const text = await s.rest();
    assert.ok(Date.now() - signalled < 8_000, 'the stream was not cut at the deadline');
    assert.doesNotMatch(text, /piece599/);
    const last = text.trim().split('\n\n').at(-1)!;
    const err = JSON.parse(last.replace(/^data: /, '')) as { error: { code: string; type: string; request_id: string } };
    assert.equal(err.error.code, 'shutting_down');
    assert.equal(err.error.request_id, s.requestId);
    assert.doesNotMatch(text, /warden\.receipt/);
    assert.equal(await exited(r.p), 0, r.p.output());
    // The upstream call was aborted (no model time is spent on an answer nobody receives).
    await r.upstream.aborted;
    const entries = await ledgerAfterExit(r, s.requestId);
    assert.equal(entries.length, 2, JSON.stringify(entries));
    assert.equal(entries[0]!.details?.phase, 'open');
    assert.equal(entries[1]!.errorCode, 'shutting_down');
    assert.equal(entries[1]!.status, 502);
  } finally {
    await cleanup(r);
  }
});
