// What a model's answer looks like, reduced to a few categorical features the drift detector compares with
// the deployment's approved baseline: how long it is, which language (script) it is written in, and whether
// it carries SQL, shell, code, URLs, a refusal, a tool call or a sensitive-data finding. "A normally concise summarization model suddenly
// outputting raw database queries" shows up as a jump in the `sql` share and a shift in `length`.

/** The features of one answer. Each binary feature is a share over the window; `length` is a histogram. */
export interface AnswerSample {
  length: number;
  language: Language;
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
export type Feature = BinaryFeature | 'length' | 'language';

/**
 * The answer's language, cheaply: the script most of its first letters are written in, and for Latin script
 * which of English, Spanish, French, German, Italian, Portuguese and Dutch its function words belong to most
 * (`latin`: another Latin-script language, or no clear winner). `none`: fewer than 8 letters (a number, an empty
 * tool-call answer). The seven languages come after the scripts, so a stored histogram of the first seven bins
 * (before they were told apart) is the same list's prefix (src/monitor/drift.ts folds it).
 */
export const LANGUAGES = ['none', 'en', 'latin', 'cyrillic', 'arabic', 'cjk', 'other', 'es', 'fr', 'de', 'it', 'pt', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];

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

/** Letters looked at: the script of an answer shows in its first sentences, and the scan stays O(1) per answer. */
const LANGUAGE_SCAN = 600;
/**
 * Frequent function words, each one language's only: words two of them share (`de`, `la`, `que`, `en`, `e`, `un`,
 * `es`, `no` …) are left out, so a count is evidence for one language alone.
 */
const FUNCTION_WORDS: Record<'en' | 'es' | 'fr' | 'de' | 'it' | 'pt' | 'nl', string> = {
  en: 'the and of to are were that this with for it be have has not which from by or will would their they been there its',
  es: 'el los las y está están más pero muy también fue hay sus cuando hasta según sin',
  fr: 'les des et est une du au aux dans pour pas qui sur avec sont cette ont été leur nous ces elle',
  de: 'der die das und ist nicht ein eine mit den dem auf für sich zu auch wird wurde sind im dass nach bei einer',
  it: 'gli della delle dei di che non sono per anche è nel nella alla questo più degli dal',
  pt: 'o os não uma com na em ao é são também foi pelo pela seu sua às mas muito isso',
  nl: 'het een van niet op met voor zijn wordt ook aan bij naar heeft dit dat worden werd hebben',
};
const LATIN_LANGUAGES = Object.keys(FUNCTION_WORDS) as (keyof typeof FUNCTION_WORDS)[];
const WORD_LANGUAGE = new Map<string, number>();
for (const [i, lang] of LATIN_LANGUAGES.entries()) {
  for (const w of FUNCTION_WORDS[lang].split(' ')) {
    if (WORD_LANGUAGE.has(w)) throw new Error(`function word ${w} is listed for two languages`);
    WORD_LANGUAGE.set(w, i);
  }
}
const NOT_LETTERS = /[^\p{L}]+/u;

/** The Latin-script language whose function words the text has most of (more than any other's: a tie is `latin`). */
function latinLanguageOf(head: string): Language {
  const counts = new Array<number>(LATIN_LANGUAGES.length).fill(0);
  for (const w of head.toLowerCase().split(NOT_LETTERS)) {
    const i = WORD_LANGUAGE.get(w);
    if (i !== undefined) counts[i]!++;
  }
  let best = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[best]!) best = i;
  const top = counts[best]!;
  return top > 0 && counts.filter((c) => c === top).length === 1 ? LATIN_LANGUAGES[best]! : 'latin';
}

export function languageOf(text: string): Language {
  const head = text.length > LANGUAGE_SCAN ? text.slice(0, LANGUAGE_SCAN) : text;
  let latin = 0;
  let cyrillic = 0;
  let arabic = 0;
  let cjk = 0;
  let other = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7)) latin++;
    else if (c < 0x370) continue; // digits, punctuation, spacing marks
    else if (c >= 0x400 && c <= 0x52f) cyrillic++;
    else if (c >= 0x600 && c <= 0x6ff) arabic++;
    else if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af)) cjk++;
    else if (c < 0x2000 || (c >= 0x3000 && c < 0xd800)) other++; // Greek, Hebrew, Indic, Thai …, not symbols or surrogates
  }
  const top = Math.max(latin, cyrillic, arabic, cjk, other);
  // Ideographs carry a word each: a few of them are a sentence.
  if (top === 0 || (top < 8 && cjk < 3)) return 'none';
  if (top === latin) return latinLanguageOf(head);
  return top === cjk ? 'cjk' : top === cyrillic ? 'cyrillic' : top === arabic ? 'arabic' : 'other';
}

/**
 * A streamed answer as the whole answer it adds up to: each event's `choices[].delta` (content and tool calls)
 * or `choices[].text`, per choice, in order. `events` are the upstream's `data:` payloads as they came (the
 * answer as the model produced it, before any redaction); one that is not JSON is skipped.
 */
export function assembleStreamedAnswer(events: readonly string[]): { choices: { message: { content: string; tool_calls?: unknown[] } }[] } {
  const texts: string[][] = [];
  const tools: boolean[] = [];
  for (const data of events) {
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      continue;
    }
    const choices = (ev as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) continue;
    for (const c of choices as Record<string, unknown>[]) {
      if (!c || typeof c !== 'object') continue;
      const i = typeof c.index === 'number' && c.index >= 0 && c.index < 128 ? c.index : 0;
      const parts = (texts[i] ??= []);
      if (typeof c.text === 'string') parts.push(c.text);
      const d = c.delta as Record<string, unknown> | undefined;
      if (!d || typeof d !== 'object') continue;
      if (typeof d.content === 'string') parts.push(d.content);
      if ((Array.isArray(d.tool_calls) && d.tool_calls.length > 0) || (d.function_call && typeof d.function_call === 'object')) tools[i] = true;
    }
  }
  const choices: { message: { content: string; tool_calls?: unknown[] } }[] = [];
  for (let i = 0; i < Math.max(texts.length, tools.length); i++) choices.push({ message: { content: (texts[i] ?? []).join(''), ...(tools[i] ? { tool_calls: [{}] } : {}) } });
  return { choices };
}

function profileText(text: string, toolCall: boolean, findings: number): AnswerSample {
  const sql = SQL.test(text);
  const shell = SHELL.test(text);
  return {
    length: text.length,
    language: languageOf(text),
    sql,
    shell,
    code: sql || shell || CODE.test(text),
    url: URL.test(text),
    refusal: REFUSAL.test(text),
    toolCall,
    finding: findings > 0,
  };
}
