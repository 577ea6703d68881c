// The policy enforcement point on the inference listener. Every route is declared in routes.ts and gets its
// list of stages here; one runner (pipeline.ts) runs them, and every error goes to one failure path (fail)
// that writes exactly one audit entry. Identity, network (source, rate, concurrency, tokens, the monitor's
// throttle), body parsing, inspection, policy and routing are the same stages on every route that has a
// principal, so a protection added once holds on chat, completions, embeddings, models, token, tools and MCP.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, FailClosed, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, UpstreamError, WardenError } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import { sha256Digest } from '../core/digest.js';
import type { Action, AuditEvent, Classification, Finding, Findings, Principal, RouteRequirement } from '../core/types.js';
import type { Limiter, Limits } from '../network/limits.js';
import { clientAddress } from '../network/source.js';
import { CHALLENGE } from '../http/credentials.js';
import { parseJson, parseJsonObject } from '../http/json.js';
import type { ExchangeInput, ExchangeResult, TokenExchangeRequest } from '../identity/index.js';
import type { AuditSink } from '../core/audit-sink.js';
import { requestEvent } from './audit.js';
import type { Authorizer } from '../policy/authorizer.js';
import type { Endpoint, ModelEndpoint, RequestContext, RequestTracing } from './context.js';
import { readBody } from '../http/body.js';
import { sendBytes, sendError, sendJson } from '../http/respond.js';
import type { Metrics } from './metrics.js';
import { GEN_AI_OPERATION } from '../telemetry/genai.js';
import { AnswerGuard, DEFAULT_SCHEME, OutputBlocked, type ClassificationScheme } from '../inspect/index.js';
import { withCanary } from './output.js';
import { runStages, stage, type Stage } from './pipeline.js';
import type { UnauthenticatedRefusals } from './refusals.js';
import { INFERENCE_ROUTES, type RetrievalRouteName, type RouteDecl, type RouteName } from './routes.js';
import { eventData, SseSplitter } from './sse.js';
import { createBearerVerifier, createIdentityStage, dpopHeader, type CredentialVerifiers } from './stages/identity.js';
import { createNetworkStage } from './stages/network.js';
import { createBudgetContextStage, createBudgetStage } from './stages/budget.js';
import type { Budgets, Usage } from '../network/budgets.js';
import { MAX_TOKEN_FIELDS } from './stages/obligations.js';
import { createPolicyStage, type ObligationEnforcers } from './stages/policy.js';
import { createRouteStage } from './stages/route.js';
import { StreamToolCallGate } from './stream-tool-calls.js';
import { callUpstream, discardUpstreamBody, readUpstreamBody, UpstreamAbort, upstreamStatusError, upstreamStreamError, type UpstreamTarget } from '../network/upstream.js';
import type { UpstreamShare } from '../network/upstream-share.js';
import { validateModelRequest } from './validate.js';
import { externalRequest, type CheckOutcome, type ExternalCheck } from './external-check.js';

export interface ModelInfo {
  id: string;
  ownedBy: string;
  demo: boolean;
}

/** Content inspection as the gateway sees it (implemented in src/inspect). */
export interface Inspector {
  inspectRequest(endpoint: ModelEndpoint, body: Record<string, unknown>): Findings;
}

/** The tools plane's handlers, called once the gateway's stages have authenticated and admitted the caller. */
export interface ToolRoutes {
  /** GET /v1/tools: the tools the caller may call. */
  list(p: Principal, sourceIp: string): unknown;
  /** GET /v1/tools/approvals/{id}: the caller's own approval request. */
  approval(p: Principal, id: string): Promise<unknown>;
  /** GET /v1/tools/jwks (public): keys that verify per-call backend credentials. */
  jwks(): Promise<unknown>;
  /** GET /.well-known/oauth-protected-resource[/mcp] (public, RFC 9728): the document for that resource path. */
  metadata(path: string): unknown;
  /** POST /v1/tools/{name}/invoke: mediated (the mediator writes the ledger entry of the call). */
  invoke(call: { principal: Principal; tool: string; body: Record<string, unknown>; sourceIp: string; requestId: string; prefer: string | string[] | undefined; approvalHeader: string | string[] | undefined; gone: AbortSignal }): Promise<{ status: number; body: unknown; headers: Record<string, string> } | null>;
  /** POST /mcp: the MCP gateway (tools/call mediated and recorded by the mediator). */
  mcp(req: IncomingMessage, res: ServerResponse, body: unknown, c: { principal: Principal; sourceIp: string; requestId: string }): Promise<void>;
  /** The RFC 9728 metadata URL an MCP client is pointed at by a 401. */
  resourceMetadataUrl: string;
}

/** The A2A plane's handlers (src/agents), called once the gateway's stages have authenticated and admitted the caller. */
export interface AgentRoutes {
  /** GET /a2a/{id}/.well-known/agent-card.json: the pinned card, pointing through Warden. */
  card(p: Principal, id: string): Promise<Record<string, unknown>>;
  /** POST /a2a/{id}: a mediated call; the plane answers and writes the call's ledger entry itself. */
  serve(call: { principal: Principal; sourceIp: string; requestId: string; agentId: string; body: Buffer; headers: IncomingMessage['headers'] }, res: ServerResponse): Promise<void>;
}

/** The retrieval plane's handlers (src/data/retrieval), called once identity and network admitted the caller. */
export interface RetrievalRoutes {
  serve(
    route: RetrievalRouteName,
    call: {
      principal: Principal;
      sourceIp: string;
      /** /v1/embeddings for this caller through the model stages (policy on the model, routing, budget, its own entry). */
      embed(model: string, input: string[], classification?: Classification): Promise<number[][]>;
      decided(d: import('../core/types.js').Decision, resource: { type: 'VectorStore' | 'Upload'; id: string }): void;
    },
    param: string | undefined,
    body: Record<string, unknown>,
    /** The raw body and its type, for the one route that is not JSON (POST /v1/files, multipart). */
    raw?: { bytes: Buffer; contentType: string | undefined },
  ): Promise<{ status: number; body: unknown; details: Record<string, string | number | boolean>; content?: { bytes: Buffer; type: string } }>;
}

