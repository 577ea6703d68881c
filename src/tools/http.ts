// The tools plane's handlers for the inference listener's tool routes. The gateway (src/gateway/gateway.ts)
// runs identity, network, body reading and parsing for them exactly as for model requests, and sends every
// refusal through its one failure path; these handlers only do the tools plane's part:
//   POST /v1/tools/{name}/invoke   {arguments, approval_id?}  → 200 result | 202 approval pending
//                                  (Prefer: wait=N, N ≤ 60: waits for the approver, then runs it: 200)
//   GET  /v1/tools                 the tools the caller may call (OpenAI `tools` format)
//   GET  /v1/tools/approvals/{id}  the status of one's own approval request
//   GET  /v1/tools/jwks            keys that verify per-call backend credentials
//   POST /mcp                      MCP gateway (Streamable HTTP)
//   GET  /.well-known/oauth-protected-resource[/mcp]   RFC 9728 metadata for MCP clients (the OIDC issuers,
//                                  then Warden's token exchange, as authorization servers)
// Caller: `Authorization: Bearer <token>` — for an agent, the delegated token from /v1/token
// (subject = the user, actor = the agent, RFC 8693), so the call runs with the user's authority.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest, WardenError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Presented } from '../http/credentials.js';
import { approvalView, type ApprovalService } from './approvals.js';
import type { ToolCredentialIssuer } from './credential.js';
import { ApprovalNotApproved, ApprovalNotFound } from './errors.js';
import { serveMcp } from './mcp.js';
import type { ToolMediator } from './mediator.js';
import type { ToolRegistry } from './registry.js';

export interface VerifiedCaller {
  principal: Principal;
  /** The tool a JIT token was narrowed to. */
  narrowedTo?: string;
}

/** `presented`: how the token came with this request (RFC 9449 sender binding); absent for a step-up token. */
export type ToolAuthenticator = (token: string, presented?: Presented) => Promise<VerifiedCaller>;

export interface InferenceRouteDeps {
  registry: ToolRegistry;
  mediator: ToolMediator;
  approvals: ApprovalService;
  credentials: ToolCredentialIssuer;
  publicOrigin: string;
  /**
   * Issuer identifiers (RFC 8414) of the authorization servers whose tokens these routes accept, in the order
   * a client should try them: the configured OIDC issuers (they log users in and serve their own metadata),
   * then Warden itself when its token endpoint is served (token exchange only).
   */
  authorizationServers: readonly string[];
}

/** RFC 9728 §3.1: the well-known prefix; what follows it is the path of the resource the document is for. */
const PRM_PREFIX = '/.well-known/oauth-protected-resource';

/** Longest `Prefer: wait` honoured for a held call, in seconds. */
export const MAX_APPROVAL_WAIT_SEC = 60;

/** RFC 7240 §4.3 `wait=<seconds>` from a Prefer header (any of its comma-separated preferences), capped. */
export function preferWait(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  const m = /(?:^|[,\s])wait\s*=\s*"?(\d{1,6})"?\s*(?:[,;]|$)/i.exec(text);
  return m ? Math.min(Number(m[1]), MAX_APPROVAL_WAIT_SEC) : 0;
}

/**
 * The handlers behind the gateway's tool routes (GatewayDeps.tools). Calls are mediated (PDP, approvals,
 * inspection, egress) and the mediator writes each call's ledger entry; errors it raised are marked
 * `audited` so the gateway's failure path does not write a second entry.
 */
export function createToolRoutes(d: InferenceRouteDeps) {
  const resourceMetadataUrl = `${d.publicOrigin}/.well-known/oauth-protected-resource/mcp`;

  const markAudited = (e: unknown): never => {
    if (e instanceof WardenError) (e as WardenError & { audited?: boolean }).audited = true;
    throw e;
  };

  return {
    resourceMetadataUrl,

    list(p: Principal, sourceIp: string): unknown {
      const data = d.registry
        .list()
        .filter((t) => d.mediator.assess(p, t.name, undefined, sourceIp).allow)
        .map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema }, warden: { risk: t.risk, needs_approval: t.needsApproval } }));
      return { object: 'list', data };
    },

    async approval(p: Principal, id: string): Promise<unknown> {
      const a = await d.approvals.get(id);
      // Only the requester sees their request; to anyone else it does not exist.
      if (a.requester !== p.id || a.tenant !== p.tenant) throw new ApprovalNotFound(id);
      return approvalView(a);
    },

    jwks: () => d.credentials.publicJwks(),

    // RFC 9728 §3.3: the document fetched for a resource path names exactly that resource (`…/mcp` → the MCP
    // endpoint, the bare one → the whole origin), or a client must refuse it.
    metadata: (path: string): unknown => ({
      resource: d.publicOrigin + (path.startsWith(PRM_PREFIX) ? path.slice(PRM_PREFIX.length) : ''),
      ...(d.authorizationServers.length > 0 ? { authorization_servers: [...d.authorizationServers] } : {}),
      bearer_methods_supported: ['header'],
      resource_name: 'Warden',
    }),

    async invoke(c: { principal: Principal; tool: string; body: Record<string, unknown>; sourceIp: string; requestId: string; prefer: string | string[] | undefined; approvalHeader: string | string[] | undefined; gone: AbortSignal }) {
      const { body } = c;
      const approvalId = body.approval_id ?? c.approvalHeader;
      if (approvalId !== undefined && typeof approvalId !== 'string') throw new BadRequest('invalid_field', 'approval_id must be a string', 'approval_id');
      if (body.arguments === undefined) throw new BadRequest('missing_field', 'arguments is required', 'arguments');
      const run = (approval: string | undefined) =>
        d.mediator
          .invoke({
            principal: c.principal,
            tool: c.tool,
            args: body.arguments,
            ...(approval !== undefined ? { approvalId: approval } : {}),
            sourceIp: c.sourceIp,
            requestId: c.requestId,
            listener: 'inference',
          })
          .catch(markAudited);
      const wait = preferWait(c.prefer);
      const applied: Record<string, string> = wait > 0 ? { 'preference-applied': `wait=${wait}` } : {};
      let out = await run(approvalId);
      if (out.kind === 'held' && wait > 0) {
        // RFC 7240 `Prefer: wait=N`: hold the answer until an approver decides (or N s pass). If the caller
        // goes away meanwhile nothing runs; the approval stays usable with approval_id.
        const status = await d.approvals.waitForDecision(out.approval.id, wait * 1000, c.gone);
        if (c.gone.aborted) return null;
        if (status === 'approved') out = await run(out.approval.id);
        else if (status !== 'pending') throw new ApprovalNotApproved(status);
      }
      if (out.kind === 'held') {
        return {
          status: 202,
          body: { object: 'tool.approval', status: 'pending', approval: approvalView(out.approval), poll: `/v1/tools/approvals/${out.approval.id}`, request_id: c.requestId },
          headers: { location: `/v1/tools/approvals/${out.approval.id}`, ...applied },
        };
      }
      const f = out.findings;
      return {
        status: 200,
        body: {
          object: 'tool.result',
          tool: out.tool,
          result: out.result.value,
          is_error: out.result.isError,
          warden: { injection_score: f.injectionScore, injection_signals: f.injectionSignals, findings: f.items.map((i) => `${i.category}.${i.type}`), approval_id: out.approvalId },
          request_id: c.requestId,
        },
        headers: applied,
      };
    },

    mcp: (req: IncomingMessage, res: ServerResponse, body: unknown, c: { principal: Principal; sourceIp: string; requestId: string }) => serveMcp(req, res, body, c, d.registry, d.mediator),
  };
}
