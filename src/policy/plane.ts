// Builds the policy plane for the gateway: the Cedar PDP, its published set (store + starter fallback), the
// entities the policies read (models, groups), the generated scope caps of keys and JIT tokens, and the
// admin routes for policy-as-code. "One authorization path": every inference decision is the PDP's.
import { fileURLToPath } from 'node:url';
import type { ServerResponse, IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, Conflict, NotFound, WardenError } from '../core/errors.js';
import type { Decision, Principal, Resource } from '../core/types.js';
import { classificationSchemeOf, type WardenConfig } from '../config/config.js';
import { PolicyAdmin, PolicyDecisionPoint, buildContext, type PublishResult, type ShadowDiff, type StoredEntityInput } from './index.js';
import type { ChangeGate } from './policy-admin.js';
import type { ChangeFeed } from '../store/pg-changes.js';
import { SqlitePolicyStore } from '../store/policy-sqlite.js';
import type { PolicyStore } from '../store/policy-store.js';
import type { SqliteDb } from '../store/sqlite.js';
import type { ApiKeyRecord, IdentityStore } from '../store/identity-store.js';
import type { KeyChange } from '../identity/api-keys.js';
import type { AuthorizationRequest, Authorizer } from './authorizer.js';
import { ScopeAuthorizer } from './authorizer.js';
import type { AdminRequest } from '../admin/admin.js';
import { sendJson } from '../http/respond.js';
import type { UpstreamConfig } from '../config/config.js';
import { clientAddress } from '../network/source.js';

export const STARTER_POLICY_DIR = fileURLToPath(new URL('../../../policies/starter', import.meta.url));

/** What the gateway knows about a request, from which the PDP context is built. */
export interface RequestFacts {
  now: number;
  sourceIp: string;
  listener: string;
  findings: import('../core/types.js').Findings | null;
  maxTokens?: number;
  budgetLeft?: { tokens: number | null; cost: number | null };
}

/**
 * The credential's own scope (an API key's, a narrowed JIT token's, the configured scope of an OIDC issuer,
 * SPIFFE trust domain or signing client) caps what it can do, like an OAuth scope; within that cap the PDP
 * decides. A request outside the cap never reaches Cedar.
 */
export class PdpAuthorizer implements Authorizer {
  private readonly ceiling = new ScopeAuthorizer();
  /** `risk`: the monitor's current risk for a principal (0..1), the context's riskScorePermille. */
  constructor(
    private readonly pdp: PolicyDecisionPoint,
    private readonly risk: (p: Principal) => number = () => 0,
  ) {}

  authorize(req: AuthorizationRequest, opts: { probe?: boolean } = {}): Decision {
    const cap = this.ceiling.authorize(req);
    if (!cap.allow) return { ...cap, policyIds: ['credential-scope'], policyVersion: this.pdp.version ?? 'none' };
    const f = req.context as unknown as RequestFacts;
    const context = buildContext({
      principal: req.principal,
      now: f.now,
      sourceIp: f.sourceIp.startsWith('::ffff:') ? f.sourceIp.slice(7) : f.sourceIp,
      listener: f.listener,
      findings: f.findings,
      riskScore: this.risk(req.principal),
      tenant: req.principal.tenant,
      ...(f.maxTokens !== undefined ? { maxTokens: f.maxTokens } : {}),
      ...(f.budgetLeft !== undefined ? { budgetLeft: f.budgetLeft } : {}),
    });
    return this.pdp.decide({ principal: req.principal, action: req.action, resource: req.resource, context }, opts);
  }
}

/** A model the registry serves (a registered deployment), as the policies see it. */
export interface RegisteredModel {
  id: string;
  tier: string;
  region: string;
}

