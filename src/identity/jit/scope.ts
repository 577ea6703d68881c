// Narrowing for exchanged tokens: what a JIT token may do is what was asked for, and never more
// than what the subject may do — nor, for a delegated token, more than the acting agent may do.
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

/** Returns the token's scope, or throws ScopeNotGranted. `bounds` are subject first, then actor. */
export function narrowScope(requested: ScopeRequest, bounds: Scope[]): Scope & { tool?: string } {
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
  if (requested.tool !== undefined) {
    // A tool grant is only meaningful for a token that may call tools at all.
    if (!actions.includes('callTool') && !actions.includes(ANY)) throw new ScopeNotGranted('a tool was requested without the callTool action');
    return { models, actions, tool: requested.tool };
  }
  return { models, actions };
}
