// Stage 4 — policy: the PDP decides; the gateway enforces the decision and refuses obligations it cannot enforce.
import { Forbidden } from '../../core/errors.js';
import type { Action } from '../../core/types.js';
import { decisionDuties, type ParsedObligation } from '../../policy/obligations.js';
import type { Authorizer } from '../../policy/authorizer.js';
import type { RequestContext } from '../context.js';

/**
 * Obligations this gateway knows how to enforce, by kind of the policy plane's typed union (parsed once
 * there). A kind without an enforcer, or text outside the vocabulary, is a denial (fail closed).
 */
export type ObligationEnforcers = { [K in ParsedObligation['kind']]?: (ctx: RequestContext, o: Extract<ParsedObligation, { kind: K }>) => void };

export function createPolicyStage(authorizer: Authorizer, enforcers: ObligationEnforcers, contextOf: (ctx: RequestContext) => Record<string, unknown>) {
  return function policy(ctx: RequestContext): void {
    const decision = authorizer.authorize({
      principal: ctx.principal!,
      action: ctx.action as Action,
      resource: { type: 'Model', id: ctx.model ?? '' },
      context: contextOf(ctx),
    });
    ctx.decision = decision;
    if (!decision.allow) throw new Forbidden('policy_denied', `not allowed: ${decision.reasons[0] ?? 'no policy permits this request'}`);
    for (const o of decisionDuties(decision.obligations)) {
      const enforce = enforcers[o.kind] as ((ctx: RequestContext, o: ParsedObligation) => void) | undefined;
      if (!enforce) throw new Forbidden('unenforceable_obligation', `the policy attached an obligation this gateway cannot enforce (${o.kind})`);
      enforce(ctx, o);
    }
  };
}
