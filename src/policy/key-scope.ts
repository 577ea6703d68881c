// A key's scope as policy (one authorization path): a forbid that caps the credential to its scope, so no
// permit (a role, a group grant, a model's or tool's grantees) can widen what a narrowly scoped key may do.
// A scope is a ceiling, never a grant (product decision, issue 12): the key generates no permit, so what
// it may do is what policy grants its principal, intersected with the scope.
import { BadRequest } from '../core/errors.js';
import type { AuthnMethod, Principal, Scope } from '../core/types.js';
import { cedarEntity, cedarString } from './cedar-text.js';
import { PRINCIPAL_ENTITY_TYPE } from './entities.js';
import { defaultSchema, type WardenSchema } from './schema.js';

/** `*` in a key scope's actions: every action outside the admin group (admin actions must be named). */
function wildcardActions(schema: WardenSchema): string[] {
  const out: string[] = [];
  for (const [action, ancestors] of schema.actionAncestors) {
    if (!schema.actionAppliesTo.has(action)) continue; // action groups themselves
    if (ancestors.includes('admin')) continue;
    out.push(action);
  }
  return out.sort();
}

/**
 * What decides whether the generated text type-checks: everything but the quoted ids. Two keys with the
 * same shape produce the same policies up to escaped string literals, which cannot change a policy's
 * structure (cedarString), so a shape validated once need not be validated again.
 */
export function keyScopeShape(principal: Pick<Principal, 'kind'>, scope: Scope, method: AuthnMethod = 'api_key'): string {
  const actions = scope.actions.includes('*') ? '*' : [...new Set(scope.actions)].sort().join(',');
  const models = scope.models.includes('*') ? '*' : scope.models.length === 0 ? 'none' : 'list';
  return `${principal.kind}|${method}|${actions}|${models}`;
}

export function keyPolicyIds(keyId: string): { cap: string } {
  return { cap: `key:${keyId}:cap` };
}

/**
 * Cedar text for the key `keyId` held by `principal` with `scope`. Models constrain Model resources
 * and Deployments (through their `model`); other resource types are constrained by actions only.
 */
export function policiesForKeyScope(
  keyId: string,
  principal: Pick<Principal, 'kind' | 'id'>,
  scope: Scope,
  opts: { method?: AuthnMethod; schema?: WardenSchema } = {},
): string {
  const schema = opts.schema ?? defaultSchema();
  const method = opts.method ?? 'api_key';
  if (keyId.length === 0) throw new BadRequest('scope_invalid', 'key id must not be empty');
  const type = PRINCIPAL_ENTITY_TYPE[principal.kind];
  if (!type) throw new BadRequest('scope_invalid', `unknown principal kind ${JSON.stringify(principal.kind)}`);
  let actions: string[];
  if (scope.actions.includes('*')) actions = wildcardActions(schema);
  else {
    for (const a of scope.actions) {
      if (!schema.actionAppliesTo.has(a)) throw new BadRequest('scope_invalid', `key scope names unknown action ${JSON.stringify(a)}`, 'scope.actions');
    }
    actions = [...new Set(scope.actions)].sort();
  }
  const models = scope.models.includes('*') ? null : [...new Set(scope.models)].sort();
  const ids = keyPolicyIds(keyId);
  const who = cedarEntity(type, principal.id);
  const credential = `context.authn.method == ${cedarString(method)} && context.authn.credentialId == ${cedarString(keyId)}`;
  let modelCond = 'true';
  if (models !== null) {
    const set = models.length === 0 ? null : `[${models.map((m) => cedarEntity('Model', m)).join(', ')}]`;
    modelCond = set
      ? `(if resource is Model then ${set}.contains(resource) else if resource is Deployment then (resource has model && ${set}.contains(resource.model)) else true)`
      : '(!(resource is Model) && !(resource is Deployment))';
  }
  const actionList = `[${actions.map((a) => cedarEntity('Action', a)).join(', ')}]`;
  // Cedar rejects empty set literals, so an empty action list means a cap on everything.
  return actions.length === 0
    ? `@id(${cedarString(ids.cap)})\nforbid(principal == ${who}, action, resource)\nwhen { ${credential} };\n`
    : `@id(${cedarString(ids.cap)})\nforbid(principal == ${who}, action, resource)\nwhen { ${credential} }\nunless { action in ${actionList} && ${modelCond} };\n`;
}