export interface GatewayDeps {
  /** OpenTelemetry traces (telemetry.traces); absent: no trace is started and nothing is measured. */
  tracing?: RequestTracing;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  verifiers: CredentialVerifiers;
  limiter: Limiter;
  limits: Limits;
  maxBodyBytes: number;
  authorizer: Authorizer;
  routes: Map<string, UpstreamTarget>;
  models: ModelInfo[];
  audit: AuditSink;
  inspector?: Inspector;
  obligations?: ObligationEnforcers;
  accessLog: boolean;
  /** Public origin of the listener (for RFC 9421 @target-uri), e.g. https://127.0.0.1:8443 */
  publicOrigin: string;
  /**
   * Route stage replacement/extension from the workload plane: given the context (model, obligations),
   * set ctx.target (and ctx.deployment) or throw. Absent: the config routes only.
   */
  routeWith?: (ctx: RequestContext, fallback: (ctx: RequestContext) => void) => void;
  /**
   * Checks what the upstream says it served (headers) before any byte of the answer is released:
   * e.g. the artifact digest of a pinned deployment. Throws to withhold the response.
   */
  verifyServed?: (ctx: RequestContext, headers: Record<string, string | string[] | undefined>) => Promise<void>;
  /**
   * "The model proposes; the PDP disposes": tool calls a model proposes in a chat answer are re-authorized
   * for the caller and the ones it may not execute are removed or marked (tools plane).
   */
  filterToolCalls?: (ctx: RequestContext, json: unknown) => { json: unknown; changed: boolean };
  /** Payload retention (when enabled): called before the entry is written, after the answer is final. */
  retain?: (ctx: RequestContext, response: Buffer) => Promise<void>;
  /** The monitor plane: admits (or throttles) a principal before any other work, and hears of every answered request. */
  monitor?: { admit(p: Principal): void | Promise<void>; observe(ctx: RequestContext, event: AuditEvent): void; observeAnswer?(ctx: RequestContext, answer: unknown, findings: readonly Finding[]): void; observeStreamedAnswer?(ctx: RequestContext, events: readonly string[], findings: readonly Finding[]): void };
  /**
   * RFC 8693 token exchange at /v1/token (absent: the endpoint answers 404), and the RFC 8414 metadata that
   * describes it at /.well-known/oauth-authorization-server.
   */
  tokens?: { parse(body: Buffer): TokenExchangeRequest; exchange(input: ExchangeInput): Promise<ExchangeResult>; metadata?(): unknown };
  /** Token and cost budgets, reserved before the upstream call and settled after (absent: none). */
  budgets?: { budgets: Budgets; defaultMaxTokens: number };
  /** Each principal's share of an upstream's connection pool (absent: no share is enforced). */
  upstreamShare?: UpstreamShare;
  /** The tools plane (absent: its routes answer 404). */
  tools?: ToolRoutes;
  /** The A2A plane (absent: /a2a answers 404). */
  agents?: AgentRoutes;
  /**
   * Placement by classification and tenant residency (src/data/placement.ts): route requirements added before
   * routing; the request's class is the inspector's (unknown without an inspector: judged as the highest level).
   */
  placementFor?: (classification: Classification, tenant: string) => RouteRequirement[];
  /** The configured classification levels (warden.yaml `classification`; absent: the four built-in ones). */
  classification?: ClassificationScheme;
  /** The retrieval plane (absent: /v1/vector_stores answers 404). */
  retrieval?: RetrievalRoutes;
  /**
   * The data plane's read API, GET /v1/datasets/{id}/records: the plane authorizes the read (training token,
   * trainOn) and writes its ledger entry, allow or deny (absent: 404).
   */
  datasets?: { read(call: { principal: Principal; sourceIp: string; requestId: string; datasetId: string; query: URLSearchParams }): Promise<unknown> };
  /** Accounting (and a per-source budget) for refusals of requests that never had a principal. */
  refusals?: UnauthenticatedRefusals;
  /** The workload plane's attestation routes (they authenticate by evidence, and limit per source). */
  attestation?: (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<boolean>;
}

/** What a route does once its stages have passed. */
interface RouteHandler {
  stages: readonly Stage[];
  respond(ctx: RequestContext, res: ServerResponse, param: string | undefined): Promise<void>;
  /** Ends outside the runner's audit (public documents, and routes whose plane records its own entries). */
  unaudited?: boolean;
}

const UPSTREAM_PATHS: Record<ModelEndpoint, string> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' };
const USE_ACTIONS: Action[] = ['chat', 'complete', 'embed'];
const EMPTY = Buffer.alloc(0);
/** Event data of a streamed answer the monitor profiles at most (characters of the upstream's `data:` payloads). */
const STREAM_PROFILE_CHARS = 1 << 20;

function usageTokens(json: unknown): number {
  const u = (json as { usage?: { total_tokens?: unknown } } | null)?.usage;
  return typeof u?.total_tokens === 'number' && u.total_tokens > 0 ? u.total_tokens : 0;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/** Prompt and completion tokens of an answer's `usage` (OpenAI and Responses-style names), or null. */
function usageSplit(json: unknown): Usage | null {
  const u = (json as { usage?: Record<string, unknown> } | null)?.usage;
  if (!u || typeof u !== 'object') return null;
  const prompt = count(u.prompt_tokens ?? u.input_tokens);
  const completion = count(u.completion_tokens ?? u.output_tokens);
  const total = count(u.total_tokens);
  if (prompt + completion === 0 && total === 0) return null;
  // Only a total: charged as output, the dearer side.
  return prompt + completion > 0 ? { prompt, completion: Math.max(completion, total - prompt) } : { prompt: 0, completion: total };
}


/** The vectors of an OpenAI embeddings answer, in input order; null when it is not one with `n` finite vectors. */
function embeddingVectors(buf: Buffer, n: number): number[][] | null {
  let json: { data?: unknown };
  try {
    json = JSON.parse(buf.toString('utf8')) as { data?: unknown };
  } catch {
    return null;
  }
  if (!json || !Array.isArray(json.data) || json.data.length !== n) return null;
  const out: number[][] = new Array<number[]>(n);
  for (const d of json.data as { index?: unknown; embedding?: unknown }[]) {
    const i = d?.index;
    const v = d?.embedding;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n || out[i] !== undefined) return null;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) return null;
    out[i] = v as number[];
  }
  return out;
}

