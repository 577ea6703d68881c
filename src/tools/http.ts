// The tools plane's routes on the inference listener:
//   POST /v1/tools/{name}/invoke   {arguments, approval_id?}  → 200 result | 202 approval pending
//                                  (Prefer: wait=N, N ≤ 60: waits for the approver, then runs it: 200)
//   GET  /v1/tools                 the tools the caller may call (OpenAI `tools` format)
//   GET  /v1/tools/approvals/{id}  the status of one's own approval request
//   GET  /v1/tools/jwks            keys that verify per-call backend credentials
//   POST /mcp                      MCP gateway (Streamable HTTP)
//   GET  /.well-known/oauth-protected-resource[/mcp]   RFC 9728 metadata for MCP clients
// Caller: `Authorization: Bearer <token>` — for an agent, the delegated token from /v1/token
// (subject = the user, actor = the agent, RFC 8693), so the call runs with the user's authority.
import { auditEvent, auditPrincipal } from '../core/audit-event.js';
import { FailClosed } from '../core/errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, Unauthenticated, WardenError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { AuditSink } from '../gateway/audit.js';
import { readBody, sendError, sendJson } from '../gateway/http.js';
import { dpopHeader, parseAuthorization, type Presented } from '../gateway/stages/identity.js';
import { approvalView, type ApprovalService } from './approvals.js';
import type { ToolCredentialIssuer } from './credential.js';
import { ApprovalNotApproved, ApprovalNotFound } from './errors.js';
import { serveMcp } from './mcp.js';
import type { ToolMediator } from './mediator.js';
import type { ToolRegistry } from './registry.js';
import { clientAddress } from '../network/source.js';

export interface VerifiedCaller {
  principal: Principal;
  /** The tool a JIT token was narrowed to. */
  narrowedTo?: string;
}

/** `presented`: how the token came with this request (RFC 9449 sender binding); absent for a step-up token. */
export type ToolAuthenticator = (token: string, presented?: Presented) => Promise<VerifiedCaller>;

export interface InferenceRouteDeps {
  clock: Clock;
  log: Logger;
  audit: AuditSink;
  authenticate: ToolAuthenticator;
  registry: ToolRegistry;
  mediator: ToolMediator;
  approvals: ApprovalService;
  credentials: ToolCredentialIssuer;
  publicOrigin: string;
  maxBodyBytes: number;
}

const INVOKE = /^\/v1\/tools\/([^/]+)\/invoke$/;
const APPROVAL = /^\/v1\/tools\/approvals\/([^/]+)$/;

/** The token and how it was presented (scheme, DPoP proof, this request's method and URI) for the sender-binding check. */
function credentialOf(req: IncomingMessage, challenge: string, publicOrigin: string): { token: string; presented: Presented } {
  const auth = req.headers.authorization;
  if (auth === undefined) throw new Unauthenticated('missing_credentials', 'authentication is required', challenge);
  const { scheme, token } = parseAuthorization(auth, challenge);
  return { token, presented: { scheme, proof: dpopHeader(req.headers), method: req.method ?? 'GET', url: publicOrigin + (req.url ?? '/') } };
}

/** Longest `Prefer: wait` honoured for a held call, in seconds. */
export const MAX_APPROVAL_WAIT_SEC = 60;

/** RFC 7240 §4.3 `wait=<seconds>` from a Prefer header (any of its comma-separated preferences), capped. */
export function preferWait(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  const m = /(?:^|[,\s])wait\s*=\s*"?(\d{1,6})"?\s*(?:[,;]|$)/i.exec(text);
  return m ? Math.min(Number(m[1]), MAX_APPROVAL_WAIT_SEC) : 0;
}

function authenticateRequest(d: InferenceRouteDeps, req: IncomingMessage, challenge: string): Promise<VerifiedCaller> {
  const { token, presented } = credentialOf(req, challenge, d.publicOrigin);
  return d.authenticate(token, presented);
}

