// Warden principals, resources and stored entities (groups, tenants, models from the registry) as
// Cedar entities, with the ancestor sets the slicing index needs, computed from the same entity list
// that is sent to Cedar.
import type { Principal, PrincipalKind, Resource } from '../core/types.js';
import type { CedarValueJson, EntityJson } from './cedar-wasm.js';
import { CedarValueMismatch, toCedarRecord } from './cedar-values.js';
import { EntityInvalid } from './errors.js';
import { uidKey } from './policy-analysis.js';
import type { WardenSchema } from './schema.js';

export const PRINCIPAL_ENTITY_TYPE: Readonly<Record<PrincipalKind, string>> = Object.freeze({
  user: 'User',
  service: 'Service',
  agent: 'Agent',
});

/** An entity the gateway or the control plane registers: a group in a group, a model with its grantees. */
export interface StoredEntityInput {
  type: string;
  id: string;
  attrs?: Record<string, unknown>;
  parents?: { type: string; id: string }[];
}

export interface CedarEntity {
  readonly key: string;
  readonly type: string;
  readonly id: string;
  readonly attrs: Readonly<Record<string, CedarValueJson>>;
  readonly parentKeys: readonly string[];
  readonly parents: readonly { type: string; id: string }[];
}

function entity(schema: WardenSchema, type: string, id: string, attrs: Record<string, unknown> | undefined, parents: { type: string; id: string }[], what: string): CedarEntity {
  const def = schema.entityTypes.get(type);
  if (!def) throw new EntityInvalid(`${what}: entity type ${JSON.stringify(type)} is not in the schema`);
  if (typeof id !== 'string' || id.length === 0) throw new EntityInvalid(`${what}: entity id must be a non-empty string`);
  for (const p of parents) {
    if (!def.memberOfTypes.includes(p.type)) throw new EntityInvalid(`${what}: a ${type} cannot be in a ${p.type} (schema memberOfTypes)`);
  }
  let cedarAttrs: Record<string, CedarValueJson>;
  try {
    cedarAttrs = toCedarRecord(schema, def.attributes, attrs ?? {}, `${type}::${JSON.stringify(id)}`);
  } catch (e) {
    if (e instanceof CedarValueMismatch) throw new EntityInvalid(`${what}: ${e.message}`);
    throw e;
  }
  return Object.freeze({
    key: uidKey(type, id),
    type,
    id,
    attrs: Object.freeze(cedarAttrs),
    parents: Object.freeze(parents.map((p) => ({ type: p.type, id: p.id }))),
    parentKeys: Object.freeze(parents.map((p) => uidKey(p.type, p.id))),
  });
}

export function storedEntity(schema: WardenSchema, e: StoredEntityInput): CedarEntity {
  return entity(schema, e.type, e.id, e.attrs, e.parents ?? [], 'stored entity');
}

/** Principal → User/Service/Agent, in each of its Groups and in its Tenant, with tenant and admin attributes. */
export function principalEntity(schema: WardenSchema, p: Principal): CedarEntity {
  const type = PRINCIPAL_ENTITY_TYPE[p.kind];
  if (!type) throw new EntityInvalid(`principal kind ${JSON.stringify(p.kind)} has no Cedar entity type`);
  const groups = [...new Set(p.groups)].sort();
  const parents = [...groups.map((g) => ({ type: 'Group', id: g })), { type: 'Tenant', id: p.tenant }];
  return entity(schema, type, p.id, { tenant: p.tenant, admin: p.admin === true }, parents, 'principal');
}

/** The request's resource; attributes from the request win over the stored entity's, parents come from the store. */
export function resourceEntity(schema: WardenSchema, r: Resource & { attrs?: Record<string, unknown> }, stored: CedarEntity | undefined): CedarEntity {
  if (r.attrs === undefined && stored) return stored;
  return entity(schema, r.type, r.id, r.attrs, stored ? [...stored.parents] : [], 'resource');
}

export function toEntityJson(e: CedarEntity, attrs: Readonly<Record<string, CedarValueJson>> = e.attrs): EntityJson {
  return { uid: { type: e.type, id: e.id }, attrs: attrs as Record<string, CedarValueJson>, parents: e.parents as { type: string; id: string }[] };
}

/** Entity attributes narrowed to the names some policy in the slice reads (null: keep all). */
export function projectAttrs(attrs: Readonly<Record<string, CedarValueJson>>, names: ReadonlySet<string> | null): Record<string, CedarValueJson> {
  if (names === null) return attrs as Record<string, CedarValueJson>;
  const out: Record<string, CedarValueJson> = {};
  for (const k in attrs) if (names.has(k)) out[k] = attrs[k]!;
  return out;
}

/** Stored entities, immutable once built; replaced as a whole so a decision sees one consistent version. */
export class EntitySnapshot {
  readonly byKey: ReadonlyMap<string, CedarEntity>;
  constructor(readonly version: number, entities: Iterable<CedarEntity>) {
    const m = new Map<string, CedarEntity>();
    for (const e of entities) m.set(e.key, e);
    this.byKey = m;
  }

  /** `start` and every stored ancestor of it (Cedar's `in` is reflexive and transitive). */
  ancestors(start: CedarEntity): Set<string> {
    const seen = new Set<string>([start.key]);
    const queue = [...start.parentKeys];
    while (queue.length) {
      const k = queue.pop()!;
      if (seen.has(k)) continue;
      seen.add(k);
      const stored = this.byKey.get(k);
      if (stored) for (const p of stored.parentKeys) queue.push(p);
    }
    return seen;
  }
}
