// The tools plane's routes on the admin listener (admin principal already authenticated there):
//   GET/POST /admin/v1/tools, GET/PUT/DELETE /admin/v1/tools/{name}        registry (ledger: control entries)
//   GET /admin/v1/approvals[?status=&tool=&requester=&order=oldest|newest&limit=&cursor=] (oldest first, paged), GET /admin/v1/approvals/{id}
//   POST /admin/v1/approvals/{id}/approve|deny  {reason?, mfa_token?}      (ledger: one tool entry each)
//   GET /admin/v1/tools/{name}/definition                                  pinned MCP definition, pending change + diff
//   POST /admin/v1/tools/{name}/definition/approve  {digest}               re-approve a changed definition (ends quarantine)
//   POST /admin/v1/tools/{name}/quarantine  {reason}                       take a tool out of service (every call refused)
//   POST /admin/v1/tools/{name}/release                                    end its quarantine
// Approvers step up (RFC 9470) by sending a token of their own with recent MFA (`mfa_token`, or the
// `Warden-MFA-Token` header): an OIDC token with amr mfa and auth_time, for the same person.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, NotFound, WardenError } from '../core/errors.js';
import type { AuditEvent, Principal } from '../core/types.js';
import type { AuditSink } from '../core/audit-sink.js';
import { sendJson } from '../http/respond.js';
import type { ApprovalStatus, ServedToolDefinition, ToolRecord } from '../store/tools-store.js';
import { APPROVAL_PAGE_MAX, approvalView, type ApprovalListQuery, type ApprovalService } from './approvals.js';
import type { ToolDecide } from './decide.js';
import { toolView, type ToolDefinition, type ToolRegistry } from './registry.js';
import { diffDetail, pinView, type ToolPins } from './pins.js';
import { parseQuarantineReason, quarantineView, type ToolQuarantines } from './quarantine.js';
import { ToolAlreadyQuarantined, ToolDefinitionUnavailable, ToolNotQuarantined } from './errors.js';
import { clientAddress } from '../network/source.js';

export interface AdminRouteDeps {
  clock: Clock;
  log: Logger;
  audit: AuditSink;
  registry: ToolRegistry;
  approvals: ApprovalService;
  decide: ToolDecide;
  pins: ToolPins;
  quarantines: ToolQuarantines;
  /** What the MCP server behind a definition serves for its tool now (null: it does not list it). */
  fetchDefinition: (t: ToolDefinition, admin: Principal, requestId: string) => Promise<ServedToolDefinition | null>;
}

const TOOL = /^\/admin\/v1\/tools\/([^/]+)$/;
const APPROVAL = /^\/admin\/v1\/approvals\/([^/]+)$/;
const DEFINITION = /^\/admin\/v1\/tools\/([^/]+)\/definition$/;
const DEFINITION_APPROVE = /^\/admin\/v1\/tools\/([^/]+)\/definition\/approve$/;
const QUARANTINE = /^\/admin\/v1\/tools\/([^/]+)\/(quarantine|release)$/;
const DECIDE = /^\/admin\/v1\/approvals\/([^/]+)\/(approve|deny)$/;
const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'denied', 'consumed'];
const LIST_PARAMS = new Set(['status', 'tool', 'requester', 'order', 'limit', 'cursor']);

/** GET /admin/v1/approvals?status=&tool=&requester=&order=oldest|newest&limit=1..500&cursor= — each checked. */
function approvalListQuery(p: URLSearchParams): ApprovalListQuery {
  for (const k of p.keys()) if (!LIST_PARAMS.has(k)) throw new BadRequest('invalid_field', `unknown query parameter ${k}; known: ${[...LIST_PARAMS].join(', ')}`, k);
  const q: ApprovalListQuery = {};
  const status = p.get('status');
  if (status !== null) {
    if (!STATUSES.includes(status as ApprovalStatus)) throw new BadRequest('invalid_field', `status must be one of ${STATUSES.join(', ')}`, 'status');
    q.status = status as ApprovalStatus;
  }
  const order = p.get('order');
  if (order !== null) {
    if (order !== 'oldest' && order !== 'newest') throw new BadRequest('invalid_field', 'order must be oldest or newest', 'order');
    q.order = order;
  }
  const limit = p.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > APPROVAL_PAGE_MAX) throw new BadRequest('invalid_field', `limit must be an integer 1-${APPROVAL_PAGE_MAX}`, 'limit');
    q.limit = n;
  }
  for (const k of ['tool', 'requester', 'cursor'] as const) {
    const v = p.get(k);
    if (v !== null) {
      if (v === '') throw new BadRequest('invalid_field', `${k} must not be empty`, k);
      q[k] = v;
    }
  }
  return q;
}

