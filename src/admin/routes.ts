// The admin listener's routes, declared as data: method, path pattern, and what the PDP is asked before the
// route runs. The dispatcher refuses anything not in this table (404, or 405 naming the allowed methods)
// before authentication, so a handler for an undeclared route is unreachable, and a declared route that no
// handler answers fails loudly (500 `route_not_wired`, and test/admin/routes.test.ts calls every entry).
import type { Action, Resource } from '../core/types.js';

/** What the admin listener asks the PDP before a request reaches its route. */
export type AdminNeed =
  | { action: Action; resource: Resource }
  /** The route's plane asks the PDP itself, for the resource it resolves (promotion, rollback, approvals). */
  | 'plane'
  /** No such admin endpoint: refused before any route runs (fail closed for a route nobody mapped). */
  | null;

export interface AdminRouteDecl {
  /** Stable name (metrics, docs, the wiring test). */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string | RegExp;
  /** The PDP question for this route; `m` holds the pattern's captures (percent-decoded). */
  need: (m: string[]) => Exclude<AdminNeed, null>;
  /** A sample path for the wiring test (patterns only). */
  example?: string;
}

const sys = (id: string): Resource => ({ type: 'System', id });
const audit = (id: string) => () => ({ action: 'readAudit' as const, resource: sys(id) });
const identity = () => ({ action: 'manageKeys' as const, resource: sys('identity') });
const keyNeed = (m: string[]) => ({ action: 'manageKeys' as const, resource: { type: 'Key', id: m[0]! } satisfies Resource as Resource });
const policies = () => ({ action: 'managePolicies' as const, resource: { type: 'Policy', id: 'set' } satisfies Resource as Resource });
const dep = (m: string[]): Resource => ({ type: 'Deployment', id: m[0]! });
const tool = (m: string[]): Resource => ({ type: 'Tool', id: m[0]! });
const ds = (m: string[]): Resource => ({ type: 'Dataset', id: m[0]! });
const plane = () => 'plane' as const;

