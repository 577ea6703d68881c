// Narrowing for exchanged tokens: what a JIT token may do is what was asked for, and never more
// than what the subject may do — nor, for a delegated token, more than the acting agent may do.
// Every claim of every bound holds (models, actions, and the tools a token was narrowed to), so a
// token exchanged from an exchanged token is bounded by the whole chain, at any depth. A request
// beyond a bound is refused (`invalid_scope`, RFC 8693 §2.2.2), never silently narrowed or widened.
import { Forbidden } from '../../core/errors.js';
import type { Scope } from '../../core/types.js';

/** 403 `invalid_scope` (RFC 6749 §5.2 names the code): the request asks beyond the subject's scope. */
export class ScopeNotGranted extends Forbidden {
  constructor(message: string) {
    super('invalid_scope', message);
  }
}

const ANY = '*';

function within(requested: string[], allowed: string[]): boolean {
  if (allowed.includes(ANY)) return true;
  return requested.every((r) => r !== ANY && allowed.includes(r));
}

function intersect(a: string[], b: string[]): string[] {
  if (a.includes(ANY)) return [...b];
  if (b.includes(ANY)) return [...a];
  return a.filter((x) => b.includes(x));
}

export interface ScopeRequest {
  models?: string[];
  actions?: string[];
  tool?: string;
}

/** The tools (or datasets) every bound allows: undefined when no bound is narrowed to them. */
function narrowedBound(bounds: Scope[], kind: 'tools' | 'datasets'): string[] | undefined {
  let out: string[] | undefined;
  for (const b of bounds) {
    const own = b[kind];
    if (own === undefined) continue;
    out = out === undefined ? [...new Set(own)] : out.filter((t) => own.includes(t));
  }
  return out;
}

/** Returns the token's scope, or throws ScopeNotGranted. `bounds` are subject first, then actor. */
export function narrowScope(requested: ScopeRequest, bounds: Scope[]): Scope {
  let models = bounds.reduce<string[]>((acc, b) => intersect(acc, b.models), [ANY]);
  let actions = bounds.reduce<string[]>((acc, b) => intersect(acc, b.actions), [ANY]);
  if (requested.models !== undefined) {
    if (requested.models.length === 0) throw new ScopeNotGranted('the requested model list is empty');
    if (!bounds.every((b) => within(requested.models!, b.models))) throw new ScopeNotGranted('a requested model is not within the subject\'s scope');
    models = [...new Set(requested.models)];
  }
  if (requested.actions !== undefined) {
    if (requested.actions.length === 0) throw new ScopeNotGranted('the requested action list is empty');
    if (!bounds.every((b) => within(requested.actions!, b.actions))) throw new ScopeNotGranted('a requested action is not within the subject\'s scope');
    actions = [...new Set(requested.actions)];
  }
  if (models.length === 0 || actions.length === 0) throw new ScopeNotGranted('the subject and actor scopes do not overlap');
  const mayCallTools = actions.includes('callTool') || actions.includes(ANY);
  const boundTools = narrowedBound(bounds, 'tools');
  // A training token's datasets (src/data) carry over as a ceiling through every exchange; never widened.
  const boundDatasets = narrowedBound(bounds, 'datasets');
  const datasets = boundDatasets === undefined ? {} : { datasets: boundDatasets };
  if (requested.tool !== undefined) {
    // A tool narrowing is only meaningful for a token that may call tools at all.
    if (!mayCallTools) throw new ScopeNotGranted('a tool was requested without the callTool action');
    if (boundTools !== undefined && !boundTools.includes(requested.tool)) {
      throw new ScopeNotGranted(`the subject token is narrowed to ${boundTools.join(', ') || 'no tool'}, not ${requested.tool}`);
    }
    return { models, actions, tools: [requested.tool], ...datasets };
  }
  // Not asked for: the narrowing of the bounds carries over (a tool-narrowed token stays narrowed).
  if (boundTools !== undefined) {
    if (mayCallTools && boundTools.length === 0) throw new ScopeNotGranted('the subject and actor are narrowed to different tools');
    return { models, actions, tools: boundTools, ...datasets };
  }
  return { models, actions, ...datasets };
}
