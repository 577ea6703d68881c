// The request surface: every piece of text in an OpenAI request body that the model will read (or that
// leaves with the request to the provider), enumerated in ONE place. Inspection reads only this list, so
// a secret or an injection placed in a tool description, a message name, legacy function_call arguments,
// predicted output, a completions suffix or a field nobody anticipated is inspected like message content.
//
// Known shapes are walked field by field (and malformed ones refused, not half-read); any string in a
// field this enumeration does not know is text too (kind `other`), keys of unknown objects included.
// Only a small allowlist of known non-text values is skipped (NON_TEXT_FIELDS, SKIPPED_PART_FIELDS):
// identifiers and enums that are routing or format choices, not words the model reads, and binary data.
// Token-id arrays carry no text.
import { LRUCache } from 'lru-cache';
import { BadRequest } from '../../core/errors.js';
import type { Finding, Findings } from '../../core/types.js';
import { DEFAULT_SCHEME } from '../classification.js';
import type { InspectOptions } from '../inspect-text.js';
import { detectInjectionFolded, detectSensitiveFolded, type InjectionView } from './detect.js';
import { decodedView, detectSensitiveJson } from './json-view.js';

export type RequestEndpoint = 'chat' | 'completions' | 'embeddings';

export type RequestTextKind =
  | 'content' // message content (string, text/input_text/refusal parts)
  | 'name' // messages[].name
  | 'tool_call' // tool_calls[].function.name/arguments, legacy function_call
  | 'tool_definition' // tools[] / functions[]: name, description, every string of the parameters schema
  | 'prediction' // prediction.content
  | 'schema' // response_format.json_schema
  | 'prompt' // completions prompt
  | 'suffix' // completions suffix
  | 'input' // embeddings input
  | 'stop' // stop sequences
  | 'other'; // a string in a field the enumeration does not know (or an unknown object key)

export interface RequestText {
  /** JSON path of the text, e.g. `messages[2].content[0].text`; an object key is `<path>#key`. */
  path: string;
  /** Message role, when the text is part of a message. */
  role?: string;
  text: string;
  kind: RequestTextKind;
}

/** Top-level fields whose string values are identifiers or enums, not text (routing and format choices).
 *  `user` is NOT here: it is forwarded to the provider and an e-mail used as a user id is PII leaving. */
const NON_TEXT_FIELDS = new Set(['model', 'service_tier', 'reasoning_effort', 'verbosity', 'encoding_format', 'modalities', 'logit_bias']);
/** Roles whose content the operator wrote: checked for PII and secrets, not scored for injection. */
const OPERATOR_ROLES = new Set(['system', 'developer']);
/** Content parts that carry no text of their own (images, audio, files). */
const NON_TEXT_PARTS = new Set(['image_url', 'input_audio', 'file', 'image', 'audio']);
/** Inside non-text parts: binary payloads, references and format enums. Other strings there (a file name) are text. */
const SKIPPED_PART_FIELDS = new Set(['type', 'url', 'detail', 'data', 'format', 'file_data', 'file_id', 'mime_type', 'media_type']);
/** JSON Schema keywords (2020-12 plus OpenAI's `strict`): as keys they are vocabulary, not text. Keys of
 *  `properties` (parameter names) and keywords nobody knows (`x-hint`) are text the model reads. */
const SCHEMA_KEYWORDS = new Set([
  'type', 'properties', 'items', 'required', 'description', 'enum', 'const', 'title', 'default', 'format',
  'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'not', '$ref', '$defs', 'definitions', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems',
  'pattern', 'patternProperties', 'examples', 'nullable', 'strict', '$schema', '$id', '$comment', 'prefixItems',
  'contains', 'dependentRequired', 'dependentSchemas', 'propertyNames', 'if', 'then', 'else', 'multipleOf',
  'minProperties', 'maxProperties', 'readOnly', 'writeOnly', 'deprecated', 'contentEncoding', 'contentMediaType',
  'unevaluatedProperties', 'unevaluatedItems',
]);
/** Schema keywords whose value is a map from names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Schema keywords whose string value is vocabulary (`"type": "object"`, `"format": "date-time"`). */
const SCHEMA_ENUM_VALUES = new Set(['type', 'format']);
/** Deeper nesting than this is refused: the walk is recursive and no real request comes near it. */
const MAX_DEPTH = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTokenArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
}

function invalid(message: string, field: string): BadRequest {
  return new BadRequest('invalid_body', message, field);
}

class Collector {
  readonly out: RequestText[] = [];

  add(path: string, text: string, kind: RequestTextKind, role?: string): void {
    if (text === '') return;
    this.out.push(role === undefined ? { path, text, kind } : { path, role, text, kind });
  }

