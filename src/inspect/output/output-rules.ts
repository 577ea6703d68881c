// Policy-driven output rules for deployments with a declared purpose: a "summarizer" must not emit
// SQL or shell commands. Each rule yields findings (category `output`); the policy decides to block.
import type { Finding } from '../../core/types.js';

export type OutputRule = 'no_sql' | 'no_shell';
export const OUTPUT_RULES: readonly OutputRule[] = ['no_sql', 'no_shell'];

export class UnknownOutputRule extends Error {
  constructor(rule: string) {
    super(`unknown output rule ${JSON.stringify(rule)}; known: ${OUTPUT_RULES.join(', ')}`);
    this.name = 'UnknownOutputRule';
  }
}

// Every quantifier is bounded except whitespace runs (`\s+`, `[ \t]+`, `[ \t]*`), which match one
// character in the whitespace-collapsed view the answer guard scans (surface/matchers.ts): there no
// match is longer than MAX_RULE_MATCH, so a stream needs only that much of its tail to be exact.
// (`SELECT\s(?:…\s)?FROM` rather than `SELECT\s…\sFROM`: in the collapsed view "SELECT  FROM" has one
// space, and the rule must not find less there than in the text as sent.)
// Statements in upper case (how SQL is written in answers) or anything inside a ```sql fence.
// Prose such as "select the best items from the list" stays clear because keywords are case-sensitive.
const SQL_STATEMENT =
  /\b(?:SELECT\s(?:[^;]{0,200}?\s)?FROM\s|INSERT\s+INTO\s|UPDATE\s+[\w."`[\]]{1,64}\s+SET\s|DELETE\s+FROM\s|DROP\s+(?:TABLE|DATABASE|SCHEMA|VIEW|INDEX|USER)\b|CREATE\s+(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW|USER|FUNCTION|PROCEDURE)\b|ALTER\s+(?:TABLE|USER|DATABASE)\b|TRUNCATE\s+TABLE\b|GRANT\s+(?:ALL|SELECT|INSERT|UPDATE|DELETE)\b|UNION\s+(?:ALL\s+)?SELECT\b)/g;
const SQL_FENCE = /```(?:sql|mysql|postgresql|psql|sqlite|tsql|plsql)\b/gi;

const SHELL_FENCE = /```(?:bash|sh|shell|zsh|console|terminal|powershell|ps1|pwsh|cmd|bat)\b/gi;
// Commands that change or exfiltrate, at a line start or after a shell operator, or a pipe into a shell.
const SHELL_COMMAND =
  /(?:^|[;&|`]|\$\()[ \t]*(?:\$[ \t]+)?(?:sudo[ \t]+)?(?:rm[ \t]+-[a-zA-Z]{0,32}[rf]|curl[ \t]+[-\w]|wget[ \t]+\S|chmod[ \t]+[-+0-7ugoa]|chown[ \t]+\S|bash[ \t]+-c|sh[ \t]+-c|nc[ \t]+-|ncat[ \t]|mkfs|dd[ \t]+if=|apt(?:-get)?[ \t]+install|yum[ \t]+install|pip3?[ \t]+install|npm[ \t]+(?:i|install)\b|cat[ \t]+\/etc\/|export[ \t]+\w{1,64}=|kill[ \t]+-9|systemctl[ \t]|crontab[ \t]|ssh[ \t]+\S|scp[ \t]+\S|Invoke-Expression|iex[ \t]|Remove-Item[ \t])|\|[ \t]*(?:ba|z)?sh\b/gm;

/** Longest match of any rule pattern in a whitespace-collapsed text (every run of whitespace one
 *  character): "SELECT" + 1 + 200 + 1 + "FROM" + 1 = 213 is the longest (a shell command is at most
 *  2 + 1 + 2 + 5 + 72 = 82, a fence 13); rounded up for margin. */
export const MAX_RULE_MATCH = 240;

export interface RulePattern {
  re: RegExp;
  type: string;
  confidence: number;
}

/** The patterns of each rule, in the order checkOutputRules applies them. */
export const RULE_PATTERNS: Readonly<Record<OutputRule, readonly RulePattern[]>> = {
  no_sql: [
    { re: SQL_FENCE, type: 'sql', confidence: 0.9 },
    { re: SQL_STATEMENT, type: 'sql', confidence: 0.8 },
  ],
  no_shell: [
    { re: SHELL_FENCE, type: 'shell', confidence: 0.9 },
    { re: SHELL_COMMAND, type: 'shell', confidence: 0.8 },
  ],
};

/** The patterns of `rules`; throws UnknownOutputRule for a rule name this module does not know. */
export function rulePatterns(rules: readonly string[]): RulePattern[] {
  const out: RulePattern[] = [];
  for (const rule of rules) {
    // A rule the policy names but we do not know would otherwise pass everything.
    if (!Object.hasOwn(RULE_PATTERNS, rule)) throw new UnknownOutputRule(rule);
    out.push(...RULE_PATTERNS[rule as OutputRule]);
  }
  return out;
}

function collect(re: RegExp, text: string, type: string, confidence: number, out: Finding[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ category: 'output', type, start: m.index, end: m.index + m[0].length, confidence });
  }
}

export function checkOutputRules(text: string, rules: readonly string[]): Finding[] {
  const out: Finding[] = [];
  for (const rule of rules) {
    switch (rule) {
      case 'no_sql':
        collect(SQL_FENCE, text, 'sql', 0.9, out);
        collect(SQL_STATEMENT, text, 'sql', 0.8, out);
        break;
      case 'no_shell':
        collect(SHELL_FENCE, text, 'shell', 0.9, out);
        collect(SHELL_COMMAND, text, 'shell', 0.8, out);
        break;
      default:
        // A rule the policy names but we do not know would otherwise pass everything.
        throw new UnknownOutputRule(rule);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
