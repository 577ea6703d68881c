// `warden policy test`: policy test files next to the policies, each case a request and the decision
// (and optionally the obligations and determining policies) it must get.
import { relative } from 'node:path';
import { filesUnder } from './files.js';
import type { Decision } from '../core/types.js';
import { PolicyDecisionPoint } from './pdp.js';
import type { PolicyEntry } from './policy-set.js';
import { readTestFile, requestFromSpec, type TestCaseSpec } from './request-file.js';
import { DEFAULT_SCHEME, type ClassificationScheme } from '../inspect/classification.js';
import type { WardenSchema } from './schema.js';

export interface PolicyTestResult {
  file: string;
  name: string;
  passed: boolean;
  /** What differed, when it failed. */
  problems: string[];
  decision: Decision | null;
}

export function findTestFiles(dir: string): string[] {
  return filesUnder(dir, (name) => /\.test\.(ya?ml|json)$/.test(name));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}

function check(c: TestCaseSpec, d: Decision): string[] {
  const problems: string[] = [];
  const got = d.allow ? 'allow' : 'deny';
  if (got !== c.expect.decision) problems.push(`expected ${c.expect.decision}, got ${got} (${d.reasons.join('; ')})`);
  if (c.expect.obligations && !sameSet(c.expect.obligations, d.obligations))
    problems.push(`expected obligations [${c.expect.obligations.join(', ')}], got [${d.obligations.join(', ')}]`);
  if (c.expect.policyIds && !sameSet(c.expect.policyIds, d.policyIds))
    problems.push(`expected policies [${c.expect.policyIds.join(', ')}], got [${d.policyIds.join(', ')}]`);
  return problems;
}

/** Runs every test file under testDir against `policies`. Each file gets a fresh PDP with its own entities. */
export function runPolicyTests(policies: readonly PolicyEntry[], testDir: string, schema: WardenSchema, levels: ClassificationScheme = DEFAULT_SCHEME): PolicyTestResult[] {
  const results: PolicyTestResult[] = [];
  for (const file of findTestFiles(testDir)) {
    const rel = relative(testDir, file) || file;
    const spec = readTestFile(file);
    const pdp = new PolicyDecisionPoint({ schema });
    pdp.replacePolicies(policies);
    if (spec.entities) pdp.setEntities(spec.entities);
    for (const c of spec.cases) {
      try {
        const d = pdp.decide(requestFromSpec(c, spec.defaults ?? {}, schema, `${rel}: ${c.name}`, levels));
        const problems = check(c, d);
        results.push({ file: rel, name: c.name, passed: problems.length === 0, problems, decision: d });
      } catch (e) {
        results.push({ file: rel, name: c.name, passed: false, problems: [`cannot run: ${(e as Error).message}`], decision: null });
      }
    }
  }
  return results;
}
