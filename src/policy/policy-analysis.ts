// Static facts about one policy, read from Cedar's JSON form of it:
//  - its scope (principal / action / resource constraints), for the slicing index;
//  - which context paths and which entity attributes its conditions can read, so a request can carry
//    only those (the Wasm boundary cost grows with every value sent) and the decision cache can key
//    on only those. Sound because Cedar reads a value only through `.attr`, `has` or whole-variable use,
//    and each of those is recorded here (whole-variable use of `context` disables the narrowing).
import type { Expr, PolicyJson } from './cedar-wasm.js';

/** Map key for an entity uid. NUL cannot occur in a type name, so the split is unambiguous. */
export function uidKey(type: string, id: string): string {
  return type + '\u0000' + id;
}

export type EntityScope =
  | { op: 'all' }
  | { op: 'eq'; uid: string }
  | { op: 'in'; uid: string }
  | { op: 'is'; type: string; in?: string };

export type ActionScope = { op: 'all' } | { op: 'eq'; id: string } | { op: 'in'; ids: string[] };

/** A tree of context paths: `whole` means the value at this path is read entirely. */
export class PathTree {
  whole = false;
  readonly children = new Map<string, PathTree>();
  mark(path: readonly string[]): void {
    if (this.whole) return;
    const [seg, ...rest] = path;
    if (seg === undefined) {
      this.whole = true;
      this.children.clear();
      return;
    }
    let next = this.children.get(seg);
    if (!next) this.children.set(seg, (next = new PathTree()));
    next.mark(rest);
  }
  mergeFrom(other: PathTree): void {
    if (other.whole) return this.mark([]);
    for (const [k, child] of other.children) {
      if (this.whole) return;
      let mine = this.children.get(k);
      if (!mine) this.children.set(k, (mine = new PathTree()));
      mine.mergeFrom(child);
    }
  }
}

export interface PolicyFacts {
  effect: 'permit' | 'forbid';
  principal: EntityScope;
  action: ActionScope;
  resource: EntityScope;
  annotations: Record<string, string>;
  /** Context paths the conditions read. */
  contextPaths: PathTree;
  /** Attribute names read from any entity (a superset is safe). */
  attrNames: Set<string>;
  /** The conditions use `action` (then the action hierarchy must be sent to Cedar). */
  readsAction: boolean;
}

type Uid = { type: string; id: string } | { __entity: { type: string; id: string } };
function plainUid(u: Uid): { type: string; id: string } {
  return '__entity' in u ? u.__entity : u;
}

function entityScope(c: PolicyJson['principal']): EntityScope {
  switch (c.op) {
    case 'All':
      return { op: 'all' };
    case '==':
    case 'in': {
      if (!('entity' in c)) throw new TypeError('template slots are not supported');
      const u = plainUid(c.entity as Uid);
      return { op: c.op === '==' ? 'eq' : 'in', uid: uidKey(u.type, u.id) };
    }
    case 'is': {
      const inner = c.in;
      if (inner && !('entity' in inner)) throw new TypeError('template slots are not supported');
      if (!inner) return { op: 'is', type: c.entity_type };
      const u = plainUid(inner.entity as Uid);
      return { op: 'is', type: c.entity_type, in: uidKey(u.type, u.id) };
    }
  }
}

function actionScope(c: PolicyJson['action']): ActionScope {
  if (c.op === 'All') return { op: 'all' };
  if (c.op === '==') {
    if (!('entity' in c)) throw new TypeError('template slots are not supported');
    return { op: 'eq', id: plainUid(c.entity as Uid).id };
  }
  const list = 'entities' in c ? c.entities : [c.entity];
  return { op: 'in', ids: list.map((u) => plainUid(u as Uid).id) };
}

/** The path of a `context.a.b` chain, or null when the expression is not rooted at `context`. */
function contextChain(e: Expr): string[] | null {
  const node = e as Record<string, unknown>;
  if (node.Var === 'context') return [];
  const dot = node['.'] as { left: Expr; attr: string } | undefined;
  if (dot) {
    const base = contextChain(dot.left);
    return base === null ? null : [...base, dot.attr];
  }
  return null;
}

