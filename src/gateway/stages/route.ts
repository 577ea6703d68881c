// Stage 5 — route: the model must be served by a configured upstream; otherwise the request ends here.
// The workload plane (src/app/workload.ts) replaces this stage for registered models and falls back to it
// for the rest; both judge placement obligations with `unmetRequirement`.
import { Forbidden, NotFound } from '../../core/errors.js';
import { unmetRequirement } from '../../core/types.js';
import type { RequestContext } from '../context.js';
import type { UpstreamTarget } from '../../network/upstream.js';

export { unmetRequirement, type RouteRequirement } from '../../core/types.js';

export function createRouteStage(routes: Map<string, UpstreamTarget>) {
  return function route(ctx: RequestContext): void {
    const t = routes.get(ctx.model ?? '');
    if (!t) throw new NotFound('model_not_found', `no upstream serves model ${JSON.stringify(ctx.model)}`);
    const unmet = unmetRequirement(t, ctx.routeRequirements);
    if (unmet?.placement) throw new Forbidden('placement_refused', `${unmet.placement}; the upstream serving ${ctx.model} is ${unmet.attr} ${t[unmet.attr] ?? 'unknown'}`);
    if (unmet) throw new Forbidden('route_obligation_unmet', `policy requires ${unmet.attr}=${unmet.value}; the upstream serving ${ctx.model} is not`);
    ctx.target = t;
  };
}
