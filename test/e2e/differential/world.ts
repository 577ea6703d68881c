// One real Warden (startTestWarden: real TLS, SQLite, ledger) in front of the scripted fake model and a
// small tool backend, with the starter policies plus a few test permits that attach obligations, and a
// "probe" per inference-listener route: the smallest request that a permitted caller gets served.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';
import type { RouteName } from '../../../src/gateway/routes.js';
import type { WardenConfig } from '../../../src/config/config.js';
import { startScriptedModel, type ScriptedModel } from './model.js';
import { multipart } from '../../helpers/multipart.js';

/** Models: `cloud-m` is served from a public cloud with output rules and a canary; `plain-m` on-prem, nothing extra. */
export const CLOUD = 'cloud-m';
export const PLAIN = 'plain-m';

/** Test permits beside the starter set: group membership attaches an obligation (all permits' obligations apply). */
export const TEST_POLICIES = `
@id("diff-redact-pii")
@obligation("redact:pii")
permit (principal in Group::"redacted", action in [Action::"chat", Action::"complete"], resource);

@id("diff-cap-16")
@obligation("max_tokens:16")
permit (principal in Group::"capped", action in [Action::"chat", Action::"complete"], resource);

@id("diff-cap-4")
@obligation("max_tokens:4")
permit (principal in Group::"capped4", action in [Action::"chat", Action::"complete"], resource);
`;

export type Resp = Awaited<ReturnType<TestWarden['call']>>;

export interface World {
  t: TestWarden;
  model: ScriptedModel;
  toolHits: string[];
  /** A fresh principal (kind user, group consumers plus `groups`) with a key for every model and action. */
  principal(id: string, extra?: { groups?: string[]; source_cidrs?: string[]; limits?: Record<string, number> }): Promise<string>;
  /** An approval (held call of the destructive tool) requested by the principal with this key. */
  approvalOf(key: string): Promise<string>;
  chat(key: string, body: Record<string, unknown>): Promise<Resp>;
  complete(key: string, body: Record<string, unknown>): Promise<Resp>;
  stop(): Promise<void>;
}

export async function startWorld(opts: { dataDir?: string; mutate?: (c: WardenConfig) => void } = {}): Promise<World> {
  const model = await startScriptedModel();
  const toolHits: string[] = [];
  // FAKE tool backend (an external service): answers any call with a small JSON document.
  const backend: Server = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      toolHits.push(b);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, note: 'tool result' }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

  const policyDir = mkdtempSync(join(tmpdir(), 'warden-diff-policies-'));
  const starter = join(process.cwd(), 'policies/starter');
  for (const f of readdirSync(starter)) if (f.endsWith('.cedar')) copyFileSync(join(starter, f), join(policyDir, f));
  writeFileSync(join(policyDir, 'differential.cedar'), TEST_POLICIES);

  const timeouts = { connections: 8, connectTimeoutMs: 2000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000 };
  const t = await startTestWarden(
    (c) => {
      c.upstreams = [
        { name: 'cloud', baseUrl: model.url, models: [CLOUD], tier: 'public_cloud', outputRules: ['no_sql', 'no_shell'], canary: true, ...timeouts },
        { name: 'onprem', baseUrl: model.url, models: [PLAIN], tier: 'onprem', ...timeouts },
      ];
      c.policies = { dir: policyDir };
      // The behaviour monitor would (rightly) throttle principals that keep sending injections and secrets;
      // here each row must see only the protection it tests.
      c.monitor.enabled = false;
      c.log.accessLog = false;
      opts.mutate?.(c);
    },
    opts.dataDir ? { dataDir: opts.dataDir } : {},
  );
  const reg = (def: Record<string, unknown>) => t.admin('POST', '/admin/v1/tools', def);
  const schema = { type: 'object', properties: { q: { type: 'string' } }, required: ['q'], additionalProperties: false };
  await reg({ name: 'lookup', description: 'Look something up', risk: 'read', grantees: ['consumers'], input_schema: schema, backend: { type: 'http', url: `${backendUrl}/lookup` }, egress: [backendUrl] });
  await reg({ name: 'wipe', description: 'Delete everything', risk: 'destructive', grantees: ['consumers'], input_schema: schema, backend: { type: 'http', url: `${backendUrl}/wipe` }, egress: [backendUrl] });

  const world: World = {
    t,
    model,
    toolHits,
    async principal(id, extra = {}) {
      await t.admin('POST', '/admin/v1/principals', {
        id,
        tenant: 'acme',
        groups: ['consumers', ...(extra.groups ?? [])],
        ...(extra.source_cidrs ? { source_cidrs: extra.source_cidrs } : {}),
        ...(extra.limits ? { limits: extra.limits } : {}),
      });
      return (await t.admin('POST', '/admin/v1/keys', { principal: id, models: ['*'], actions: ['*'] })).key as string;
    },
    async approvalOf(key) {
      const r = await t.call('inference', 'POST', '/v1/tools/wipe/invoke', { key, body: { arguments: { q: 'all' } } });
      if (r.status !== 202) throw new Error(`setup: the destructive tool was not held for approval: ${r.status} ${r.text}`);
      return r.json.approval.id as string;
    },
    chat: (key, body) => t.call('inference', 'POST', '/v1/chat/completions', { key, body }),
    complete: (key, body) => t.call('inference', 'POST', '/v1/completions', { key, body }),
    async stop() {
      await t.stop();
      await model.close();
      backend.closeAllConnections();
      await new Promise<void>((r) => backend.close(() => r()));
      rmSync(policyDir, { recursive: true, force: true });
    },
  };
  return world;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
