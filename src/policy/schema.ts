// The Warden Cedar schema (policies/schema.cedarschema), parsed once: the text for Cedar's validator,
// the action hierarchy (for the slicing index, which must agree with Cedar on `action in`), and the
// attribute types used to turn plain JS values into typed Cedar JSON.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cedar, cedarErrorText } from './cedar-wasm.js';
import { SchemaInvalid } from './errors.js';

/** A type from the schema's JSON form, with common types still named (resolved on use). */
export type SchemaType =
  | { type: 'String' | 'Long' | 'Bool' | 'Boolean' | 'decimal' | 'ipaddr' | 'datetime' | 'duration'; required?: boolean }
  | { type: 'Set'; element: SchemaType; required?: boolean }
  | { type: 'Record'; attributes: Record<string, SchemaType>; required?: boolean }
  | { type: 'Entity'; name: string; required?: boolean }
  | { type: 'Extension'; name: string; required?: boolean }
  | { type: string; required?: boolean };

interface EntityTypeJson {
  memberOfTypes?: string[];
  shape?: { type: 'Record'; attributes: Record<string, SchemaType> };
}
interface ActionJson {
  memberOf?: { id: string; type?: string }[];
  appliesTo?: { principalTypes: string[]; resourceTypes: string[] };
}
interface NamespaceJson {
  commonTypes?: Record<string, SchemaType>;
  entityTypes: Record<string, EntityTypeJson>;
  actions: Record<string, ActionJson>;
}

/** Where the shipped schema lives: <repo>/policies/schema.cedarschema (this file is <out>/src/policy/schema.js). */
export const DEFAULT_SCHEMA_PATH = fileURLToPath(new URL('../../../policies/schema.cedarschema', import.meta.url));

export class WardenSchema {
  readonly text: string;
  readonly commonTypes: ReadonlyMap<string, SchemaType>;
  readonly entityTypes: ReadonlyMap<string, { memberOfTypes: string[]; attributes: Record<string, SchemaType> }>;
  /** action id → the action itself plus every action group it is (transitively) in. */
  readonly actionAncestors: ReadonlyMap<string, readonly string[]>;
  /** action id → the action groups it is directly in (Cedar needs the action entities' parents). */
  readonly actionParents: ReadonlyMap<string, readonly string[]>;
  readonly actionAppliesTo: ReadonlyMap<string, { principalTypes: string[]; resourceTypes: string[] }>;
  readonly contextType: SchemaType;

  private constructor(text: string, ns: NamespaceJson) {
    this.text = text;
    this.commonTypes = new Map(Object.entries(ns.commonTypes ?? {}));
    this.entityTypes = new Map(
      Object.entries(ns.entityTypes).map(([name, t]) => [name, { memberOfTypes: t.memberOfTypes ?? [], attributes: t.shape?.attributes ?? {} }]),
    );
    const direct = new Map<string, string[]>();
    const applies = new Map<string, { principalTypes: string[]; resourceTypes: string[] }>();
    for (const [id, a] of Object.entries(ns.actions)) {
      direct.set(id, (a.memberOf ?? []).map((m) => m.id));
      // Action groups (inference, admin, ...) apply to nothing: they are never a request's action.
      if (a.appliesTo && a.appliesTo.principalTypes.length > 0 && a.appliesTo.resourceTypes.length > 0) applies.set(id, a.appliesTo);
    }
    const ancestors = new Map<string, string[]>();
    for (const id of direct.keys()) {
      const seen = new Set<string>([id]);
      const queue = [id];
      while (queue.length) for (const p of direct.get(queue.pop()!) ?? []) if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
      ancestors.set(id, [...seen]);
    }
    this.actionAncestors = ancestors;
    this.actionParents = direct;
    this.actionAppliesTo = applies;
    const contextTypes = new Set([...applies.values()].map((a) => JSON.stringify((a as { context?: unknown }).context ?? null)));
    if (contextTypes.size !== 1) throw new SchemaInvalid('every action must share one context type (RequestContext): buildContext builds exactly one shape');
    this.contextType = (applies.values().next().value as { context?: SchemaType }).context ?? { type: 'Record', attributes: {} };
  }

  static fromText(text: string): WardenSchema {
    const parsed = cedar.schemaToJsonWithResolvedTypes(text);
    if (parsed.type !== 'success') throw new SchemaInvalid('schema does not parse: ' + cedarErrorText(parsed.errors));
    const namespaces = Object.keys(parsed.json);
    // Warden's policies name types without a namespace (User, Model); a namespaced schema would not match them.
    if (namespaces.length !== 1 || namespaces[0] !== '') throw new SchemaInvalid('the Warden schema must use the empty namespace');
    return new WardenSchema(text, parsed.json[''] as unknown as NamespaceJson);
  }

  static fromFile(path: string = DEFAULT_SCHEMA_PATH): WardenSchema {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new SchemaInvalid(`cannot read schema ${path}: ${(e as Error).message}`);
    }
    return WardenSchema.fromText(text);
  }

  /** Follows common-type names (`{type: "ToolArg"}`) to their definition. */
  resolve(t: SchemaType): SchemaType {
    let cur = t;
    for (let depth = 0; depth < 32; depth++) {
      const common = this.commonTypes.get(cur.type);
      if (!common) return cur;
      cur = { ...common, ...(t.required === false ? { required: false } : {}) };
    }
    throw new SchemaInvalid(`common type ${t.type} does not resolve`);
  }
}

let shipped: WardenSchema | undefined;
/** The shipped schema, read once per process. */
export function defaultSchema(): WardenSchema {
  shipped ??= WardenSchema.fromFile();
  return shipped;
}