function methodNotAllowed(path: string): WardenError {
  return new WardenError(405, 'invalid_request_error', 'method_not_allowed', `method not allowed on ${path}`);
}

export function createAdminRoute(d: AdminRouteDeps) {
  /**
   * The admin credential opens the listener and says who decides, with Warden's record of their groups; a
   * step-up token (same person, from their bound issuer, recent MFA) adds only the fresh authentication:
   * an API key never carries MFA. One source of groups for the admin gate and the approve decision.
   */
  async function approverWithStepUp(ar: AdminRequest, body: Record<string, unknown>): Promise<Principal> {
    // The header was applied by the admin gate already (ar.principal); a body token goes through the same check.
    const token = body.mfa_token;
    if (token === undefined) return ar.principal;
    if (typeof token !== 'string' || token.length === 0) throw new BadRequest('invalid_field', 'mfa_token must be a token', 'mfa_token');
    return ar.stepUp(token);
  }

  async function decideApproval(req: IncomingMessage, res: ServerResponse, ar: AdminRequest, id: string, approve: boolean): Promise<void> {
    const started = process.hrtime.bigint();
    let approver: Principal = ar.principal;
    let outcome: { status: number; err: WardenError | null; policyVersion: string | null; tool: string | null } = { status: 200, err: null, policyVersion: null, tool: null };
    try {
      const body = await ar.body();
      const reason = body.reason ?? null;
      if (reason !== null && (typeof reason !== 'string' || reason.length > 1000)) throw new BadRequest('invalid_field', 'reason must be a string of at most 1000 characters', 'reason');
      approver = await approverWithStepUp(ar, body);
      const pending = await d.approvals.get(id);
      outcome.tool = pending.tool;
      outcome.policyVersion = pending.policyVersion;
      const tool = await d.registry.get(pending.tool);
      const a = await d.approvals.decide(id, approver, approve, reason as string | null, tool, d.decide, clientAddress(req));
      await record(ar, approver, approve, outcome, started, id);
      sendJson(res, 200, approvalView(a), { 'x-request-id': ar.requestId });
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) d.log.error({ err: e, requestId: ar.requestId }, 'approval decision failed');
      if (err.stage !== 'audit') {
        outcome = { ...outcome, status: err.status, err };
        await record(ar, approver, approve, outcome, started, id).catch((auditErr: unknown) => d.log.error({ err: auditErr, requestId: ar.requestId }, 'audit append failed for a refused approval'));
      }
      throw err;
    }
  }

  async function record(ar: AdminRequest, p: Principal, approve: boolean, o: { status: number; err: WardenError | null; policyVersion: string | null; tool: string | null }, started: bigint, id: string): Promise<void> {
    const event: AuditEvent = {
      time: new Date(d.clock.now()).toISOString(),
      requestId: ar.requestId,
      kind: 'tool',
      principal: { id: p.id, kind: p.kind, tenant: p.tenant, authn: p.authn.method },
      action: approve ? 'approveToolCall' : 'denyToolCall',
      resource: o.tool ? { type: 'Tool', id: o.tool } : null,
      decision: o.err ? (o.err.status >= 500 ? 'error' : 'deny') : 'allow',
      policyIds: [],
      policyVersion: o.policyVersion,
      findings: {},
      deployment: null,
      requestDigest: null,
      responseDigest: null,
      status: o.status,
      latencyMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      details: { approvalId: id, mfa: p.authn.mfaAt !== undefined },
      ...(o.err ? { errorCode: o.err.code, stage: 'approval' } : {}),
    };
    try {
      await d.audit.append(event);
    } catch (e) {
      if (o.err) throw e;
      const fc = new WardenError(503, 'unavailable_error', 'audit_unavailable', 'the audit ledger could not record this decision');
      fc.stage = 'audit';
      throw fc;
    }
  }

  /**
   * A definition about to be written: its description is scanned (agents read it), and for an MCP tool the
   * server's own definition is fetched and scanned, to be pinned once the tool is stored. An MCP tool with no
   * description of its own shows the server's.
   */
  async function vet(def: ToolDefinition, ar: AdminRequest): Promise<{ def: ToolDefinition; served: ServedToolDefinition | null }> {
    d.pins.scanDescription(def.description, 'description');
    if (def.backend.type !== 'mcp') return { def, served: null };
    const served = await d.fetchDefinition(def, ar.principal, ar.requestId);
    if (!served) throw new ToolDefinitionUnavailable(`the MCP server at ${def.backend.url} does not list a tool named ${def.backend.tool}`);
    d.pins.scanDescription(served.description, 'served_definition/description');
    return { def: def.description === '' ? { ...def, description: served.description } : def, served };
  }

  async function pinFor(t: ToolRecord, served: ServedToolDefinition | null, ar: AdminRequest): Promise<Record<string, string>> {
    if (!served) return {};
    return { pinnedDigest: (await d.pins.pin(t.name, served, ar.principal.id)).digest };
  }

  async function approveDefinition(req: IncomingMessage, ar: AdminRequest, name: string): Promise<unknown> {
    const resource = { type: 'Tool' as const, id: name };
    try {
      await d.registry.get(name);
      const body = await ar.body();
      if (typeof body.digest !== 'string') throw new BadRequest('missing_field', 'digest is required: the digest of the pending definition you reviewed', 'digest');
      const r = await d.pins.approve(name, body.digest, ar.principal.id);
      await ar.record('tool.definition.approve', resource, { from: r.before.digest, to: r.after.digest, definitionDiff: diffDetail(r.changes) });
      return pinView(r.after);
    } catch (e) {
      if (e instanceof WardenError && e.stage !== 'audit') await ar.record('tool.definition.approve', resource, {}, e);
      throw e;
    }
  }

  /** Quarantine or release, decided by the PDP at the gate (manageTools on the tool); the ledger entry before the change. */
  async function quarantineChange(ar: AdminRequest, name: string, verb: 'quarantine' | 'release'): Promise<unknown> {
    const resource = { type: 'Tool' as const, id: name };
    const action = verb === 'quarantine' ? 'tool.quarantine' : 'tool.release';
    try {
      if (verb === 'quarantine') {
        const reason = parseQuarantineReason((await ar.body()).reason);
        await d.registry.get(name);
        if (await d.quarantines.get(name)) throw new ToolAlreadyQuarantined(name); // the first one stays
        await ar.record(action, resource, { reason });
        return quarantineView(await d.quarantines.quarantine(name, reason, ar.principal.id));
      }
      // A release needs no registered tool: a quarantine outlives the tool's deletion.
      const q = await d.quarantines.get(name);
      if (!q) throw new ToolNotQuarantined(name);
      await ar.record(action, resource, { reason: q.reason, quarantinedBy: q.by });
      return { released: quarantineView(await d.quarantines.release(name)) };
    } catch (e) {
      if (e instanceof WardenError && e.stage !== 'audit') await ar.record(action, resource, {}, e);
      throw e;
    }
  }

  return async function adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const path = ar.path;
    const send = (status: number, body: unknown) => sendJson(res, status, body, { 'x-request-id': ar.requestId });
    if (path === '/admin/v1/tools') {
      if (req.method === 'GET') {
        const quarantined = new Map((await d.quarantines.list()).map((q) => [q.name, quarantineView(q)]));
        return send(200, { object: 'list', data: (await d.registry.listStored()).map((t) => ({ ...toolView(t), quarantine: quarantined.get(t.name) ?? null })) }), true;
      }
      if (req.method !== 'POST') throw methodNotAllowed(path);
      const { def, served } = await vet(d.registry.parse(await ar.body()), ar);
      const t = await d.registry.create(def);
      const pinned = await pinFor(t, served, ar);
      await ar.record('tool.create', { type: 'Tool', id: t.name }, { risk: t.risk, needsApproval: t.needsApproval, backend: t.backend.type, egress: t.egress.join(','), version: t.version, ...pinned });
      send(201, toolView(t));
      return true;
    }
    const tm = TOOL.exec(path);
    if (tm) {
      const name = decodeURIComponent(tm[1]!);
      if (req.method === 'GET') {
        const t = await d.registry.get(name);
        const q = await d.quarantines.get(name);
        return send(200, { ...toolView(t), quarantine: q ? quarantineView(q) : null }), true;
      }
      if (req.method === 'DELETE') {
        await d.registry.remove(name);
        await d.pins.remove(name);
        await ar.record('tool.delete', { type: 'Tool', id: name });
        send(200, { deleted: name });
        return true;
      }
      if (req.method !== 'PUT') throw methodNotAllowed(path);
      const body = await ar.body();
      const expected = body.expected_version;
      if (expected !== undefined && !Number.isInteger(expected)) throw new BadRequest('invalid_field', 'expected_version must be an integer', 'expected_version');
      const { expected_version: _x, ...rest } = body;
      const { def, served } = await vet(d.registry.parse(rest, name), ar);
      const t = await d.registry.update(def, expected as number | undefined);
      // Re-registering is the admin's consent to what the server serves now: the pin moves and a quarantine ends.
      const pinned = await pinFor(t, served, ar);
      if (!served) await d.pins.remove(t.name);
      await ar.record('tool.update', { type: 'Tool', id: t.name }, { risk: t.risk, needsApproval: t.needsApproval, backend: t.backend.type, egress: t.egress.join(','), version: t.version, ...pinned });
      send(200, toolView(t));
      return true;
    }
    const qm = QUARANTINE.exec(path);
    if (qm) {
      if (req.method !== 'POST') throw methodNotAllowed(path);
      return send(200, await quarantineChange(ar, decodeURIComponent(qm[1]!), qm[2] as 'quarantine' | 'release')), true;
    }
    const dfm = DEFINITION.exec(path);
    if (dfm) {
      if (req.method !== 'GET') throw methodNotAllowed(path);
      const name = decodeURIComponent(dfm[1]!);
      await d.registry.get(name);
      const pin = await d.pins.get(name);
      if (!pin) throw new NotFound('tool_definition_not_pinned', `the tool ${name} has no pinned definition (only MCP-backed tools have one)`);
      return send(200, pinView(pin)), true;
    }
    const dam = DEFINITION_APPROVE.exec(path);
    if (dam) {
      if (req.method !== 'POST') throw methodNotAllowed(path);
      return send(200, await approveDefinition(req, ar, decodeURIComponent(dam[1]!))), true;
    }
    if (path === '/admin/v1/approvals') {
      if (req.method !== 'GET') throw methodNotAllowed(path);
      const page = await d.approvals.list(approvalListQuery(new URL(req.url ?? '/', 'https://admin.invalid').searchParams));
      send(200, { object: 'list', data: page.data.map(approvalView), has_more: page.nextCursor !== null, next_cursor: page.nextCursor });
      return true;
    }
    const dm = DECIDE.exec(path);
    if (dm) {
      if (req.method !== 'POST') throw methodNotAllowed(path);
      await decideApproval(req, res, ar, decodeURIComponent(dm[1]!), dm[2] === 'approve');
      return true;
    }
    const am = APPROVAL.exec(path);
    if (am) {
      if (req.method !== 'GET') throw methodNotAllowed(path);
      send(200, approvalView(await d.approvals.get(decodeURIComponent(am[1]!))));
      return true;
    }
    if (path.startsWith('/admin/v1/tools/') || path.startsWith('/admin/v1/approvals/')) throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${path}`);
    return false;
  };
}