/** Decodes a path segment; a malformed escape is bad input (400), never a crash. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BadRequest('invalid_path', 'the request path has a malformed percent-escape');
  }
}

export class Gateway {
  private readonly handlers: Map<RouteName, RouteHandler>;
  private readonly bearer;
  /** Upstream calls under way: a shutdown past its drain deadline aborts them with its error (cutInFlight). */
  private readonly inFlight = new Set<UpstreamAbort>();
  /** A model route's stages up to the decision, for ext_authz checks (declared with the routes). */
  private checkStages: readonly Stage[] = [];
  /** An embeddings request's stages after identity and network (for a plane's embeddings on a caller's behalf): up to inspection, then the rest. */
  private embedStages: { inspect: readonly Stage[]; decide: readonly Stage[] } = { inspect: [], decide: [] };

  constructor(private readonly d: GatewayDeps) {
    this.bearer = createBearerVerifier(d.verifiers);
    this.handlers = this.declare();
    if (d.tracing) this.traceStages();
  }

  /** With tracing on, each stage (and the answer, as `upstream` on model routes) first marks its span. */
  private traceStages(): void {
    this.checkStages = this.checkStages.map((s) => stage(s.name, (ctx) => (ctx.trace?.mark(s.name), s.run(ctx))));
    for (const [name, h] of this.handlers) {
      const respond = h.respond;
      const answerSpan = name in UPSTREAM_PATHS ? 'upstream' : 'respond';
      this.handlers.set(name, {
        ...h,
        stages: h.stages.map((s) => stage(s.name, (ctx) => (ctx.trace?.mark(s.name), s.run(ctx)))),
        respond: (ctx, res, param) => (ctx.trace?.mark(answerSpan), respond.call(h, ctx, res, param)),
      });
    }
  }

  /** Each route's stages. A route in INFERENCE_ROUTES without a handler here fails at construction. */
  private declare(): Map<RouteName, RouteHandler> {
    const d = this.d;
    const identityStage = createIdentityStage(d.verifiers, (ctx) => d.publicOrigin + (ctx.req.url ?? '/'), (ctx) => this.readBodyOnce(ctx, d.maxBodyBytes));
    const identity = stage('identity', identityStage);
    // MCP clients discover the authorization server from the challenge (MCP authorization, RFC 9728 §5.1).
    const mcpIdentity = stage('identity', async (ctx) => {
      try {
        await identityStage(ctx);
      } catch (e) {
        if (e instanceof WardenError && e.status === 401 && d.tools) throw new Unauthenticated(e.code, e.message, `${CHALLENGE}, resource_metadata="${d.tools.resourceMetadataUrl}"`, e.reason);
        throw e;
      }
    });
    const networkCheck = createNetworkStage(d.limiter, d.limits);
    const network = stage('network', (ctx) => {
      // A throttled principal is turned away before any other work, on every route.
      const admit = () => d.monitor?.admit(ctx.principal!);
      const pending = networkCheck(ctx); // a promise only with a shared (Redis) limiter
      if (pending) return pending.then(admit);
      return admit(); // a promise only with a shared (Redis) monitor
    });
    const read = stage('read', (ctx) => (ctx.bodyRead ? undefined : this.readBodyOnce(ctx, d.maxBodyBytes)));
    const parseModel = stage('validate', (ctx) => {
      ctx.body = parseJsonObject(ctx.rawBody);
      validateModelRequest(ctx.endpoint as ModelEndpoint, ctx.body);
      ctx.model = ctx.body.model as string;
      ctx.stream = ctx.body.stream === true && ctx.endpoint !== 'embeddings';
    });
    const parseObject = stage('validate', (ctx) => {
      ctx.body = parseJsonObject(ctx.rawBody);
    });
    const inspect = stage('inspect', (ctx) => {
      if (d.inspector) ctx.findings = d.inspector.inspectRequest(ctx.endpoint as ModelEndpoint, ctx.body);
    });
    // The remaining budget is a PDP context attribute: read before policy, on model routes, when budgets exist.
    const budgetContext = d.budgets ? [stage('budget', createBudgetContextStage(d.budgets.budgets))] : [];
    const policy = stage('policy', createPolicyStage(d.authorizer, d.obligations ?? {}, (ctx) => this.policyContext(ctx)));
    const routeStage = createRouteStage(d.routes);
    const route = stage('route', (ctx) => {
      if (d.placementFor) {
        const placed = d.placementFor(ctx.findings?.classification ?? (d.classification ?? DEFAULT_SCHEME).highest, ctx.principal!.tenant);
        if (placed.length > 0) ctx.routeRequirements = [...(ctx.routeRequirements ?? []), ...placed];
      }
      if (d.routeWith) d.routeWith(ctx, routeStage);
      else routeStage(ctx);
      if (ctx.endpoint === 'chat') {
        const planted = withCanary(ctx.body, ctx.target!.output);
        if (planted) ctx.body = planted;
      }
    });

    const budget = d.budgets ? [stage('budget', createBudgetStage(d.budgets.budgets, d.budgets.defaultMaxTokens))] : [];
    // An ext_authz check runs a model route's stages up to the decision: the mesh routes and relays the answer
    // itself, so an obligation that would change the request or judge the answer cannot be kept there.
    const policyStage = policy.run;
    const checkPolicy = stage('policy', (ctx) => {
      const asked = ctx.body;
      const judge = () => {
        // An enforcer copies the body even when it changes nothing (a max_tokens already under the cap): compare what it holds.
        const changed = ctx.body !== asked && JSON.stringify(ctx.body) !== JSON.stringify(asked);
        if (changed || ctx.redactTargets || ctx.routeRequirements || ctx.answerHardening) {
          throw new Forbidden('obligation_needs_proxy', 'the policy attaches an obligation that changes the request or judges the answer, which only Warden\'s inference listener can enforce; send this request there');
        }
      };
      // The policy stage is synchronous today; should it ever decide asynchronously, the check still waits for it.
      const pending = policyStage(ctx);
      if (pending !== undefined) return pending.then(judge);
      judge();
    });
    this.checkStages = [identity, network, read, parseModel, inspect, ...budgetContext, checkPolicy];
    this.embedStages = { inspect: [parseModel, inspect], decide: [...budgetContext, policy, route, ...budget] };
    const model: RouteHandler = { stages: [identity, network, read, parseModel, inspect, ...budgetContext, policy, route, ...budget], respond: (ctx, res) => this.forward(ctx, res) };
    const authed = (stages: Stage[], respond: RouteHandler['respond']): RouteHandler => ({ stages, respond });
    const noTools = (): never => {
      throw new NotFound('route_not_found', 'tool mediation is not enabled on this gateway');
    };
    const h = new Map<RouteName, RouteHandler>([
      ['chat', model],
      ['completions', model],
      ['embeddings', model],
      ['models', authed([identity, network], (ctx, res) => this.listModels(ctx, res))],
      ['token', authed([stage('read', (ctx) => this.readBodyOnce(ctx, 64 * 1024)), stage('identity', (ctx) => this.tokenIdentity(ctx)), network], (ctx, res) => this.exchangeToken(ctx, res))],
      [
        'tools.list',
        authed([identity, network], async (ctx, res) => {
          const answer = (d.tools ?? noTools()).list(ctx.principal!, ctx.sourceIp);
          await this.release(ctx, res, 200, answer);
        }),
      ],
      [
        'tools.approval',
        authed([identity, network], async (ctx, res, id) => {
          const answer = await (d.tools ?? noTools()).approval(ctx.principal!, id!);
          await this.release(ctx, res, 200, answer);
        }),
      ],
      ['tools.invoke', authed([identity, network, read, parseObject], (ctx, res, tool) => this.invokeTool(ctx, res, tool!))],
      ['mcp', authed([mcpIdentity, network, read, stage('validate', (ctx) => void (ctx.mcpBody = parseJson(ctx.rawBody)))], (ctx, res) => this.mcp(ctx, res))],
      [
        'a2a.card',
        authed([identity, network], async (ctx, res, id) => {
          if (!d.agents) throw new NotFound('route_not_found', 'the A2A gateway is not enabled on this gateway');
          await this.release(ctx, res, 200, await d.agents.card(ctx.principal!, id!));
        }),
      ],
      ['a2a', authed([identity, network, read], (ctx, res, id) => this.a2a(ctx, res, id!))],
      // Retrieval: the plane decides the store (and each chunk) with the PDP; every answer is one entry.
      ...(['vector_stores.create', 'vector_stores.files.add', 'vector_stores.search'] as const).map((n): [RouteName, RouteHandler] => [n, authed([identity, network, read, parseObject], (ctx, res, id) => this.retrieval(n, ctx, res, id))]),
      ['files.upload', authed([identity, network, read], (ctx, res) => this.retrieval('files.upload', ctx, res, undefined))],
      ...(['vector_stores.list', 'vector_stores.get', 'vector_stores.delete', 'vector_stores.files.list', 'vector_stores.files.get', 'files.list', 'files.get', 'files.content', 'files.delete'] as const).map((n): [RouteName, RouteHandler] => [n, authed([identity, network], (ctx, res, id) => this.retrieval(n, ctx, res, id))]),
      [
        'datasets.records',
        authed([identity, network], async (ctx, res, id) => {
          if (!d.datasets) throw new NotFound('route_not_found', 'the data read API is not enabled on this gateway');
          const query = new URL(ctx.req.url ?? '/', 'https://inference.invalid').searchParams;
          const answer = await d.datasets.read({ principal: ctx.principal!, sourceIp: ctx.sourceIp, requestId: ctx.requestId, datasetId: id!, query });
          sendJson(res, 200, answer, { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' });
          this.d.metrics.requests.inc({ endpoint: ctx.endpoint, status: 200 });
        }),
      ],
      // Public by design: key material for verifying credentials and RFC 9728 metadata name no principal.
      ['tools.jwks', { stages: [], unaudited: true, respond: async (ctx, res) => sendJson(res, 200, await (d.tools ?? noTools()).jwks(), { 'x-request-id': ctx.requestId, 'cache-control': 'max-age=300' }) }],
      ['mcp.metadata', { stages: [], unaudited: true, respond: async (ctx, res) => sendJson(res, 200, (d.tools ?? noTools()).metadata(ctx.path), { 'x-request-id': ctx.requestId }) }],
      ['oauth.metadata', { stages: [], unaudited: true, respond: async (ctx, res) => sendJson(res, 200, this.tokenServiceMetadata(), { 'x-request-id': ctx.requestId, 'cache-control': 'max-age=300' }) }],
      // Attestation: the workload plane authenticates by evidence, limits per source and records each step.
      ['attestation.challenge', { stages: [], unaudited: true, respond: (ctx, res) => this.attestation(ctx, res) }],
      ['attestation.key', { stages: [], unaudited: true, respond: (ctx, res) => this.attestation(ctx, res) }],
    ]);
    for (const r of INFERENCE_ROUTES) if (!h.has(r.name)) throw new Error(`route ${r.name} has no stages declared`);
    return h;
  }

  private async readBodyOnce(ctx: RequestContext, limit: number): Promise<void> {
    if (ctx.bodyRead) return;
    ctx.rawBody = await readBody(ctx.req, limit);
    ctx.bodyRead = true;
    ctx.requestDigest = sha256Digest(ctx.rawBody);
  }

  /** The request facts the policy plane builds its context from (see src/policy/plane.ts RequestFacts). */
  private policyContext(ctx: RequestContext): Record<string, unknown> {
    let maxTokens: number | undefined;
    for (const f of MAX_TOKEN_FIELDS) {
      const v = ctx.body[f];
      if (typeof v === 'number') maxTokens = Math.max(maxTokens ?? 0, v);
    }
    return {
      now: this.d.clock.now(),
      sourceIp: ctx.sourceIp,
      listener: ctx.listener,
      findings: ctx.findings ?? null,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(ctx.budgetLeft ? { budgetLeft: ctx.budgetLeft } : {}),
    };
  }

  /** node:http request handler for the inference listener. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = newRequestId();
    void this.dispatch(req, res, requestId).catch((e) => {
      this.d.log.error({ err: e, requestId }, 'unhandled gateway error');
      sendError(res, e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error'), requestId);
    });
  };

  /**
   * Envoy ext_authz: decides a request that a mesh routes and relays itself, through a model route's own
   * stages (identity from the forwarded headers or the mesh-verified client certificate, network, validation,
   * inspection, policy), with one ledger entry per check. Allowed: the entry (and its receipt) is durable
   * before the answer; refused: the listener's own refusal bookkeeping (an entry, or without a principal the
   * per-source tally).
   */
  async check(input: ExternalCheck): Promise<CheckOutcome> {
    const requestId = newRequestId();
    const q = input.path.indexOf('?');
    const path = q === -1 ? input.path : input.path.slice(0, q);
    const m = this.match(path);
    const req = externalRequest(input);
    const ctx = this.newContext(req, requestId, path, m?.route ?? null);
    ctx.sourceIp = input.sourceIp;
    ctx.via = input.via;
    // The body is what the mesh buffered; nothing is read from a socket.
    ctx.bodyRead = true;
    if (input.body) {
      ctx.rawBody = input.body.bytes;
      ctx.requestDigest = sha256Digest(input.body.bytes);
    }
    if (this.d.tracing) ctx.trace = this.d.tracing.start(req);
    try {
      const admitted = this.d.refusals?.admit(ctx.sourceIp);
      if (admitted) await admitted;
      if (!m || !(m.route.name in UPSTREAM_PATHS)) throw new NotFound('route_not_found', `ext_authz decides model requests (chat, completions, embeddings); ${input.method} ${path} is not one`);
      if (input.method !== m.route.method) throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts ${m.route.method} only`);
      // Judging part of a prompt would pass what the rest hides: a cut or missing body is refused, never guessed at.
      if (!input.body) throw new BadRequest('body_required', 'the check carries no request body; configure ext_authz with_request_body (allow_partial_message: false)');
      if (input.body.bytes.length > this.d.maxBodyBytes) throw new PayloadTooLarge(this.d.maxBodyBytes);
      if (!input.body.complete) throw new WardenError(413, 'request_too_large', 'body_truncated', 'the mesh sent part of the request body; raise with_request_body.max_request_bytes and set allow_partial_message: false');
      await runStages(this.checkStages, ctx);
      ctx.stage = 'respond';
      const { event, receipt } = await this.commit(ctx, 200, { phase: 'authorize' });
      ctx.lease?.release(0);
      this.finish(ctx, 200, event);
      return { allow: true, requestId, principal: ctx.principal!, ...(receipt !== undefined ? { receipt } : {}) };
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId }, 'unexpected error in an ext_authz check');
      const event = await this.recordRefusal(ctx, err, err.stage ?? ctx.stage ?? 'validate', err.status);
      this.finish(ctx, err.status, event);
      return { allow: false, requestId, error: err };
    }
  }

  private newContext(req: IncomingMessage, requestId: string, path: string, r: RouteDecl | null): RequestContext {
    const endpoint: Endpoint = r?.name ?? 'models';
    return {
      requestId,
      startedAt: process.hrtime.bigint(),
      receivedAt: this.d.clock.now(),
      req,
      path,
      socket: req.socket as TLSSocket,
      sourceIp: clientAddress(req),
      listener: 'inference',
      endpoint,
      kind: endpoint.startsWith('tools') || endpoint.startsWith('mcp') || endpoint.startsWith('a2a') ? 'tool' : 'inference',
      action: r?.action ?? 'unknown',
      rawBody: EMPTY,
      bodyRead: false,
      body: {},
      model: null,
      stream: false,
      modelTokens: 0,
    };
  }

  /** The route for `path` (and `method`, when several routes share the path); a path match alone answers 405 later. */
  private match(path: string, method?: string): { route: RouteDecl; param: string | undefined } | null {
    let first: { route: RouteDecl; param: string | undefined } | null = null;
    for (const r of INFERENCE_ROUTES) {
      let param: string | undefined;
      if (typeof r.path === 'string') {
        if (r.path !== path) continue;
      } else {
        const m = r.path.exec(path);
        if (!m) continue;
        param = m[1];
      }
      if (method === undefined || r.method === method) return { route: r, param };
      first ??= { route: r, param };
    }
    return first;
  }

  private allowedMethods(path: string): string {
    return INFERENCE_ROUTES.filter((r) => (typeof r.path === 'string' ? r.path === path : r.path.test(path))).map((r) => r.method).join(', ');
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const m = this.match(path, req.method);
    const ctx = this.newContext(req, requestId, path, m?.route ?? null);
    if (this.d.tracing) ctx.trace = this.d.tracing.start(req);
    const handler = m ? this.handlers.get(m.route.name)! : null;
    try {
      // A source that spent its budget of unauthenticated failures is turned away before any other work.
      // Shared through Redis in a cluster (a promise then); in process, answered at once.
      const admitted = handler?.unaudited ? undefined : this.d.refusals?.admit(ctx.sourceIp);
      if (admitted) await admitted;
      if (!m || !handler) throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${path}`);
      if (req.method !== m.route.method) {
        const allowed = this.allowedMethods(path);
        if (m.route.name === 'mcp' || m.route.name.startsWith('vector_stores.') || m.route.name.startsWith('files.')) res.setHeader('allow', allowed);
        throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts ${allowed} only`);
      }
      const param = m.param === undefined ? undefined : decodeSegment(m.param);
      if (m.route.name === 'tools.invoke' || m.route.name === 'tools.approval') ctx.resource = { type: 'Tool', id: param! };
      await runStages(handler.stages, ctx);
      ctx.stage = 'respond';
      await handler.respond(ctx, res, param);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: ctx.requestId }, 'unexpected error in pipeline');
      if (err instanceof OutputBlocked) this.noteFinding(ctx, err.finding);
      await this.fail(ctx, res, err, err instanceof OutputBlocked ? 'verify' : err.stage ?? ctx.stage ?? 'validate');
    }
  }

  private noteFinding(ctx: RequestContext, ...found: Finding[]): void {
    if (found.length === 0) return;
    const base = ctx.findings ?? { items: [], classification: (this.d.classification ?? DEFAULT_SCHEME).lowest, injectionScore: 0, injectionSignals: [] };
    ctx.findings = { ...base, items: [...base.items, ...found] };
  }

  /**
   * The one failure path: one audit entry (unless the plane that refused already wrote it), one JSON error
   * body, or an error event when a stream had already begun.
   */
  private async fail(ctx: RequestContext, res: ServerResponse, err: WardenError, stageName: string): Promise<void> {
    const status = res.headersSent ? (err.status === 499 ? 499 : 502) : err.status;
    const event = await this.recordRefusal(ctx, err, stageName, status);
    if (res.headersSent) {
      // A stream was under way: end it with an error event (OpenAI clients surface `error` payloads).
      if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify(err.toBody(ctx.requestId))}\n\n`);
    } else if (ctx.endpoint === 'token') {
      sendOAuthError(res, err, ctx.requestId, stageName);
    } else {
      // 413 stops reading the body: close the connection rather than drain an oversized upload.
      sendError(res, err, ctx.requestId, err.status === 413);
    }
    this.finish(ctx, status, event);
  }

  /** The refusal's bookkeeping, the same for a listener request and an ext_authz check: lease, budget, entry, metrics. */
  private async recordRefusal(ctx: RequestContext, err: WardenError, stageName: string, status: number): Promise<AuditEvent> {
    ctx.stage = stageName;
    ctx.lease?.release(ctx.modelTokens);
    this.settleBudget(ctx);
    const event = requestEvent(ctx, status, err, this.d.clock.now());
    if (!ctx.principal && this.d.refusals) {
      // No principal: counted into its source's window entry instead of one fsync'd entry each (refusals.ts).
      const spent = this.d.refusals.record(ctx.sourceIp, ctx.requestId, err.code, status, err.reason);
      if (spent) await spent;
    } else if (!(err as WardenError & { audited?: boolean }).audited) {
      try {
        await this.d.audit.append(event);
      } catch (auditErr) {
        this.d.metrics.auditFailures.inc();
        this.d.log.error({ err: auditErr, requestId: ctx.requestId }, 'audit append failed for a refused request');
      }
    }
    if (err.type === 'upstream_error' || err.type === 'timeout_error' || err.type === 'unavailable_error') {
      this.d.metrics.upstreamErrors.inc({ upstream: ctx.target?.name ?? 'none', code: err.code });
    }
    return event;
  }

  /**
   * Settles the budget reservation: with the usage the upstream reported; with the reservation itself when the
   * upstream was called but reported nothing (it may well have billed); with nothing when it was never called.
   */
  private settleBudget(ctx: RequestContext): void {
    const b = ctx.budget;
    if (!b) return;
    b.settle(ctx.usage ?? (ctx.upstreamCalled ? 'reserved' : null));
  }

  private finish(ctx: RequestContext, status: number, event: AuditEvent): void {
    ctx.trace?.end(ctx, status, event);
    this.d.monitor?.observe(ctx, event);
    this.d.metrics.requests.inc({ endpoint: ctx.endpoint, status });
    this.d.metrics.decisions.inc({ decision: event.decision, stage: event.stage ?? 'done' });
    if (ctx.flags) for (const flag of ctx.flags) this.d.metrics.flagged.inc({ flag });
    this.d.metrics.latency.observe({ endpoint: ctx.endpoint }, event.latencyMs / 1000);
    const op = GEN_AI_OPERATION[ctx.endpoint];
    if (op && ctx.model) {
      const genAi = { gen_ai_operation_name: op, gen_ai_request_model: ctx.model };
      this.d.metrics.genAiRequestDuration.observe({ ...genAi, error_type: status >= 400 ? String(status) : '' }, event.latencyMs / 1000);
      if (ctx.usage) {
        this.d.metrics.genAiTokenUsage.observe({ ...genAi, gen_ai_token_type: 'input' }, ctx.usage.prompt);
        this.d.metrics.genAiTokenUsage.observe({ ...genAi, gen_ai_token_type: 'output' }, ctx.usage.completion);
      }
    }
    if (this.d.accessLog) {
      this.d.log.info(
        { requestId: ctx.requestId, principal: ctx.principal?.id ?? null, action: ctx.action, model: ctx.model, status, decision: event.decision, stage: event.stage, code: event.errorCode, reason: event.reason, ms: event.latencyMs },
        'request',
      );
    }
  }

  /** Commits an audit entry before anything is released (fail closed: 503 when the ledger cannot). */
  private async commit(ctx: RequestContext, status: number, details?: AuditEvent['details']): Promise<{ event: AuditEvent; receipt?: string }> {
    const event = requestEvent(ctx, status, null, this.d.clock.now());
    if (details) event.details = { ...event.details, ...details };
    try {
      const r = await this.d.audit.append(event);
      if (ctx.trace) ctx.trace.ledgerIndex = r.index;
      return r.receipt !== undefined ? { event, receipt: r.receipt } : { event };
    } catch (e) {
      this.d.metrics.auditFailures.inc();
      this.d.log.error({ err: e, requestId: ctx.requestId }, 'audit append failed; refusing to release the response');
      const err = new FailClosed('audit_unavailable', 'the audit ledger could not record this request; the response is withheld');
      err.stage = 'audit';
      throw err;
    }
  }

  /** A JSON answer released after its entry is durable. */
  private async release(ctx: RequestContext, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, details?: AuditEvent['details']): Promise<void> {
    await this.releaseWith(ctx, status, details, () => sendJson(res, status, body, { 'x-request-id': ctx.requestId, ...headers }));
  }

  /** Commits the request's entry, then sends the answer (durable before release), then counts it. */
  private async releaseWith(ctx: RequestContext, status: number, details: AuditEvent['details'] | undefined, send: () => void): Promise<void> {
    const { event } = await this.commit(ctx, status, details);
    ctx.lease?.release(0);
    send();
    this.finish(ctx, status, event);
  }

  // ---- model requests: one answer path (a buffered answer is a stream of one chunk) ----------------------

  private answerGuard(ctx: RequestContext): AnswerGuard {
    const out = ctx.target!.output;
    return new AnswerGuard({ rules: out.rules, canary: out.canary, redact: ctx.redactTargets ?? [], findings: true });
  }

  private async forward(ctx: RequestContext, res: ServerResponse): Promise<void> {
    // Refused before the opening entry and the upstream call; given back however the answer ends.
    const p = ctx.principal!;
    let slot;
    try {
      slot = this.d.upstreamShare?.acquire(ctx.target!, `${p.kind}:${p.id}`);
    } catch (e) {
      if (e instanceof WardenError) e.stage = 'network';
      throw e;
    }
    const abort = new UpstreamAbort();
    this.inFlight.add(abort);
    try {
      await this.forwardWithin(ctx, res, abort);
    } catch (e) {
      // Cut by a shutdown: the shutdown's error, whatever the upstream client made of the abort.
      throw abort.reason instanceof WardenError ? abort.reason : e;
    } finally {
      this.inFlight.delete(abort);
      slot?.release();
    }
  }

  /**
   * Ends every upstream call and stream under way with an error from `reason` (each still gets its ledger
   * entry, and a stream its error event): a shutdown whose drain deadline passed. Returns how many were cut.
   */
  cutInFlight(reason: () => WardenError): number {
    const n = this.inFlight.size;
    for (const a of this.inFlight) a.abort(reason());
    return n;
  }

  private async forwardWithin(ctx: RequestContext, res: ServerResponse, abort: UpstreamAbort): Promise<void> {
    const target = ctx.target!;
    const upstreamPath = UPSTREAM_PATHS[ctx.endpoint as ModelEndpoint];
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        abort.abort();
      }
    });
    // The body that was judged is the body that is forwarded: the parsed object, re-serialized.
    const forwarded = Buffer.from(JSON.stringify(ctx.body));
    // A stream's first byte waits for a durable opening entry (request and decision); it is written while
    // the upstream call starts, so the fsync overlaps the model's time to first token.
    ctx.stage = 'upstream';
    const opening = ctx.stream ? this.commit(ctx, 200, { phase: 'open' }).then(() => null, (e: WardenError) => e) : null;
    let r: Awaited<ReturnType<typeof callUpstream>>;
    ctx.upstreamCalled = true;
    try {
      r = await callUpstream(target, 'POST', upstreamPath, forwarded, ctx.requestId, abort, ctx);
    } catch (e) {
      if (opening) await opening;
      throw e;
    }
    if (opening) {
      const failed = await opening;
      if (failed) {
        abort.abort();
        discardUpstreamBody(r);
        throw failed;
      }
    }
    ctx.stage = 'upstream';
    const guard = this.answerGuard(ctx);
    if (ctx.stream) return this.relayStream(ctx, res, r, guard, abort, () => clientGone);
    const buf = await readUpstreamBody(target, r);
    if (r.statusCode >= 300) throw upstreamStatusError(target, r.statusCode, buf);
    if (this.d.verifyServed) await this.d.verifyServed(ctx, r.headers);
    let json: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(buf.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      json = parsed as Record<string, unknown>;
    } catch {
      throw upstreamStatusError(target, 502, buf);
    }
    ctx.modelTokens = usageTokens(json);
    const split = usageSplit(json);
    if (split) ctx.usage = split;
    let changed = false;
    if (ctx.endpoint === 'chat' && this.d.filterToolCalls) {
      const f = this.d.filterToolCalls(ctx, json);
      if (f.changed) {
        json = f.json as Record<string, unknown>;
        changed = true;
      }
    }
    let answer = guard.whole(json);
    for (const harden of ctx.answerHardening ?? []) answer = harden(answer); // harden:* obligations
    this.noteFinding(ctx, ...guard.findings());
    this.d.monitor?.observeAnswer?.(ctx, json, guard.findings()); // output drift: what the model produced, before redaction
    const out = changed || answer !== json ? Buffer.from(JSON.stringify(answer)) : buf;
    ctx.responseDigest = sha256Digest(out);
    if (this.d.retain) await this.retain(ctx, out);
    const { event, receipt } = await this.commit(ctx, 200);
    ctx.lease?.release(ctx.modelTokens);
    this.settleBudget(ctx);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': out.length, 'x-request-id': ctx.requestId };
    if (receipt) headers['warden-receipt'] = receipt;
    res.writeHead(200, headers);
    res.end(out);
    this.finish(ctx, 200, event);
  }

  /** Payload retention happens before the final entry, so a failure still ends in exactly one refusal entry. */
  private async retain(ctx: RequestContext, out: Buffer): Promise<void> {
    if (!this.d.retain) return;
    try {
      await this.d.retain(ctx, out);
    } catch (e) {
      this.d.log.error({ err: e, requestId: ctx.requestId }, 'payload retention failed; withholding the answer');
      throw new FailClosed('retention_unavailable', 'the payload could not be retained as configured; the answer is withheld');
    }
  }

  private async relayStream(
    ctx: RequestContext,
    res: ServerResponse,
    r: Awaited<ReturnType<typeof callUpstream>>,
    guard: AnswerGuard,
    abort: UpstreamAbort,
    clientGone: () => boolean,
  ): Promise<void> {
    const target = ctx.target!;
    const ctype = String(r.headers['content-type'] ?? '');
    if (r.statusCode >= 300) throw upstreamStatusError(target, r.statusCode, await readUpstreamBody(target, r));
    if (!ctype.includes('text/event-stream')) {
      // A streamed request answered whole: nothing here can be relayed as the stream the client asked for, and the
      // answer is not passed on unchecked either (fail closed), so the error says what the upstream did.
      discardUpstreamBody(r);
      throw new UpstreamError(502, 'upstream_not_streaming', `upstream ${target.name} answered a streamed request with ${JSON.stringify(ctype || 'no content type')} instead of an event stream (text/event-stream); retry without "stream": true or fix the upstream`);
    }
    if (this.d.verifyServed) {
      try {
        await this.d.verifyServed(ctx, r.headers);
      } catch (e) {
        discardUpstreamBody(r);
        throw e;
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': ctx.requestId });
    res.flushHeaders();
    const hash = createHash('sha256');
    const splitter = new SseSplitter();
    let completionChars = 0;
    const filter = this.d.filterToolCalls;
    const gate = ctx.endpoint === 'chat' && filter ? new StreamToolCallGate((json) => filter(ctx, json)) : null;
    let lastChunk: Record<string, unknown> | undefined;
    // With retention on, the streamed answer is also kept (it is what the client received).
    const kept: string[] | null = this.d.retain ? [] : null;
    // The monitor profiles the answer as the model produced it (before redaction), once, at its end: the upstream's
    // events are kept by reference until then (up to STREAM_PROFILE_CHARS; past that the answer is long whatever it says).
    const produced: string[] | null = this.d.monitor?.observeStreamedAnswer && ctx.model ? [] : null;
    let producedChars = 0;
    // The events cut from one upstream read go out in one socket write (one TLS record, one syscall) instead
    // of one each: the response is corked while they are relayed, and uncorked before waiting for a drain.
    let corked = false;
    const uncork = () => {
      if (corked) res.uncork();
      corked = false;
    };
    const emit = async (text: string) => {
      if (res.destroyed) throw new WardenError(499, 'invalid_request_error', 'client_closed_request', 'the client closed the connection');
      hash.update(text);
      kept?.push(text);
      // A client that stops reading and then hangs up never drains: wait for either, or the stream (and its
      // upstream connection and share) would be held for ever.
      if (!res.write(text)) uncork();
      if (res.writableNeedDrain) await new Promise<void>((ok) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          ok();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    };
    const emitChunks = async (chunks: Record<string, unknown>[]) => {
      for (const c of chunks) await emit(`data: ${JSON.stringify(c)}\n\n`);
    };
    const relay = async (ev: string) => {
      const data = eventData(ev);
      if (data === '[DONE]') return; // held: the receipt goes before it
      if (data === null) return emit(ev + '\n\n');
      completionChars += data.length;
      if (produced && producedChars < STREAM_PROFILE_CHARS) {
        produced.push(data);
        producedChars += data.length;
      }
      if (guard.idle && !gate) {
        if (data.includes('"usage"')) this.noteUsage(ctx, data);
        return emit(ev + '\n\n');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        throw new UpstreamError(502, 'invalid_upstream_response', `upstream ${target.name} sent a stream event that is not JSON`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UpstreamError(502, 'invalid_upstream_response', `upstream ${target.name} sent a stream event that is not a JSON object`);
      const t = usageTokens(parsed);
      if (t > 0) ctx.modelTokens = t;
      const split = usageSplit(parsed);
      if (split) ctx.usage = split;
      const chunks = gate ? gate.process(parsed as Record<string, unknown>) : [parsed as Record<string, unknown>];
      for (const c of chunks) {
        lastChunk = c;
        await emitChunks(guard.chunk(c));
      }
    };
    try {
      for await (const chunk of r.body) {
        res.cork();
        corked = true;
        try {
          for (const ev of splitter.push(chunk as Buffer)) await relay(ev);
        } finally {
          uncork();
        }
      }
      const rest = splitter.end();
      if (rest) await relay(rest);
      if (gate) for (const c of gate.finish(lastChunk)) await emitChunks(guard.chunk(c));
      await emitChunks(guard.end(lastChunk));
    } catch (e) {
      if (clientGone()) throw new WardenError(499, 'invalid_request_error', 'client_closed_request', 'the client closed the connection');
      abort.abort();
      if (e instanceof OutputBlocked) throw e;
      throw upstreamStreamError(target, e);
    }
    this.noteFinding(ctx, ...guard.findings());
    if (produced) this.d.monitor!.observeStreamedAnswer!(ctx, produced, guard.findings()); // output drift, as for a whole answer
    // Without reported usage, charge an estimate (~4 characters per token) so token limits still bite.
    if (ctx.modelTokens === 0) ctx.modelTokens = Math.ceil(completionChars / 4);
    // The same estimate for the budget, with the prompt as it was estimated at reservation.
    if (!ctx.usage && ctx.budget) ctx.usage = { prompt: ctx.budget.estimate.prompt, completion: Math.ceil(completionChars / 4) };
    ctx.responseDigest = 'sha256:' + hash.digest('hex');
    if (kept) {
      try {
        await this.d.retain!(ctx, Buffer.from(kept.join('')));
      } catch (e) {
        this.d.log.error({ err: e, requestId: ctx.requestId }, 'could not retain the streamed payload');
      }
    }
    // The final entry (usage, findings, digest). The opening entry already made the request durable; if this
    // one cannot commit the client gets an error event instead of a receipt.
    const committed = await this.commit(ctx, 200);
    if (committed.receipt) {
      res.write(`event: warden.receipt\ndata: ${JSON.stringify({ id: ctx.requestId, object: 'chat.completion.chunk', choices: [], warden_receipt: committed.receipt })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    ctx.lease?.release(ctx.modelTokens);
    this.settleBudget(ctx);
    this.finish(ctx, 200, committed.event);
  }

  private noteUsage(ctx: RequestContext, data: string): void {
    try {
      const parsed: unknown = JSON.parse(data);
      const t = usageTokens(parsed);
      if (t > 0) ctx.modelTokens = t;
      const split = usageSplit(parsed);
      if (split) ctx.usage = split;
    } catch {
      /* not JSON: relayed as is (no check needs it parsed) */
    }
  }

  // ---- the other routes --------------------------------------------------------------------------------

  /**
   * RFC 8693 token exchange: the subject token (and, for delegation, the actor token) are verified exactly
   * like bearer credentials, then traded for a short-lived, narrowed, audience-bound Warden token.
   */
  private async tokenIdentity(ctx: RequestContext): Promise<void> {
    const ctype = String(ctx.req.headers['content-type'] ?? '');
    if (!ctype.startsWith('application/x-www-form-urlencoded')) {
      const e = new BadRequest('invalid_request', 'the token request must be application/x-www-form-urlencoded (RFC 8693 §2.1)', 'content-type');
      e.stage = 'validate';
      throw e;
    }
    const tokens = this.d.tokens;
    if (!tokens) throw new NotFound('route_not_found', 'token exchange is not enabled on this gateway');
    let request: TokenExchangeRequest;
    try {
      request = tokens.parse(ctx.rawBody);
    } catch (e) {
      if (e instanceof WardenError) e.stage = 'validate';
      throw e;
    }
    // RFC 9449 §5: a DPoP proof with the request binds the issued token to the proof's key; a bound
    // subject or actor token is exchanged only with a proof by its own key (checked by the exchange).
    const proof = dpopHeader(ctx.req.headers);
    if (proof !== undefined) {
      if (!this.d.verifiers.dpopProof) throw new BadRequest('invalid_dpop_proof', 'DPoP is not enabled on this gateway', 'DPoP');
      ctx.tokenBindTo = await this.d.verifiers.dpopProof(proof, { method: 'POST', url: `${this.d.publicOrigin}/v1/token` });
    }
    ctx.principal = await this.bearer(request.subjectToken, 'exchange');
    if (request.actorToken !== undefined) ctx.tokenActor = await this.bearer(request.actorToken, 'exchange');
    ctx.tokenRequest = request;
  }

  /** RFC 8414 metadata of Warden's own token service; without a token endpoint there is nothing to describe. */
  private tokenServiceMetadata(): unknown {
    const tokens = this.d.tokens;
    if (!tokens?.metadata) throw new NotFound('route_not_found', 'this gateway issues no tokens; its authorization servers are named in /.well-known/oauth-protected-resource');
    return tokens.metadata();
  }

  private async exchangeToken(ctx: RequestContext, res: ServerResponse): Promise<void> {
    const request = ctx.tokenRequest!;
    ctx.stage = 'policy';
    const issued = await this.d.tokens!.exchange({
      subject: ctx.principal!,
      ...(ctx.tokenActor ? { actor: ctx.tokenActor } : {}),
      requested: request.requested,
      ...(request.audience.length ? { audience: request.audience } : {}),
      ...(request.resource.length ? { resource: request.resource } : {}),
      ...(ctx.tokenBindTo !== undefined ? { bindTo: ctx.tokenBindTo } : {}),
    });
    // RFC 6749 §5.1: token responses must not be cached.
    await this.release(ctx, res, 200, issued, { 'cache-control': 'no-store', pragma: 'no-cache' });
  }

  private async listModels(ctx: RequestContext, res: ServerResponse): Promise<void> {
    ctx.stage = 'policy';
    const p = ctx.principal!;
    const context = this.policyContext(ctx);
    const visible = this.d.models.filter((m) => USE_ACTIONS.some((action) => this.d.authorizer.authorize({ principal: p, action, resource: { type: 'Model', id: m.id }, context }).allow));
    await this.release(ctx, res, 200, { object: 'list', data: visible.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy, ...(m.demo ? { demo: true } : {}) })) });
  }

  private async invokeTool(ctx: RequestContext, res: ServerResponse, tool: string): Promise<void> {
    const tools = this.d.tools;
    if (!tools) throw new NotFound('route_not_found', 'tool mediation is not enabled on this gateway');
    // Watch for the caller going away from the start: it may hang up while the call is being held.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    const out = await tools.invoke({ principal: ctx.principal!, tool, body: ctx.body, sourceIp: ctx.sourceIp, requestId: ctx.requestId, prefer: ctx.req.headers.prefer, approvalHeader: ctx.req.headers['warden-approval'], gone: gone.signal });
    ctx.lease?.release(0);
    if (out === null) return; // the caller hung up while the call was held: nothing ran, nothing to send
    sendJson(res, out.status, out.body, { 'x-request-id': ctx.requestId, ...out.headers });
    this.d.metrics.requests.inc({ endpoint: ctx.endpoint, status: out.status });
  }

  private async mcp(ctx: RequestContext, res: ServerResponse): Promise<void> {
    const tools = this.d.tools;
    if (!tools) throw new NotFound('route_not_found', 'tool mediation is not enabled on this gateway');
    const body = ctx.mcpBody;
    // tools/call is recorded by the mediator; every other MCP message (initialize, tools/list, ...) here.
    const methods = (Array.isArray(body) ? body : [body]).map((m) => (m && typeof m === 'object' ? (m as { method?: unknown }).method : undefined));
    const notMediated = methods.filter((m) => m !== 'tools/call');
    if (notMediated.length > 0) {
      ctx.action = `mcp:${notMediated.map((m) => (typeof m === 'string' ? m : 'response')).join(',')}`;
      await this.commit(ctx, 200);
    }
    try {
      await tools.mcp(ctx.req, res, body, { principal: ctx.principal!, sourceIp: ctx.sourceIp, requestId: ctx.requestId });
    } finally {
      ctx.lease?.release(0);
    }
  }

  private async a2a(ctx: RequestContext, res: ServerResponse, agentId: string): Promise<void> {
    if (!this.d.agents) throw new NotFound('route_not_found', 'the A2A gateway is not enabled on this gateway');
    try {
      await this.d.agents.serve({ principal: ctx.principal!, sourceIp: ctx.sourceIp, requestId: ctx.requestId, agentId, body: ctx.rawBody, headers: ctx.req.headers }, res);
      this.d.metrics.requests.inc({ endpoint: ctx.endpoint, status: res.statusCode });
    } finally {
      ctx.lease?.release(0);
    }
  }

  private async retrieval(route: RetrievalRouteName, ctx: RequestContext, res: ServerResponse, id: string | undefined): Promise<void> {
    const plane = this.d.retrieval;
    if (!plane) throw new NotFound('route_not_found', 'retrieval (vector stores) is not enabled on this gateway');
    let answer;
    try {
      answer = await plane.serve(
        route,
        {
          principal: ctx.principal!,
          sourceIp: ctx.sourceIp,
          embed: (model, input, classification) => this.embedFor(ctx, model, input, classification),
          decided: (d, resource) => {
            ctx.decision = d;
            ctx.resource = resource;
          },
        },
        id,
        ctx.body,
        route === 'files.upload' ? { bytes: ctx.rawBody, contentType: ctx.req.headers['content-type'] } : undefined,
      );
    } catch (e) {
      if (e instanceof WardenError && e.status === 403 && e.code === 'policy_denied') e.stage = 'policy';
      throw e;
    }
    const { content } = answer;
    // A file's bytes (GET /v1/files/{id}/content) are released like every answer: after the entry commits.
    if (content) await this.releaseWith(ctx, answer.status, answer.details, () => sendBytes(res, answer.status, content.bytes, content.type, { 'x-request-id': ctx.requestId }));
    else await this.release(ctx, res, answer.status, answer.body, {}, answer.details);
  }

  /**
   * An embeddings request a plane makes for the caller of `parent` (retrieval: chunks and queries): the model
   * route's stages after identity and network (the parent was admitted; its lease is held), the upstream call,
   * and its own ledger entry naming the parent request. A refusal is recorded and thrown to the parent.
   */
  private async embedFor(parent: RequestContext, model: string, input: string[], floor?: Classification): Promise<number[][]> {
    const raw = Buffer.from(JSON.stringify({ model, input }));
    const ctx = this.newContext(parent.req, newRequestId(), '/v1/embeddings', INFERENCE_ROUTES.find((r) => r.name === 'embeddings')!);
    ctx.principal = parent.principal!;
    ctx.sourceIp = parent.sourceIp;
    ctx.rawBody = raw;
    ctx.bodyRead = true;
    ctx.requestDigest = sha256Digest(raw);
    ctx.parentRequestId = parent.requestId;
    const p = ctx.principal;
    let slot;
    try {
      await runStages(this.embedStages.inspect, ctx);
      // Content the plane already classed (a file declared confidential) is never judged below that class.
      if (floor && ctx.findings) ctx.findings = { ...ctx.findings, classification: (this.d.classification ?? DEFAULT_SCHEME).max(ctx.findings.classification, floor) };
      await runStages(this.embedStages.decide, ctx);
      ctx.stage = 'network';
      slot = this.d.upstreamShare?.acquire(ctx.target!, `${p.kind}:${p.id}`);
      ctx.stage = 'upstream';
      ctx.upstreamCalled = true;
      const target = ctx.target!;
      const r = await callUpstream(target, 'POST', UPSTREAM_PATHS.embeddings, Buffer.from(JSON.stringify(ctx.body)), ctx.requestId, new UpstreamAbort(), ctx);
      const buf = await readUpstreamBody(target, r);
      if (r.statusCode >= 300) throw upstreamStatusError(target, r.statusCode, buf);
      if (this.d.verifyServed) await this.d.verifyServed(ctx, r.headers);
      const vectors = embeddingVectors(buf, input.length);
      if (!vectors) throw upstreamStatusError(target, 502, buf);
      let json: unknown = null;
      try {
        json = JSON.parse(buf.toString('utf8'));
      } catch {
        /* embeddingVectors parsed it already */
      }
      ctx.modelTokens = usageTokens(json);
      const split = usageSplit(json);
      if (split) ctx.usage = split;
      ctx.responseDigest = sha256Digest(buf);
      const { event } = await this.commit(ctx, 200);
      this.settleBudget(ctx);
      this.finish(ctx, 200, event);
      return vectors;
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: ctx.requestId }, 'unexpected error in an embeddings request for a plane');
      const event = await this.recordRefusal(ctx, err, err.stage ?? ctx.stage ?? 'validate', err.status);
      this.finish(ctx, err.status, event);
      if (!err.stage) err.stage = 'embed';
      throw err;
    } finally {
      slot?.release();
    }
  }

  private async attestation(ctx: RequestContext, res: ServerResponse): Promise<void> {
    if (!this.d.attestation || !(await this.d.attestation(ctx.req, res, ctx.requestId))) throw new NotFound('route_not_found', `no such endpoint: ${ctx.req.method} ${ctx.path}`);
  }
}

/**
 * RFC 6749 §5.2 / RFC 8693 §2.2.2 error body for /v1/token: OAuth clients expect `error` and
 * `error_description`; an invalid subject or actor token is `invalid_request`.
 */
function sendOAuthError(res: ServerResponse, err: WardenError, requestId: string, stageName: string): void {
  if (res.headersSent) return void res.destroy();
  const oauthCodes = ['invalid_request', 'invalid_scope', 'invalid_target', 'unsupported_grant_type', 'invalid_client', 'invalid_dpop_proof'];
  // OAuth clients expect 400 for a refused exchange; limits and source refusals keep their status (as on every route).
  const network403 = err.status === 403 && stageName === 'network';
  const error = err.status >= 500 ? (err.status === 503 ? 'temporarily_unavailable' : 'server_error') : err.status === 429 ? 'slow_down' : network403 ? 'access_denied' : oauthCodes.includes(err.code) ? err.code : 'invalid_request';
  const status = err.status >= 500 || err.status === 429 || network403 ? err.status : 400;
  const description = err.status === 401 && err.code !== 'invalid_dpop_proof' ? 'the subject or actor token is invalid' : err.message;
  sendJson(res, status, { error, error_description: description, request_id: requestId }, { 'x-request-id': requestId, 'cache-control': 'no-store', ...(err.status === 429 ? err.headers : {}) });
}
