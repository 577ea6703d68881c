// Policies as data: parsed from Cedar text, analysed, validated against the schema, versioned by
// content hash. A PolicyEntry never changes after it is made; a set of them is a version.
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import type { Obligation } from '../core/types.js';
import { cedar, cedarErrorText, type PolicyJson } from './cedar-wasm.js';
import { PolicyIdConflict, PolicyParseFailed, PolicyTemplateUnsupported, PolicyValidationFailed } from './errors.js';
import { filesUnder } from './files.js';
import { obligationsFromAnnotations } from './obligations.js';
import { analysePolicy, type PolicyFacts } from './policy-analysis.js';
import type { WardenSchema } from './schema.js';

export interface PolicyEntry {
  readonly id: string;
  readonly text: string;
  /** Where it came from: a file path relative to the set's directory, `admin`, `key:<id>`. */
  readonly source: string;
  /** sha256 hex of id + text: what the version and the preparsed-slice cache are built from. */
  readonly hash: string;
  readonly json: PolicyJson;
  readonly facts: PolicyFacts;
  readonly obligations: readonly Obligation[];
}

/** Cedar names policies policy0, policy1, ... in source order and returns them sorted as strings. */
function sourceOrder(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => {
    const x = `policy${a}`;
    const y = `policy${b}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function makeEntry(id: string, text: string, source: string, json: PolicyJson): PolicyEntry {
  let facts: PolicyFacts;
  try {
    facts = analysePolicy(json);
  } catch {
    throw new PolicyTemplateUnsupported(`${source} (${id})`);
  }
  return Object.freeze({
    id,
    text,
    source,
    hash: sha256Hex(id + '\u0000' + text),
    json,
    facts,
    obligations: Object.freeze(obligationsFromAnnotations(facts.annotations, id)),
  });
}

/**
 * Parses one Cedar text (a file or an admin upload). Ids come from `@id("...")`; a policy without one
 * is named `<source>#<n>` by its position, which shifts when policies are inserted, so prefer @id.
 */
export function parsePolicies(text: string, source: string): PolicyEntry[] {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new PolicyParseFailed(source, cedarErrorText(parts.errors));
  if (parts.policy_templates.length > 0) throw new PolicyTemplateUnsupported(source);
  const order = sourceOrder(parts.policies.length);
  const bySourceIndex = new Array<string>(parts.policies.length);
  order.forEach((srcIndex, sorted) => (bySourceIndex[srcIndex] = parts.policies[sorted]!));
  const out: PolicyEntry[] = [];
  const seen = new Set<string>();
  bySourceIndex.forEach((policyText, i) => {
    const json = cedar.policyToJson(policyText);
    if (json.type !== 'success') throw new PolicyParseFailed(source, cedarErrorText(json.errors));
    const id = json.json.annotations?.id ?? `${source}#${i}`;
    if (seen.has(id)) throw new PolicyIdConflict(id, source);
    seen.add(id);
    out.push(makeEntry(id, policyText, source, json.json));
  });
  return out;
}

/** Every `*.cedar` file under dir (sorted, recursive), parsed; ids must be unique across files. */
export function loadPolicyDir(dir: string): PolicyEntry[] {
  const files = filesUnder(dir, (name) => name.endsWith('.cedar'));
  const all: PolicyEntry[] = [];
  const ids = new Map<string, string>();
  for (const f of files) {
    const source = relative(dir, f).split(sep).join('/');
    for (const e of parsePolicies(readFileSync(f, 'utf8'), source)) {
      const prior = ids.get(e.id);
      if (prior !== undefined) throw new PolicyIdConflict(e.id, `${prior} and ${source}`);
      ids.set(e.id, source);
      all.push(e);
    }
  }
  return all;
}

/** Cedar strict validation of entries against the schema; throws PolicyValidationFailed with Cedar's errors. */
export function validatePolicies(schema: WardenSchema, entries: readonly PolicyEntry[]): void {
  if (entries.length === 0) return;
  const staticPolicies: Record<string, string> = {};
  for (const e of entries) staticPolicies[e.id] = e.text;
  const answer = cedar.validate({ schema: schema.text, policies: { staticPolicies }, validationSettings: { mode: 'strict' } });
  if (answer.type !== 'success') throw new PolicyParseFailed('policy set', cedarErrorText(answer.errors));
  if (answer.validationErrors.length > 0) {
    throw new PolicyValidationFailed(
      answer.validationErrors.map((v) => ({ policyId: v.policyId, message: cedarErrorText([v.error]) })),
    );
  }
}

/** Content-hash version: sha256 over the sorted (id, text) hashes, so file order and layout do not matter. */
export function policySetVersion(entries: Iterable<PolicyEntry>): string {
  const hashes = [...entries].map((e) => e.hash).sort();
  return 'sha256:' + sha256Hex(hashes.join('\n'));
}

/** Thrown when stored policies do not hash to the version they were stored under (tampering or corruption). */
export class PolicyVersionMismatch extends Error {
  constructor(expected: string, actual: string) {
    super(`stored policy set claims version ${expected} but its policies hash to ${actual}`);
    this.name = 'PolicyVersionMismatch';
  }
}

/**
 * Entries from stored (id, text, source) records, e.g. src/store/policy-sqlite.ts. Each text must hold
 * exactly the one policy with that id, and the set must hash to `version`.
 */
export function entriesFromStored(version: string, records: readonly { id: string; text: string; source: string }[]): PolicyEntry[] {
  const entries = records.map((r) => {
    const json = cedar.policyToJson(r.text);
    if (json.type !== 'success') throw new PolicyParseFailed(r.source, cedarErrorText(json.errors));
    // A policy without @id was named by its position in its file; the stored id keeps that name.
    const annotated = json.json.annotations?.id;
    if (annotated !== undefined && annotated !== r.id) throw new PolicyParseFailed(r.source, `stored policy ${r.id} is annotated @id(${JSON.stringify(annotated)})`);
    return makeEntry(r.id, r.text, r.source, json.json);
  });
  const actual = policySetVersion(entries);
  if (actual !== version) throw new PolicyVersionMismatch(version, actual);
  return entries;
}