/** MCP Streamable HTTP requires a client to accept both JSON and SSE answers. */
const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };

export type Framing = 'buffered' | 'streamed';

/**
 * The smallest served request per route, for a caller holding `key` (absent: no credential). `approval`
 * names an existing approval; `deployment` a confidential deployment (attestation routes).
 */
export function probe(w: World, route: RouteName, key: string | undefined, ctx: { framing?: Framing; approval?: string; deployment?: string; nonceEvidence?: () => Promise<Record<string, unknown>> } = {}): Promise<Resp> {
  const stream = ctx.framing === 'streamed';
  const k = key !== undefined ? { key } : {};
  const t = w.t;
  switch (route) {
    case 'chat':
      return t.call('inference', 'POST', '/v1/chat/completions', { ...k, body: { model: PLAIN, stream, messages: [{ role: 'user', content: 'answer:plain' }] } });
    case 'completions':
      return t.call('inference', 'POST', '/v1/completions', { ...k, body: { model: PLAIN, stream, prompt: 'answer:plain' } });
    case 'embeddings':
      return t.call('inference', 'POST', '/v1/embeddings', { ...k, body: { model: PLAIN, input: 'hello' } });
    case 'models':
      return t.call('inference', 'GET', '/v1/models', k);
    case 'token': {
      const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: key ?? '', subject_token_type: ACCESS_TOKEN, scope: 'chat' });
      return t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    }
    case 'tools.list':
      return t.call('inference', 'GET', '/v1/tools', k);
    case 'tools.invoke':
      return t.call('inference', 'POST', '/v1/tools/lookup/invoke', { ...k, body: { arguments: { q: 'x' } } });
    case 'tools.approval':
      return t.call('inference', 'GET', `/v1/tools/approvals/${ctx.approval ?? 'apr_missing'}`, k);
    case 'tools.jwks':
      return t.call('inference', 'GET', '/v1/tools/jwks', k);
    case 'mcp':
      return t.call('inference', 'POST', '/mcp', { ...k, headers: MCP_HEADERS, body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'lookup', arguments: { q: 'x' } } } });
    case 'mcp.metadata':
      return t.call('inference', 'GET', '/.well-known/oauth-protected-resource/mcp', k);
    case 'oauth.metadata':
      return t.call('inference', 'GET', '/.well-known/oauth-authorization-server', k);
    case 'a2a':
      return t.call('inference', 'POST', '/a2a/none', { ...k, body: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } } });
    case 'a2a.card':
      return t.call('inference', 'GET', '/a2a/none/.well-known/agent-card.json', k);
    case 'datasets.records':
      return t.call('inference', 'GET', '/v1/datasets/none/records?file=train.jsonl', k);
    case 'attestation.challenge':
      return t.call('inference', 'POST', '/v1/attestation/challenge', { body: { deployment: ctx.deployment ?? 'dep_missing' } });
    case 'vector_stores.list':
      return t.call('inference', 'GET', '/v1/vector_stores', k);
    // Served with a store and a writer: test/data/retrieval/search.test.ts (this world has neither).
    case 'vector_stores.create':
      return t.call('inference', 'POST', '/v1/vector_stores', { ...k, body: { name: 'probe', embedding_model: PLAIN } });
    case 'vector_stores.get':
    case 'vector_stores.delete':
      return t.call('inference', route === 'vector_stores.get' ? 'GET' : 'DELETE', '/v1/vector_stores/vs_missing', k);
    case 'vector_stores.files.add':
      return t.call('inference', 'POST', '/v1/vector_stores/vs_missing/files', { ...k, body: { content: 'x' } });
    case 'vector_stores.files.list':
      return t.call('inference', 'GET', '/v1/vector_stores/vs_missing/files', k);
    case 'vector_stores.files.get':
      return t.call('inference', 'GET', '/v1/vector_stores/vs_missing/files/file-missing', k);
    case 'files.list':
      return t.call('inference', 'GET', '/v1/files', k);
    case 'files.upload':
      return multipart({ purpose: 'assistants', file: { name: 'probe.txt', bytes: 'probe text' } }).then((m) => t.call('inference', 'POST', '/v1/files', { ...k, ...m }));
    case 'files.get':
    case 'files.delete':
      return t.call('inference', route === 'files.get' ? 'GET' : 'DELETE', '/v1/files/file-missing', k);
    case 'files.content':
      return t.call('inference', 'GET', '/v1/files/file-missing/content', k);
    case 'vector_stores.search':
      return t.call('inference', 'POST', '/v1/vector_stores/vs_missing/search', { ...k, body: { query: 'x' } });
    case 'attestation.key':
      return (async () => t.call('inference', 'POST', '/v1/attestation/key', { body: { deployment: ctx.deployment ?? 'dep_missing', ...(ctx.nonceEvidence ? await ctx.nonceEvidence() : {}) } }))();
  }
}

