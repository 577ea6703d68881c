// One Cedar evaluation and its reading into a Warden Decision. Fail closed beyond Cedar's own rules:
// Cedar skips a policy that errors, so an erroring forbid would let a permit through; here an
// erroring forbid denies. A failed call (bad request, unknown preparsed set) denies.
import type { Decision, Obligation } from '../core/types.js';
import { cedar, cedarErrorText, type AuthorizationAnswer, type CedarValueJson, type EntityJson } from './cedar-wasm.js';
import type { PolicyEntry } from './policy-set.js';

export interface CedarCall {
  principal: { type: string; id: string };
  action: { type: string; id: string };
  resource: { type: string; id: string };
  context: Record<string, CedarValueJson>;
  entities: EntityJson[];
}

export function evaluatePreparsed(slot: string, call: CedarCall): AuthorizationAnswer {
  return cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: slot });
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function freeze(d: Decision): Decision {
  Object.freeze(d.policyIds);
  Object.freeze(d.obligations);
  Object.freeze(d.reasons);
  return Object.freeze(d);
}

export function denyDecision(version: string, reason: string, policyIds: string[] = []): Decision {
  return freeze({ allow: false, policyIds, policyVersion: version, obligations: [], reasons: [reason] });
}

export const DEFAULT_DENY_REASON = 'no policy permits this request (default deny)';

/**
 * Cedar's answer → Decision. `lookup` finds the entry for a policy id Cedar names. Reasons name policy
 * ids only (never Cedar's error text, which can quote request values).
 */
export function readAnswer(answer: AuthorizationAnswer, version: string, lookup: (id: string) => PolicyEntry | undefined): Decision {
  if (answer.type !== 'success') return denyDecision(version, 'policy evaluation failed: ' + cedarErrorText(answer.errors));
  const { decision, diagnostics } = answer.response;
  const determining = [...diagnostics.reason].sort(byId);
  const erroredForbids: string[] = [];
  const erroredPermits: string[] = [];
  for (const err of diagnostics.errors) {
    const e = lookup(err.policyId);
    if (!e || e.facts.effect === 'forbid') erroredForbids.push(err.policyId);
    else erroredPermits.push(err.policyId);
  }
  erroredForbids.sort(byId);
  erroredPermits.sort(byId);
  const errorNotes = [
    ...erroredForbids.map((id) => `forbid ${id} could not be evaluated: denied (fail closed)`),
    ...erroredPermits.map((id) => `permit ${id} could not be evaluated: ignored`),
  ];
  if (erroredForbids.length > 0) {
    const forbids = decision === 'deny' ? determining : [];
    return freeze({
      allow: false,
      policyIds: [...new Set([...forbids, ...erroredForbids])].sort(byId),
      policyVersion: version,
      obligations: [],
      reasons: errorNotes,
    });
  }
  if (decision === 'allow') {
    const obligations: Obligation[] = [];
    for (const id of determining) {
      const e = lookup(id);
      if (!e) return denyDecision(version, `permit ${id} is not in policy set ${version}: denied (fail closed)`);
      for (const o of e.obligations) if (!obligations.includes(o)) obligations.push(o);
    }
    return freeze({
      allow: true,
      policyIds: determining,
      policyVersion: version,
      obligations,
      reasons: [`permitted by ${determining.join(', ')}`, ...errorNotes],
    });
  }
  if (determining.length > 0) {
    return freeze({ allow: false, policyIds: determining, policyVersion: version, obligations: [], reasons: [`forbidden by ${determining.join(', ')}`, ...errorNotes] });
  }
  return freeze({ allow: false, policyIds: [], policyVersion: version, obligations: [], reasons: [DEFAULT_DENY_REASON, ...errorNotes] });
}
