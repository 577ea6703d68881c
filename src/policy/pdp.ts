// The policy decision point: (principal, action, resource, context) → Decision, synchronously.
// Hot path: slice (only policies whose scope can match) → narrow context and attributes to what the
// slice reads → decision cache → Cedar on a preparsed slice. Every step that cannot be done denies.
// Policy changes swap one reference (JS runs decide() to completion, so no request sees half a set).
import { Conflict } from '../core/errors.js';
import type { Action, AuthnMethod, Decision, Principal, Resource, Scope } from '../core/types.js';
import type { CedarValueJson, EntityJson } from './cedar-wasm.js';
import { PdpContext } from './context.js';
import {
  EntitySnapshot,
  principalEntity,
  projectAttrs,
  resourceEntity,
  storedEntity,
  toEntityJson,
  type CedarEntity,
  type StoredEntityInput,
} from './entities.js';
import { DEFAULT_DENY_REASON, denyDecision, evaluatePreparsed, readAnswer, type CedarCall } from './evaluate.js';
import { PolicyIdConflict } from './errors.js';
import { keyScopeShape, policiesForKeyScope } from './key-scope.js';
import { Lru } from './lru.js';
import { PathTree, projectRecord, uidKey } from './policy-analysis.js';
import { loadPolicyDir, parsePolicies, policySetVersion, validatePolicies, type PolicyEntry } from './policy-set.js';
import { preparsedPool, sliceContentKey } from './preparsed-pool.js';
import { defaultSchema, type WardenSchema } from './schema.js';
import { SliceIndex } from './slice-index.js';

export interface PdpRequest {
  principal: Principal;
  action: Action;
  resource: Resource & { attrs?: Record<string, unknown> };
  context: PdpContext;
}

export interface ShadowDiff {
  principal: { kind: Principal['kind']; id: string };
  action: Action;
  resource: { type: Resource['type']; id: string };
  live: Decision;
  candidate: Decision;
}

export interface PolicySetChange {
  reason: 'load' | 'generated' | 'promote';
  previousVersion: string | null;
  version: string;
  policyCount: number;
}

export interface PdpOptions {
  schema?: WardenSchema;
  /** Decision cache entries (0 disables the cache). */
  cacheSize?: number;
  /** Called for every shadow-mode decision that differs from the live one (allow or obligations). */
  onShadowDiff?: (diff: ShadowDiff) => void;
  /** Called after every change of the live version: the gateway records it in the ledger. */
  onChange?: (change: PolicySetChange) => void;
}

interface Slice {
  entries: PolicyEntry[];
  contentKey: string;
  /** null: some policy reads the whole context. */
  contextPaths: PathTree | null;
  /** null: some policy reads attributes in a way not tracked by name. */
  attrNames: Set<string> | null;
  /**
   * Some policy needs the action hierarchy (`action in <group>` in its scope, or `action` in a condition).
   * Otherwise the action entities are left out: `action == A` and `action in [A, B]` over concrete actions
   * need no entity data (`in` is reflexive), and each entity sent costs time at the Wasm boundary.
   */
  needsActionEntities: boolean;
}