function modelEntities(config: WardenConfig, upstreams: UpstreamConfig[], registered: readonly RegisteredModel[] = []): StoredEntityInput[] {
  const out: StoredEntityInput[] = [];
  const seen = new Set<string>();
  for (const u of upstreams) {
    for (const m of u.models) {
      const a = config.models[m] ?? {};
      // The demo upstream's models are granted to consumers so the walkthrough works with the starter policies.
      const grantees = a.grantees ?? (u.demo ? ['consumers'] : []);
      seen.add(m);
      out.push({
        type: 'Model',
        id: m,
        attrs: {
          grantees,
          ...(u.tier ? { tier: u.tier } : u.demo ? { tier: 'onprem' } : {}),
          ...(u.region ? { region: u.region } : {}),
          ...(a.provider ? { provider: a.provider } : {}),
          ...(a.tenant ? { tenant: a.tenant } : {}),
        },
      });
    }
  }
  // Registry models: grantees, tenant and provider from the config's models section; placement from the registry.
  for (const r of registered) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    const a = config.models[r.id] ?? {};
    out.push({
      type: 'Model',
      id: r.id,
      attrs: { grantees: a.grantees ?? [], tier: r.tier, region: r.region, ...(a.provider ? { provider: a.provider } : {}), ...(a.tenant ? { tenant: a.tenant } : {}) },
    });
  }
  for (const [g, parents] of Object.entries(config.groups)) {
    out.push({ type: 'Group', id: g, parents: parents.map((p) => ({ type: 'Group', id: p })) });
  }
  return out;
}

export interface PolicyPlane {
  pdp: PolicyDecisionPoint;
  authorizer: PdpAuthorizer;
  admin: PolicyAdmin;
  onKeyChange(e: KeyChange): void;
  /** Makes the registry's models known to the policies (only touches the PDP when the set changed). */
  syncRegisteredModels(models: readonly RegisteredModel[]): void;
  /** Every model the policies know (config upstreams and registry): what effective permissions are asked for. */
  modelIds(): string[];
  /** Drops a revoked JIT token's generated cap (the token itself is refused by the revocation store). */
  revokeJitToken(jti: string): void;
  /** Registers the generated cap of a freshly issued JIT token until it expires. */
  grantJitToken(jti: string, principal: Principal, expiresAtMs: number): void;
  adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean>;
  close(): void;
}

const SHADOW_DIFFS_KEPT = 200;

