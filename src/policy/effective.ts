// What a credential can actually do: its scope (a ceiling) intersected with what policy grants its
// principal. Nothing is computed from the scope alone: every model × action and every tool is asked of
// the same decision path a request takes, so the answer is what the gateway would decide for a plain
// request (no findings) on the inference listener.
import type { Action, Principal } from '../core/types.js';

/** The model actions a credential's effective permissions are reported for (what /v1/models lists by). */
export const MODEL_ACTIONS: readonly Action[] = ['chat', 'complete', 'embed'];

export interface EffectivePermissions {
  models: { id: string; actions: Action[] }[];
  tools: { name: string; approval_required: boolean }[];
  /** True when the credential can do nothing at all: its holder should be told. */
  empty: boolean;
}

export interface EffectiveQuestions {
  /** Every model the gateway serves (config upstreams and registry). */
  models: readonly string[];
  /** Every tool name (the tools plane's assess hides other tenants' tools and checks the caller). */
  tools: readonly string[];
  /** The request path's model decision (credential ceiling, then the PDP). */
  allowModel(p: Principal, action: Action, model: string): boolean;
  /** The request path's tool decision (the same as MCP tools/list). */
  assessTool(p: Principal, tool: string): { allow: boolean; approvalRequired: boolean };
}

export function effectivePermissions(p: Principal, q: EffectiveQuestions): EffectivePermissions {
  const models: EffectivePermissions['models'] = [];
  for (const id of [...new Set(q.models)].sort()) {
    const actions = MODEL_ACTIONS.filter((a) => q.allowModel(p, a, id));
    if (actions.length) models.push({ id, actions });
  }
  const tools: EffectivePermissions['tools'] = [];
  for (const name of [...new Set(q.tools)].sort()) {
    const t = q.assessTool(p, name);
    if (t.allow) tools.push({ name, approval_required: t.approvalRequired });
  }
  return { models, tools, empty: models.length === 0 && tools.length === 0 };
}
