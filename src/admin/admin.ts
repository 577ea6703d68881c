// The control-plane API on its own listener. Every /admin/v1 and /metrics request needs an admin principal;
// every change is an audit entry. /healthz and /readyz answer without credentials and reveal nothing else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, Forbidden, NotFound, Unauthenticated, WardenError } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import { parseSpiffeId } from '../identity/mtls/spiffe-id.js';
import { parseDuration } from '../core/duration.js';
import type { Action, AuditEvent, Decision, Principal, PrincipalKind, Resource } from '../core/types.js';
import { auditEvent, auditPrincipal, clientRequestId } from '../core/audit-event.js';
import type { ApiKeyService } from '../identity/api-keys.js';
import { parseCidrs, clientAddress } from '../network/source.js';
import type { ApiKeyRecord, IdentityStore, PrincipalRecord } from '../store/identity-store.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { RequestContext } from '../gateway/context.js';
import { readBody } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import type { Metrics } from '../gateway/metrics.js';
import { createIdentityStage, type CredentialVerifiers } from '../gateway/stages/identity.js';
import { matchAdminRoute, type AdminNeed } from './routes.js';

export interface AdminDeps {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  verifiers: CredentialVerifiers;
  keys: ApiKeyService;
  store: IdentityStore;
  audit: AuditSink;
  publicOrigin: string;
  /** /readyz: whether this replica can serve, per check (src/admin/readiness.ts). */
  ready: () => Promise<{ ready: boolean; status?: string; checks: Record<string, string> }>;
  /** Extra read-only handlers (e.g. the ledger's /audit/v1); return true if handled. */
  extraRoutes?: ((req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>)[];
  /**
   * The PDP's answer for the admin action a request needs (adminActionFor). Promotion, rollback and approval
   * decisions are asked by their planes, for the resource they resolve.
   */
  authorize?: (principal: Principal, action: Action, resource: Resource, sourceIp: string, opts?: { probe?: boolean }) => Decision;
  /** Verifies a `Warden-MFA-Token` step-up token (an OIDC token with amr mfa + auth_time) and returns whom it authenticates. */
  stepUp?: (token: string) => Promise<Principal>;
  /** The configured OIDC issuers (a principal may be bound to one of them for step-up). */
  oidcIssuers?: readonly string[];
  /**
   * The console's session cookie as a credential (src/console/session-auth.ts): the principal it signs in,
   * or null when the request carries no session (or carries its own Authorization). Throws when the session
   * ended or a state-changing call lacks its CSRF token. Same gate afterwards: PDP, step-up, ledger.
   */
  session?: (req: IncomingMessage) => Promise<Principal | null>;
  /** Extra admin-only routes under /admin/v1; return true if handled. */
  adminRoutes?: ((req: IncomingMessage, res: ServerResponse, ctx: AdminRequest) => Promise<boolean>)[];
}

export interface AdminRequest {
  requestId: string;
  principal: Principal;
  path: string;
  body: () => Promise<Record<string, unknown>>;
  /**
   * Records a control-plane change in the audit log. Resolves once durable; rejects (fail closed) otherwise.
   * Without `refused` it records an allowed change (200); with it, the refusal (its status and code).
   */
  record: (action: string, resource: AuditEvent['resource'], details?: AuditEvent['details'], refused?: WardenError) => Promise<void>;
  /** The admin principal stepped up with `token` (same checks as the Warden-MFA-Token header). */
  stepUp: (token: string) => Promise<Principal>;
}

const KINDS: PrincipalKind[] = ['user', 'service', 'agent'];
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;

/** A workload's principal id is its SPIFFE ID: a record for it lets an operator set its limits or disable it. */
function isSpiffeId(id: string): boolean {
  try {
    parseSpiffeId(id);
    return true;
  } catch {
    return false;
  }
}

export function keyView(k: ApiKeyRecord, now: number): Record<string, unknown> {
  const state = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : k.rotatedTo !== null ? 'rotating' : 'active';
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: k.id,
    principal: k.principalId,
    hint: k.hint + '…',
    models: k.models,
    actions: k.actions,
    description: k.description,
    state,
    created_at: iso(k.createdAt),
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    rotated_to: k.rotatedTo,
    last_used_at: iso(k.lastUsedAt),
  };
}

