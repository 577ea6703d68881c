// Stage 2 — network: source address allowlist, then per-principal rate / concurrency / token limits.
import type { Lease, Limiter, Limits } from '../../network/limits.js';
import { checkSource } from '../../network/source.js';
import type { RequestContext } from '../context.js';

export function createNetworkStage(limiter: Limiter, defaults: Limits) {
  return function network(ctx: RequestContext): void | Promise<void> {
    const p = ctx.principal!;
    checkSource(ctx.sourceIp, p.sourceCidrs);
    const l = p.limits ? { ...defaults, ...p.limits } : defaults;
    const lease = limiter.acquire(`${p.kind}:${p.id}`, l);
    // The in-process limiter answers synchronously: no promise (and no microtask) on the embedded hot path.
    if (lease instanceof Promise) return lease.then((x: Lease) => void (ctx.lease = x));
    ctx.lease = lease;
  };
}