  /** Every string in `v` (and every object key unless `skip` is given: the keys of a known non-text part
   *  are its vocabulary), for a field whose structure is not known. */
  any(v: unknown, path: string, kind: RequestTextKind, role: string | undefined, depth = 0, skip?: ReadonlySet<string>): void {
    if (depth > MAX_DEPTH) throw invalid(`${path} is nested too deeply`, path);
    if (typeof v === 'string') {
      this.add(path, v, kind, role);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => this.any(item, `${path}[${i}]`, kind, role, depth + 1, skip));
    } else if (isObject(v)) {
      for (const [k, item] of Object.entries(v)) {
        if (skip?.has(k)) continue;
        const at = `${path}.${k}`;
        if (skip === undefined) this.add(`${at}#key`, k, kind, role);
        this.any(item, at, kind, role, depth + 1, skip);
      }
    }
  }

  /** A JSON Schema: descriptions, titles, enums, defaults, examples, patterns, parameter names, unknown keywords. */
  schema(v: unknown, path: string, kind: RequestTextKind, depth = 0, namesHere = false): void {
    if (depth > MAX_DEPTH) throw invalid(`${path} is nested too deeply`, path);
    if (typeof v === 'string') {
      this.add(path, v, kind);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => this.schema(item, `${path}[${i}]`, kind, depth + 1));
    } else if (isObject(v)) {
      for (const [k, item] of Object.entries(v)) {
        const at = `${path}.${k}`;
        if (namesHere) {
          this.add(`${at}#key`, k, kind);
          this.schema(item, at, kind, depth + 1);
          continue;
        }
        if (!SCHEMA_KEYWORDS.has(k)) this.add(`${at}#key`, k, kind);
        if (SCHEMA_ENUM_VALUES.has(k) && typeof item === 'string') continue;
        this.schema(item, at, kind, depth + 1, SCHEMA_MAPS.has(k));
      }
    }
  }

  /** `prompt` / `input`: a string, an array of strings, token ids, or arrays of token ids. */
  promptLike(v: unknown, field: string, kind: RequestTextKind): void {
    if (typeof v === 'string') {
      this.add(field, v, kind);
    } else if (Array.isArray(v)) {
      if (isTokenArray(v)) return; // token ids: nothing readable to inspect
      v.forEach((item, i) => {
        if (typeof item === 'string') this.add(`${field}[${i}]`, item, kind);
        else if (!isTokenArray(item)) throw invalid(`${field}[${i}] must be a string or an array of token ids`, `${field}[${i}]`);
      });
    } else if (v !== undefined && v !== null) {
      throw invalid(`${field} must be a string or an array`, field);
    }
  }

  /** A tool call (`tool_calls[k]` or legacy `function_call`): name and arguments. */
  call(c: unknown, at: string, role: string, legacy: boolean): void {
    if (!isObject(c)) throw invalid(`${at} must be an object`, at);
    const fn = legacy ? c : c.function;
    const fnAt = legacy ? at : `${at}.function`;
    for (const [k, v] of Object.entries(c)) {
      if (k === 'id' || k === 'type' || k === 'index' || (!legacy && k === 'function')) continue;
      if (legacy && (k === 'name' || k === 'arguments')) continue;
      this.any(v, `${at}.${k}`, 'other', role);
    }
    if (fn === undefined || fn === null) return;
    if (!isObject(fn)) throw invalid(`${fnAt} must be an object`, fnAt);
    for (const [k, v] of Object.entries(fn)) {
      if ((k === 'name' || k === 'arguments') && typeof v === 'string') this.add(`${fnAt}.${k}`, v, 'tool_call', role);
      else if (k === 'name' || k === 'arguments') {
        if (v !== undefined && v !== null) throw invalid(`${fnAt}.${k} must be a string`, `${fnAt}.${k}`);
      } else if (!legacy) this.any(v, `${fnAt}.${k}`, 'other', role);
    }
  }

  messages(messages: unknown): void {
    if (!Array.isArray(messages)) throw invalid('messages must be an array', 'messages');
    messages.forEach((m, i) => {
      const at = `messages[${i}]`;
      if (!isObject(m)) throw invalid(`${at} must be an object`, at);
      const role = m.role;
      if (typeof role !== 'string') throw invalid(`${at}.role must be a string`, `${at}.role`);
      for (const [k, v] of Object.entries(m)) {
        switch (k) {
          case 'role':
          case 'tool_call_id':
            break;
          case 'content':
            this.content(v, `${at}.content`, role, 'content');
            break;
          case 'name':
            if (typeof v !== 'string' && v !== undefined && v !== null) throw invalid(`${at}.name must be a string`, `${at}.name`);
            if (typeof v === 'string') this.add(`${at}.name`, v, 'name', role);
            break;
          case 'tool_calls':
            if (v === undefined || v === null) break;
            if (!Array.isArray(v)) throw invalid(`${at}.tool_calls must be an array`, `${at}.tool_calls`);
            v.forEach((c, k2) => this.call(c, `${at}.tool_calls[${k2}]`, role, false));
            break;
          case 'function_call':
            if (v !== undefined && v !== null) this.call(v, `${at}.function_call`, role, true);
            break;
          default:
            this.any(v, `${at}.${k}`, 'other', role);
        }
      }
    });
  }

  /** Message content or predicted content: a string, an array of parts, or null. */
  content(content: unknown, at: string, role: string | undefined, kind: RequestTextKind): void {
    if (typeof content === 'string') {
      this.add(at, content, kind, role);
    } else if (Array.isArray(content)) {
      content.forEach((part, j) => {
        const pat = `${at}[${j}]`;
        if (!isObject(part) || typeof part.type !== 'string') throw invalid(`${pat} must be an object with a type`, pat);
        if (part.type === 'text' || part.type === 'input_text') {
          if (typeof part.text !== 'string') throw invalid(`${pat}.text must be a string`, `${pat}.text`);
          this.add(`${pat}.text`, part.text, kind, role);
          for (const [k, v] of Object.entries(part)) if (k !== 'type' && k !== 'text') this.any(v, `${pat}.${k}`, 'other', role);
        } else if (part.type === 'refusal') {
          if (typeof part.refusal !== 'string') throw invalid(`${pat}.refusal must be a string`, `${pat}.refusal`);
          this.add(`${pat}.refusal`, part.refusal, kind, role);
          for (const [k, v] of Object.entries(part)) if (k !== 'type' && k !== 'refusal') this.any(v, `${pat}.${k}`, 'other', role);
        } else if (NON_TEXT_PARTS.has(part.type)) {
          this.any(part, pat, 'other', role, 0, SKIPPED_PART_FIELDS);
        } else {
          // An unknown part type could carry text we would not see: refuse instead of skipping it.
          throw invalid(`${pat}.type ${JSON.stringify(part.type)} is not supported`, `${pat}.type`);
        }
      });
    } else if (content !== undefined && content !== null) {
      throw invalid(`${at} must be a string, an array of parts or null`, at);
    }
  }

  /** `tools[i]` ({type:'function', function:{…}}) or legacy `functions[i]` ({name, description, parameters}). */
  toolDefinition(def: unknown, at: string): void {
    if (!isObject(def)) throw invalid(`${at} must be an object`, at);
    for (const [k, v] of Object.entries(def)) {
      if (k === 'type' || k === 'strict') continue;
      if (k === 'parameters' || k === 'input_schema' || k === 'schema') this.schema(v, `${at}.${k}`, 'tool_definition');
      else if (isObject(v) && (k === 'function' || k === 'custom')) this.toolDefinition(v, `${at}.${k}`);
      else this.any(v, `${at}.${k}`, 'tool_definition', undefined);
    }
  }

  list(v: unknown, field: string, each: (item: unknown, at: string) => void): void {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) throw invalid(`${field} must be an array`, field);
    v.forEach((item, i) => each(item, `${field}[${i}]`));
  }
}

