// Walks OpenAI request bodies (chat/completions, completions, embeddings) and inspects every piece of
// text a model will read: message contents (strings and text parts), tool-call arguments, `prompt`,
// and `input`. Findings' offsets refer to the inspected text: the pieces joined by "\n", in the order
// extractRequestTexts returns them. A malformed body is refused rather than partly inspected.
import { BadRequest } from '../core/errors.js';
import type { Finding, Findings } from '../core/types.js';
import { classify } from './classification.js';
import { detectSensitive } from './detect-sensitive.js';
import { detectInjection } from './injection/detector.js';
import type { InspectOptions } from './inspect-text.js';

export interface RequestText {
  /** JSON path of the text, e.g. `messages[2].content[0].text`. */
  path: string;
  /** Message role, when the text is part of a message. */
  role?: string;
  text: string;
}

/** Roles whose content the operator wrote. Their text is checked for PII and secrets but not scored
 *  for injection: instructions there are the point, not an attack. */
const OPERATOR_ROLES = new Set(['system', 'developer']);
/** Content parts that carry no text (images, audio, files) are outside what this inspector reads. */
const NON_TEXT_PARTS = new Set(['image_url', 'input_audio', 'file', 'image', 'audio']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTokenArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
}

function promptLike(v: unknown, field: string, out: RequestText[]): void {
  if (typeof v === 'string') {
    out.push({ path: field, text: v });
  } else if (Array.isArray(v)) {
    if (isTokenArray(v)) return; // token ids: nothing readable to inspect
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push({ path: `${field}[${i}]`, text: item });
      else if (!isTokenArray(item)) throw new BadRequest('invalid_body', `${field}[${i}] must be a string or an array of token ids`, `${field}[${i}]`);
    });
  } else if (v !== undefined && v !== null) {
    throw new BadRequest('invalid_body', `${field} must be a string or an array`, field);
  }
}

function messageTexts(messages: unknown, out: RequestText[]): void {
  if (!Array.isArray(messages)) throw new BadRequest('invalid_body', 'messages must be an array', 'messages');
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw new BadRequest('invalid_body', `${at} must be an object`, at);
    const role = m.role;
    if (typeof role !== 'string') throw new BadRequest('invalid_body', `${at}.role must be a string`, `${at}.role`);
    const content = m.content;
    if (typeof content === 'string') {
      out.push({ path: `${at}.content`, role, text: content });
    } else if (Array.isArray(content)) {
      content.forEach((part, j) => {
        const pat = `${at}.content[${j}]`;
        if (!isObject(part) || typeof part.type !== 'string') throw new BadRequest('invalid_body', `${pat} must be an object with a type`, pat);
        if (part.type === 'text' || part.type === 'input_text') {
          if (typeof part.text !== 'string') throw new BadRequest('invalid_body', `${pat}.text must be a string`, `${pat}.text`);
          out.push({ path: `${pat}.text`, role, text: part.text });
        } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
          out.push({ path: `${pat}.refusal`, role, text: part.refusal });
        } else if (!NON_TEXT_PARTS.has(part.type)) {
          // An unknown part type could carry text we would not see: refuse instead of skipping it.
          throw new BadRequest('invalid_body', `${pat}.type ${JSON.stringify(part.type)} is not supported`, `${pat}.type`);
        }
      });
    } else if (content !== undefined && content !== null) {
      throw new BadRequest('invalid_body', `${at}.content must be a string, an array of parts or null`, `${at}.content`);
    }
    const calls = m.tool_calls;
    if (calls !== undefined && calls !== null) {
      if (!Array.isArray(calls)) throw new BadRequest('invalid_body', `${at}.tool_calls must be an array`, `${at}.tool_calls`);
      calls.forEach((c, k) => {
        const fn = isObject(c) ? c.function : undefined;
        if (isObject(fn) && typeof fn.arguments === 'string') out.push({ path: `${at}.tool_calls[${k}].function.arguments`, role, text: fn.arguments });
      });
    }
  });
}

/** Every text a model will read in an OpenAI chat/completions/embeddings request body. */
export function extractRequestTexts(body: unknown): RequestText[] {
  if (!isObject(body)) throw new BadRequest('invalid_body', 'request body must be a JSON object');
  const out: RequestText[] = [];
  if (body.messages !== undefined) messageTexts(body.messages, out);
  promptLike(body.prompt, 'prompt', out);
  promptLike(body.input, 'input', out);
  return out;
}

export function inspectChatRequest(body: unknown, opts: InspectOptions = {}): Findings {
  const texts = extractRequestTexts(body);
  const items: Finding[] = [];
  const injectionItems: Finding[] = [];
  const signals = new Set<string>();
  let score = 0;
  let offset = 0;
  for (const t of texts) {
    for (const f of detectSensitive(t.text)) items.push({ ...f, start: f.start + offset, end: f.end + offset });
    if (t.role === undefined || !OPERATOR_ROLES.has(t.role)) {
      const inj = detectInjection(t.text);
      score = Math.max(score, inj.score);
      for (const s of inj.signals) signals.add(s);
      for (const f of inj.findings) injectionItems.push({ ...f, start: f.start + offset, end: f.end + offset });
    }
    offset += t.text.length + 1;
  }
  return { items: items.concat(injectionItems), classification: classify(items, opts), injectionScore: score, injectionSignals: [...signals] };
}
