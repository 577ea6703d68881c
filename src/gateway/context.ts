// The one request context every stage reads and extends (DESIGN: "Every stage has the same shape").
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Action, AuditEvent, Decision, Findings, Principal, Resource, RouteRequirement } from '../core/types.js';
import type { TokenExchangeRequest } from '../identity/index.js';
import type { BudgetHold, Usage } from '../network/budgets.js';
import type { Lease } from '../network/limits.js';
import type { RouteName } from './routes.js';
import type { UpstreamTarget } from '../network/upstream.js';
import type { UpstreamAttempt } from '../network/upstream-pool.js';

export type Endpoint = RouteName;
/** The routes that carry a model request body (OpenAI shapes). */
export type ModelEndpoint = 'chat' | 'completions' | 'embeddings';

export interface RequestContext {
  requestId: string;
  /** process.hrtime.bigint() at arrival. */
  startedAt: bigint;
  /** Wall-clock ms at arrival (from the Clock). */
  receivedAt: number;
  req: IncomingMessage;
  /** The request path, without the query. */
  path: string;
  socket: TLSSocket;
  sourceIp: string;
  listener: 'inference' | 'admin';
  /** Set when the request is an Envoy ext_authz check (the mesh forwards it), recorded in the entry. */
  via?: 'ext_authz_grpc' | 'ext_authz_http';
  /** A request a plane made on the caller's behalf (retrieval embeddings): the caller's request. */
  parentRequestId?: string;
  endpoint: Endpoint;
  /** Ledger entry kind: model requests are `inference`, tool and MCP requests `tool`. */
  kind: 'inference' | 'tool';
  action: Action | string;
  /** What the request acts on when it is not a model (a tool); models are `model`. */
  resource?: Resource;
  /** The request body exactly as received (its digest is recorded; it is never forwarded as is). */
  rawBody: Buffer;
  /** True once the body has been read (identity reads it first for RFC 9421 signatures). */
  bodyRead: boolean;
  /** Parsed JSON body (POST endpoints): the object every stage judges and the one forwarded, re-serialized. */
  body: Record<string, unknown>;
  model: string | null;
  stream: boolean;
  principal?: Principal;
  lease?: Lease;
  findings?: Findings;
  decision?: Decision;
  target?: UpstreamTarget;
  /** The registered deployment the route stage chose (absent for unregistered config upstreams). */
  deployment?: { id: string; artifactDigest: string; evidenceDigest?: string };
  /** Model tokens used, from the upstream's usage. */
  modelTokens: number;
  /** The least remaining budget of the caller before this request (PDP context), when a budget applies. */
  budgetLeft?: { tokens: number | null; cost: number | null };
  /** The budget reservation (budget stage); settled once with `usage` however the answer ends. */
  budget?: BudgetHold;
  /** Prompt and completion tokens as the upstream reported them (absent: it reported none). */
  usage?: Usage;
  /** True once the upstream call was started (a failure after it keeps the budget reservation). */
  upstreamCalled?: boolean;
  /** This request's trace, only when telemetry.traces is configured (src/telemetry/tracing.ts). */
  trace?: RequestTrace;
  /** Each endpoint tried, for an upstream with several (upstreams[].endpoints); recorded in the entry. */
  upstreamAttempts?: UpstreamAttempt[];
  /** Set when the pipeline ended the request: the stage that did. */
  stage?: string;
  /** Placement the policy obliged (`route:tier=onprem`); the route stage refuses an upstream that does not meet it. */
  routeRequirements?: RouteRequirement[];
  /** Rewrites of a non-streamed answer the policy obliged (`harden:logprobs`, `harden:embeddings`), in order. */
  answerHardening?: ((answer: Record<string, unknown>) => Record<string, unknown>)[];
  /** Labels of `flag:<label>` obligations: allowed, marked for review in the ledger entry and the metrics. */
  flags?: string[];
  /** Finding categories/types the policy obliged to redact from the answer (`redact:pii` → `pii`). */
  redactTargets?: string[];
  /** /v1/token: the parsed exchange request, its actor and the DPoP key the issued token is bound to. */
  tokenRequest?: TokenExchangeRequest;
  tokenActor?: Principal;
  tokenBindTo?: string;
  /** /mcp: the parsed JSON-RPC message or batch. */
  mcpBody?: unknown;
  /** SHA-256 digests (sha256:hex) of the request body and the response body. */
  requestDigest?: string;
  responseDigest?: string;
}

/** A request's trace: stage spans, the upstream span's W3C traceparent, the attributes written at its end. */
export interface RequestTrace {
  /** A stage begins (the previous stage's span ends); `upstream` also sets `traceparent`. */
  mark(stage: string): void;
  /** The traceparent header for the upstream call (set once the upstream span began). */
  readonly traceparent: string | undefined;
  ledgerIndex: number | undefined;
  end(ctx: RequestContext, status: number, event: AuditEvent): void;
}

export interface RequestTracing {
  start(req: IncomingMessage): RequestTrace;
}
