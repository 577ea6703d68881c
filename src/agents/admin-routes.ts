// The A2A agent registry on the admin listener (admin principal authenticated and authorized there, see
// src/admin/routes.ts; every change one control entry in the ledger, refusals included):
//   GET /admin/v1/agents, POST /admin/v1/agents {id, url, card_url?, grantees, egress?, actions?, tenant?, card_keys?}
//   GET/DELETE /admin/v1/agents/{id}
//   POST /admin/v1/agents/{id}/card/approve {digest}     re-approve a changed card (ends the quarantine)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, WardenError } from '../core/errors.js';
import { sendJson } from '../http/respond.js';
import type { EgressGuard, EgressPolicy } from '../network/egress.js';
import { parseDestination } from '../network/egress-destinations.js';
import type { ToolInspector } from '../tools/mediator.js';
import { cardDigest, cardSkills, defaultCardUrl, fetchCard, verifyCard } from './card.js';
import { AgentCardNotPending, AgentDefinitionInvalid } from './errors.js';
import type { AgentRecord, AgentStore } from './store.js';

export interface AgentAdminDeps {
  clock: Clock;
  store: AgentStore;
  egress: EgressGuard;
  inspector: Pick<ToolInspector, 'inspect'>;
  limits: Pick<EgressPolicy, 'maxResponseBytes' | 'timeoutMs'>;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const AGENT = /^\/admin\/v1\/agents\/([^/]+)$/;
const APPROVE = /^\/admin\/v1\/agents\/([^/]+)\/card\/approve$/;
const FIELDS = new Set(['id', 'url', 'card_url', 'grantees', 'egress', 'actions', 'tenant', 'card_keys']);

export function agentView(a: AgentRecord): Record<string, unknown> {
  const skills = (c: Record<string, unknown>) => cardSkills(c).map((s) => ({ id: s.id, name: s.name, tags: s.tags }));
  const before = new Set(cardSkills(a.card).map((s) => s.id));
  const after = a.pending ? new Set(cardSkills(a.pending.card).map((s) => s.id)) : null;
  return {
    id: a.id,
    url: a.url,
    card_url: a.cardUrl,
    grantees: a.grantees,
    egress: a.egress,
    actions: a.actions,
    tenant: a.tenant,
    signed_cards_required: a.cardKeys !== null,
    card: { digest: a.digest, name: a.card.name ?? null, skills: skills(a.card) },
    quarantined: a.pending !== null,
    pending: a.pending && after
      ? { digest: a.pending.digest, seen_at: new Date(a.pending.at).toISOString(), card: a.pending.card, skills_added: [...after].filter((s) => !before.has(s)), skills_removed: [...before].filter((s) => !after.has(s)) }
      : null,
    registered_by: a.registeredBy,
    created_at: new Date(a.createdAt).toISOString(),
    updated_at: new Date(a.updatedAt).toISOString(),
  };
}

function strings(v: unknown, field: string, fallback?: string[]): string[] {
  if (v === undefined && fallback) return fallback;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new AgentDefinitionInvalid(`${field} must be a list of non-empty strings`, field);
  return [...new Set(v as string[])];
}

function httpUrl(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new AgentDefinitionInvalid(`${field} must be a URL`, field);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new AgentDefinitionInvalid(`${field} must be a URL`, field);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AgentDefinitionInvalid(`${field} must be an http(s) URL`, field);
  if (u.username || u.password) throw new AgentDefinitionInvalid(`${field} must not carry credentials`, field);
  return u.href;
}

export function createAgentAdminRoute(d: AgentAdminDeps) {
  const policy = (egress: string[]): EgressPolicy => ({ destinations: egress, maxResponseBytes: d.limits.maxResponseBytes, timeoutMs: d.limits.timeoutMs, maxRedirects: 0 });

  async function register(ar: AdminRequest): Promise<AgentRecord> {
    const b = await ar.body();
    for (const k of Object.keys(b)) if (!FIELDS.has(k)) throw new AgentDefinitionInvalid(`unknown field ${k}; known: ${[...FIELDS].join(', ')}`, k);
    if (typeof b.id !== 'string' || !ID_RE.test(b.id)) throw new AgentDefinitionInvalid('id must be 1-64 letters, digits, ".", "_" or "-"', 'id');
    const url = httpUrl(b.url, 'url');
    const cardUrl = b.card_url === undefined ? defaultCardUrl(url) : httpUrl(b.card_url, 'card_url');
    const egress = strings(b.egress, 'egress', [...new Set([new URL(url).origin, new URL(cardUrl).origin])]);
    for (const [i, e] of egress.entries()) parseDestination(e, `egress/${i}`);
    const grantees = strings(b.grantees, 'grantees');
    const actions = strings(b.actions, 'actions', ['callAgent']);
    if (b.tenant !== undefined && (typeof b.tenant !== 'string' || b.tenant === '')) throw new AgentDefinitionInvalid('tenant must be a non-empty string', 'tenant');
    let cardKeys: AgentRecord['cardKeys'] = null;
    if (b.card_keys !== undefined) {
      const k = b.card_keys as { keys?: unknown };
      if (!k || typeof k !== 'object' || !Array.isArray(k.keys) || k.keys.length === 0) throw new AgentDefinitionInvalid('card_keys must be a JWKS ({"keys": [...]}) with at least one key', 'card_keys');
      cardKeys = { keys: k.keys as Record<string, unknown>[] };
    }
    // The card is fetched as calls will reach the agent: through the egress guard, to declared origins only.
    const card = await fetchCard(d.egress.fetchFor(policy(egress)), cardUrl);
    await verifyCard(card, url, cardKeys, d.inspector);
    return d.store.create({ id: b.id, url, cardUrl, grantees, egress, actions, tenant: (b.tenant as string | undefined) ?? null, cardKeys, card, digest: cardDigest(card), registeredBy: ar.principal.id }, d.clock.now());
  }

  async function approve(ar: AdminRequest, id: string): Promise<{ before: AgentRecord; after: AgentRecord }> {
    const before = await d.store.get(id);
    const body = await ar.body();
    if (typeof body.digest !== 'string') throw new BadRequest('missing_field', 'digest is required: the digest of the pending card you reviewed', 'digest');
    if (!before.pending) throw new AgentCardNotPending(`the agent ${id} has no changed card waiting for approval`);
    if (before.pending.digest !== body.digest) throw new AgentCardNotPending(`the card waiting for approval is ${before.pending.digest}, not ${body.digest}`);
    // The new card passes the registration checks again (endpoint, skills, injection, signature).
    await verifyCard(before.pending.card, before.url, before.cardKeys, d.inspector);
    if (!(await d.store.approvePending(id, body.digest, ar.principal.id, d.clock.now()))) throw new AgentCardNotPending(`the card waiting for approval changed meanwhile; review ${id} again`);
    return { before, after: await d.store.get(id) };
  }

  /** Runs `f`; a refusal is recorded as the change it refused (fail closed: no record, no answer). */
  async function recorded<T>(ar: AdminRequest, action: string, id: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof WardenError && e.stage !== 'audit') await ar.record(action, { type: 'AgentSkill', id: `${id}/*` }, {}, e);
      throw e;
    }
  }

  return async function agentAdminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const path = ar.path;
    const send = (status: number, body: unknown) => sendJson(res, status, body, { 'x-request-id': ar.requestId });
    if (path === '/admin/v1/agents') {
      if (req.method === 'GET') return send(200, { object: 'list', data: (await d.store.list()).map(agentView) }), true;
      const a = await recorded(ar, 'agent.register', '-', () => register(ar));
      await ar.record('agent.register', { type: 'AgentSkill', id: `${a.id}/*` }, { url: a.url, cardDigest: a.digest, skills: cardSkills(a.card).map((s) => s.id).join(','), grantees: a.grantees.join(','), signed: a.cardKeys !== null });
      send(201, agentView(a));
      return true;
    }
    const am = APPROVE.exec(path);
    if (am) {
      const id = decodeURIComponent(am[1]!);
      const r = await recorded(ar, 'agent.card.approve', id, () => approve(ar, id));
      await ar.record('agent.card.approve', { type: 'AgentSkill', id: `${id}/*` }, { from: r.before.digest, to: r.after.digest });
      send(200, agentView(r.after));
      return true;
    }
    const m = AGENT.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (req.method === 'GET') return send(200, agentView(await d.store.get(id))), true;
      await recorded(ar, 'agent.remove', id, () => d.store.remove(id));
      await ar.record('agent.remove', { type: 'AgentSkill', id: `${id}/*` });
      send(200, { deleted: id });
      return true;
    }
    return false;
  };
}
