// /admin/v1/budgets: what every budget has used and has left (GET, all or one subject), and overrides of a
// budget's limits (PUT /admin/v1/budgets/{scope}/{id}/{window} with { tokens, cost }: null lifts that limit, a
// unit not given keeps its limit, id `*` sets the default of the scope). Reading is audit material (readAudit); setting is an identity action
// (manageKeys), recorded in the ledger before it takes effect. `warden budgets show|set` calls these.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest } from '../core/errors.js';
import { BUDGET_SCOPES, BUDGET_WINDOWS, type BudgetLimit, type Budgets, type BudgetScope, type BudgetWindow } from '../network/budgets.js';
import { sendJson } from '../http/respond.js';
import type { AdminRequest } from './admin.js';

const ONE = /^\/admin\/v1\/budgets\/([^/]+)\/([^/]+)$/;
const SET = /^\/admin\/v1\/budgets\/([^/]+)\/([^/]+)\/([^/]+)$/;

function scopeOf(s: string): BudgetScope {
  if (!(BUDGET_SCOPES as readonly string[]).includes(s)) throw new BadRequest('invalid_field', `scope must be one of ${BUDGET_SCOPES.join(', ')}`, 'scope');
  return s as BudgetScope;
}

function amount(v: unknown, field: 'tokens' | 'cost'): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (field === 'tokens' && !Number.isInteger(v))) {
    throw new BadRequest('invalid_field', `${field} must be ${field === 'tokens' ? 'a whole number' : 'a number'} ≥ 0, or null for no ${field} limit`, field);
  }
  return v;
}

export function createBudgetsRoute(budgets: Budgets) {
  return async (req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> => {
    if (ar.path === '/admin/v1/budgets' && req.method === 'GET') {
      sendJson(res, 200, { data: await budgets.show() }, { 'x-request-id': ar.requestId });
      return true;
    }
    const one = ONE.exec(ar.path);
    if (one && req.method === 'GET') {
      const rows = await budgets.show({ scope: scopeOf(decodeURIComponent(one[1]!)), id: decodeURIComponent(one[2]!) });
      sendJson(res, 200, { data: rows }, { 'x-request-id': ar.requestId });
      return true;
    }
    const set = SET.exec(ar.path);
    if (!set || req.method !== 'PUT') return false;
    const scope = scopeOf(decodeURIComponent(set[1]!));
    const id = decodeURIComponent(set[2]!);
    const window = decodeURIComponent(set[3]!);
    if (!(BUDGET_WINDOWS as readonly string[]).includes(window)) throw new BadRequest('invalid_field', `window must be one of ${BUDGET_WINDOWS.join(', ')}`, 'window');
    const b = await ar.body();
    if (!('tokens' in b) && !('cost' in b)) throw new BadRequest('invalid_field', 'give tokens, cost or both (null lifts a limit)', 'tokens');
    for (const k of Object.keys(b)) if (k !== 'tokens' && k !== 'cost') throw new BadRequest('invalid_field', `unknown field ${k}`, k);
    // A unit not named keeps the limit it has now.
    const now = budgets.limitFor(scope, id, window as BudgetWindow);
    const limit: BudgetLimit = {
      scope,
      id,
      window: window as BudgetWindow,
      tokens: 'tokens' in b ? amount(b.tokens, 'tokens') : (now?.tokens ?? null),
      cost: 'cost' in b ? amount(b.cost, 'cost') : (now?.cost ?? null),
    };
    await ar.record('budget.set', { type: 'System', id: `budget:${scope}:${id}:${window}` }, { tokens: limit.tokens, cost: limit.cost });
    await budgets.set(limit);
    sendJson(res, 200, { set: limit, data: id === '*' ? [] : await budgets.show({ scope, id }) }, { 'x-request-id': ar.requestId });
    return true;
  };
}