export const ADMIN_ROUTES: readonly AdminRouteDecl[] = [
  { name: 'metrics', method: 'GET', path: '/metrics', need: audit('warden') },
  { name: 'inspect', method: 'POST', path: '/admin/v1/inspect', need: audit('warden') },
  { name: 'audit.search', method: 'GET', path: '/admin/v1/audit/entries', need: audit('audit') },
  { name: 'payloads.get', method: 'GET', path: /^\/admin\/v1\/payloads\/([^/]+)$/, need: audit('payloads'), example: '/admin/v1/payloads/req_x' },
  { name: 'policies.list', method: 'GET', path: '/admin/v1/policies', need: policies },
  { name: 'policies.publish', method: 'POST', path: '/admin/v1/policies', need: policies },
  { name: 'policies.shadow.set', method: 'POST', path: '/admin/v1/policies/shadow', need: policies },
  { name: 'policies.shadow.clear', method: 'DELETE', path: '/admin/v1/policies/shadow', need: policies },
  { name: 'policies.shadow.diffs', method: 'GET', path: '/admin/v1/policies/shadow/diffs', need: policies },
  { name: 'policies.validate', method: 'POST', path: '/admin/v1/policies/validate', need: policies },
  { name: 'policies.test', method: 'POST', path: '/admin/v1/policies/test', need: policies },
  { name: 'policies.promote', method: 'POST', path: '/admin/v1/policies/promote', need: policies },
  { name: 'policies.rollback', method: 'POST', path: '/admin/v1/policies/rollback', need: policies },
  { name: 'principals.list', method: 'GET', path: '/admin/v1/principals', need: identity },
  { name: 'principals.create', method: 'POST', path: '/admin/v1/principals', need: identity },
  { name: 'principals.get', method: 'GET', path: /^\/admin\/v1\/principals\/([^/]+)$/, need: identity, example: '/admin/v1/principals/nobody' },
  { name: 'principals.disable', method: 'POST', path: /^\/admin\/v1\/principals\/([^/]+)\/disable$/, need: identity, example: '/admin/v1/principals/nobody/disable' },
  { name: 'principals.bindIssuer', method: 'POST', path: /^\/admin\/v1\/principals\/([^/]+)\/issuer$/, need: identity, example: '/admin/v1/principals/nobody/issuer' },
  { name: 'principals.enable', method: 'POST', path: /^\/admin\/v1\/principals\/([^/]+)\/enable$/, need: identity, example: '/admin/v1/principals/nobody/enable' },
  { name: 'principals.erase', method: 'POST', path: /^\/admin\/v1\/principals\/([^/]+)\/erase$/, need: identity, example: '/admin/v1/principals/nobody/erase' },
  { name: 'keys.list', method: 'GET', path: '/admin/v1/keys', need: identity },
  { name: 'keys.create', method: 'POST', path: '/admin/v1/keys', need: identity },
  { name: 'keys.get', method: 'GET', path: /^\/admin\/v1\/keys\/([^/]+)$/, need: keyNeed, example: '/admin/v1/keys/key_none' },
  { name: 'keys.delete', method: 'DELETE', path: /^\/admin\/v1\/keys\/([^/]+)$/, need: keyNeed, example: '/admin/v1/keys/key_none' },
  { name: 'keys.revoke', method: 'POST', path: /^\/admin\/v1\/keys\/([^/]+)\/revoke$/, need: keyNeed, example: '/admin/v1/keys/key_none/revoke' },
  { name: 'keys.rotate', method: 'POST', path: /^\/admin\/v1\/keys\/([^/]+)\/rotate$/, need: keyNeed, example: '/admin/v1/keys/key_none/rotate' },
  { name: 'keys.effective', method: 'GET', path: /^\/admin\/v1\/keys\/([^/]+)\/effective$/, need: keyNeed, example: '/admin/v1/keys/key_none/effective' },
  { name: 'tokens.revoke', method: 'POST', path: '/admin/v1/tokens/revoke', need: identity },
  { name: 'models.list', method: 'GET', path: '/admin/v1/models', need: () => ({ action: 'readRegistry', resource: sys('models') }) },
  { name: 'models.register', method: 'POST', path: '/admin/v1/models', need: () => ({ action: 'manageModels', resource: sys('models') }) },
  { name: 'models.rollback', method: 'POST', path: '/admin/v1/models/rollback', need: plane },
  { name: 'models.get', method: 'GET', path: /^\/admin\/v1\/models\/([^/]+)$/, need: (m) => ({ action: 'readRegistry', resource: dep(m) }), example: '/admin/v1/models/none' },
  { name: 'models.promote', method: 'POST', path: /^\/admin\/v1\/models\/([^/]+)\/promote$/, need: plane, example: '/admin/v1/models/none/promote' },
  ...(['verify', 'quarantine', 'retire', 'attest', 'key'] as const).map(
    (verb): AdminRouteDecl => ({ name: `models.${verb}`, method: 'POST', path: new RegExp(`^\\/admin\\/v1\\/models\\/([^/]+)\\/${verb}$`), need: (m) => ({ action: 'manageModels', resource: dep(m) }), example: `/admin/v1/models/none/${verb}` }),
  ),
  // The data plane: sources (identities with a key) and signed datasets. Changing either is manageDatasets.
  { name: 'dataSources.list', method: 'GET', path: '/admin/v1/data-sources', need: () => ({ action: 'readRegistry', resource: sys('data-sources') }) },
  { name: 'dataSources.register', method: 'POST', path: '/admin/v1/data-sources', need: () => ({ action: 'manageDatasets', resource: sys('data-sources') }) },
  { name: 'dataSources.get', method: 'GET', path: /^\/admin\/v1\/data-sources\/([^/]+)$/, need: () => ({ action: 'readRegistry', resource: sys('data-sources') }), example: '/admin/v1/data-sources/none' },
  { name: 'dataSources.retire', method: 'POST', path: /^\/admin\/v1\/data-sources\/([^/]+)\/retire$/, need: () => ({ action: 'manageDatasets', resource: sys('data-sources') }), example: '/admin/v1/data-sources/none/retire' },
  // Vector stores of every tenant (`warden vector-stores`): reading is readRegistry, deleting manageDatasets.
  { name: 'vectorStores.list', method: 'GET', path: '/admin/v1/vector-stores', need: () => ({ action: 'readRegistry', resource: sys('vector-stores') }) },
  { name: 'vectorStores.get', method: 'GET', path: /^\/admin\/v1\/vector-stores\/([^/]+)$/, need: () => ({ action: 'readRegistry', resource: sys('vector-stores') }), example: '/admin/v1/vector-stores/none' },
  { name: 'vectorStores.delete', method: 'DELETE', path: /^\/admin\/v1\/vector-stores\/([^/]+)$/, need: () => ({ action: 'manageDatasets', resource: sys('vector-stores') }), example: '/admin/v1/vector-stores/none' },
  { name: 'datasets.list', method: 'GET', path: '/admin/v1/datasets', need: () => ({ action: 'readRegistry', resource: sys('datasets') }) },
  { name: 'datasets.register', method: 'POST', path: '/admin/v1/datasets', need: () => ({ action: 'manageDatasets', resource: sys('datasets') }) },
  { name: 'datasets.get', method: 'GET', path: /^\/admin\/v1\/datasets\/([^/]+)$/, need: (m) => ({ action: 'readRegistry', resource: ds(m) }), example: '/admin/v1/datasets/none' },
  { name: 'datasets.lineage', method: 'GET', path: /^\/admin\/v1\/datasets\/([^/]+)\/lineage$/, need: (m) => ({ action: 'readRegistry', resource: ds(m) }), example: '/admin/v1/datasets/none/lineage' },
  { name: 'datasets.trainOn.list', method: 'GET', path: /^\/admin\/v1\/datasets\/([^/]+)\/train-on$/, need: (m) => ({ action: 'readRegistry', resource: ds(m) }), example: '/admin/v1/datasets/none/train-on' },
  ...(['verify', 'retire', 'train-on', 'screen', 'evaluate'] as const).map(
    (verb): AdminRouteDecl => ({ name: `datasets.${verb}`, method: 'POST', path: new RegExp(`^\\/admin\\/v1\\/datasets\\/([^/]+)\\/${verb}$`), need: (m) => ({ action: 'manageDatasets', resource: ds(m) }), example: `/admin/v1/datasets/none/${verb}` }),
  ),
  // A training job's token: trainOn for the model and each dataset, then a JIT token naming them (src/data/datasets/training-access.ts).
  { name: 'trainingTokens.issue', method: 'POST', path: '/admin/v1/training-tokens', need: () => ({ action: 'manageDatasets', resource: sys('datasets') }) },
  // Ending a training run (COMPLETE or FAIL): its token is revoked and the end is an OpenLineage event in the ledger.
  { name: 'trainingTokens.end', method: 'POST', path: /^\/admin\/v1\/training-tokens\/([^/]+)\/end$/, need: () => ({ action: 'manageDatasets', resource: sys('datasets') }), example: '/admin/v1/training-tokens/none/end' },
  { name: 'tools.list', method: 'GET', path: '/admin/v1/tools', need: () => ({ action: 'readRegistry', resource: sys('tools') }) },
  { name: 'tools.create', method: 'POST', path: '/admin/v1/tools', need: () => ({ action: 'manageTools', resource: sys('tools') }) },
  { name: 'tools.get', method: 'GET', path: /^\/admin\/v1\/tools\/([^/]+)$/, need: (m) => ({ action: 'readRegistry', resource: tool(m) }), example: '/admin/v1/tools/none' },
  { name: 'tools.update', method: 'PUT', path: /^\/admin\/v1\/tools\/([^/]+)$/, need: (m) => ({ action: 'manageTools', resource: tool(m) }), example: '/admin/v1/tools/none' },
  { name: 'tools.delete', method: 'DELETE', path: /^\/admin\/v1\/tools\/([^/]+)$/, need: (m) => ({ action: 'manageTools', resource: tool(m) }), example: '/admin/v1/tools/none' },
  // Pinned MCP definitions: reading one is reading the registry; re-approving a changed one is managing tools.
  { name: 'tools.definition.get', method: 'GET', path: /^\/admin\/v1\/tools\/([^/]+)\/definition$/, need: (m) => ({ action: 'readRegistry', resource: tool(m) }), example: '/admin/v1/tools/none/definition' },
  // Taking a tool out of service and putting it back: managing tools (a ledger entry each).
  { name: 'tools.quarantine', method: 'POST', path: /^\/admin\/v1\/tools\/([^/]+)\/quarantine$/, need: (m) => ({ action: 'manageTools', resource: tool(m) }), example: '/admin/v1/tools/none/quarantine' },
  { name: 'tools.release', method: 'POST', path: /^\/admin\/v1\/tools\/([^/]+)\/release$/, need: (m) => ({ action: 'manageTools', resource: tool(m) }), example: '/admin/v1/tools/none/release' },
  { name: 'tools.definition.approve', method: 'POST', path: /^\/admin\/v1\/tools\/([^/]+)\/definition\/approve$/, need: (m) => ({ action: 'manageTools', resource: tool(m) }), example: '/admin/v1/tools/none/definition/approve' },
  // The A2A agent registry (src/agents): reading it is reading a registry; registering, removing and re-approving a changed card is manageAgents.
  { name: 'agents.list', method: 'GET', path: '/admin/v1/agents', need: () => ({ action: 'readRegistry', resource: sys('agents') }) },
  { name: 'agents.register', method: 'POST', path: '/admin/v1/agents', need: () => ({ action: 'manageAgents', resource: sys('agents') }) },
  { name: 'agents.get', method: 'GET', path: /^\/admin\/v1\/agents\/([^/]+)$/, need: () => ({ action: 'readRegistry', resource: sys('agents') }), example: '/admin/v1/agents/none' },
  { name: 'agents.remove', method: 'DELETE', path: /^\/admin\/v1\/agents\/([^/]+)$/, need: () => ({ action: 'manageAgents', resource: sys('agents') }), example: '/admin/v1/agents/none' },
  { name: 'agents.card.approve', method: 'POST', path: /^\/admin\/v1\/agents\/([^/]+)\/card\/approve$/, need: () => ({ action: 'manageAgents', resource: sys('agents') }), example: '/admin/v1/agents/none/card/approve' },
  // The monitor's view of principals is audit material; clearing a principal's record is an identity action.
  { name: 'monitor.list', method: 'GET', path: '/admin/v1/monitor', need: audit('monitor') },
  // A deployment's answer profile is audit material; re-learning its baseline approves its answers as they are.
  { name: 'monitor.drift.list', method: 'GET', path: '/admin/v1/monitor/drift', need: audit('monitor') },
  { name: 'monitor.drift.relearn', method: 'POST', path: /^\/admin\/v1\/monitor\/drift\/([^/]+)\/relearn$/, need: (m) => ({ action: 'manageModels', resource: dep(m) }), example: '/admin/v1/monitor/drift/none/relearn' },
  // Approving a baseline (the learnt one, or an answer set) decides what the deployment's answers are judged against: as relearn.
  { name: 'monitor.drift.approve', method: 'POST', path: /^\/admin\/v1\/monitor\/drift\/([^/]+)\/approve$/, need: (m) => ({ action: 'manageModels', resource: dep(m) }), example: '/admin/v1/monitor/drift/none/approve' },
  // What playbooks did is audit material; undoing a step (lifting a step-up, a throttle, a suspension) is an identity action.
  { name: 'playbooks.list', method: 'GET', path: '/admin/v1/playbooks', need: audit('monitor') },
  { name: 'playbooks.revert', method: 'POST', path: /^\/admin\/v1\/playbooks\/steps\/([^/]+)\/revert$/, need: () => ({ action: 'manageKeys', resource: sys('monitor') }), example: '/admin/v1/playbooks/steps/none/revert' },
  // Every model, deployment, tool, key and principal with its risk flags: audit material.
  { name: 'inventory', method: 'GET', path: '/admin/v1/inventory', need: audit('inventory') },
  // Red-team results are audit material; starting a run mints a key for the red-team principal: an identity action.
  { name: 'redteam.attacks', method: 'GET', path: '/admin/v1/redteam/attacks', need: audit('redteam') },
  { name: 'redteam.runs.list', method: 'GET', path: '/admin/v1/redteam/runs', need: audit('redteam') },
  { name: 'redteam.runs.start', method: 'POST', path: '/admin/v1/redteam/runs', need: () => ({ action: 'manageKeys', resource: sys('redteam') }) },
  { name: 'redteam.runs.get', method: 'GET', path: /^\/admin\/v1\/redteam\/runs\/([^/]+)$/, need: audit('redteam'), example: '/admin/v1/redteam/runs/none' },
  { name: 'monitor.reset', method: 'POST', path: /^\/admin\/v1\/monitor\/([^/]+)\/reset$/, need: () => ({ action: 'manageKeys', resource: sys('monitor') }), example: '/admin/v1/monitor/nobody/reset' },
  // What budgets have used is audit material; changing a budget's limits is an identity action.
  { name: 'budgets.list', method: 'GET', path: '/admin/v1/budgets', need: audit('budgets') },
  { name: 'budgets.get', method: 'GET', path: /^\/admin\/v1\/budgets\/([^/]+)\/([^/]+)$/, need: audit('budgets'), example: '/admin/v1/budgets/principal/nobody' },
  // Tenants' own KEKs: the record is audit material; withdrawing or reinstating one is key management.
  { name: 'ledger.key.rotate', method: 'POST', path: '/admin/v1/ledger/key/rotate', need: () => ({ action: 'manageKeys', resource: sys('ledger-key') }) },
  { name: 'tenantKeks.list', method: 'GET', path: '/admin/v1/tenant-keks', need: audit('tenant-keks') },
  { name: 'tenantKeks.withdraw', method: 'POST', path: /^\/admin\/v1\/tenant-keks\/([^/]+)\/withdraw$/, need: () => ({ action: 'manageKeys', resource: sys('tenant-keks') }), example: '/admin/v1/tenant-keks/nobody/withdraw' },
  { name: 'tenantKeks.restore', method: 'POST', path: /^\/admin\/v1\/tenant-keks\/([^/]+)\/restore$/, need: () => ({ action: 'manageKeys', resource: sys('tenant-keks') }), example: '/admin/v1/tenant-keks/nobody/restore' },
  // Forgetting a withdrawn tenant's KEK record once none of its data is wrapped under it: key management too.
  { name: 'tenantKeks.forget', method: 'POST', path: /^\/admin\/v1\/tenant-keks\/([^/]+)\/forget$/, need: () => ({ action: 'manageKeys', resource: sys('tenant-keks') }), example: '/admin/v1/tenant-keks/nobody/forget' },
  { name: 'budgets.set', method: 'PUT', path: /^\/admin\/v1\/budgets\/([^/]+)\/([^/]+)\/([^/]+)$/, need: () => ({ action: 'manageKeys', resource: sys('budgets') }), example: '/admin/v1/budgets/principal/nobody/day' },
  // Held tool calls carry their arguments: reading them is reading audit material; deciding is `approve`.
  { name: 'approvals.list', method: 'GET', path: '/admin/v1/approvals', need: audit('approvals') },
  { name: 'approvals.get', method: 'GET', path: /^\/admin\/v1\/approvals\/([^/]+)$/, need: audit('approvals'), example: '/admin/v1/approvals/none' },
  { name: 'approvals.decide', method: 'POST', path: /^\/admin\/v1\/approvals\/([^/]+)\/(?:approve|deny)$/, need: plane, example: '/admin/v1/approvals/none/deny' },
];

export type AdminMatch = { route: AdminRouteDecl; need: Exclude<AdminNeed, null> } | { route: null; allowed: string[] };

/**
 * The declared route for a request. Captures are percent-decoded; a malformed escape is left as is (the
 * handler refuses the id). When the path is declared for other methods only, `allowed` lists them (405).
 */
export function matchAdminRoute(method: string, path: string): AdminMatch {
  const allowed: string[] = [];
  const m = method === 'HEAD' ? 'GET' : method;
  for (const r of ADMIN_ROUTES) {
    let caps: string[] | null = null;
    if (typeof r.path === 'string') caps = r.path === path ? [] : null;
    else {
      const x = r.path.exec(path);
      caps = x ? x.slice(1).map(decodeCapture) : null;
    }
    if (caps === null) continue;
    if (r.method !== m) {
      allowed.push(r.method);
      continue;
    }
    return { route: r, need: r.need(caps) };
  }
  return { route: null, allowed };
}

function decodeCapture(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The PDP question for a request (null: no such admin endpoint). */
export function adminActionFor(method: string, path: string): AdminNeed {
  const m = matchAdminRoute(method, path);
  return m.route ? m.need : null;
}
