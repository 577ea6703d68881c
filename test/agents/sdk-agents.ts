// LABELLED FAKE EXTERNAL AGENTS for the A2A gateway tests: small agents built with the official @a2a-js/sdk
// server side (DefaultRequestHandler + JsonRpcTransportHandler, served here with node:http since the SDK's own
// HTTP adapter needs express), and a client built with the SDK's client side that reaches Warden over TLS.
// Nothing here is Warden code: these stand for agents and callers outside Warden.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { AGENT_CARD_PATH, formatSSEErrorEvent, formatSSEEvent, SSE_HEADERS, type AgentCard, type Message } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, defaultServerCallContextBuilder, InMemoryTaskStore, JsonRpcTransportHandler, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';

export interface SkillDef { id: string; description: string; tags?: string[] }

export interface FakeAgent {
  url: string;
  origin: string;
  /** Bearer tokens the agent received, in order (the JIT tokens Warden minted for it). */
  tokens: string[];
  /** The card served at the well-known path; a test may change it (a "rug pull"). */
  card: AgentCard;
  /** Requests that reached the JSON-RPC endpoint. */
  calls: number;
  close(): void;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => ok(b));
  });
}

export function agentCard(name: string, url: string, skills: SkillDef[]): AgentCard {
  return {
    name,
    description: `${name}: a test agent`,
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false } as never,
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: skills.map((s) => ({ id: s.id, name: s.id, description: s.description, tags: s.tags ?? [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] })),
    signatures: [],
  };
}

export function textMessage(text: string, extra: Partial<Message> = {}): Message {
  return { messageId: `m-${Math.random().toString(36).slice(2)}`, contextId: '', taskId: '', role: 1 as never, parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [], ...extra };
}

export function partText(m: { parts: { content?: { $case: string; value: unknown } }[] } | undefined): string {
  return (m?.parts ?? []).map((p) => (p.content?.$case === 'text' ? String(p.content.value) : '')).join('');
}

/** Serves an SDK request handler over node:http: the card at the well-known path, JSON-RPC (JSON or SSE) at /rpc. */
export async function startSdkAgent(name: string, skills: SkillDef[], execute: (ctx: RequestContext, bus: ExecutionEventBus, token: string) => Promise<void>): Promise<FakeAgent> {
  const state: FakeAgent = { url: '', origin: '', tokens: [], card: null as unknown as AgentCard, calls: 0, close: () => undefined };
  let currentToken = '';
  const executor: AgentExecutor = {
    execute: (ctx, bus) => execute(ctx, bus, String(ctx.context.state.get('warden-token') ?? currentToken)),
    cancelTask: async (taskId, bus) => {
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', status: { state: 5 as never, message: undefined, timestamp: undefined }, metadata: undefined } as never));
      bus.finished();
    },
  };
  const server: Server = createServer((req, res) => void (async () => {
    if (req.method === 'GET' && req.url === `/${AGENT_CARD_PATH}`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.card));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/rpc') {
      res.writeHead(404).end();
      return;
    }
    state.calls++;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    state.tokens.push(token);
    currentToken = token;
    const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    const handler = new DefaultRequestHandler(state.card, store, executor);
    const context = defaultServerCallContextBuilder({ extensions: undefined, user: undefined, headers: req.headers as never, requestedVersion: (req.headers['a2a-version'] as string | undefined) ?? '1.0' });
    context.state.set('warden-token', token);
    const out = await new JsonRpcTransportHandler(handler).handle(body, context);
    if (out && typeof (out as AsyncGenerator)[Symbol.asyncIterator] === 'function') {
      res.writeHead(200, SSE_HEADERS);
      try {
        for await (const ev of out as AsyncGenerator) res.write(formatSSEEvent(ev));
      } catch (e) {
        res.write(formatSSEErrorEvent({ jsonrpc: '2.0', id: body.id ?? null, error: { code: -32603, message: (e as Error).message } }));
      }
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  })().catch((e: unknown) => {
    res.writeHead(500).end(String(e));
  }));
  const store = new InMemoryTaskStore();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.url = `${state.origin}/rpc`;
  state.card = agentCard(name, state.url, skills);
  state.close = () => void server.close();
  return state;
}

/** A fetch that reaches Warden (its test CA) with a bearer credential. */
export function wardenFetch(ca: string, token: string | null): typeof fetch {
  const dispatcher = new UndiciAgent({ connect: { ca } });
  return ((url: string | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    return undiciFetch(url as string, { ...(init as object), headers, dispatcher } as never);
  }) as unknown as typeof fetch;
}

/** An SDK client for an agent behind Warden: its card is read at /a2a/{id}/.well-known/agent-card.json. */
export function sdkClient(base: string, fetchImpl: typeof fetch): Promise<Client> {
  const factory = new ClientFactory({ ...ClientFactoryOptions.default, transports: [new JsonRpcTransportFactory({ fetchImpl })], cardResolver: new DefaultAgentCardResolver({ fetchImpl }) });
  // The card path resolves against the base as a directory: /a2a/{id}/.well-known/agent-card.json.
  return factory.createFromUrl(base.endsWith('/') ? base : `${base}/`);
}
