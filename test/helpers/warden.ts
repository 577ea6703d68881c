// Starts a real Warden (real TLS listeners, real SQLite in a temp data dir) for tests, plus a TLS client.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { withDefaults, type WardenConfig } from '../../src/config/config.js';
import { startWarden, type RunningWarden } from '../../src/app/warden.js';
import type { Clock } from '../../src/core/clock.js';

export interface TestWarden {
  w: RunningWarden;
  ca: string;
  adminKey: string;
  agent: Agent;
  logs: Record<string, unknown>[];
  audits: () => Record<string, unknown>[];
  call(listener: 'inference' | 'admin', method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }>;
  admin(method: string, path: string, body?: unknown): Promise<any>;
  /**
   * Creates a principal (in group `consumers` unless `groups` says otherwise: a key's scope is only a ceiling,
   * so the principal's permissions come from policy) and a key; returns the key.
   */
  keyFor(principal: string, models: string[], actions: string[], extra?: { ttl?: string; tenant?: string; groups?: string[]; source_cidrs?: string[]; limits?: Record<string, number> }): Promise<{ key: string; id: string }>;
  stop(): Promise<void>;
}

export async function startTestWarden(mutate: (c: WardenConfig) => void = () => {}, opts: { clock?: Clock; dataDir?: string } = {}): Promise<TestWarden> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'warden-test-'));
  const config = withDefaults({ dataDir, listeners: { inference: { port: 0 }, admin: { port: 0 } } }, null);
  // Tests read audit entries from the log mirror; the ledger itself is checked by the ledger tests.
  config.log.auditToLog = true;
  mutate(config);
  // Grants come from policy, not from keys: a configured model that the test gave no grantees is granted to
  // `consumers` (the group keyFor puts principals in), as an operator would in the models section.
  for (const u of config.upstreams) for (const m of u.models) config.models[m] ??= { grantees: ['consumers'] };
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const w = await startWarden(config, { ...(opts.clock ? { clock: opts.clock } : {}), logStream });
  const ca = readFileSync(w.caPemPath, 'utf8');
  const agent = new Agent({ connect: { ca } });
  const call: TestWarden['call'] = async (listener, method, path, o = {}) => {
    const base = listener === 'inference' ? w.inferenceUrl : w.adminUrl;
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let body: string | Buffer | undefined;
    if (o.body !== undefined) {
      // A string or Buffer is sent as it is (multipart bodies, malformed JSON); anything else as JSON.
      body = typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const r = await request(base + path, { method: method as 'GET', headers, dispatcher: agent, ...(body !== undefined ? { body } : {}) });
    const text = await r.body.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.statusCode, headers: r.headers, text, json };
  };
  const adminKey = w.bootstrapKey!;
  let stopped = false;
  const t: TestWarden = {
    w,
    ca,
    adminKey,
    agent,
    logs,
    audits: () => logs.filter((l) => l.msg === 'audit').map((l) => l.audit as Record<string, unknown>),
    call,
    async admin(method, path, body) {
      const r = await call('admin', method, path, { key: adminKey, ...(body !== undefined ? { body } : {}) });
      if (r.status >= 400) throw new Error(`admin ${method} ${path} -> ${r.status} ${r.text}`);
      return r.json;
    },
    async keyFor(principal, models, actions, extra = {}) {
      const existing = await call('admin', 'GET', `/admin/v1/principals/${principal}`, { key: adminKey });
      if (existing.status === 404) {
        await t.admin('POST', '/admin/v1/principals', {
          id: principal,
          tenant: extra.tenant ?? 'acme',
          groups: extra.groups ?? ['consumers'],
          ...(extra.source_cidrs ? { source_cidrs: extra.source_cidrs } : {}),
          ...(extra.limits ? { limits: extra.limits } : {}),
        });
      }
      const k = await t.admin('POST', '/admin/v1/keys', { principal, models, actions, ...(extra.ttl ? { ttl: extra.ttl } : {}) });
      return { key: k.key as string, id: k.id as string };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await agent.close();
      await w.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
