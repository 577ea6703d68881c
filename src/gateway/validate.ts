// Shape validation of OpenAI-compatible request bodies (ajv, compiled once). Unknown extra fields are allowed
// (servers such as vLLM accept extensions); the fields Warden relies on must be well-typed.
import { Ajv, type ErrorObject } from 'ajv';
import { BadRequest } from '../core/errors.js';
import type { ModelEndpoint } from './context.js';

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
};

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', items: contentPart }] },
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    tool_calls: { type: 'array' },
  },
};

const common = {
  model: { type: 'string', minLength: 1, maxLength: 256 },
  stream: { type: 'boolean' },
  max_tokens: { type: 'integer', minimum: 1 },
  max_completion_tokens: { type: 'integer', minimum: 1 },
  max_output_tokens: { type: 'integer', minimum: 1 },
  // llama.cpp: -1 means "until the context is full", -2 "until it is filled".
  n_predict: { type: 'integer', minimum: -2 },
  temperature: { type: 'number', minimum: 0, maximum: 2 },
  top_p: { type: 'number', minimum: 0, maximum: 1 },
  n: { type: 'integer', minimum: 1, maximum: 16 },
  user: { type: 'string' },
  stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
};

const schemas = {
  chat: {
    type: 'object',
    required: ['model', 'messages'],
    properties: {
      ...common,
      messages: { type: 'array', minItems: 1, items: message },
      tools: {
        type: 'array',
        items: {
          type: 'object',
          required: ['type', 'function'],
          properties: { type: { const: 'function' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } } },
        },
      },
    },
  },
  completions: {
    type: 'object',
    required: ['model', 'prompt'],
    properties: { ...common, prompt: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
  },
  embeddings: {
    type: 'object',
    required: ['model', 'input'],
    properties: {
      model: common.model,
      input: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] } }] },
      encoding_format: { enum: ['float', 'base64'] },
      dimensions: { type: 'integer', minimum: 1 },
      user: { type: 'string' },
    },
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = {
  chat: ajv.compile(schemas.chat),
  completions: ajv.compile(schemas.completions),
  embeddings: ajv.compile(schemas.embeddings),
};

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const p = (e.params as { missingProperty: string }).missingProperty;
    return base ? `${base}.${p}` : p;
  }
  return base || '(body)';
}

/** Checks the shape of a parsed model request body (parsing, and refusing duplicate keys, is src/http/json.ts). */
export function validateModelRequest(endpoint: ModelEndpoint, body: Record<string, unknown>): void {
  const v = validators[endpoint];
  if (!v(body)) {
    const e = v.errors![0]!;
    const field = fieldOf(e);
    const what = e.keyword === 'required' ? 'is required' : e.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : e.message ?? 'is invalid';
    throw new BadRequest('invalid_field', `${field} ${what}`, field);
  }
}
