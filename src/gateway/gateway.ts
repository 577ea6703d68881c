// The policy enforcement point on the inference listener: every request flows straight through the stages
// identity → network → validate → inspect → policy → route → upstream/verify, and ends in exactly one audit entry.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, FailClosed, NotFound, UpstreamError, WardenError } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import type { Action, AuditEvent, Finding, Findings, Principal } from '../core/types.js';
import type { Limits, LocalLimiter } from '../network/limits.js';
import type { AuditSink } from './audit.js';
import { inferenceEvent } from './audit.js';
import type { Authorizer } from './authorizer.js';
import type { Endpoint, RequestContext } from './context.js';
import { readBody, sendError, sendJson } from './http.js';
import type { Metrics } from './metrics.js';
import { eventData, SseSplitter } from './sse.js';
import { checkAnswerTexts, OutputBlocked, responseTexts, StreamOutputChecker, withCanary } from './output.js';
import { StreamToolCallGate } from './stream-tool-calls.js';
import { createChatStreamRedactors, finishChatStream, redact, redactChatChunk, redactChatResponse } from '../inspect/index.js';
import { createBearerVerifier, createIdentityStage, dpopHeader, type CredentialVerifiers } from './stages/identity.js';
import type { ExchangeInput, ExchangeResult, TokenExchangeRequest } from '../identity/index.js';
import { createNetworkStage } from './stages/network.js';
import { createPolicyStage, type ObligationEnforcers } from './stages/policy.js';
import { createRouteStage } from './stages/route.js';
import { callUpstream, readUpstreamBody, upstreamStatusError, type UpstreamTarget } from './upstream.js';
import { parseAndValidate } from './validate.js';
import { clientAddress } from '../network/source.js';

export interface ModelInfo {
  id: string;
  ownedBy: string;
  demo: boolean;
}

/** Content inspection as the gateway sees it (implemented in src/inspect). */
export interface Inspector {
  inspectRequest(body: Record<string, unknown>): Findings;
  /** Findings in the texts of an answer (what the model sent back), for the ledger entry. */
  inspectResponse?(texts: string[]): Finding[];
}

