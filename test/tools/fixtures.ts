// A real Warden (startTestWarden) with the tools plane, real backends (HTTP + an MCP server built with
// the official SDK), an attacker's server that counts what reaches it, an OIDC issuer for the approver's
// MFA step-up, and helpers for delegated tokens and calls. Documents come from the BIPIA benchmark.
import type { WardenConfig } from '../../src/config/config.js';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { fetch as undiciFetch } from 'undici';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { startMfaIdp } from '../helpers/mfa-idp.js';
import { testdata } from '../helpers/testdata.js';
import type { Clock } from '../../src/core/clock.js';

export interface Hit { path: string; body: string; credential: JWTPayload | null; credentialError: string | null }

function listen(server: Server, host = '127.0.0.1'): Promise<string> {
  return new Promise((ok) => server.listen(0, host, () => ok(`http://${host}:${(server.address() as AddressInfo).port}`)));
}

function readBodyText(req: IncomingMessage): Promise<string> {
  return new Promise((ok) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => ok(b));
  });
}

export const BIPIA_EMAILS: { context: string; question: string }[] = readFileSync(testdata('prompt_injection/extra/bipia/benchmark/email/test.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { context: string; question: string });

/** BIPIA text-attack payloads (indirect injection instructions), flattened. */
export const BIPIA_ATTACKS: string[] = Object.values(JSON.parse(readFileSync(testdata('prompt_injection/extra/bipia/benchmark/text_attack_test.json'), 'utf8')) as Record<string, string[]>).flat();

export const ORDERS: Record<string, { id: string; item: string }[]> = {
  alice: [{ id: 'o-1', item: 'tea' }],
  bob: [{ id: 'o-2', item: 'coffee' }],
  carol: [{ id: 'o-3', item: 'cocoa' }],
};

export interface ToolsWorld {
  t: TestWarden;
  backendUrl: string;
  attackerUrl: string;
  mcpUrl: string;
  backendHits: Hit[];
  attackerHits: Hit[];
  /** Documents served by fetch_doc, by id. */
  docs: Map<string, string>;
  keys: { alice: string; carol: string; agent: string; bob: string; rogueAgent: string };
  /** A delegated token (subject user key, actor agent key) from /v1/token. */
  delegate(userKey: string, agentKey: string, scope?: string, ttl?: number): Promise<string>;
  invoke(token: string, tool: string, args: unknown, approvalId?: string): Promise<{ status: number; json: any; requestId: string }>;
  /** An MFA token of `sub` from the approvers' IdP; `groups` overrides the groups claim (bob: operators, others: none). */
  mfaToken(sub: string, authTimeSec?: number, groups?: string[]): Promise<string>;
  mcpFetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  stop(): Promise<void>;
}

/** The CLI pointed at the world's admin listener as its admin (environment), and what it prints. */
export function cliIo(w: ToolsWorld) {
  const out: string[] = [];
  process.env.WARDEN_ADMIN_KEY = w.t.adminKey;
  process.env.WARDEN_ADMIN_URL = w.t.w.adminUrl;
  process.env.WARDEN_CA = w.t.w.caPemPath;
  return { out, io: { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) } };
}

export const TEST_POLICY = `
// Tools test policies (beside the starter set).
// Orders: alice and carol read only their own orders (args carry customer_id).
@id("orders-alice-own-only")
forbid (principal == User::"alice", action == Action::"callTool", resource == Tool::"orders_lookup")
when { context has args && !context.args.contains({ name: "customer_id", value: "alice" }) };

@id("orders-carol-own-only")
forbid (principal == User::"carol", action == Action::"callTool", resource == Tool::"orders_lookup")
when { context has args && !context.args.contains({ name: "customer_id", value: "carol" }) };

// Code sandbox: carol's runs must say their language (a policy on the arguments of a sandbox tool).
@id("code-carol-language-explicit")
forbid (principal == User::"carol", action == Action::"callTool", resource == Tool::"code_run")
when { context has args && !context.args.contains({ name: "language", value: "javascript" }) };

// Tools reachable only through an agent that acts for a person (or by the person directly).
@id("tools-agents-only-delegated")
forbid (principal is Agent, action == Action::"callTool", resource);

// A fetched document that carries a secret is withheld: a rule on the result's findings (findings.fromToolResult).
@id("fetched-documents-no-secrets")
forbid (principal, action == Action::"callTool", resource == Tool::"fetch_doc")
when { context.findings.fromToolResult && context.findings.secretFound };
`;

export async function startToolsWorld(opts: { clock?: Clock; mutate?: (c: WardenConfig) => void } = {}): Promise<ToolsWorld> {
  const backendHits: Hit[] = [];
  const attackerHits: Hit[] = [];
  const docs = new Map<string, string>();
  let jwks: ReturnType<typeof createLocalJWKSet> | null = null;
  let backendUrl = '';
  let wardenOrigin = '';

  const verify = async (req: IncomingMessage, audience: string): Promise<{ credential: JWTPayload | null; credentialError: string | null }> => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m || !jwks) return { credential: null, credentialError: 'missing' };
    try {
      const { payload } = await jwtVerify(m[1]!, jwks, { issuer: wardenOrigin, audience, typ: 'wardentool+jwt', ...(opts.clock ? { currentDate: new Date(opts.clock.now()) } : {}) });
      return { credential: payload, credentialError: null };
    } catch (e) {
      return { credential: null, credentialError: (e as Error).message };
    }
  };

  const backend = createServer((req, res) => void (async () => {
    const body = await readBodyText(req);
    const v = await verify(req, backendUrl);
    backendHits.push({ path: req.url ?? '', body, ...v });
    const json = (status: number, x: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(x));
    };
    if (!v.credential) return json(401, { error: 'credential rejected: ' + v.credentialError });
    const args = body ? (JSON.parse(body) as Record<string, string>) : {};
    const path = (req.url ?? '').split('?')[0];
    if (path === '/orders') return json(200, { customer_id: args.customer_id, orders: ORDERS[args.customer_id!] ?? [] });
    if (path === '/docs') return json(200, { doc_id: args.doc_id, text: docs.get(args.doc_id!) ?? '' });
    if (path === '/records/delete') return json(200, { deleted: args.record_id });
    if (path === '/page') return json(200, { text: 'public page' });
    if (path === '/redirect') {
      res.writeHead(302, { location: `${attackerUrl}/collect` });
      return res.end();
    }
    json(404, { error: 'no such path' });
  })());
  backendUrl = await listen(backend);

  const attacker = createServer((req, res) => void (async () => {
    attackerHits.push({ path: req.url ?? '', body: await readBodyText(req), credential: null, credentialError: null });
    res.end('ok');
  })());
  const attackerUrl = await listen(attacker);

  // An MCP server (official SDK, stateless Streamable HTTP) with one tool; it checks the per-call credential too.
  let mcpBase = '';
  const mcpHttp = createServer((req, res: ServerResponse) => void (async () => {
    const raw = await readBodyText(req);
    const v = await verify(req, mcpBase);
    backendHits.push({ path: '/mcp' + (raw.includes('tools/call') ? '#call' : ''), body: raw, ...v });
    if (!v.credential) {
      res.writeHead(401).end();
      return;
    }
    const server = new McpServer({ name: 'weather', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [{ name: 'forecast', inputSchema: { type: 'object' as const, properties: { city: { type: 'string' } } } }] }));
    server.setRequestHandler(CallToolRequestSchema, (r) => ({ content: [{ type: 'text' as const, text: `Sunny in ${String(r.params.arguments?.city)}` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport as never);
    await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
  })());
  mcpBase = await listen(mcpHttp);

  // The approvers' identity provider (OIDC, for the MFA step-up only).
  const idp = await startMfaIdp();

  const policyDir = mkdtempSync(join(tmpdir(), 'warden-tools-policies-'));
  const starter = join(process.cwd(), 'policies/starter');
  for (const f of readdirSync(starter)) if (f.endsWith('.cedar')) copyFileSync(join(starter, f), join(policyDir, f));
  writeFileSync(join(policyDir, 'tools-test.cedar'), TEST_POLICY);

  const t = await startTestWarden(
    (c) => {
      c.policies = { dir: policyDir };
      c.oidc.issuers = [idp.oidcIssuer];
      opts.mutate?.(c);
    },
    opts.clock ? { clock: opts.clock } : {},
  );
  wardenOrigin = t.w.inferenceUrl;
  // The backends pin Warden's per-call credential keys (JWKS served at /v1/tools/jwks).
  const jwksDoc = (await t.call('inference', 'GET', '/v1/tools/jwks')).json as { keys: Record<string, unknown>[] };
  jwks = createLocalJWKSet(jwksDoc as never);

  const keys = {
    alice: (await t.keyFor('alice', ['*'], ['callTool'], { groups: ['consumers'] })).key,
    carol: (await t.keyFor('carol', ['*'], ['callTool'], { groups: ['consumers'] })).key,
    agent: '',
    rogueAgent: '',
    bob: '',
  };
  await t.admin('POST', '/admin/v1/principals', { id: 'agent-1', kind: 'agent', tenant: 'acme', groups: [] });
  keys.agent = (await t.admin('POST', '/admin/v1/keys', { principal: 'agent-1', models: ['*'], actions: ['*'] })).key;
  await t.admin('POST', '/admin/v1/principals', { id: 'agent-rogue', kind: 'agent', tenant: 'acme', groups: ['consumers'] });
  keys.rogueAgent = (await t.admin('POST', '/admin/v1/keys', { principal: 'agent-rogue', models: ['*'], actions: ['*'] })).key;
  await t.admin('POST', '/admin/v1/principals', { id: 'bob', kind: 'user', tenant: 'acme', groups: ['operators'], admin: true });
  // The operator's admin key: '*' (API-key scopes hold no admin actions; those need bob's MFA step-up).
  keys.bob = (await t.admin('POST', '/admin/v1/keys', { principal: 'bob', models: ['*'], actions: ['*'] })).key;

  const reg = (def: Record<string, unknown>) => t.admin('POST', '/admin/v1/tools', def);
  await reg({ name: 'orders_lookup', description: 'Orders of a customer', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object', properties: { customer_id: { type: 'string', pattern: '^[a-z]+$' } }, required: ['customer_id'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/orders` }, egress: [backendUrl] });
  await reg({ name: 'fetch_doc', description: 'Fetch a document', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object', properties: { doc_id: { type: 'string' } }, required: ['doc_id'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/docs` }, egress: [backendUrl] });
  await reg({ name: 'http_get', description: 'GET a web page', risk: 'external', grantees: ['consumers'], input_schema: { type: 'object', properties: { url: { type: 'string', format: 'uri' } }, required: ['url'], additionalProperties: false }, backend: { type: 'http', url: '{url}', method: 'GET' }, egress: [backendUrl] });
  await reg({ name: 'delete_record', description: 'Delete a record', risk: 'destructive', grantees: ['consumers'], input_schema: { type: 'object', properties: { record_id: { type: 'string' } }, required: ['record_id'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/records/delete` }, egress: [backendUrl] });
  await reg({ name: 'weather', description: 'Weather forecast (MCP)', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, backend: { type: 'mcp', url: `${mcpBase}/mcp`, tool: 'forecast' }, egress: [mcpBase] });

  const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const AT = 'urn:ietf:params:oauth:token-type:access_token';
  return {
    t,
    backendUrl,
    attackerUrl,
    mcpUrl: mcpBase,
    backendHits,
    attackerHits,
    docs,
    keys,
    async delegate(userKey, agentKey, scope = 'callTool', ttl) {
      const form = new URLSearchParams({ grant_type: TE, subject_token: userKey, subject_token_type: AT, actor_token: agentKey, actor_token_type: AT, scope, ...(ttl ? { expires_in: String(ttl) } : {}) });
      const r = await t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      if (r.status !== 200) throw new Error(`token exchange failed: ${r.status} ${r.text}`);
      return r.json.access_token as string;
    },
    async invoke(token, tool, args, approvalId) {
      const r = await t.call('inference', 'POST', `/v1/tools/${tool}/invoke`, { key: token, body: { arguments: args, ...(approvalId ? { approval_id: approvalId } : {}) } });
      return { status: r.status, json: r.json, requestId: String(r.headers['x-request-id']) };
    },
    mfaToken: (sub, authTimeSec, groups) => idp.mfaToken(sub, Math.floor((opts.clock?.now() ?? Date.now()) / 1000), authTimeSec, groups),
    mcpFetch: (url, init) => undiciFetch(url, { ...(init as object), dispatcher: t.agent } as never) as unknown as Promise<Response>,
    async stop() {
      await t.stop();
      for (const s of [backend, attacker, mcpHttp]) s.close();
      idp.close();
    },
  };
}

