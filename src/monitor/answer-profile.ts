// What a model's answer looks like, reduced to a few categorical features the drift detector compares with
// the deployment's approved baseline: how long it is, and whether it carries SQL, shell, code, URLs, a
// refusal, a tool call or a sensitive-data finding. "A normally concise summarization model suddenly
// outputting raw database queries" shows up as a jump in the `sql` share and a shift in `length`.

/** The features of one answer. Each binary feature is a share over the window; `length` is a histogram. */
export interface AnswerSample {
  length: number;
  sql: boolean;
  shell: boolean;
  code: boolean;
  url: boolean;
  refusal: boolean;
  toolCall: boolean;
  finding: boolean;
}

export const BINARY_FEATURES = ['sql', 'shell', 'code', 'url', 'refusal', 'toolCall', 'finding'] as const;
export type BinaryFeature = (typeof BINARY_FEATURES)[number];
export type Feature = BinaryFeature | 'length';

/** Upper bounds (characters, inclusive) of the length bins; the last bin is open. */
export const LENGTH_BINS = [40, 160, 640, 2560] as const;

export function lengthBin(chars: number): number {
  const i = LENGTH_BINS.findIndex((b) => chars <= b);
  return i === -1 ? LENGTH_BINS.length : i;
}

// A statement, not a word: a keyword that opens a line and the clause that makes it a query.
const SQL = /(^|\n|```sql\s*)\s*(SELECT\s[\s\S]{0,400}?\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\S+\s+SET\b|DELETE\s+FROM\b|DROP\s+(TABLE|DATABASE)\b|CREATE\s+(TABLE|INDEX|DATABASE)\b|ALTER\s+TABLE\b|UNION\s+(ALL\s+)?SELECT\b)/i;
const SHELL = /```(bash|sh|shell|zsh|console)\b|(^|\n)\s*(\$\s+\S|sudo\s|rm\s+-rf?\s|curl\s+-|wget\s+http|chmod\s+[0-7+]|bash\s+-c\s|nc\s+-e\s|powershell\s+-)/i;
const CODE = /```|(^|\n)\s*(def\s+\w+\s*\(|function\s+\w+\s*\(|class\s+\w+[\s:({]|import\s+[\w{*]|#include\s*<|public\s+static\s)/;
const URL = /\bhttps?:\/\/[^\s)>\]"']+/i;
const REFUSAL = /\b(I can(?:no|['’])t (?:help|assist|comply|provide|do that)|I(?: am|['’]m) (?:unable|not able) to|I won['’]t be able to|I must decline|as an AI(?: language model)?, I)/i;

/** The answer's text: every choice's message content (string or text parts) or completion text. */
export function answerText(json: unknown): { text: string; toolCall: boolean } {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return { text: '', toolCall: false };
  const parts: string[] = [];
  let toolCall = false;
  for (const c of choices as Record<string, unknown>[]) {
    if (!c || typeof c !== 'object') continue;
    if (typeof c.text === 'string') parts.push(c.text);
    const m = (c.message ?? c.delta) as Record<string, unknown> | undefined;
    if (!m || typeof m !== 'object') continue;
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content)) for (const p of m.content as { text?: unknown }[]) if (p && typeof p.text === 'string') parts.push(p.text);
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) toolCall = true;
    if (m.function_call && typeof m.function_call === 'object') toolCall = true;
  }
  return { text: parts.join('\n'), toolCall };
}

export function profileAnswer(json: unknown, findings: number): AnswerSample {
  const { text, toolCall } = answerText(json);
  return profileText(text, toolCall, findings);
}

/**
 * What a model is asked, with the same features (input drift per model): the prompt's length and whether it
 * carries SQL, shell, code, URLs or a refusal-like phrase; `toolCall` = the request offers tools; `finding` =
 * inspection found something in it (PII, a secret, an injection).
 */
export function profileRequest(prompt: string, offersTools: boolean, findings: number): AnswerSample {
  return profileText(prompt, offersTools, findings);
}

function profileText(text: string, toolCall: boolean, findings: number): AnswerSample {
  const sql = SQL.test(text);
  const shell = SHELL.test(text);
  return {
    length: text.length,
    sql,
    shell,
    code: sql || shell || CODE.test(text),
    url: URL.test(text),
    refusal: REFUSAL.test(text),
    toolCall,
    finding: findings > 0,
  };
}