export interface GatewayDeps {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  verifiers: CredentialVerifiers;
  limiter: LocalLimiter;
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
   * "The model proposes; the PDP disposes": tool calls a model proposes in a non-stream chat answer are
   * re-authorized for the caller and the ones it may not execute are removed or marked (tools plane).
   */
  filterToolCalls?: (ctx: RequestContext, json: unknown) => { json: unknown; changed: boolean };
  /** Payload retention (when enabled): called after the entry is durable, before the answer is released. */
  retain?: (ctx: RequestContext, response: Buffer) => void;
  /** The monitor plane: admits (or throttles) a principal before policy, and hears of every answered request. */
  monitor?: { admit(p: Principal): void; observe(ctx: RequestContext, event: AuditEvent): void };
  /** RFC 8693 token exchange at /v1/token (absent: the endpoint answers 404). */
  tokens?: { parse(body: Buffer): TokenExchangeRequest; exchange(input: ExchangeInput): Promise<ExchangeResult> };
  /** Extra routes on the inference listener; return true if handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<boolean> | boolean;
}

const POST_ROUTES: Record<string, { endpoint: Exclude<Endpoint, 'models' | 'token'>; action: Action; upstreamPath: string }> = {
  '/v1/chat/completions': { endpoint: 'chat', action: 'chat', upstreamPath: '/chat/completions' },
  '/v1/completions': { endpoint: 'completions', action: 'complete', upstreamPath: '/completions' },
  '/v1/embeddings': { endpoint: 'embeddings', action: 'embed', upstreamPath: '/embeddings' },
};

const USE_ACTIONS: Action[] = ['chat', 'complete', 'embed'];

function usageTokens(json: unknown): number {
  const u = (json as { usage?: { total_tokens?: unknown } } | null)?.usage;
  return typeof u?.total_tokens === 'number' && u.total_tokens > 0 ? u.total_tokens : 0;
}

export class Gateway {
  private readonly identity;
  private readonly network;
  private readonly policy;
  private readonly route;
  private readonly bearer;

  constructor(private readonly d: GatewayDeps) {
    this.identity = createIdentityStage(d.verifiers, (ctx) => d.publicOrigin + (ctx.req.url ?? '/'));
    this.bearer = createBearerVerifier(d.verifiers);
    this.network = createNetworkStage(d.limiter, d.limits);
    this.policy = createPolicyStage(d.authorizer, d.obligations ?? {}, (ctx) => this.policyContext(ctx));
    this.route = createRouteStage(d.routes);
  }

  /** The request facts the policy plane builds its context from (see src/app/policy.ts RequestFacts). */
  private policyContext(ctx: RequestContext): Record<string, unknown> {
    const maxTokens = typeof ctx.body.max_tokens === 'number' ? ctx.body.max_tokens : typeof ctx.body.max_completion_tokens === 'number' ? ctx.body.max_completion_tokens : undefined;
    return {
      now: this.d.clock.now(),
      sourceIp: ctx.sourceIp,
      listener: ctx.listener,
      findings: ctx.findings ?? null,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
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

  private newContext(req: IncomingMessage, requestId: string, endpoint: Endpoint, action: Action): RequestContext {
    return {
      requestId,
      startedAt: process.hrtime.bigint(),
      receivedAt: this.d.clock.now(),
      req,
      socket: req.socket as TLSSocket,
      sourceIp: clientAddress(req),
      listener: 'inference',
      endpoint,
      action,
      rawBody: EMPTY,
      body: {},
      model: null,
      stream: false,
      modelTokens: 0,
    };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const post = POST_ROUTES[path];
    if (post) {
      const ctx = this.newContext(req, requestId, post.endpoint, post.action);
      if (req.method !== 'POST') return this.fail(ctx, res, new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts POST only`), 'validate');
      return this.runInference(ctx, res, post.upstreamPath);
    }
    if (path === '/v1/models') {
      const ctx = this.newContext(req, requestId, 'models', 'listModels');
      if (req.method !== 'GET') return this.fail(ctx, res, new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts GET only`), 'validate');
      return this.listModels(ctx, res);
    }
    if (path === '/v1/token' && this.d.tokens) {
      const ctx = this.newContext(req, requestId, 'token', 'exchangeToken');
      if (req.method !== 'POST') return this.fail(ctx, res, new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts POST only`), 'validate');
      return this.exchangeToken(ctx, res, this.d.tokens);
    }
    if (this.d.extraRoutes && (await this.d.extraRoutes(req, res, requestId))) return;
    const ctx = this.newContext(req, requestId, 'models', 'listModels');
    return this.fail(ctx, res, new NotFound('route_not_found', `no such endpoint: ${req.method} ${path}`), 'validate');
  }

  private async runInference(ctx: RequestContext, res: ServerResponse, upstreamPath: string): Promise<void> {
    let stage = 'read';
    try {
      ctx.rawBody = await readBody(ctx.req, this.d.maxBodyBytes);
      ctx.requestDigest = 'sha256:' + createHash('sha256').update(ctx.rawBody).digest('hex');
      stage = 'identity';
      await this.identity(ctx);
      stage = 'network';
      this.network(ctx);
      this.d.monitor?.admit(ctx.principal!);
      stage = 'validate';
      ctx.body = parseAndValidate(ctx.endpoint as Exclude<Endpoint, 'models' | 'token'>, ctx.rawBody);
      ctx.model = ctx.body.model as string;
      ctx.stream = ctx.body.stream === true && ctx.endpoint !== 'embeddings';
      stage = 'inspect';
      if (this.d.inspector) ctx.findings = this.d.inspector.inspectRequest(ctx.body);
      stage = 'policy';
      this.policy(ctx);
      stage = 'route';
      if (this.d.routeWith) this.d.routeWith(ctx, this.route);
      else this.route(ctx);
      if (ctx.endpoint === 'chat') {
        const planted = withCanary(ctx.body, ctx.target!.output);
        if (planted) {
          ctx.body = planted;
          ctx.rawBody = Buffer.from(JSON.stringify(planted));
        }
      }
      stage = 'upstream';
      if (ctx.stream) await this.forwardStream(ctx, res, upstreamPath);
      else await this.forward(ctx, res, upstreamPath);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: ctx.requestId }, 'unexpected error in pipeline');
      if (err instanceof OutputBlocked) this.noteOutputFinding(ctx, err);
      await this.fail(ctx, res, err, err instanceof OutputBlocked ? 'verify' : err.stage ?? stage);
    }
  }

  /** Answer findings join the request's findings as `output.<category>.<type>` (types and counts reach the ledger). */
  private noteAnswerFindings(ctx: RequestContext, texts: string[]): void {
    const inspect = this.d.inspector?.inspectResponse;
    if (!inspect || texts.length === 0) return;
    const found = inspect(texts).map((f): Finding => ({ ...f, category: 'output', type: `${f.category}.${f.type}` }));
    if (found.length === 0) return;
    const base = ctx.findings ?? { items: [], classification: 'public' as const, injectionScore: 0, injectionSignals: [] };
    ctx.findings = { ...base, items: [...base.items, ...found] };
  }

  /** Redacts a non-stream answer: chat messages by the inspection plane, legacy completion text likewise. */
  private redactResponse(ctx: RequestContext, json: unknown, targets: string[]): unknown {
    if (ctx.endpoint === 'chat') return redactChatResponse(json, targets);
    if (ctx.endpoint === 'completions') {
      const j = json as { choices?: { text?: unknown }[] };
      return { ...j, choices: (j.choices ?? []).map((c) => (typeof c.text === 'string' ? { ...c, text: redact(c.text, targets) } : c)) };
    }
    return json;
  }

  /** The output finding joins the request's findings (types and counts reach the ledger entry). */
  private noteOutputFinding(ctx: RequestContext, e: OutputBlocked): void {
    this.d.log.warn({ requestId: ctx.requestId, finding: e.finding.type, upstream: ctx.target?.name }, 'answer broke the output policy and was withheld');
    const base = ctx.findings ?? { items: [], classification: 'public' as const, injectionScore: 0, injectionSignals: [] };
    ctx.findings = { ...base, items: [...base.items, e.finding] };
  }

  /** Ends a request with a typed error: one audit entry, one JSON error body (unless a stream already began). */
  private async fail(ctx: RequestContext, res: ServerResponse, err: WardenError, stage: string): Promise<void> {
    ctx.stage = stage;
    ctx.lease?.release(ctx.modelTokens);
    const status = res.headersSent ? 502 : err.status;
    const event = inferenceEvent(ctx, status, err, this.d.clock.now());
    try {
      await this.d.audit.append(event);
    } catch (auditErr) {
      this.d.metrics.auditFailures.inc();
      this.d.log.error({ err: auditErr, requestId: ctx.requestId }, 'audit append failed for a refused request');
    }
    if (res.headersSent) {
      // A stream was under way: end it with an error event (OpenAI clients surface `error` payloads).
      if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify(err.toBody(ctx.requestId))}\n\n`);
    } else if (ctx.endpoint === 'token') {
      sendOAuthError(res, err, ctx.requestId);
    } else {
      // 413 stops reading the body: close the connection rather than drain an oversized upload.
      sendError(res, err, ctx.requestId, err.status === 413);
    }
    if (err.type === 'upstream_error' || err.type === 'timeout_error' || err.type === 'unavailable_error') {
      this.d.metrics.upstreamErrors.inc({ upstream: ctx.target?.name ?? 'none', code: err.code });
    }
    this.finish(ctx, status, event);
  }

  private finish(ctx: RequestContext, status: number, event: AuditEvent): void {
    this.d.monitor?.observe(ctx, event);
    this.d.metrics.requests.inc({ endpoint: ctx.endpoint, status });
    this.d.metrics.decisions.inc({ decision: event.decision, stage: event.stage ?? 'done' });
    this.d.metrics.latency.observe({ endpoint: ctx.endpoint }, event.latencyMs / 1000);
    if (this.d.accessLog) {
      this.d.log.info(
        { requestId: ctx.requestId, principal: ctx.principal?.id ?? null, action: ctx.action, model: ctx.model, status, decision: event.decision, stage: event.stage, ms: event.latencyMs },
        'request',
      );
    }
  }

  /** Commits the audit entry before the response is released (fail closed). */
  private async commit(ctx: RequestContext, status: number): Promise<{ event: AuditEvent; receipt?: string }> {
    const event = inferenceEvent(ctx, status, null, this.d.clock.now());
    try {
      const r = await this.d.audit.append(event);
      return r.receipt !== undefined ? { event, receipt: r.receipt } : { event };
    } catch (e) {
      this.d.metrics.auditFailures.inc();
      this.d.log.error({ err: e, requestId: ctx.requestId }, 'audit append failed; refusing to release the response');
      const err = new FailClosed('audit_unavailable', 'the audit ledger could not record this request; the response is withheld');
      err.stage = 'audit';
      throw err;
    }
  }

  private async forward(ctx: RequestContext, res: ServerResponse, upstreamPath: string): Promise<void> {
    const target = ctx.target!;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const r = await callUpstream(target, 'POST', upstreamPath, ctx.rawBody, ctx.requestId, abort.signal);
    const buf = await readUpstreamBody(target, r);
    if (r.statusCode >= 300) throw upstreamStatusError(target, r.statusCode, buf);
    if (this.d.verifyServed) await this.d.verifyServed(ctx, r.headers);
    let json: unknown = null;
    try {
      json = JSON.parse(buf.toString('utf8'));
    } catch {
      throw upstreamStatusError(target, 502, buf);
    }
    ctx.modelTokens = usageTokens(json);
    // The answer's texts are collected once for both the output policy and the findings.
    const texts = responseTexts(json);
    checkAnswerTexts(texts, target.output);
    this.noteAnswerFindings(ctx, texts);
    let out = buf;
    if (ctx.endpoint === 'chat' && this.d.filterToolCalls) {
      const f = this.d.filterToolCalls(ctx, json);
      if (f.changed) {
        json = f.json;
        out = Buffer.from(JSON.stringify(json));
      }
    }
    if (ctx.redactTargets?.length) {
      // The obliged redaction, on the already filtered answer: the client (and the receipt's digest) see only this.
      out = Buffer.from(JSON.stringify(this.redactResponse(ctx, json, ctx.redactTargets)));
    }
    ctx.responseDigest = 'sha256:' + createHash('sha256').update(out).digest('hex');
    if (this.d.retain) {
      // Before the ledger entry, so a failure still ends in exactly one entry (the refusal).
      try {
        this.d.retain(ctx, out);
      } catch (e) {
        this.d.log.error({ err: e, requestId: ctx.requestId }, 'payload retention failed; withholding the answer');
        throw new FailClosed('retention_unavailable', 'the payload could not be retained as configured; the answer is withheld');
      }
    }
    const { event, receipt } = await this.commit(ctx, 200);
    ctx.lease?.release(ctx.modelTokens);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': out.length, 'x-request-id': ctx.requestId };
    if (receipt) headers['warden-receipt'] = receipt;
    res.writeHead(200, headers);
    res.end(out);
    res.off('close', onClose);
    this.finish(ctx, 200, event);
  }

  private async forwardStream(ctx: RequestContext, res: ServerResponse, upstreamPath: string): Promise<void> {
    const target = ctx.target!;
    const abort = new AbortController();
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        abort.abort();
      }
    });
    const r = await callUpstream(target, 'POST', upstreamPath, ctx.rawBody, ctx.requestId, abort.signal);
    const ctype = String(r.headers['content-type'] ?? '');
    if (r.statusCode >= 300 || !ctype.includes('text/event-stream')) {
      const buf = await readUpstreamBody(target, r);
      throw upstreamStatusError(target, r.statusCode >= 300 ? r.statusCode : 502, buf);
    }
    if (this.d.verifyServed) {
      try {
        await this.d.verifyServed(ctx, r.headers);
      } catch (e) {
        r.body.destroy();
        throw e;
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': ctx.requestId });
    res.flushHeaders();
    const hash = createHash('sha256');
    const splitter = new SseSplitter();
    let completionChars = 0;
    const checker = new StreamOutputChecker(target.output);
    const redactors = ctx.redactTargets?.length ? createChatStreamRedactors(ctx.redactTargets) : null;
    // What the client receives is inspected once the stream ends (findings for the ledger, never a delay).
    const answerText: string[] = [];
    let answerBytes = 0;
    const keepAnswer = (c: Record<string, unknown>) => {
      if (!this.d.inspector?.inspectResponse || answerBytes > MAX_INSPECTED_ANSWER) return;
      for (const t of responseTexts(c)) {
        answerText.push(t);
        answerBytes += t.length;
      }
    };
    const filter = this.d.filterToolCalls;
    const gate = ctx.endpoint === 'chat' && filter ? new StreamToolCallGate((json) => filter(ctx, json)) : null;
    let lastChunk: Record<string, unknown> | undefined;
    // With retention on, the streamed answer is also kept (it is what the client received).
    const kept: string[] | null = this.d.retain ? [] : null;
    const emit = async (text: string) => {
      hash.update(text);
      kept?.push(text);
      if (!res.write(text)) await new Promise<void>((ok) => res.once('drain', ok));
    };
    const relay = async (ev: string) => {
      const data = eventData(ev);
      if (data === '[DONE]') return; // held: the receipt goes before it
      if (data !== null && data.includes('"usage"')) {
        try {
          const t = usageTokens(JSON.parse(data));
          if (t > 0) ctx.modelTokens = t;
        } catch {
          /* not JSON: relayed as is */
        }
      }
      if (data !== null) completionChars += data.length;
      if ((checker.active || redactors || gate || this.d.inspector?.inspectResponse) && data !== null) {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(data);
        } catch {
          if (redactors || gate) throw new UpstreamError(502, 'invalid_upstream_response', `upstream ${target.name} sent a stream event that is not JSON`);
        }
        if ((redactors || gate) && parsed !== null && typeof parsed === 'object') {
          const chunks = gate ? gate.process(parsed as Record<string, unknown>) : [parsed as Record<string, unknown>];
          for (const c of chunks) {
            const red = redactors ? redactChatChunk(c, redactors) : c;
            lastChunk = red;
            checker.chunk(red);
            keepAnswer(c); // findings are about what the model produced, before any redaction
            await emit(`data: ${JSON.stringify(red)}\n\n`);
          }
          return;
        }
        checker.chunk(parsed);
        if (parsed !== null && typeof parsed === 'object') keepAnswer(parsed as Record<string, unknown>);
      }
      await emit(ev + '\n\n');
    };
    try {
      for await (const chunk of r.body) {
        for (const ev of splitter.push(chunk as Buffer)) await relay(ev);
      }
      const rest = splitter.end();
      if (rest) await relay(rest);
    } catch (e) {
      if (clientGone) {
        const err = new WardenError(499, 'invalid_request_error', 'client_closed_request', 'the client closed the connection');
        return this.fail(ctx, res, err, 'upstream');
      }
      if (e instanceof OutputBlocked) {
        abort.abort();
        this.noteOutputFinding(ctx, e);
        return this.fail(ctx, res, e, 'verify');
      }
      throw e instanceof WardenError ? e : new WardenError(502, 'upstream_error', 'upstream_stream_failed', `the stream from upstream ${target.name} failed`);
    }
    if (gate) for (const c of gate.finish(lastChunk)) await emit(`data: ${JSON.stringify(c)}\n\n`);
    if (answerText.length) this.noteAnswerFindings(ctx, [answerText.join('')]);
    if (redactors) {
      const tail = finishChatStream(redactors, lastChunk);
      if (tail) await emit(`data: ${JSON.stringify(tail)}\n\n`);
    }
    // Without reported usage, charge an estimate (~4 characters per token) so token limits still bite.
    if (ctx.modelTokens === 0) ctx.modelTokens = Math.ceil(completionChars / 4);
    ctx.responseDigest = 'sha256:' + hash.digest('hex');
    let committed: { event: AuditEvent; receipt?: string };
    try {
      committed = await this.commit(ctx, 200);
    } catch (e) {
      const err = e as WardenError;
      res.end(`data: ${JSON.stringify(err.toBody(ctx.requestId))}\n\n`);
      ctx.lease?.release(ctx.modelTokens);
      this.d.metrics.auditFailures.inc();
      return;
    }
    if (kept) {
      try {
        this.d.retain!(ctx, Buffer.from(kept.join('')));
      } catch (e) {
        this.d.log.error({ err: e, requestId: ctx.requestId }, 'could not retain the streamed payload');
      }
    }
    if (committed.receipt) {
      res.write(`event: warden.receipt\ndata: ${JSON.stringify({ id: ctx.requestId, object: 'chat.completion.chunk', choices: [], warden_receipt: committed.receipt })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    ctx.lease?.release(ctx.modelTokens);
    this.finish(ctx, 200, committed.event);
  }

  /**
   * RFC 8693 token exchange: the subject token (and, for delegation, the actor token) are verified exactly
   * like bearer credentials, then traded for a short-lived, narrowed, audience-bound Warden token.
   */
  private async exchangeToken(ctx: RequestContext, res: ServerResponse, tokens: NonNullable<GatewayDeps['tokens']>): Promise<void> {
    let stage = 'read';
    try {
      ctx.rawBody = await readBody(ctx.req, 64 * 1024);
      stage = 'validate';
      const ctype = String(ctx.req.headers['content-type'] ?? '');
      if (!ctype.startsWith('application/x-www-form-urlencoded')) {
        throw new BadRequest('invalid_request', 'the token request must be application/x-www-form-urlencoded (RFC 8693 §2.1)', 'content-type');
      }
      const request = tokens.parse(ctx.rawBody);
      stage = 'identity';
      // RFC 9449 §5: a DPoP proof with the request binds the issued token to the proof's key; a bound
      // subject or actor token is exchanged only with a proof by its own key (checked by the exchange).
      const proof = dpopHeader(ctx.req.headers);
      let bindTo: string | undefined;
      if (proof !== undefined) {
        if (!this.d.verifiers.dpopProof) throw new BadRequest('invalid_dpop_proof', 'DPoP is not enabled on this gateway', 'DPoP');
        bindTo = await this.d.verifiers.dpopProof(proof, { method: 'POST', url: `${this.d.publicOrigin}/v1/token` });
      }
      ctx.principal = await this.bearer(request.subjectToken, 'exchange');
      const actor = request.actorToken !== undefined ? await this.bearer(request.actorToken, 'exchange') : undefined;
      stage = 'network';
      this.network(ctx);
      stage = 'policy';
      const issued = await tokens.exchange({
        subject: ctx.principal,
        ...(actor ? { actor } : {}),
        requested: request.requested,
        ...(request.audience.length ? { audience: request.audience } : {}),
        ...(request.resource.length ? { resource: request.resource } : {}),
        ...(bindTo !== undefined ? { bindTo } : {}),
      });
      const { event } = await this.commit(ctx, 200);
      ctx.lease?.release(0);
      // RFC 6749 §5.1: token responses must not be cached.
      sendJson(res, 200, issued, { 'x-request-id': ctx.requestId, 'cache-control': 'no-store', pragma: 'no-cache' });
      this.finish(ctx, 200, event);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: ctx.requestId }, 'token exchange failed');
      await this.fail(ctx, res, err, err.stage ?? stage);
    }
  }

  private async listModels(ctx: RequestContext, res: ServerResponse): Promise<void> {
    let stage = 'identity';
    try {
      await this.identity(ctx);
      stage = 'network';
      this.network(ctx);
      stage = 'policy';
      const p = ctx.principal!;
      const context = this.policyContext(ctx);
      const visible = this.d.models.filter((m) =>
        USE_ACTIONS.some((action) => this.d.authorizer.authorize({ principal: p, action, resource: { type: 'Model', id: m.id }, context }).allow),
      );
      const { event } = await this.commit(ctx, 200);
      ctx.lease?.release(0);
      sendJson(
        res,
        200,
        { object: 'list', data: visible.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy, ...(m.demo ? { demo: true } : {}) })) },
        { 'x-request-id': ctx.requestId },
      );
      this.finish(ctx, 200, event);
    } catch (e) {
      const err = e instanceof WardenError ? e : new BadRequest('invalid_request', 'invalid request');
      await this.fail(ctx, res, err, err.stage ?? stage);
    }
  }
}

const EMPTY = Buffer.alloc(0);
/** Streamed answer text kept for inspection at the end of a stream, at most (characters). */
const MAX_INSPECTED_ANSWER = 1 << 20;

/**
 * RFC 6749 §5.2 / RFC 8693 §2.2.2 error body for /v1/token: OAuth clients expect `error` and
 * `error_description`; an invalid subject or actor token is `invalid_request`.
 */
function sendOAuthError(res: ServerResponse, err: WardenError, requestId: string): void {
  if (res.headersSent) return void res.destroy();
  const oauthCodes = ['invalid_request', 'invalid_scope', 'invalid_target', 'unsupported_grant_type', 'invalid_client', 'invalid_dpop_proof'];
  const error = err.status >= 500 ? (err.status === 503 ? 'temporarily_unavailable' : 'server_error') : err.status === 429 ? 'slow_down' : oauthCodes.includes(err.code) ? err.code : 'invalid_request';
  const status = err.status >= 500 || err.status === 429 ? err.status : 400;
  const description = err.status === 401 && err.code !== 'invalid_dpop_proof' ? 'the subject or actor token is invalid' : err.message;
  sendJson(res, status, { error, error_description: description, request_id: requestId }, { 'x-request-id': requestId, 'cache-control': 'no-store', ...(err.status === 429 ? err.headers : {}) });
}
