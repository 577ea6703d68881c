// The slicing index: for a request, only the policies whose scope (principal / action / resource
// constraints) can match are handed to Cedar. Dropping the others cannot change the answer: Cedar
// evaluates a policy as `scope && conditions` with short-circuit `&&`, so a policy whose scope is
// false is neither satisfied nor erroring. Ancestor sets passed in here must be computed from the
// very entities sent to Cedar, or the index and Cedar would disagree on `in`.
import type { PolicyEntry } from './policy-set.js';
import type { ActionScope, EntityScope } from './policy-analysis.js';

function bucket(map: Map<string, Set<string>>, key: string): Set<string> {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  return s;
}
function unbucket(map: Map<string, Set<string>>, key: string, id: string): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(id);
  if (s.size === 0) map.delete(key);
}

export interface EntityInRequest {
  uid: string;
  type: string;
  /** The entity itself and every ancestor, as uid keys. */
  ancestors: ReadonlySet<string>;
}

export function entityScopeMatches(scope: EntityScope, e: EntityInRequest): boolean {
  switch (scope.op) {
    case 'all':
      return true;
    case 'eq':
      return scope.uid === e.uid;
    case 'in':
      return e.ancestors.has(scope.uid);
    case 'is':
      return scope.type === e.type && (scope.in === undefined || e.ancestors.has(scope.in));
  }
}

export function actionScopeMatches(scope: ActionScope, action: string, actionAncestors: ReadonlySet<string>): boolean {
  switch (scope.op) {
    case 'all':
      return true;
    case 'eq':
      return scope.id === action;
    case 'in':
      return scope.ids.some((i) => actionAncestors.has(i));
  }
}

class EntityDimension {
  readonly all = new Set<string>();
  readonly eq = new Map<string, Set<string>>();
  readonly inside = new Map<string, Set<string>>();
  readonly isType = new Map<string, Set<string>>();
  readonly isIn = new Map<string, Set<string>>();

  add(id: string, s: EntityScope): void {
    if (s.op === 'all') this.all.add(id);
    else if (s.op === 'eq') bucket(this.eq, s.uid).add(id);
    else if (s.op === 'in') bucket(this.inside, s.uid).add(id);
    else if (s.in === undefined) bucket(this.isType, s.type).add(id);
    else bucket(this.isIn, s.in).add(id);
  }
  remove(id: string, s: EntityScope): void {
    if (s.op === 'all') this.all.delete(id);
    else if (s.op === 'eq') unbucket(this.eq, s.uid, id);
    else if (s.op === 'in') unbucket(this.inside, s.uid, id);
    else if (s.in === undefined) unbucket(this.isType, s.type, id);
    else unbucket(this.isIn, s.in, id);
  }
  /** Disjoint buckets that together hold every policy whose scope on this dimension can match. */
  buckets(e: EntityInRequest): Set<string>[] {
    const out: Set<string>[] = [this.all];
    const push = (s: Set<string> | undefined) => s && out.push(s);
    push(this.eq.get(e.uid));
    push(this.isType.get(e.type));
    for (const a of e.ancestors) {
      push(this.inside.get(a));
      push(this.isIn.get(a));
    }
    return out;
  }
}

class ActionDimension {
  readonly all = new Set<string>();
  readonly eq = new Map<string, Set<string>>();
  /** A policy naming several actions sits in several buckets: candidates are deduplicated. */
  readonly inside = new Map<string, Set<string>>();

  add(id: string, s: ActionScope): void {
    if (s.op === 'all') this.all.add(id);
    else if (s.op === 'eq') bucket(this.eq, s.id).add(id);
    else for (const a of s.ids) bucket(this.inside, a).add(id);
  }
  remove(id: string, s: ActionScope): void {
    if (s.op === 'all') this.all.delete(id);
    else if (s.op === 'eq') unbucket(this.eq, s.id, id);
    else for (const a of s.ids) unbucket(this.inside, a, id);
  }
  buckets(action: string, ancestors: ReadonlySet<string>): Set<string>[] {
    const out: Set<string>[] = [this.all];
    const e = this.eq.get(action);
    if (e) out.push(e);
    for (const a of ancestors) {
      const s = this.inside.get(a);
      if (s) out.push(s);
    }
    return out;
  }
}

export interface SliceRequest {
  principal: EntityInRequest;
  action: string;
  actionAncestors: ReadonlySet<string>;
  resource: EntityInRequest;
}

export class SliceIndex {
  private readonly entries = new Map<string, PolicyEntry>();
  private readonly principal = new EntityDimension();
  private readonly action = new ActionDimension();
  private readonly resource = new EntityDimension();

  constructor(entries: Iterable<PolicyEntry> = []) {
    for (const e of entries) this.add(e);
  }

  get size(): number {
    return this.entries.size;
  }
  get(id: string): PolicyEntry | undefined {
    return this.entries.get(id);
  }
  values(): IterableIterator<PolicyEntry> {
    return this.entries.values();
  }

  add(e: PolicyEntry): void {
    if (this.entries.has(e.id)) throw new Error(`slice index already holds ${e.id}`);
    this.entries.set(e.id, e);
    this.principal.add(e.id, e.facts.principal);
    this.action.add(e.id, e.facts.action);
    this.resource.add(e.id, e.facts.resource);
  }

  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    this.principal.remove(id, e.facts.principal);
    this.action.remove(id, e.facts.action);
    this.resource.remove(id, e.facts.resource);
    return true;
  }

  /** Policies whose scope matches the request on all three dimensions, sorted by id. */
  slice(req: SliceRequest): PolicyEntry[] {
    const dims = [
      this.principal.buckets(req.principal),
      this.action.buckets(req.action, req.actionAncestors),
      this.resource.buckets(req.resource),
    ];
    // Walk the dimension with the fewest candidates and check the full scope of each.
    let best = dims[0]!;
    let bestSize = Infinity;
    for (const d of dims) {
      let n = 0;
      for (const s of d) n += s.size;
      if (n < bestSize) [best, bestSize] = [d, n];
    }
    const seen = new Set<string>();
    const out: PolicyEntry[] = [];
    for (const s of best) {
      for (const id of s) {
        if (seen.has(id)) continue;
        seen.add(id);
        const e = this.entries.get(id)!;
        if (
          entityScopeMatches(e.facts.principal, req.principal) &&
          actionScopeMatches(e.facts.action, req.action, req.actionAncestors) &&
          entityScopeMatches(e.facts.resource, req.resource)
        )
          out.push(e);
      }
    }
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }
}