/** Every text in a request body for `endpoint`, in body order (see RequestText for paths). Throws
 *  BadRequest('invalid_body', …, field) on a malformed known field rather than reading it partly. */
export function requestTexts(endpoint: RequestEndpoint, body: Record<string, unknown>): RequestText[] {
  if (!isObject(body)) throw new BadRequest('invalid_body', 'request body must be a JSON object');
  const c = new Collector();
  for (const [k, v] of Object.entries(body)) {
    if (NON_TEXT_FIELDS.has(k)) continue;
    if (endpoint === 'chat' && k === 'messages') c.messages(v);
    else if (endpoint === 'chat' && k === 'tools') c.list(v, 'tools', (t, at) => c.toolDefinition(t, at));
    else if (endpoint === 'chat' && k === 'functions') c.list(v, 'functions', (t, at) => c.toolDefinition(t, at));
    else if (endpoint === 'chat' && k === 'tool_choice' && typeof v === 'string') continue; // 'auto' | 'none' | 'required'
    else if (endpoint === 'chat' && k === 'function_call' && typeof v === 'string') continue; // legacy 'auto' | 'none'
    else if (endpoint === 'chat' && k === 'prediction' && isObject(v)) {
      for (const [pk, pv] of Object.entries(v)) {
        if (pk === 'type') continue;
        if (pk === 'content') c.content(pv, 'prediction.content', undefined, 'prediction');
        else c.any(pv, `prediction.${pk}`, 'prediction', undefined);
      }
    } else if (k === 'response_format' && isObject(v)) {
      for (const [rk, rv] of Object.entries(v)) {
        if (rk === 'type') continue;
        if (rk === 'json_schema' && isObject(rv)) {
          for (const [sk, sv] of Object.entries(rv)) {
            if (sk === 'strict') continue;
            if (sk === 'schema') c.schema(sv, 'response_format.json_schema.schema', 'schema');
            else c.any(sv, `response_format.json_schema.${sk}`, 'schema', undefined);
          }
        } else c.any(rv, `response_format.${rk}`, 'schema', undefined);
      }
    } else if (k === 'stop') c.any(v, 'stop', 'stop', undefined);
    else if (endpoint === 'completions' && k === 'prompt') c.promptLike(v, 'prompt', 'prompt');
    else if (endpoint === 'completions' && k === 'suffix') c.any(v, 'suffix', 'suffix', undefined);
    else if (endpoint === 'embeddings' && k === 'input') c.promptLike(v, 'input', 'input');
    else c.any(v, k, 'other', undefined);
  }
  return c.out;
}