function wellFormedPath(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function principalView(p: PrincipalRecord): Record<string, unknown> {
  return {
    id: p.id,
    kind: p.kind,
    tenant: p.tenant,
    groups: p.groups,
    admin: p.admin,
    source_cidrs: p.sourceCidrs,
    limits: p.limits,
    created_at: new Date(p.createdAt).toISOString(),
    disabled_at: p.disabledAt ? new Date(p.disabledAt).toISOString() : null,
    oidc_issuer: p.oidcIssuer ?? null,
  };
}

function str(body: Record<string, unknown>, name: string, required: true): string;
function str(body: Record<string, unknown>, name: string, required: false): string | undefined;
function str(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw new BadRequest('missing_field', `${name} is required`, name);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0) throw new BadRequest('invalid_field', `${name} must be a non-empty string`, name);
  return v;
}

function strList(body: Record<string, unknown>, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new BadRequest('invalid_field', `${name} must be a list of strings`, name);
  return v as string[];
}

export { adminActionFor, type AdminNeed } from './routes.js';

export class AdminApi {
  private readonly identity;

  constructor(private readonly d: AdminDeps) {
    // The admin listener reads the (small) body before authenticating, so the signature's body is at hand.
    this.identity = createIdentityStage(d.verifiers, (ctx) => d.publicOrigin + (ctx.req.url ?? '/'), async () => {});
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = newRequestId();
    void this.dispatch(req, res, requestId).catch((e) => {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId }, 'admin error');
      sendError(res, err, requestId);
    });
  };

  private async authenticate(req: IncomingMessage, requestId: string, rawBody: Buffer): Promise<Principal> {
    const ctx = {
      requestId,
      req,
      socket: req.socket as TLSSocket,
      rawBody,
    } as RequestContext;
    const fromSession = this.d.session ? await this.d.session(req) : null;
    if (!fromSession) await this.identity(ctx);
    const p = fromSession ?? ctx.principal!;
    if (!p.admin) throw new Forbidden('admin_required', 'this listener requires an admin principal');
    return p;
  }

  /**
   * Authenticates the admin principal, applies a step-up token, and asks the PDP for `need`; every refusal
   * is recorded before it is thrown. Returns the principal as the PDP judged it.
   */
  private async gate(req: IncomingMessage, requestId: string, raw: Buffer, need: AdminNeed): Promise<Principal> {
    let principal: Principal;
    try {
      principal = await this.authenticate(req, requestId, raw);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      await this.auditDenied(requestId, req, err);
      throw err;
    }
    if (need === null) {
      const err = new NotFound('route_not_found', `no such endpoint: ${req.method} ${(req.url ?? '').split('?')[0]}`);
      await this.auditDenied(requestId, req, err, principal);
      throw err;
    }
    try {
      principal = await this.stepUp(req, principal);
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'step-up verification failed');
      await this.auditDenied(requestId, req, err, principal);
      throw err;
    }
    if (need === 'plane' || !this.d.authorize) return principal;
    const decision = this.d.authorize(principal, need.action, need.resource, clientAddress(req));
    if (decision.allow) return principal;
    const err = this.stepUpWouldHelp(principal, need.action, need.resource, clientAddress(req))
      ? new Unauthenticated(
          'insufficient_user_authentication',
          `${need.action} needs recent multi-factor authentication: send a fresh token of yours (amr mfa) in Warden-MFA-Token`,
          'Bearer error="insufficient_user_authentication", error_description="recent MFA required"',
        )
      : new Forbidden('policy_denied', `not allowed: ${decision.reasons[0] ?? 'no policy permits this admin action'}`);
    await this.d.audit
      .append(
        auditEvent({
          time: new Date(this.d.clock.now()).toISOString(),
          requestId,
          kind: 'control',
          principal: auditPrincipal(principal),
          action: need.action,
          resource: need.resource,
          decision: 'deny',
          stage: 'policy',
          policyIds: decision.policyIds,
          policyVersion: decision.policyVersion,
          status: err.status,
          errorCode: err.code,
        }),
      )
      .catch((e: unknown) => this.d.log.error({ err: e, requestId }, 'audit append failed for a refused admin request'));
    throw err;
  }

  /**
   * The admin gate for a read served outside /admin/v1 (the ledger's entry bundles): an admin principal
   * the PDP allows `action` on `resource`. Throws the refusal (already recorded in the ledger).
   */
  async authorizeRead(req: IncomingMessage, requestId: string, action: Action, resource: Resource): Promise<Principal> {
    return this.gate(req, requestId, Buffer.alloc(0), { action, resource });
  }

  /**
   * RFC 9470 step-up on any admin request: the `Warden-MFA-Token` header carries a fresh token of the same
   * person (OIDC with amr mfa + auth_time); the PDP then judges the admin credential's principal with the
   * token's authentication (its MFA age), so an API-key admin can meet "admin needs recent MFA".
   */
  private async stepUp(req: IncomingMessage, p: Principal): Promise<Principal> {
    const token = req.headers['warden-mfa-token'];
    if (token === undefined) return p;
    if (typeof token !== 'string' || token.length === 0) throw new BadRequest('invalid_header', 'Warden-MFA-Token must be one bearer token', 'warden-mfa-token');
    return this.applyStepUp(p, token);
  }

  /**
   * The one step-up check (the Warden-MFA-Token header, and an approver's `mfa_token`): the token must be
   * an OIDC token of the same person (id, tenant, kind) from the issuer that person is bound to, not
   * delegated. It proves MFA only: the admin credential keeps its scope and its groups, which come from
   * Warden's record (an IdP used just for step-up may grant nothing, and its `groups` claim is not read),
   * and the PDP sees the fresh authentication (its MFA time).
   */
  async applyStepUp(p: Principal, token: string): Promise<Principal> {
    if (!this.d.stepUp) throw new Forbidden('step_up_unavailable', 'this listener cannot verify a step-up token');
    const s = await this.d.stepUp(token);
    if (s.id !== p.id || s.tenant !== p.tenant || s.kind !== p.kind) throw new Forbidden('step_up_mismatch', 'the step-up token belongs to someone other than the admin credential');
    if (s.actor?.length) throw new Forbidden('step_up_delegated', 'the step-up token must not be delegated');
    if (s.authn.method !== 'oidc' || !s.authn.issuer) throw new Forbidden('step_up_not_oidc', 'a step-up token must be an OIDC access token of yours with recent MFA');
    const bound = await this.boundIssuer(p);
    if (bound === null) {
      throw new Forbidden('step_up_issuer_unbound', `several OIDC issuers are configured and ${p.id} is bound to none: bind the principal to its issuer (warden principals bind-issuer ${p.id} --oidc-issuer URL)`);
    }
    if (s.authn.issuer !== bound) throw new Forbidden('step_up_wrong_issuer', `${p.id} steps up only with tokens from ${bound}, not ${s.authn.issuer}`);
    return { ...p, authn: s.authn };
  }

  /**
   * The issuer whose tokens step `p` up: the one bound to its record, else the only configured issuer;
   * null when several are configured and none is bound (refused: a name at one IdP is not a person at another).
   */
  private async boundIssuer(p: Principal): Promise<string | null> {
    const rec = await this.d.store.getPrincipal(p.id);
    if (rec?.oidcIssuer) return rec.oidcIssuer;
    const issuers = this.d.oidcIssuers ?? [];
    return issuers.length === 1 ? issuers[0]! : null;
  }

  /**
   * RFC 9470: a denial is answered with a step-up challenge (401 insufficient_user_authentication) only when
   * the same request, made with a just-verified MFA credential, would be allowed; otherwise it is a plain 403.
   */
  private stepUpWouldHelp(p: Principal, action: Action, resource: Resource, sourceIp: string): boolean {
    const now = this.d.clock.now();
    if (!this.d.stepUp || !this.d.authorize || p.actor?.length) return false;
    if (p.authn.mfaAt !== undefined && now - p.authn.mfaAt < 60_000) return false;
    const fresh: Principal = { ...p, authn: { ...p.authn, method: 'oidc', mfaAt: now } };
    return this.d.authorize(fresh, action, resource, sourceIp, { probe: true }).allow;
  }

  private async auditDenied(requestId: string, req: IncomingMessage, err: WardenError, principal?: Principal): Promise<void> {
    const event = auditEvent({
      time: new Date(this.d.clock.now()).toISOString(),
      requestId,
      kind: 'control',
      ...(principal ? { principal: auditPrincipal(principal) } : {}),
      action: `${req.method} ${(req.url ?? '').split('?')[0]}`,
      decision: 'deny',
      stage: 'identity',
      status: err.status,
      errorCode: err.code,
    });
    try {
      await this.d.audit.append(event);
    } catch (e) {
      this.d.log.error({ err: e, requestId }, 'audit append failed for a refused admin request');
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const path = url.pathname;
    if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' }, { 'x-request-id': requestId });
    if (path === '/readyz' && req.method === 'GET') {
      const r = await this.d.ready();
      return sendJson(res, r.ready ? 200 : 503, { status: r.status ?? (r.ready ? 'ready' : 'not_ready'), checks: r.checks }, { 'x-request-id': requestId });
    }
    for (const h of this.d.extraRoutes ?? []) if (await h(req, res)) return;
    // A malformed percent-escape would throw in every route's decoding: refused here, once, as bad input.
    if (!wellFormedPath(path)) {
      const err = new BadRequest('invalid_path', 'the request path has a malformed percent-escape');
      await this.auditDenied(requestId, req, err);
      return sendError(res, err, requestId);
    }
    // Only declared routes (src/admin/routes.ts) go further: anything else is refused before authentication.
    const declared = matchAdminRoute(req.method ?? 'GET', path);
    if (!declared.route) {
      if (declared.allowed.length > 0) {
        res.setHeader('allow', [...new Set(declared.allowed)].join(', '));
        return sendError(res, new WardenError(405, 'invalid_request_error', 'method_not_allowed', `${path} accepts ${[...new Set(declared.allowed)].join(', ')} only`), requestId);
      }
      return sendError(res, new NotFound('route_not_found', `no such endpoint: ${req.method} ${path}`), requestId);
    }
    const raw = req.method === 'GET' || req.method === 'DELETE' ? Buffer.alloc(0) : await readBody(req, 1024 * 1024);
    let principal: Principal;
    try {
      principal = await this.gate(req, requestId, raw, declared.need);
    } catch (e) {
      return sendError(res, e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error'), requestId);
    }
    if (path === '/metrics' && req.method === 'GET') {
      const text = await this.d.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.d.metrics.registry.contentType, 'x-request-id': requestId });
      res.end(text);
      return;
    }
    let parsed: Record<string, unknown> | undefined;
    const ar: AdminRequest = {
      requestId,
      principal,
      path,
      body: async () => {
        if (parsed) return parsed;
        if (raw.length === 0) return (parsed = {});
        let v: unknown;
        try {
          v = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new BadRequest('invalid_json', 'the request body is not valid JSON');
        }
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('invalid_body', 'the request body must be a JSON object');
        return (parsed = v as Record<string, unknown>);
      },
      stepUp: (token) => this.applyStepUp(principal, token),
      record: async (action, resource, details, refused) => {
        const attrs = { ...details, ...clientRequestId(req.headers['x-request-id']) };
        await this.d.audit.append(
          auditEvent({
            time: new Date(this.d.clock.now()).toISOString(),
            requestId,
            kind: 'control',
            principal: auditPrincipal(principal),
            action,
            resource,
            decision: refused ? (refused.status >= 500 ? 'error' : 'deny') : 'allow',
            status: refused ? refused.status : 200,
            ...(refused ? { errorCode: refused.code } : {}),
            ...(Object.keys(attrs).length ? { details: attrs } : {}),
          }),
        );
      },
    };
    for (const h of this.d.adminRoutes ?? []) if (await h(req, res, ar)) return;
    await this.routeIdentity(req, res, ar, url);
  }

  /** `oidc_issuer` of a request body: absent or null (unbound), or one of the configured issuers. */
  private issuerField(b: Record<string, unknown>): string | null {
    const v = b.oidc_issuer;
    if (v === undefined || v === null) return null;
    const known = this.d.oidcIssuers ?? [];
    if (typeof v !== 'string' || !known.includes(v)) {
      throw new BadRequest('invalid_field', known.length ? `oidc_issuer must be one of the configured issuers: ${known.join(', ')}` : 'oidc_issuer: no OIDC issuer is configured', 'oidc_issuer');
    }
    return v;
  }

  private async routeIdentity(req: IncomingMessage, res: ServerResponse, ar: AdminRequest, url: URL): Promise<void> {
    const { path, requestId } = ar;
    const now = this.d.clock.now();
    const hdr = { 'x-request-id': requestId };
    if (path === '/admin/v1/principals') {
      if (req.method === 'GET') return sendJson(res, 200, { data: (await this.d.store.listPrincipals()).map(principalView) }, hdr);
      if (req.method === 'POST') {
        const b = await ar.body();
        const id = str(b, 'id', true);
        if (!ID_RE.test(id) && !isSpiffeId(id)) throw new BadRequest('invalid_field', 'id must be 1-128 characters of letters, digits and _.@:- or a SPIFFE ID (spiffe://trust-domain/path)', 'id');
        const kind = (str(b, 'kind', false) ?? 'user') as PrincipalKind;
        if (!KINDS.includes(kind)) throw new BadRequest('invalid_field', `kind must be one of ${KINDS.join(', ')}`, 'kind');
        const tenant = str(b, 'tenant', false) ?? 'default';
        const groups = strList(b, 'groups') ?? [];
        const sourceCidrs = strList(b, 'source_cidrs') ?? null;
        if (sourceCidrs) parseCidrs(sourceCidrs);
        const admin = b.admin === true;
        const limits = (b.limits ?? null) as PrincipalRecord['limits'];
        if (limits !== null) {
          if (typeof limits !== 'object' || Array.isArray(limits)) throw new BadRequest('invalid_field', 'limits must be an object', 'limits');
          for (const [k, v] of Object.entries(limits)) {
            if (!['requestsPerSecond', 'burst', 'concurrency', 'tokensPerMinute'].includes(k)) throw new BadRequest('invalid_field', `unknown limit ${k}`, `limits.${k}`);
            if (typeof v !== 'number' || !(v > 0)) throw new BadRequest('invalid_field', `limits.${k} must be a positive number`, `limits.${k}`);
          }
        }
        const oidcIssuer = this.issuerField(b);
        if (await this.d.store.getPrincipal(id)) throw new WardenError(409, 'conflict_error', 'principal_exists', `principal ${id} already exists`);
        const rec: PrincipalRecord = { id, kind, tenant, groups, admin, sourceCidrs, limits, createdAt: now, erasedAt: null, oidcIssuer };
        await ar.record('principal.create', { type: 'Principal', id }, { kind, tenant, admin, ...(oidcIssuer ? { oidcIssuer } : {}) });
        await this.d.store.insertPrincipal(rec);
        return sendJson(res, 201, principalView(rec), hdr);
      }
    }
    const pm = /^\/admin\/v1\/principals\/([^/]+)$/.exec(path);
    if (pm && req.method === 'GET') {
      const p = await this.d.store.getPrincipal(decodeURIComponent(pm[1]!));
      if (!p) throw new NotFound('principal_not_found', `no principal ${pm[1]}`);
      return sendJson(res, 200, principalView(p), hdr);
    }
    const bind = /^\/admin\/v1\/principals\/([^/]+)\/issuer$/.exec(path);
    if (bind && req.method === 'POST') {
      const id = decodeURIComponent(bind[1]!);
      const oidcIssuer = this.issuerField(await ar.body());
      const p = await this.d.store.getPrincipal(id);
      if (!p || p.erasedAt) throw new NotFound('principal_not_found', `no principal ${JSON.stringify(id)}`);
      await ar.record('principal.bindIssuer', { type: 'Principal', id }, { oidcIssuer: oidcIssuer ?? 'none' });
      const next: PrincipalRecord = { ...p, oidcIssuer };
      await this.d.store.updatePrincipal(next);
      return sendJson(res, 200, principalView(next), hdr);
    }
    // Disabling stops every key of the principal and every token derived from them (revoked for good: enabling
    // again restores the keys, not the tokens); the record, its keys and its history stay.
    const toggle = /^\/admin\/v1\/principals\/([^/]+)\/(disable|enable)$/.exec(path);
    if (toggle && req.method === 'POST') {
      const id = decodeURIComponent(toggle[1]!);
      const p = await this.d.store.getPrincipal(id);
      if (!p || p.erasedAt) throw new NotFound('principal_not_found', `no principal ${JSON.stringify(id)}`);
      if (id === 'admin' && toggle[2] === 'disable' && p.admin) throw new BadRequest('invalid_field', 'the bootstrap admin is retired by revoking its key, not disabled');
      const disable = toggle[2] === 'disable';
      await ar.record(disable ? 'principal.disable' : 'principal.enable', { type: 'Principal', id });
      const next: PrincipalRecord = { ...p, disabledAt: disable ? (p.disabledAt ?? now) : null };
      await this.d.store.updatePrincipal(next);
      if (disable) await this.d.keys.principalRemoved(id);
      else await this.d.keys.invalidatePrincipal(id);
      return sendJson(res, 200, principalView(next), hdr);
    }
    if (path === '/admin/v1/keys') {
      if (req.method === 'GET') {
        const of = url.searchParams.get('principal') ?? undefined;
        return sendJson(res, 200, { data: (await this.d.keys.list(of)).map((k) => keyView(k, now)) }, hdr);
      }
      if (req.method === 'POST') {
        const b = await ar.body();
        const principalId = str(b, 'principal', true);
        const models = strList(b, 'models');
        const actions = strList(b, 'actions');
        if (!models) throw new BadRequest('missing_field', 'models is required', 'models');
        if (!actions) throw new BadRequest('missing_field', 'actions is required', 'actions');
        const ttl = str(b, 'ttl', false);
        const description = str(b, 'description', false);
        const ttlMs = ttl !== undefined ? parseDuration(ttl, 'ttl') : undefined;
        if (!(await this.d.store.getPrincipal(principalId))) throw new NotFound('principal_not_found', `no principal ${JSON.stringify(principalId)}; create it first`);
        const created = await this.d.keys.create({ principalId, models, actions, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(description ? { description } : {}) });
        try {
          await ar.record('key.create', { type: 'Key', id: created.record.id }, { principal: principalId, models: models.join(','), actions: actions.join(',') });
        } catch (e) {
          // Fail closed: a key whose creation is not in the audit log must not work.
          await this.d.keys.revoke(created.record.id);
          throw e;
        }
        return sendJson(res, 201, { ...keyView(created.record, now), key: created.key, note: 'store this key now: it is shown only once' }, hdr);
      }
    }
    const km = /^\/admin\/v1\/keys\/([^/]+)(?:\/(rotate|revoke))?$/.exec(path);
    if (km) {
      const id = decodeURIComponent(km[1]!);
      const op = km[2];
      if (!op && req.method === 'GET') {
        const k = await this.d.store.getKey(id);
        if (!k) throw new NotFound('key_not_found', `no key ${id}`);
        return sendJson(res, 200, keyView(k, now), hdr);
      }
      if ((op === 'revoke' && req.method === 'POST') || (!op && req.method === 'DELETE')) {
        const k = await this.d.keys.revoke(id);
        await ar.record('key.revoke', { type: 'Key', id }, { principal: k.principalId });
        return sendJson(res, 200, keyView(k, now), hdr);
      }
      if (op === 'rotate' && req.method === 'POST') {
        const b = await ar.body();
        const grace = str(b, 'grace', false) ?? '1h';
        const r = await this.d.keys.rotate(id, parseDuration(grace, 'grace'));
        try {
          await ar.record('key.rotate', { type: 'Key', id }, { successor: r.record.id, grace });
        } catch (e) {
          await this.d.keys.revoke(r.record.id);
          throw e;
        }
        return sendJson(res, 201, { ...keyView(r.record, now), key: r.key, previous: keyView(r.previous, now), note: 'store this key now: it is shown only once' }, hdr);
      }
    }
    // Declared (src/admin/routes.ts) but no handler answered: the plane that serves it is not enabled here.
    throw new NotFound('route_not_enabled', `${req.method} ${path} is served by a plane that is not enabled on this Warden`);
  }
}
