// GET /admin/v1/keys/{id}/effective: what a key can actually do — its scope (a ceiling) intersected with
// what policy grants its principal, asked of the same authorizer and tool assessment the request path uses.
// Gated like every /admin/v1/keys/{id} route (manageKeys on the Key, adminActionFor).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { NotFound } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { AdminRequest } from './admin.js';
import { keyView } from './admin.js';
import { toPrincipal } from '../identity/api-keys.js';
import { effectivePermissions, type EffectivePermissions } from '../policy/index.js';
import type { AuthorizationRequest } from '../policy/authorizer.js';
import type { IdentityStore } from '../store/identity-store.js';
import { sendJson } from '../http/respond.js';

const EFFECTIVE = /^\/admin\/v1\/keys\/([^/]+)\/effective$/;

export interface EffectiveRouteDeps {
  clock: Clock;
  store: IdentityStore;
  authorize(req: AuthorizationRequest, opts: { probe: boolean }): { allow: boolean };
  models(): string[];
  tools(): string[];
  assessTool(p: Principal, tool: string, sourceIp: string): { allow: boolean; approvalRequired: boolean };
}

const NONE: EffectivePermissions = { models: [], tools: [], empty: true };

export function createEffectiveRoute(d: EffectiveRouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> => {
    const m = EFFECTIVE.exec(ar.path);
    if (!m || req.method !== 'GET') return false;
    const id = decodeURIComponent(m[1]!);
    const key = await d.store.getKey(id);
    if (!key) throw new NotFound('key_not_found', `no key ${id}`);
    const pr = await d.store.getPrincipal(key.principalId);
    const now = d.clock.now();
    const view = keyView(key, now);
    // A key that cannot authenticate (revoked, expired, its principal erased) can do nothing.
    const usable = pr !== null && pr.erasedAt === null && view.state !== 'revoked' && view.state !== 'expired';
    const sourceIp = '127.0.0.1';
    const effective = usable
      ? effectivePermissions(toPrincipal(pr, key), {
          models: d.models(),
          tools: d.tools(),
          allowModel: (p, action, model) =>
            d.authorize({ principal: p, action, resource: { type: 'Model', id: model }, context: { now, sourceIp, listener: 'inference', findings: null } }, { probe: true }).allow,
          assessTool: (p, tool) => d.assessTool(p, tool, sourceIp),
        })
      : NONE;
    sendJson(
      res,
      200,
      { key: key.id, principal: key.principalId, state: view.state, groups: pr?.groups ?? [], ceiling: { models: key.models, actions: key.actions }, ...effective },
      { 'x-request-id': ar.requestId },
    );
    return true;
  };
}
