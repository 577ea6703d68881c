// Stage 2 — network: source address allowlist, then per-principal rate / concurrency / token limits.
import type { Limits, LocalLimiter } from '../../network/limits.js';
import { checkSource } from '../../network/source.js';
import type { RequestContext } from '../context.js';

export function createNetworkStage(limiter: LocalLimiter, defaults: Limits) {
  return function network(ctx: RequestContext): void {
    const p = ctx.principal!;
    checkSource(ctx.sourceIp, p.sourceCidrs);
    const l = p.limits ? { ...defaults, ...p.limits } : defaults;
    ctx.lease = limiter.acquire(`${p.kind}:${p.id}`, l);
  };
}
