// Classification decides placement (issue 16): one table in the config maps a request's classification (what the
// inspector found in it; for retrieval embeddings, the chunks' text) to the tiers and regions that may process it,
// and a tenant's residency to the regions its data may go. They become route requirements that both routers (the
// configured upstreams and the model registry) check, so an upstream outside the table is refused, fail closed: an
// upstream whose tier or region is not declared meets no rule. The same table says how long data of each class
// lives (retention): retained payloads and retrieval chunks carry an expiry from their class when they are stored.
import { parseDuration } from '../core/duration.js';
import type { Classification, RouteRequirement } from '../core/types.js';
import { DEFAULT_SCHEME } from '../inspect/classification.js';

export interface PlacementConfig {
  /** Per class: the tiers and/or regions allowed to process it. A class without a row is not constrained here. */
  /** Keyed by the configured classification levels (the loader refuses another key). */
  classes: Partial<Record<Classification, { tiers?: string[]; regions?: string[]; retention?: string }>>;
  /** Per tenant: the regions its data may be processed and stored in (residency). */
  tenants: Record<string, { regions: string[] }>;
  /** Where this Warden (its data dir: retrieval stores, retained payloads) runs; needed for a tenant with residency. */
  region?: string;
  /** How often expired payloads and chunks are deleted (default 60 s); reads refuse them from the moment they expire. */
  sweepIntervalMs?: number;
}

const oneOf = (attr: 'tier' | 'region', values: string[], placement: string): RouteRequirement => ({ attr, value: values.join('|'), oneOf: values, placement });

/** The route requirements for a request of `classification` from `tenant`. */
export function placementRequirements(cfg: PlacementConfig, classification: Classification, tenant: string): RouteRequirement[] {
  const out: RouteRequirement[] = [];
  const row = cfg.classes[classification];
  if (row?.tiers) out.push(oneOf('tier', row.tiers, `${classification} data may be processed only in tier ${row.tiers.join(' or ')} (placement.classes)`));
  if (row?.regions) out.push(oneOf('region', row.regions, `${classification} data may be processed only in region ${row.regions.join(' or ')} (placement.classes)`));
  const residency = cfg.tenants[tenant];
  if (residency) out.push(oneOf('region', residency.regions, `tenant ${tenant}'s data stays in region ${residency.regions.join(' or ')} (placement.tenants)`));
  return out;
}

/** Whether this Warden's own stores may hold `tenant`'s data (residency); the reason when not. */
export function localStoreRefusal(cfg: PlacementConfig, tenant: string): string | null {
  const residency = cfg.tenants[tenant];
  if (!residency) return null;
  if (cfg.region === undefined) return `tenant ${tenant}'s data stays in region ${residency.regions.join(' or ')}, and this Warden declares no region (placement.region)`;
  if (!residency.regions.includes(cfg.region)) return `tenant ${tenant}'s data stays in region ${residency.regions.join(' or ')}; this Warden's stores are in ${cfg.region}`;
  return null;
}

/**
 * When data of `classification` stored at `nowMs` expires (epoch ms), or null when it is kept indefinitely (the class
 * has no `retention`, or says `indefinite`). Data whose class is unknown is judged `unknownAs`, the highest configured
 * level (`restricted` by default), as for routing.
 */
export function expiryFor(cfg: PlacementConfig, classification: Classification | undefined, nowMs: number, unknownAs: Classification = DEFAULT_SCHEME.highest): number | null {
  const c = classification ?? unknownAs;
  const retention = cfg.classes[c]?.retention;
  if (retention === undefined || retention === 'indefinite') return null;
  return nowMs + parseDuration(retention, `placement.classes.${c}.retention`);
}