/** One policy set as the PDP evaluates it: base policies + generated (key-scope) policies. */
class LoadedSet {
  readonly index: SliceIndex;
  version: string;
  /** Version of the base (published) policies only: what an approval binds to. */
  readonly publishedVersion: string;
  readonly slices = new Map<string, Slice>();
  private fullKey: string | undefined;
  constructor(
    readonly base: ReadonlyMap<string, PolicyEntry>,
    generated: Iterable<PolicyEntry>,
  ) {
    this.index = new SliceIndex([...base.values(), ...generated]);
    this.version = policySetVersion(this.index.values());
    this.publishedVersion = policySetVersion(base.values());
  }
  changed(): void {
    this.version = policySetVersion(this.index.values());
    this.slices.clear();
    this.fullKey = undefined;
  }
  allEntries(): PolicyEntry[] {
    return [...this.index.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  fullContentKey(entries: PolicyEntry[]): string {
    this.fullKey ??= sliceContentKey(entries);
    return this.fullKey;
  }
}

interface Prepared {
  principal: CedarEntity;
  resource: CedarEntity;
  action: string;
  principalAncestors: Set<string>;
  resourceAncestors: Set<string>;
  actionAncestors: Set<string>;
  /** Stored ancestors of the principal and the resource (not the two themselves). */
  related: CedarEntity[];
  scopeKey: string;
  context: Readonly<Record<string, CedarValueJson>>;
}

export class PolicyDecisionPoint {
  readonly schema: WardenSchema;
  private live: LoadedSet | null = null;
  private shadow: LoadedSet | null = null;
  private readonly generated = new Map<string, PolicyEntry>();
  private readonly keyPolicyIds = new Map<string, string[]>();
  /** Key-scope shapes whose generated policies passed schema validation (see keyScopeShape). */
  private readonly validatedKeyShapes = new Set<string>();
  private entities: EntitySnapshot = new EntitySnapshot(0, []);
  private readonly cache: Lru<string, Decision> | null;
  private readonly actionEntities = new Map<string, EntityJson[]>();
  /** Action ids that other actions are in (inference, admin, ...). */
  private readonly actionGroups = new Set<string>();
  private readonly opts: PdpOptions;
  readonly stats = { decisions: 0, cacheHits: 0, cedarCalls: 0, denialsBeforeCedar: 0, shadowDiffs: 0 };

  constructor(opts: PdpOptions = {}) {
    this.opts = opts;
    this.schema = opts.schema ?? defaultSchema();
    const size = opts.cacheSize ?? 50_000;
    this.cache = size > 0 ? new Lru(size) : null;
    for (const parents of this.schema.actionParents.values()) for (const p of parents) this.actionGroups.add(p);
    for (const [action, ancestors] of this.schema.actionAncestors) {
      this.actionEntities.set(
        action,
        ancestors.map((a) => ({ uid: { type: 'Action', id: a }, attrs: {}, parents: (this.schema.actionParents.get(a) ?? []).map((p) => ({ type: 'Action', id: p })) })),
      );
    }
  }

  /** Content-hash version of the live set (base + generated), or null before the first load. */
  get version(): string | null {
    return this.live?.version ?? null;
  }

  /** Content-hash version of the live published set alone (no generated policies), or null before the first load. */
  get publishedVersion(): string | null {
    return this.live?.publishedVersion ?? null;
  }
  get shadowVersion(): string | null {
    return this.shadow?.version ?? null;
  }
  get entityVersion(): number {
    return this.entities.version;
  }
  /** Live policies (base and generated), sorted by id. */
  policies(): PolicyEntry[] {
    return this.live ? this.live.allEntries() : [];
  }
  /** The loaded (non-generated) policies: what an admin published; key-scope policies excluded. */
  basePolicies(): PolicyEntry[] {
    return this.live ? [...this.live.base.values()] : [];
  }
  /** The shadow candidate's loaded policies, or null when shadow mode is off. */
  shadowBasePolicies(): PolicyEntry[] | null {
    return this.shadow ? [...this.shadow.base.values()] : null;
  }

  // ---------------------------------------------------------------- decisions

  /** `probe`: a what-if question (e.g. "would fresh MFA allow this?"), kept out of the shadow comparison. */
  decide(req: PdpRequest, opts: { probe?: boolean } = {}): Decision {
    this.stats.decisions++;
    return this.run(req, (live, prep, entities) => {
      const decision = this.decideSliced(live, prep, entities);
      const shadow = this.shadow;
      if (shadow && !opts.probe) this.compareShadow(shadow, prep, entities, req, decision);
      return decision;
    });
  }

  /** Reference path: the whole set, full context and attributes, no cache. For tests, benchmarks, explain. */
  decideNaive(req: PdpRequest): Decision {
    return this.run(req, (live, prep) => {
      const entries = live.allEntries();
      if (entries.length === 0) return denyDecision(live.version, DEFAULT_DENY_REASON);
      const call = this.cedarCall(prep, prep.context as Record<string, CedarValueJson>, null);
      return this.evaluate(live, live.fullContentKey(entries), entries, call).decision;
    });
  }

  /** Same as decide() but never reads or fills the decision cache (for benchmarks of the sliced path). */
  decideUncached(req: PdpRequest): Decision {
    return this.run(req, (live, prep, entities) => this.decideSliced(live, prep, entities, false));
  }

  /** The live set and entities read once (a concurrent swap cannot mix versions), the request prepared or denied. */
  private run(req: PdpRequest, decideWith: (live: LoadedSet, prep: Prepared, entities: EntitySnapshot) => Decision): Decision {
    const live = this.live;
    if (!live) return denyDecision('none', 'no policy set is loaded (fail closed)');
    const entities = this.entities;
    let prep: Prepared;
    try {
      prep = this.prepare(req, entities);
    } catch (e) {
      this.stats.denialsBeforeCedar++;
      return denyDecision(live.version, `request cannot be evaluated: ${(e as Error).message}`);
    }
    try {
      return decideWith(live, prep, entities);
    } catch (e) {
      // Nothing in the evaluation path is expected to throw; if something does, the answer is still no.
      return denyDecision(live.version, `policy evaluation failed: ${(e as Error).message}`);
    }
  }

  private prepare(req: PdpRequest, entities: EntitySnapshot): Prepared {
    if (!(req.context instanceof PdpContext)) throw new Error('the context was not built by buildContext');
    const applies = this.schema.actionAppliesTo.get(req.action);
    const actionAnc = this.schema.actionAncestors.get(req.action);
    if (!applies || !actionAnc) throw new Error(`unknown action ${JSON.stringify(req.action)}`);
    const principal = principalEntity(this.schema, req.principal);
    if (!applies.principalTypes.includes(principal.type)) throw new Error(`action ${req.action} does not apply to a ${principal.type}`);
    if (!applies.resourceTypes.includes(req.resource.type)) throw new Error(`action ${req.action} does not apply to a ${req.resource.type}`);
    const resource = resourceEntity(this.schema, req.resource, entities.byKey.get(uidKey(req.resource.type, req.resource.id)));
    const pAnc = entities.ancestors(principal);
    const rAnc = entities.ancestors(resource);
    const related: CedarEntity[] = [];
    for (const k of new Set([...pAnc, ...rAnc])) {
      if (k === principal.key || k === resource.key) continue;
      const e = entities.byKey.get(k);
      if (e) related.push(e);
    }
    const scopeKey = [principal.key, [...pAnc].sort().join('\u0003'), req.action, resource.key, [...rAnc].sort().join('\u0003')].join('\u0002');
    return {
      principal,
      resource,
      action: req.action,
      principalAncestors: pAnc,
      resourceAncestors: rAnc,
      actionAncestors: new Set(actionAnc),
      related,
      scopeKey,
      context: req.context.value,
    };
  }

  private sliceFor(set: LoadedSet, prep: Prepared): Slice {
    let s = set.slices.get(prep.scopeKey);
    if (s) return s;
    const entries = set.index.slice({
      principal: { uid: prep.principal.key, type: prep.principal.type, ancestors: prep.principalAncestors },
      action: prep.action,
      actionAncestors: prep.actionAncestors,
      resource: { uid: prep.resource.key, type: prep.resource.type, ancestors: prep.resourceAncestors },
    });
    let contextPaths: PathTree | null = new PathTree();
    let attrNames: Set<string> | null = new Set();
    for (const e of entries) {
      contextPaths.mergeFrom(e.facts.contextPaths);
      for (const n of e.facts.attrNames) attrNames.add(n);
    }
    if (contextPaths.whole) contextPaths = null;
    if (attrNames.has('*')) attrNames = null;
    const needsActionEntities = entries.some(
      (e) => e.facts.readsAction || (e.facts.action.op === 'in' && e.facts.action.ids.some((id) => this.actionGroups.has(id))),
    );
    s = { entries, contentKey: sliceContentKey(entries), contextPaths, attrNames, needsActionEntities };
    if (set.slices.size >= 100_000) set.slices.clear();
    set.slices.set(prep.scopeKey, s);
    return s;
  }

  /** The Cedar call; attrNames null and withActions true give the full (naive) request. */
  private cedarCall(prep: Prepared, context: Record<string, CedarValueJson>, attrNames: Set<string> | null, withActions = true): CedarCall & { pAttrs: unknown; rAttrs: unknown } {
    const pAttrs = projectAttrs(prep.principal.attrs, attrNames);
    const rAttrs = projectAttrs(prep.resource.attrs, attrNames);
    const entities: EntityJson[] = [toEntityJson(prep.principal, pAttrs), toEntityJson(prep.resource, rAttrs)];
    if (withActions) for (const a of this.actionEntities.get(prep.action)!) entities.push(a);
    for (const e of prep.related) entities.push(toEntityJson(e, projectAttrs(e.attrs, attrNames)));
    return {
      principal: { type: prep.principal.type, id: prep.principal.id },
      action: { type: 'Action', id: prep.action },
      resource: { type: prep.resource.type, id: prep.resource.id },
      context,
      entities,
      pAttrs,
      rAttrs,
    };
  }

  private decideSliced(set: LoadedSet, prep: Prepared, entities: EntitySnapshot, useCache = true): Decision {
    const slice = this.sliceFor(set, prep);
    if (slice.entries.length === 0) return denyDecision(set.version, DEFAULT_DENY_REASON);
    const context = slice.contextPaths ? (projectRecord(prep.context, slice.contextPaths) as Record<string, CedarValueJson>) : (prep.context as Record<string, CedarValueJson>);
    const call = this.cedarCall(prep, context, slice.attrNames, slice.needsActionEntities);
    const cache = useCache ? this.cache : null;
    let key: string | undefined;
    if (cache) {
      // Everything Cedar will see, narrowed exactly as sent: set version, entity version (stored
      // entities), the scope key (uids + ancestor sets), the narrowed attributes and context.
      key = `${set.version}\u0001${entities.version}\u0001${prep.scopeKey}\u0001${JSON.stringify(call.pAttrs)}\u0001${JSON.stringify(call.rAttrs)}\u0001${JSON.stringify(context)}`;
      const hit = cache.get(key);
      if (hit) {
        this.stats.cacheHits++;
        return hit;
      }
    }
    const { decision, completed } = this.evaluate(set, slice.contentKey, slice.entries, call);
    // A call Cedar could not complete is not cached: the next request tries again (and denies again).
    if (cache && key !== undefined && completed) cache.set(key, decision);
    return decision;
  }

  private evaluate(set: LoadedSet, contentKey: string, entries: PolicyEntry[], call: CedarCall): { decision: Decision; completed: boolean } {
    this.stats.cedarCalls++;
    try {
      const slot = preparsedPool.slotFor(contentKey, entries);
      const answer = evaluatePreparsed(slot, { principal: call.principal, action: call.action, resource: call.resource, context: call.context, entities: call.entities });
      return { decision: readAnswer(answer, set.version, (id) => set.index.get(id)), completed: answer.type === 'success' };
    } catch (e) {
      return { decision: denyDecision(set.version, `policy evaluation failed: ${(e as Error).message}`), completed: false };
    }
  }

  private compareShadow(shadow: LoadedSet, prep: Prepared, entities: EntitySnapshot, req: PdpRequest, live: Decision): void {
    const candidate = this.decideSliced(shadow, prep, entities);
    const same = candidate.allow === live.allow && candidate.obligations.length === live.obligations.length && candidate.obligations.every((o, i) => o === live.obligations[i]);
    if (same) return;
    this.stats.shadowDiffs++;
    try {
      this.opts.onShadowDiff?.({
        principal: { kind: req.principal.kind, id: req.principal.id },
        action: req.action,
        resource: { type: req.resource.type, id: req.resource.id },
        live,
        candidate,
      });
    } catch {
      // A failing reporter must not change the live decision; the diff is still counted in stats.
    }
  }

  // ---------------------------------------------------------------- policy lifecycle

  /**
   * Validates `entries` against the schema and makes them the live base set (generated key-scope
   * policies are kept). On any failure this throws Cedar's error and the previous set stays live.
   */
  replacePolicies(entries: readonly PolicyEntry[]): { version: string; policyCount: number } {
    const next = this.buildSet(entries);
    const previous = this.live?.version ?? null;
    this.live = next;
    this.cache?.clear();
    this.emit({ reason: 'load', previousVersion: previous, version: next.version, policyCount: next.index.size });
    return { version: next.version, policyCount: next.index.size };
  }

  loadText(text: string, source = 'admin'): { version: string; policyCount: number } {
    return this.replacePolicies(parsePolicies(text, source));
  }

  loadDirectory(dir: string): { version: string; policyCount: number } {
    return this.replacePolicies(loadPolicyDir(dir));
  }

  /** Starts shadow mode: `entries` are evaluated beside the live set on every decide(). */
  setShadow(entries: readonly PolicyEntry[]): { version: string; policyCount: number } {
    const next = this.buildSet(entries);
    this.shadow = next;
    return { version: next.version, policyCount: next.index.size };
  }

  clearShadow(): void {
    this.shadow = null;
  }

  /** Makes the shadow candidate live. */
  promoteShadow(): { version: string; policyCount: number } {
    const next = this.shadow;
    if (!next) throw new Conflict('no_shadow_set', 'there is no shadow policy set to promote');
    const previous = this.live?.version ?? null;
    this.live = next;
    this.shadow = null;
    this.cache?.clear();
    this.emit({ reason: 'promote', previousVersion: previous, version: next.version, policyCount: next.index.size });
    return { version: next.version, policyCount: next.index.size };
  }

  private buildSet(entries: readonly PolicyEntry[]): LoadedSet {
    const base = new Map<string, PolicyEntry>();
    for (const e of entries) {
      if (base.has(e.id)) throw new PolicyIdConflict(e.id, 'twice in the set');
      if (this.generated.has(e.id)) throw new PolicyIdConflict(e.id, 'also a generated key-scope policy');
      base.set(e.id, e);
    }
    validatePolicies(this.schema, entries);
    return new LoadedSet(base, this.generated.values());
  }

  /**
   * Adds or replaces generated policies (key scopes). Only the new policies are validated (Cedar
   * validates policy by policy, so the rest of the set cannot be affected); the index is updated in
   * place and the version recomputed.
   */
  upsertGenerated(entries: readonly PolicyEntry[], opts: { validated?: boolean } = {}): string | null {
    this.checkGenerated(entries, opts.validated === true);
    this.applyGenerated(entries, []);
    return this.afterGeneratedChange();
  }

  /** Everything that can fail, before anything changes. */
  private checkGenerated(entries: readonly PolicyEntry[], validated: boolean): void {
    for (const e of entries) {
      if (this.live?.base.has(e.id) || this.shadow?.base.has(e.id)) throw new PolicyIdConflict(e.id, 'also a policy of the loaded set');
    }
    if (!validated) validatePolicies(this.schema, entries);
  }

  private applyGenerated(entries: readonly PolicyEntry[], removeIds: readonly string[]): void {
    for (const id of removeIds) {
      this.generated.delete(id);
      this.live?.index.remove(id);
      this.shadow?.index.remove(id);
    }
    for (const e of entries) {
      for (const set of [this.live, this.shadow]) {
        if (!set) continue;
        set.index.remove(e.id);
        set.index.add(e);
      }
      this.generated.set(e.id, e);
    }
  }

  removeGenerated(ids: readonly string[]): string | null {
    this.applyGenerated([], ids);
    return this.afterGeneratedChange();
  }

  private afterGeneratedChange(): string | null {
    const previous = this.live?.version ?? null;
    this.live?.changed();
    this.shadow?.changed();
    this.cache?.clear();
    if (this.live) this.emit({ reason: 'generated', previousVersion: previous, version: this.live.version, policyCount: this.live.index.size });
    return this.live?.version ?? null;
  }

  /** A key's scope as policies bound to that key (see key-scope.ts); replaces the key's previous ones. */
  setKeyScope(keyId: string, principal: Pick<Principal, 'kind' | 'id'>, scope: Scope, method: AuthnMethod = 'api_key'): string | null {
    const entries = parsePolicies(policiesForKeyScope(keyId, principal, scope, { schema: this.schema, method }), `key:${keyId}`);
    // Validation parses the schema (~10 ms); keys of an already validated shape skip it.
    const shape = keyScopeShape(principal, scope, method);
    this.checkGenerated(entries, this.validatedKeyShapes.has(shape));
    this.validatedKeyShapes.add(shape);
    const stale = (this.keyPolicyIds.get(keyId) ?? []).filter((id) => !entries.some((e) => e.id === id));
    this.applyGenerated(entries, stale);
    this.keyPolicyIds.set(keyId, entries.map((e) => e.id));
    return this.afterGeneratedChange();
  }

  /** The key was revoked or deleted: its policies go. */
  removeKeyScope(keyId: string): string | null {
    const ids = this.keyPolicyIds.get(keyId) ?? [];
    this.keyPolicyIds.delete(keyId);
    return this.removeGenerated(ids);
  }

  // ---------------------------------------------------------------- entities

  /** Replaces all stored entities (groups in groups, tenants, models with grantees, ...). */
  setEntities(list: readonly StoredEntityInput[]): number {
    const converted = list.map((e) => storedEntity(this.schema, e));
    this.entities = new EntitySnapshot(this.entities.version + 1, converted);
    this.cache?.clear();
    return this.entities.version;
  }

  /** Adds or replaces some stored entities; the rest stay. */
  upsertEntities(list: readonly StoredEntityInput[]): number {
    const converted = list.map((e) => storedEntity(this.schema, e));
    const merged = new Map(this.entities.byKey);
    for (const e of converted) merged.set(e.key, e);
    this.entities = new EntitySnapshot(this.entities.version + 1, merged.values());
    this.cache?.clear();
    return this.entities.version;
  }

  removeEntities(uids: readonly { type: string; id: string }[]): number {
    const merged = new Map(this.entities.byKey);
    for (const u of uids) merged.delete(uidKey(u.type, u.id));
    this.entities = new EntitySnapshot(this.entities.version + 1, merged.values());
    this.cache?.clear();
    return this.entities.version;
  }

  /** @internal for explain: the request as Cedar sees it on the naive path, and the slice. */
  inspectRequest(req: PdpRequest): { call: CedarCall; slice: PolicyEntry[]; all: PolicyEntry[] } {
    const live = this.live;
    if (!live) throw new Error('no policy set is loaded');
    const prep = this.prepare(req, this.entities);
    const { principal, action, resource, context, entities } = this.cedarCall(prep, prep.context as Record<string, CedarValueJson>, null);
    return { call: { principal, action, resource, context, entities }, slice: this.sliceFor(live, prep).entries, all: live.allEntries() };
  }

  private emit(change: PolicySetChange): void {
    this.opts.onChange?.(change);
  }
}