/** The endpoint a body was written for, from its shape (for callers that do not know the route). */
export function endpointOfBody(body: Record<string, unknown>): RequestEndpoint {
  if (body.messages !== undefined) return 'chat';
  if (body.prompt !== undefined) return 'completions';
  if (body.input !== undefined) return 'embeddings';
  return 'chat';
}

interface TextVerdict {
  sensitive: Finding[];
  injection: InjectionView | null;
}

/** Tool definitions and response schemas come back verbatim on every call of an agent: their verdicts
 *  (a pure function of the text) are remembered, so the definitions cost one inspection, not one per
 *  request. Bounded: 4,096 entries, 2 Mi characters of keys, texts of at most MAX_CACHED_TEXT. */
const definitionVerdicts = new LRUCache<string, TextVerdict>({ max: 4096, maxSize: 1 << 21, sizeCalculation: (_v, k) => k.length + 1 });
const MAX_CACHED_TEXT = 4096;

function verdictOf(t: RequestText, scoreInjection: boolean): TextVerdict {
  const cacheable = (t.kind === 'tool_definition' || t.kind === 'schema') && t.text.length <= MAX_CACHED_TEXT;
  const key = cacheable ? `${scoreInjection ? 1 : 0}${t.text}` : '';
  if (cacheable) {
    const hit = definitionVerdicts.get(key);
    if (hit !== undefined) return hit;
  }
  // Tool-call arguments are JSON: their string values are also read decoded ("\nAKIA…", "\u0049gnore").
  const json = t.kind === 'tool_call';
  const v: TextVerdict = {
    sensitive: json ? detectSensitiveJson(t.text) : detectSensitiveFolded(t.text),
    injection: scoreInjection ? (json ? injectionOfJson(t.text) : detectInjectionFolded(t.text)) : null,
  };
  if (cacheable) definitionVerdicts.set(key, v);
  return v;
}

/** Injection in JSON text: the raw text and its decoded string values (the higher score counts). */
function injectionOfJson(text: string): InjectionView {
  const raw = detectInjectionFolded(text);
  const view = decodedView(text);
  if (view === null) return raw;
  const dec = detectInjectionFolded(view.text);
  const mapped = dec.findings.map((f) => ({ ...f, start: view.origins[f.start] ?? text.length, end: (view.origins[Math.max(f.start, f.end - 1)] ?? text.length - 1) + 1 }));
  return { score: Math.max(raw.score, dec.score), signals: [...new Set([...raw.signals, ...dec.signals])], findings: [...raw.findings, ...mapped] };
}

/**
 * Findings over every text of requestTexts(endpoint, body): PII and secrets on all of them, injection
 * scored on all but the operator's (system/developer) messages — tool and function definitions ARE scored.
 * Each detector reads the text and its normalized view (fold.ts). Offsets index the texts as sent, joined
 * by "\n" in the order requestTexts returns them.
 */
export function inspectRequest(endpoint: RequestEndpoint, body: Record<string, unknown>, opts: InspectOptions = {}): Findings {
  const texts = requestTexts(endpoint, body);
  const items: Finding[] = [];
  const injectionItems: Finding[] = [];
  const signals = new Set<string>();
  let score = 0;
  let offset = 0;
  for (const t of texts) {
    const v = verdictOf(t, t.role === undefined || !OPERATOR_ROLES.has(t.role));
    for (const f of v.sensitive) items.push({ ...f, start: f.start + offset, end: f.end + offset });
    const inj = v.injection;
    if (inj !== null) {
      score = Math.max(score, inj.score);
      for (const s of inj.signals) signals.add(s);
      for (const f of inj.findings) injectionItems.push({ ...f, start: f.start + offset, end: f.end + offset });
    }
    offset += t.text.length + 1;
  }
  return { items: items.concat(injectionItems), classification: (opts.scheme ?? DEFAULT_SCHEME).classify(items, opts), injectionScore: score, injectionSignals: [...signals] };
}
