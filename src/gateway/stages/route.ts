// Stage 5 — route: the model must be served by a configured upstream; otherwise the request ends here.
import { Forbidden, NotFound } from '../../core/errors.js';
import type { RequestContext } from '../context.js';
import type { UpstreamTarget } from '../upstream.js';

export function createRouteStage(routes: Map<string, UpstreamTarget>) {
  return function route(ctx: RequestContext): void {
    const t = routes.get(ctx.model ?? '');
    if (!t) throw new NotFound('model_not_found', `no upstream serves model ${JSON.stringify(ctx.model)}`);
    for (const r of ctx.routeRequirements ?? []) {
      // Fail closed: an upstream whose placement is unknown does not meet a placement obligation.
      if (t[r.attr] !== r.value) throw new Forbidden('route_obligation_unmet', `policy requires ${r.attr}=${r.value}; the upstream serving ${ctx.model} is not`);
    }
    ctx.target = t;
  };
}