export async function buildPolicyPlane(
  config: WardenConfig,
  o: {
    db: SqliteDb;
    clock: Clock;
    identityStore: IdentityStore;
    upstreams: UpstreamConfig[];
    onShadowDiff: (d: ShadowDiff) => void;
    onPublished: (version: string, reason: string) => void;
    /** Where a refused change whose ledger entry could not be written is reported. */
    log: Pick<Logger, 'error'>;
    /** The monitor's risk for a principal (0..1); 0 without a monitor. */
    risk?: (p: Principal) => number;
    /** Replicas sharing one control plane: the PostgreSQL policy store and the change feed. */
    shared?: { store: PolicyStore; changes: ChangeFeed };
  },
): Promise<PolicyPlane> {
  // The latest decisions the shadow candidate would change, for GET /admin/v1/policies/shadow/diffs (the console
  // and `curl` show them; the log has every one). Bounded; emptied when the candidate changes.
  const shadowDiffs: Record<string, unknown>[] = [];
  const pdp: PolicyDecisionPoint = new PolicyDecisionPoint({
    onShadowDiff: (d) => {
      shadowDiffs.push({ time: new Date(o.clock.now()).toISOString(), shadow_version: pdp.shadowVersion, principal: d.principal, action: d.action, resource: d.resource, live: d.live.allow ? 'allow' : 'deny', candidate: d.candidate.allow ? 'allow' : 'deny', live_policies: d.live.policyIds, candidate_policies: d.candidate.policyIds });
      if (shadowDiffs.length > SHADOW_DIFFS_KEPT) shadowDiffs.shift();
      o.onShadowDiff(d);
    },
    onChange: (c) => {
      if (c.reason !== 'generated') o.onPublished(c.version, c.reason);
    },
  });
  const admin = new PolicyAdmin(
    pdp,
    o.shared?.store ?? new SqlitePolicyStore(o.db),
    o.shared ? { changes: o.shared.changes, onError: (e) => o.log.error({ err: e }, 'policies: could not load the set another replica published (retried)') } : null,
    classificationSchemeOf(config),
  );
  if (config.policies.dir) await admin.publishDirectory(config.policies.dir, 'config', `dir:${config.policies.dir}`);
  else await admin.boot(STARTER_POLICY_DIR);
  let entityKey = '';
  let modelIds: string[] = [];
  const setModels = (registered: readonly RegisteredModel[]) => {
    const list = modelEntities(config, o.upstreams, registered);
    const key = JSON.stringify(list);
    if (key === entityKey) return;
    entityKey = key;
    modelIds = list.filter((e) => e.type === 'Model').map((e) => e.id);
    pdp.setEntities(list);
  };
  setModels([]);

  // Every live API key's scope becomes its generated cap (a ceiling; grants come from policy).
  const now = o.clock.now();
  const principals = new Map((await o.identityStore.listPrincipals()).map((p) => [p.id, p]));
  const live = (k: ApiKeyRecord) => k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now);
  for (const k of await o.identityStore.listKeys()) {
    const p = principals.get(k.principalId);
    if (p && live(k)) pdp.setKeyScope(k.id, p, { models: k.models, actions: k.actions });
  }
  const timers = new Set<NodeJS.Timeout>();

  const authorizer = new PdpAuthorizer(pdp, o.risk);
  return {
    pdp,
    authorizer,
    admin,
    syncRegisteredModels: setModels,
    modelIds: () => [...modelIds],
    onKeyChange(e) {
      if (e.op === 'set') pdp.setKeyScope(e.record.id, e.principal, { models: e.record.models, actions: e.record.actions });
      else pdp.removeKeyScope(e.id);
    },
    revokeJitToken(jti) {
      pdp.removeKeyScope(jti);
    },
    grantJitToken(jti, principal, expiresAtMs) {
      pdp.setKeyScope(jti, principal, principal.scope, 'jit_token');
      const t = setTimeout(() => {
        timers.delete(t);
        pdp.removeKeyScope(jti);
      }, Math.max(0, expiresAtMs - o.clock.now()) + 60_000);
      t.unref();
      timers.add(t);
    },
    async adminRoute(req, res, ar) {
      if (!ar.path.startsWith('/admin/v1/policies')) return false;
      const hdr = { 'x-request-id': ar.requestId };
      const actor = ar.principal.id;
      const text = async () => {
        const b = await ar.body();
        if (typeof b.text !== 'string' || b.text.trim() === '') throw new BadRequest('invalid_field', 'text must be the Cedar policy text', 'text');
        return b.text;
      };
      if (ar.path === '/admin/v1/policies' && req.method === 'GET') {
        const cur = admin.current();
        sendJson(res, 200, { set_version: cur.setVersion, live_version: cur.liveVersion, shadow_version: pdp.shadowVersion, policies: cur.policies, versions: await admin.versions() }, hdr);
        return true;
      }
      /**
       * Every change of the live set (publish, promote, rollback) passes one gate. Lockout: a set that would deny
       * the admin who installs it managePolicies locks the admin API out, so it is refused (409) unless the
       * request says `"force": true`. It is judged for the person, not for one credential: the same principal
       * on another credential must keep the permission too (a set granting it to this token's jti alone locks
       * out the next token). Every outcome is in the ledger as what happened: the change once it passed the
       * gate (before it is stored or served), a refusal with its status and code.
       */
      const change = async (action: string, resource: Resource, run: (gate: ChangeGate) => Promise<PublishResult>, status: number): Promise<void> => {
        let committed = false;
        try {
          const force = (await ar.body()).force === true;
          const r = await run({
            check: () => {
              if (force) return;
              const probe: Principal = { ...ar.principal, authn: { ...ar.principal.authn, credentialId: `lockout-probe:${ar.requestId}` } };
              for (const principal of [ar.principal, probe]) {
                const d = authorizer.authorize({ principal, action: 'managePolicies', resource: { type: 'Policy', id: 'set' }, context: { now: o.clock.now(), sourceIp: clientAddress(req), listener: 'admin', findings: null } });
                if (!d.allow) {
                  const whom = principal === probe ? `${actor} on any other credential` : 'you';
                  throw new Conflict('policy_lockout', `the new set would deny ${whom} managePolicies (${d.reasons[0] ?? 'default deny'}), so it was not applied; keep a permit for your admins or send "force": true`);
                }
              }
            },
            commit: async (result) => {
              await ar.record(action, resource, { actor, setVersion: result.setVersion, ...(force ? { force: true } : {}) });
              committed = true;
            },
          });
          sendJson(res, status, r, hdr);
        } catch (e) {
          const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
          // A failed ledger write is the refusal itself (nothing changed); anything else is recorded as refused.
          if (!committed && err.stage !== 'audit') await ar.record(action, resource, { actor }, err).catch((auditErr: unknown) => o.log.error({ err: auditErr, requestId: ar.requestId }, 'audit append failed for a refused policy change'));
          throw e;
        }
      };
      if (ar.path === '/admin/v1/policies' && req.method === 'POST') {
        await change('policy.publish', { type: 'Policy', id: 'set' }, async (gate) => admin.publish(await text(), actor, undefined, gate), 201);
        return true;
      }
      // Parses and validates a candidate against the schema without installing it (the console checks as you type).
      if (ar.path === '/admin/v1/policies/validate' && req.method === 'POST') {
        const r = admin.check(await text());
        sendJson(res, 200, { valid: true, set_version: r.setVersion, policy_count: r.policyCount }, hdr);
        return true;
      }
      // The policy tests of the configured directory (else the starter set's) against a candidate, installing nothing.
      if (ar.path === '/admin/v1/policies/test' && req.method === 'POST') {
        const r = admin.test(await text(), config.policies.dir ?? STARTER_POLICY_DIR);
        const results = r.results.map((x) => ({ file: x.file, name: x.name, passed: x.passed, problems: x.problems }));
        sendJson(res, 200, { set_version: r.setVersion, passed: results.filter((x) => x.passed).length, failed: results.filter((x) => !x.passed).length, results }, hdr);
        return true;
      }
      if (ar.path === '/admin/v1/policies/shadow/diffs' && req.method === 'GET') {
        const current = pdp.shadowVersion;
        sendJson(res, 200, { shadow_version: current, data: shadowDiffs.filter((d) => d.shadow_version === current).reverse() }, hdr);
        return true;
      }
      if (ar.path === '/admin/v1/policies/shadow' && req.method === 'POST') {
        // Validated, then recorded (fail closed: an unrecorded candidate is never shadowed), then stored and announced.
        const candidate = await text();
        const checked = admin.check(candidate);
        await ar.record('policy.shadow', { type: 'Policy', id: checked.setVersion }, { actor });
        const r = await admin.shadow(candidate, actor);
        shadowDiffs.length = 0;
        sendJson(res, 201, r, hdr);
        return true;
      }
      if (ar.path === '/admin/v1/policies/shadow' && req.method === 'DELETE') {
        await ar.record('policy.shadow.stop', { type: 'Policy', id: 'shadow' }, { actor });
        await admin.stopShadow(actor);
        sendJson(res, 200, { shadow_version: null }, hdr);
        return true;
      }
      if (ar.path === '/admin/v1/policies/promote' && req.method === 'POST') {
        await change('policy.promote', { type: 'Policy', id: pdp.shadowVersion ?? 'none' }, (gate) => admin.promote(actor, undefined, gate), 200);
        return true;
      }
      if (ar.path === '/admin/v1/policies/rollback' && req.method === 'POST') {
        const b = await ar.body();
        const version = typeof b.version === 'string' ? b.version : '';
        await change('policy.rollback', { type: 'Policy', id: version || 'none' }, async (gate) => {
          if (!version) throw new BadRequest('invalid_field', 'version is required', 'version');
          return admin.rollback(version, actor, gate);
        }, 200);
        return true;
      }
      throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${ar.path}`);
    },
    close() {
      admin.close();
      for (const t of timers) clearTimeout(t);
    },
  };
}
