// `warden policy explain`: for one request, which policies were in scope, which of them were
// satisfied, which errored (with Cedar's message), and the decision that follows.
import type { Decision } from '../core/types.js';
import { cedar, cedarErrorText } from './cedar-wasm.js';
import type { PdpRequest, PolicyDecisionPoint } from './pdp.js';

export interface PolicyVerdict {
  id: string;
  effect: 'permit' | 'forbid';
  source: string;
  /** satisfied: scope and conditions hold; not_satisfied: a condition is false; error: evaluation failed. */
  outcome: 'satisfied' | 'not_satisfied' | 'error';
  error?: string;
  obligations: readonly string[];
}

export interface Explanation {
  decision: Decision;
  policyCount: number;
  /** Policies whose scope matched (the slice); all others cannot apply to this request. */
  inScope: PolicyVerdict[];
}

export function explain(pdp: PolicyDecisionPoint, req: PdpRequest): Explanation {
  const decision = pdp.decide(req);
  const { call, slice, all } = pdp.inspectRequest(req);
  const inScope: PolicyVerdict[] = slice.map((e) => {
    const answer = cedar.isAuthorized({ ...call, policies: { staticPolicies: { [e.id]: e.text } } });
    const base = { id: e.id, effect: e.facts.effect, source: e.source, obligations: e.obligations };
    if (answer.type !== 'success') return { ...base, outcome: 'error' as const, error: cedarErrorText(answer.errors) };
    const err = answer.response.diagnostics.errors[0];
    if (err) return { ...base, outcome: 'error' as const, error: cedarErrorText([err.error]) };
    return { ...base, outcome: answer.response.diagnostics.reason.includes(e.id) ? ('satisfied' as const) : ('not_satisfied' as const) };
  });
  return { decision, policyCount: all.length, inScope };
}
