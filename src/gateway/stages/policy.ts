// Stage 4 — policy: the PDP decides; the gateway enforces the decision and refuses obligations it cannot enforce.
import { Forbidden } from '../../core/errors.js';
import type { Action } from '../../core/types.js';
import type { Authorizer } from '../authorizer.js';
import type { RequestContext } from '../context.js';

/** Obligations this gateway knows how to enforce. Anything else is a denial (fail closed). */
export type ObligationEnforcers = Record<string, (ctx: RequestContext, arg: string) => void>;

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
    for (const o of decision.obligations) {
      const i = o.indexOf(':');
      const name = i === -1 ? o : o.slice(0, i);
      const enforce = enforcers[name];
      if (!enforce) throw new Forbidden('unenforceable_obligation', `the policy attached an obligation this gateway cannot enforce (${name})`);
      enforce(ctx, i === -1 ? '' : o.slice(i + 1));
    }
  };
}