function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new BadRequest('invalid_json', 'the request body is not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('invalid_body', 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

export function createInferenceRoute(d: InferenceRouteDeps) {
  const resourceMetadata = `${d.publicOrigin}/.well-known/oauth-protected-resource/mcp`;
  const challenge = 'Bearer realm="warden"';
  const mcpChallenge = `Bearer realm="warden", resource_metadata="${resourceMetadata}"`;

  /** A refusal before the mediator saw the call (no credential, bad body): still one ledger entry. */
  async function auditRefused(requestId: string, action: string, tool: string | null, principal: Principal | null, err: WardenError): Promise<void> {
    const event = auditEvent({
      time: new Date(d.clock.now()).toISOString(),
      requestId,
      kind: 'tool',
      principal: principal ? auditPrincipal(principal) : null,
      action,
      resource: tool ? { type: 'Tool', id: tool } : null,
      decision: err.status >= 500 ? 'error' : 'deny',
      stage: err.stage ?? (principal ? 'validate' : 'identity'),
      status: err.status,
      errorCode: err.code,
    });
    try {
      await d.audit.append(event);
    } catch (e) {
      d.log.error({ err: e, requestId }, 'audit append failed for a refused tool request');
    }
  }

  /**
   * An answered request that the mediator does not record itself (listings, approval status, MCP
   * handshakes): one ledger entry, durable before the answer is released (fail closed).
   */
  async function auditAllowed(requestId: string, action: string, principal: Principal): Promise<void> {
    try {
      await d.audit.append(auditEvent({ time: new Date(d.clock.now()).toISOString(), requestId, kind: 'tool', principal: auditPrincipal(principal), action, decision: 'allow', status: 200 }));
    } catch (e) {
      d.log.error({ err: e, requestId }, 'audit append failed; withholding the answer');
      throw new FailClosed('audit_unavailable', 'the audit ledger could not record this request; the answer is withheld');
    }
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, requestId: string, tool: string): Promise<void> {
    let caller: VerifiedCaller | null = null;
    try {
      if (req.method !== 'POST') throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', 'invoke accepts POST only');
      const raw = await readBody(req, d.maxBodyBytes);
      caller = await authenticateRequest(d, req, challenge);
      const body = parseJsonObject(raw);
      const approvalId = body.approval_id ?? req.headers['warden-approval'];
      if (approvalId !== undefined && typeof approvalId !== 'string') throw new BadRequest('invalid_field', 'approval_id must be a string', 'approval_id');
      if (body.arguments === undefined) throw new BadRequest('missing_field', 'arguments is required', 'arguments');
      const c = caller;
      const run = (approval: string | undefined) =>
        d.mediator.invoke({
          principal: c.principal,
          ...(c.narrowedTo !== undefined ? { narrowedTo: c.narrowedTo } : {}),
          tool,
          args: body.arguments,
          ...(approval !== undefined ? { approvalId: approval } : {}),
          sourceIp: clientAddress(req),
          requestId,
          listener: 'inference',
        }).catch((e: unknown) => {
          if (e instanceof WardenError) (e as WardenError & { audited?: boolean }).audited = true;
          throw e;
        });
      const wait = preferWait(req.headers.prefer);
      const applied: Record<string, string> = wait > 0 ? { 'preference-applied': `wait=${wait}` } : {};
      // Watch for the caller going away from the start: it may hang up while the call is being held.
      const gone = new AbortController();
      if (wait > 0) {
        res.once('close', () => {
          if (!res.writableEnded) gone.abort();
        });
      }
      let out = await run(approvalId);
      if (out.kind === 'held' && wait > 0) {
        // RFC 7240 `Prefer: wait=N`: hold the answer until an approver decides (or N s pass). If the caller
        // goes away meanwhile nothing runs; the approval stays usable with approval_id.
        const status = await d.approvals.waitForDecision(out.approval.id, wait * 1000, gone.signal);
        if (gone.signal.aborted || res.destroyed) return;
        if (status === 'approved') out = await run(out.approval.id);
        else if (status !== 'pending') throw new ApprovalNotApproved(status);
      }
      if (out.kind === 'held') {
        return sendJson(
          res,
          202,
          { object: 'tool.approval', status: 'pending', approval: approvalView(out.approval), poll: `/v1/tools/approvals/${out.approval.id}`, request_id: requestId },
          { 'x-request-id': requestId, location: `/v1/tools/approvals/${out.approval.id}`, ...applied },
        );
      }
      const f = out.findings;
      sendJson(
        res,
        200,
        {
          object: 'tool.result',
          tool: out.tool,
          result: out.result.value,
          is_error: out.result.isError,
          warden: { injection_score: f.injectionScore, injection_signals: f.injectionSignals, findings: f.items.map((i) => `${i.category}.${i.type}`), approval_id: out.approvalId },
          request_id: requestId,
        },
        { 'x-request-id': requestId, ...applied },
      );
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) d.log.error({ err: e, requestId }, 'tool invoke failed');
      if (!(err as WardenError & { audited?: boolean }).audited) await auditRefused(requestId, 'callTool', tool, caller?.principal ?? null, err);
      sendError(res, err, requestId, err.status === 413);
    }
  }

  /** Authenticates, computes the answer, records it in the ledger, then releases it. */
  async function authed(req: IncomingMessage, res: ServerResponse, requestId: string, action: string, run: (c: VerifiedCaller) => Promise<unknown>): Promise<void> {
    let caller: VerifiedCaller | null = null;
    try {
      caller = await authenticateRequest(d, req, challenge);
      const answer = await run(caller);
      await auditAllowed(requestId, action, caller.principal);
      sendJson(res, 200, answer, { 'x-request-id': requestId });
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) d.log.error({ err: e, requestId }, 'tools request failed');
      await auditRefused(requestId, action, null, caller?.principal ?? null, err);
      sendError(res, err, requestId);
    }
  }

  return async function inferenceRoute(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const inv = INVOKE.exec(path);
    if (inv) {
      await invoke(req, res, requestId, decodeURIComponent(inv[1]!));
      return true;
    }
    if (path === '/v1/tools' && req.method === 'GET') {
      await authed(req, res, requestId, 'listTools', async (c) => {
        const ip = clientAddress(req);
        const data = d.registry
          .list()
          .filter((t) => (c.narrowedTo === undefined || c.narrowedTo === t.name) && d.mediator.assess(c.principal, t.name, undefined, ip).allow)
          .map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema }, warden: { risk: t.risk, needs_approval: t.needsApproval } }));
        return { object: 'list', data };
      });
      return true;
    }
    const ap = APPROVAL.exec(path);
    if (ap && req.method === 'GET') {
      await authed(req, res, requestId, 'readApproval', async (c) => {
        const a = d.approvals.get(decodeURIComponent(ap[1]!));
        // Only the requester sees their request; to anyone else it does not exist.
        if (a.requester !== c.principal.id || a.tenant !== c.principal.tenant) throw new ApprovalNotFound(ap[1]!);
        return approvalView(a);
      });
      return true;
    }
    if (path === '/v1/tools/jwks' && req.method === 'GET') {
      sendJson(res, 200, await d.credentials.publicJwks(), { 'x-request-id': requestId, 'cache-control': 'max-age=300' });
      return true;
    }
    if (path === '/.well-known/oauth-protected-resource/mcp' || path === '/.well-known/oauth-protected-resource') {
      // RFC 9728 §3: the resource and the authorization server that issues tokens for it (Warden's /v1/token).
      sendJson(res, 200, { resource: `${d.publicOrigin}/mcp`, authorization_servers: [d.publicOrigin], bearer_methods_supported: ['header'] }, { 'x-request-id': requestId });
      return true;
    }
    if (path === '/mcp') {
      let caller: VerifiedCaller | null = null;
      try {
        if (req.method !== 'POST') throw new WardenError(405, 'invalid_request_error', 'method_not_allowed', 'this MCP endpoint is stateless: POST only');
        const raw = await readBody(req, d.maxBodyBytes);
        caller = await authenticateRequest(d, req, mcpChallenge).catch((e: unknown) => {
          // MCP clients discover the authorization server from the challenge (MCP authorization, RFC 9728 §5.1).
          if (e instanceof WardenError && e.status === 401) throw new Unauthenticated(e.code, e.message, mcpChallenge);
          throw e;
        });
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new BadRequest('invalid_json', 'the request body is not valid JSON');
        }
        const c = caller;
        // tools/call is recorded by the mediator; every other MCP message (initialize, tools/list, ...) here.
        const methods = (Array.isArray(body) ? body : [body]).map((m) => (m && typeof m === 'object' ? (m as { method?: unknown }).method : undefined));
        const notMediated = methods.filter((m) => m !== 'tools/call');
        if (notMediated.length > 0) await auditAllowed(requestId, `mcp:${notMediated.map((m) => (typeof m === 'string' ? m : 'response')).join(',')}`, c.principal);
        await serveMcp(req, res, body, { principal: c.principal, ...(c.narrowedTo !== undefined ? { narrowedTo: c.narrowedTo } : {}), sourceIp: clientAddress(req), requestId }, d.registry, d.mediator);
      } catch (e) {
        const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
        if (!(e instanceof WardenError)) d.log.error({ err: e, requestId }, 'mcp request failed');
        await auditRefused(requestId, 'mcp', null, caller?.principal ?? null, err);
        if (err.status === 405) res.setHeader('allow', 'POST');
        sendError(res, err, requestId);
      }
      return true;
    }
    return false;
  };
}
