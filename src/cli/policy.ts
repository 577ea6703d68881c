// `warden policy ...`: policy-as-code checks that run offline on a directory of .cedar files.
// All logic lives in src/policy; this file parses arguments and prints.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isWardenError } from '../core/errors.js';
import { diffPolicySets } from '../policy/diff.js';
import { explain } from '../policy/explain.js';
import { PolicyDecisionPoint } from '../policy/pdp.js';
import { runPolicyTests } from '../policy/policy-tests.js';
import { loadPolicyDir, policySetVersion, validatePolicies } from '../policy/policy-set.js';
import { readExplainFile, requestFromSpec } from '../policy/request-file.js';
import { DEFAULT_SCHEMA_PATH, WardenSchema } from '../policy/schema.js';
import { classificationSchemeOf, loadConfig } from '../config/config.js';
import { DEFAULT_SCHEME } from '../inspect/classification.js';

const USAGE = `usage: warden policy <command>
  validate DIR                          parse and validate every .cedar file in DIR against the schema
  test DIR                              run the *.test.yaml / *.test.json files under DIR against DIR's policies
  diff OLD_DIR NEW_DIR                  policies added, removed and changed between two sets
  explain --request FILE [--policies DIR]
                                        which policies matched one request and why (default DIR: policies/starter)
options: --schema FILE (default: ${DEFAULT_SCHEMA_PATH})
         --config warden.yaml (its classification levels: the ones a request's findings.classification may name)
`;

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

function parseArgs(args: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      flags.set(a.slice(2), v);
      i++;
    } else positional.push(a);
  }
  return { positional, flags };
}

class UsageError extends Error {}

function requireDir(p: string | undefined, what: string): string {
  if (!p) throw new UsageError(`missing ${what}`);
  const dir = resolve(p);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${what} ${p} is not a directory`);
  return dir;
}

export async function main(args: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const [command, ...rest] = args;
  try {
    const { positional, flags } = parseArgs(rest);
    const schema = WardenSchema.fromFile(flags.get('schema') ?? DEFAULT_SCHEMA_PATH);
    // --config warden.yaml: its classification levels are the ones a request file's findings may name.
    const config = flags.get('config');
    const levels = config ? classificationSchemeOf(loadConfig(config), config) : DEFAULT_SCHEME;
    switch (command) {
      case 'validate': {
        const dir = requireDir(positional[0], 'DIR');
        const entries = loadPolicyDir(dir);
        validatePolicies(schema, entries);
        out(`ok: ${entries.length} policies valid, version ${policySetVersion(entries)}\n`);
        return 0;
      }
      case 'test': {
        const dir = requireDir(positional[0], 'DIR');
        const entries = loadPolicyDir(dir);
        validatePolicies(schema, entries);
        const results = runPolicyTests(entries, dir, schema, levels);
        if (results.length === 0) {
          err(`no test files (*.test.yaml, *.test.json) under ${dir}\n`);
          return 1;
        }
        for (const r of results) {
          out(`${r.passed ? 'pass' : 'FAIL'}  ${r.file}: ${r.name}\n`);
          for (const p of r.problems) out(`      ${p}\n`);
        }
        const failed = results.filter((r) => !r.passed).length;
        out(`${results.length - failed} passed, ${failed} failed (policy set ${policySetVersion(entries)})\n`);
        return failed === 0 ? 0 : 1;
      }
      case 'diff': {
        const before = loadPolicyDir(requireDir(positional[0], 'OLD_DIR'));
        const after = loadPolicyDir(requireDir(positional[1], 'NEW_DIR'));
        validatePolicies(schema, before);
        validatePolicies(schema, after);
        const d = diffPolicySets(before, after);
        out(`old ${d.oldVersion}\nnew ${d.newVersion}\n`);
        for (const e of d.added) out(`+ ${e.id} (${e.facts.effect}, ${e.source})\n${indent(e.text, '+   ')}`);
        for (const e of d.removed) out(`- ${e.id} (${e.facts.effect}, ${e.source})\n${indent(e.text, '-   ')}`);
        for (const c of d.changed) out(`~ ${c.new.id}\n${indent(c.old.text, '-   ')}${indent(c.new.text, '+   ')}`);
        out(`${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged\n`);
        return 0;
      }
      case 'explain': {
        const file = flags.get('request');
        if (!file) throw new UsageError('explain needs --request FILE');
        const dir = requireDir(flags.get('policies') ?? 'policies/starter', '--policies');
        const spec = readExplainFile(resolve(file));
        const pdp = new PolicyDecisionPoint({ schema, cacheSize: 0 });
        pdp.loadDirectory(dir);
        if (spec.entities) pdp.setEntities(spec.entities);
        const x = explain(pdp, requestFromSpec(spec, {}, schema, file, levels));
        out(`decision: ${x.decision.allow ? 'ALLOW' : 'DENY'}  (policy set ${x.decision.policyVersion})\n`);
        for (const r of x.decision.reasons) out(`  reason: ${r}\n`);
        if (x.decision.obligations.length) out(`  obligations: ${x.decision.obligations.join(', ')}\n`);
        out(`${x.inScope.length} of ${x.policyCount} policies in scope for this principal/action/resource:\n`);
        for (const v of x.inScope) {
          const mark = v.outcome === 'satisfied' ? 'MATCHED' : v.outcome === 'error' ? 'ERROR' : 'no match';
          out(`  ${mark.padEnd(8)} ${v.effect.padEnd(6)} ${v.id}  (${v.source})${v.obligations.length ? '  obligations: ' + v.obligations.join(', ') : ''}\n`);
          if (v.error) out(`           ${v.error}\n`);
        }
        return 0;
      }
      default:
        err(USAGE);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`warden policy: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (isWardenError(e)) {
      err(`warden policy: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((l) => prefix + l).join('\n') + '\n';
}