const UNARY = new Set(['!', 'neg', 'isEmpty']);

/** The fields an operator's value may carry, by operator (".", "has", "is", "if-then-else", binary, unary). */
interface ExprFields {
  attr?: string | string[];
  left?: Expr;
  right?: Expr;
  in?: Expr;
  if?: Expr;
  then?: Expr;
  else?: Expr;
  arg?: Expr;
}

function walk(e: Expr, facts: PolicyFacts): void {
  const node = e as Record<string, unknown>;
  const op = Object.keys(node)[0];
  if (op === undefined) return;
  // Cedar's Expr JSON: the shape of the value depends on the operator key.
  const raw: unknown = node[op];
  const body = (raw && typeof raw === 'object' ? raw : {}) as ExprFields;
  switch (op) {
    case 'Value':
    case 'Slot':
      return;
    case 'Var':
      if (raw === 'context') facts.contextPaths.mark([]);
      if (raw === 'action') facts.readsAction = true;
      return;
    case '.': {
      facts.attrNames.add(body.attr as string);
      const chain = contextChain(e);
      if (chain) facts.contextPaths.mark(chain);
      else walk(body.left as Expr, facts);
      return;
    }
    case 'has': {
      const attrs = Array.isArray(body.attr) ? (body.attr as string[]) : [body.attr as string];
      for (const a of attrs) facts.attrNames.add(a);
      const chain = contextChain(body.left as Expr);
      if (chain) facts.contextPaths.mark([...chain, ...attrs]);
      else walk(body.left as Expr, facts);
      return;
    }
    case 'like':
      return walk(body.left as Expr, facts);
    case 'is':
      walk(body.left as Expr, facts);
      if (body.in) walk(body.in as Expr, facts);
      return;
    case 'if-then-else':
      walk(body.if as Expr, facts);
      walk(body.then as Expr, facts);
      walk(body.else as Expr, facts);
      return;
    case 'Set':
      for (const x of raw as Expr[]) walk(x, facts);
      return;
    case 'Record':
      for (const x of Object.values(raw as Record<string, Expr>)) walk(x, facts);
      return;
    default:
      if (UNARY.has(op)) return walk(body.arg as Expr, facts);
      if (Array.isArray(raw)) {
        // extension function call: { fnName: [args] }
        for (const x of raw as Expr[]) walk(x, facts);
        return;
      }
      if (body.left !== undefined && body.right !== undefined) {
        walk(body.left, facts);
        walk(body.right, facts);
        return;
      }
      // An operator this walker does not know: assume it reads everything (never narrow on ignorance).
      facts.contextPaths.mark([]);
      facts.attrNames.add('*');
      facts.readsAction = true;
  }
}

export function analysePolicy(json: PolicyJson): PolicyFacts {
  const facts: PolicyFacts = {
    effect: json.effect,
    principal: entityScope(json.principal),
    action: actionScope(json.action),
    resource: entityScope(json.resource),
    annotations: { ...(json.annotations ?? {}) },
    contextPaths: new PathTree(),
    attrNames: new Set(),
    readsAction: false,
  };
  for (const clause of json.conditions) walk(clause.body, facts);
  return facts;
}

/** The parts of a context record that `tree` says are read; records on the way are kept (presence matters to `has`). */
export function projectRecord(value: Readonly<Record<string, unknown>>, tree: PathTree): Record<string, unknown> {
  if (tree.whole) return value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, child] of tree.children) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const v = value[k];
    const isPlainRecord = v !== null && typeof v === 'object' && !Array.isArray(v) && !('__extn' in v) && !('__entity' in v);
    out[k] = child.whole || !isPlainRecord ? v : projectRecord(v as Record<string, unknown>, child);
  }
  return out;
}