/** The MCP `tools/list` message (not mediated per call: the listing path of /mcp). */
export function mcpList(w: World, key: string): Promise<Resp> {
  return w.t.call('inference', 'POST', '/mcp', { key, headers: MCP_HEADERS, body: { jsonrpc: '2.0', id: 2, method: 'tools/list' } });
}

/** Whether a probe's answer is the served answer of that route (not a refusal, not an error inside a 200). */
export function served(route: RouteName, r: Resp): boolean {
  if (route === 'tools.invoke') return r.status === 200 && r.json?.is_error === false;
  if (route === 'mcp') return r.status === 200 && r.json?.result !== undefined && r.json.result.isError !== true;
  if (route === 'chat' || route === 'completions') return r.status === 200 && !/"error"/.test(r.text);
  return r.status === 200;
}

/**
 * The error code of a refusal. /v1/token answers in the OAuth shape (RFC 6749 §5.2: `error` is a string);
 * everything else in Warden's `{error:{code}}`.
 */
export function errorCode(r: Resp): string | undefined {
  const e = r.json?.error;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof e.code === 'string') return e.code;
  return undefined;
}

/** SSE events of a streamed answer: parsed `data:` payloads (JSON or the raw string, e.g. `[DONE]`). */
export function sseData(text: string): unknown[] {
  const out: unknown[] = [];
  for (const ev of text.split(/\n\n/)) {
    const data = ev
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) continue;
    try {
      out.push(JSON.parse(data));
    } catch {
      out.push(data);
    }
  }
  return out;
}

export interface Delivered {
  /** The answer text the client received (content / text), joined over chunks. */
  text: string;
  reasoning: string;
  refusal: string;
  /** logprob tokens the client received. */
  logprobTokens: string[];
  /** The error code of an in-stream error event, if any. */
  streamError: string | undefined;
  done: boolean;
}

/** What a client reads out of an answer, buffered (JSON) or streamed (SSE), chat or completions. */
export function delivered(r: Resp): Delivered {
  const d: Delivered = { text: '', reasoning: '', refusal: '', logprobTokens: [], streamError: undefined, done: false };
  const streamed = String(r.headers['content-type'] ?? '').includes('text/event-stream');
  const docs = streamed ? sseData(r.text) : [r.json];
  for (const doc of docs) {
    if (doc === '[DONE]') {
      d.done = true;
      continue;
    }
    if (!doc || typeof doc !== 'object') continue;
    const o = doc as { error?: { code?: string }; choices?: Record<string, any>[] };
    if (o.error && streamed) d.streamError = o.error.code;
    for (const c of o.choices ?? []) {
      const m = c.message ?? c.delta ?? {};
      if (typeof m.content === 'string') d.text += m.content;
      if (typeof c.text === 'string') d.text += c.text;
      if (typeof m.reasoning_content === 'string') d.reasoning += m.reasoning_content;
      if (typeof m.refusal === 'string') d.refusal += m.refusal;
      for (const lp of c.logprobs?.content ?? []) if (typeof lp?.token === 'string') d.logprobTokens.push(lp.token);
      for (const tok of c.logprobs?.tokens ?? []) if (typeof tok === 'string') d.logprobTokens.push(tok);
    }
  }
  return d;
}

/** Alphanumerics only, upper-cased: how the canary detector reads text (letters spread out still match). */
export function squeeze(s: string): string {
  return s.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
}
