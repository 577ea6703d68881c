// Stage 5 — route: the model must be served by a configured upstream; otherwise the request ends here.
// The workload plane (src/app/workload.ts) replaces this stage for registered models and falls back to it
// for the rest; both judge placement obligations with `unmetRequirement`.
import { Forbidden, NotFound } from '../../core/errors.js';
import type { RequestContext } from '../context.js';
import type { UpstreamTarget } from '../upstream.js';

export type RouteRequirement = NonNullable<RequestContext['routeRequirements']>[number];

/**
 * The first placement obligation (`route:tier=onprem`) that `placement` does not meet, or null.
 * Fail closed: an upstream whose placement is unknown does not meet a placement obligation.
 */
export function unmetRequirement(placement: { tier?: string | undefined; region?: string | undefined }, requirements: readonly RouteRequirement[] | undefined): RouteRequirement | null {
  for (const r of requirements ?? []) if (placement[r.attr] !== r.value) return r;
  return null;
}

export function createRouteStage(routes: Map<string, UpstreamTarget>) {
  return function route(ctx: RequestContext): void {
    const t = routes.get(ctx.model ?? '');
    if (!t) throw new NotFound('model_not_found', `no upstream serves model ${JSON.stringify(ctx.model)}`);
    const unmet = unmetRequirement(t, ctx.routeRequirements);
    if (unmet) throw new Forbidden('route_obligation_unmet', `policy requires ${unmet.attr}=${unmet.value}; the upstream serving ${ctx.model} is not`);
    ctx.target = t;
  };
}
